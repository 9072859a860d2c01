//! Issue 17 ("AQL fidelity") end to end: `snapback aql run --stock`, `aql lint --format toml`,
//! `FROM flows` refused by run, the run-time note for a path that meets an array, and what the
//! export prints. The rows are computed by hand in crates/snapback-aql/tests/issue17_*.rs.

use std::path::PathBuf;

use assert_cmd::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../snapback-aql/tests/fixtures")
        .join(name)
}

fn snapback() -> Command {
    Command::cargo_bin("snapback").unwrap()
}

/// (exit code, stdout, stderr)
fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn seed_run(extra: &[&str]) -> (i32, String, String) {
    output(
        snapback()
            .args(["aql", "run", "--format", "csv"])
            .args(extra)
            .arg("--query")
            .arg(fixture("seed-query.aql"))
            .arg(fixture("seed-events.jsonl")),
    )
}

#[test]
fn stock_runs_the_seed_as_a_qradar_without_its_custom_properties() {
    // Item 3 (IBM, "Configuring a custom property expression"; DSM pages: no custom
    // properties). Under SQL precedence only the Azure branch passes, all properties empty.
    let (code, stdout, stderr) = seed_run(&["--stock"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "EventTime,username,CloudOperation,CloudResource,ResourceGroup,SubscriptionId,RiskScore,AlertType\n\
         2026-11-20 11:30:00,alice@x.example,,,,,40,Cloud Modification\n\
         2026-11-20 11:35:00,,,,,,40,Cloud Modification\n\
         2026-11-20 11:40:00,AzureAutomationAcct,,,,,40,Cloud Modification\n"
    );
    assert!(
        stderr.contains("snapback: --stock: run as a stock QRadar would"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3:11: warning[AQL-W002]: property \"Operation\" is not mapped"),
        "{stderr}"
    );
    // Left to right nothing passes.
    let (_, stdout, _) = seed_run(&["--stock", "-q", "--precedence", "left-to-right"]);
    assert_eq!(stdout.lines().count(), 1, "header only: {stdout}");
    // Without --stock, run says on stderr which properties a stock QRadar lacks.
    let (_, stdout, stderr) = seed_run(&[]);
    assert_eq!(stdout.lines().count(), 7);
    for (at, name) in [
        ("3:11", "Operation"),
        ("4:1", "ResourceType"),
        ("5:1", "ResourceGroup"),
        ("5:18", "SubscriptionId"),
        ("8:41", "ResultType"),
    ] {
        assert!(
            stderr.contains(&format!("snapback: {at}: warning[AQL-W016]: \"{name}\" is a custom event property from snapback's built-in mapping")),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn lint_toml_lists_what_qradar_needs() {
    let (code, stdout, _) = output(
        snapback()
            .args(["aql", "lint", "--format", "toml", "--query"])
            .arg(fixture("seed-query.aql")),
    );
    assert_eq!(code, 0);
    for needle in [
        "# \"Operation\" in QRadar:\n#   Amazon AWS CloudTrail: JSON /\"eventName\"",
        "#   Microsoft Azure Platform: JSON /\"resultType\"",
        "CloudTrail has no result field. snapback's choice",
        "[properties]\n",
    ] {
        assert!(stdout.contains(needle), "`{needle}` in\n{stdout}");
    }
    // It is a properties file `run` accepts.
    let props = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(props.path(), &stdout).unwrap();
    let (code, _, stderr) = seed_run(&["-q", "--properties", props.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn flows_are_refused_by_run_and_linted() {
    // Item 6.
    let (code, stdout, stderr) = output(
        snapback()
            .args(["aql", "run", "-e", "SELECT * FROM flows LAST 1 HOURS"])
            .arg(fixture("seed-events.jsonl")),
    );
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("1:10: FROM flows: flows are network traffic records"),
        "{stderr}"
    );
    let (code, stdout, _) =
        output(snapback().args(["aql", "lint", "-e", "SELECT * FROM flows LAST 1 HOURS"]));
    assert_eq!(code, 0, "valid AQL: a warning, not an error");
    assert!(stdout.starts_with("1:10: warning[AQL-W018]"), "{stdout}");
}

#[test]
fn a_path_without_an_index_is_null_and_run_says_where() {
    // Item 1 (IBM, "JSON keypath expressions").
    let props = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        props.path(),
        "[properties]\nSnap = { aws = \"requestParameters.blockDeviceMapping.items.ebs.snapshotId\" }\nSnap0 = { aws = '/\"requestParameters\"/\"blockDeviceMapping\"/\"items\"[0]/\"ebs\"/\"snapshotId\"' }\n",
    )
    .unwrap();
    let (code, stdout, stderr) = output(
        snapback()
            .args([
                "aql",
                "run",
                "-q",
                "--format",
                "csv",
                "--default-window",
                "all",
            ])
            .arg("--properties")
            .arg(props.path())
            .args([
                "-e",
                "SELECT \"Snap\", \"Snap0\" FROM events WHERE \"Operation\" = 'RegisterImage'",
            ])
            .arg(fixture("issue17-events.jsonl")),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "Snap,Snap0\n,snap-0a\n,\n");
    assert!(
        stderr.contains("snapback: 1:8: warning[AQL-R005]: property \"Snap\": its path meets an array at /\"requestParameters\"/\"blockDeviceMapping\"/\"items\" without an index"),
        "{stderr}"
    );
    assert!(stderr.contains("(2 times)"), "{stderr}");
}

#[test]
fn export_writes_indexes_and_single_quoted_aliases() {
    // Items 2 and 8.
    let (code, stdout, _) = output(snapback().args([
        "aql",
        "export",
        "--rule",
        "aws-ec2-snapshot-shared-or-public",
        "--time",
        "none",
    ]));
    assert_eq!(code, 0);
    assert!(
        stdout.contains(
            "\"requestParameters.createVolumePermission.add.items[0].group\" ILIKE 'all'"
        ),
        "{stdout}"
    );
    assert!(stdout.contains(" AS 'EventTime', "), "{stdout}");
    let (_, toml, _) = output(snapback().args(["aql", "export", "--format", "toml"]));
    assert!(toml.contains(
        "# Amazon AWS CloudTrail: /\"requestParameters\"/\"blockDeviceMapping\"/\"items\"[0]/\"ebs\"/\"snapshotId\""
    ));
    assert!(
        toml.contains("#   Amazon AWS CloudTrail: JSON /\"eventName\""),
        "{toml}"
    );
}

#[test]
fn misspelt_keyword_gets_a_guess() {
    // Item 8.
    let (code, stdout, _) = output(snapback().args(["aql", "lint", "-e", "SELECT * FORM events"]));
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("1:10: error[AQL-E001]: expected `,` or FROM (to name a column, write `AS name`), found `FORM` (did you mean FROM?)"),
        "{stdout}"
    );
}
