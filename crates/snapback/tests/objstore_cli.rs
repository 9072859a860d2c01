//! `scan`, `events` and `aql run` of store URLs against real servers on 127.0.0.1 (moto,
//! Azurite, gcp-storage-emulator, started per test): the sample data uploaded in each
//! cloud's delivery layout gives the same alerts (JSON lines) as `scan` of the same files on
//! disk, with the object URLs as provenance; mixed inputs work. Each client is configured
//! the way a user would: `AWS_ENDPOINT_URL` + `AWS_ALLOW_HTTP`, `AZURE_STORAGE_USE_EMULATOR`,
//! `STORAGE_EMULATOR_HOST`.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use snapback_objstore::emulators::Emulator;
use snapback_objstore::Cloud;

fn atomic() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/atomic")
        .canonicalize()
        .unwrap()
}

/// Start `cloud`'s emulator, upload `examples/atomic/<dir>` to `bucket` under `prefix`.
fn served(cloud: Cloud, test: &str, bucket: &str, dir: &str, prefix: &str) -> Option<Emulator> {
    let e = Emulator::start_or_skip(cloud, test)?;
    e.create_bucket(bucket).unwrap();
    e.uploader(bucket)
        .unwrap()
        .put_dir(&atomic().join(dir), prefix)
        .unwrap();
    Some(e)
}

fn snapback(env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("snapback").unwrap();
    // Nothing of the developer's own cloud configuration may reach the run.
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("AZURE_") || k.starts_with("GOOGLE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", env!("CARGO_MANIFEST_DIR"));
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "snapback {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `scan --format jsonl` of the URL equals `scan --format jsonl` of the directory, once the
/// URL is written where the directory was.
fn assert_scan_equal(env: &[(String, String)], url: &str, dir: &Path) {
    let remote = snapback(env, &["scan", "--format", "jsonl", url]);
    let local = snapback(&[], &["scan", "--format", "jsonl", dir.to_str().unwrap()]);
    let remote = String::from_utf8(remote.stdout).unwrap();
    let local = String::from_utf8(local.stdout).unwrap();
    assert!(!local.is_empty(), "the sample data has alerts");
    let local_dir = format!("{}/", dir.display());
    let url_dir = match url.ends_with('/') {
        true => url.to_owned(),
        false => format!("{url}/"),
    };
    assert!(remote.contains(&url_dir), "provenance names the objects");
    assert_eq!(remote.replace(&url_dir, &local_dir), local);
}

#[test]
fn scan_s3_equals_scan_of_the_same_files() {
    let Some(e) = served(
        Cloud::S3,
        "scan_s3_equals_scan",
        "trail",
        "AWSLogs",
        "AWSLogs/",
    ) else {
        return;
    };
    assert_scan_equal(&e.env(), "s3://trail/AWSLogs", &atomic().join("AWSLogs"));
}

#[test]
fn scan_az_equals_scan_of_the_same_files() {
    let bucket = "insights-activity-logs";
    let Some(e) = served(Cloud::Azure, "scan_az_equals_scan", bucket, bucket, "") else {
        return;
    };
    let url = format!("az://{bucket}/");
    assert_scan_equal(&e.env_use_emulator(), &url, &atomic().join(bucket));
}

#[test]
fn scan_gs_equals_scan_of_the_same_files() {
    let Some(e) = served(Cloud::Gcs, "scan_gs_equals_scan", "sink", "gcp", "") else {
        return;
    };
    assert_scan_equal(&e.env(), "gs://sink/", &atomic().join("gcp"));
}

#[test]
fn mixed_inputs_and_a_window_read_a_store_beside_paths() {
    let Some(e) = served(Cloud::S3, "mixed_inputs", "trail", "AWSLogs", "AWSLogs/") else {
        return;
    };
    let root = atomic();
    let (gcp, azure) = (root.join("gcp"), root.join("insights-activity-logs"));
    let args = |first: &str| {
        vec![
            "scan".to_owned(),
            "--format".into(),
            "jsonl".into(),
            "--since".into(),
            "2026-11-20".into(),
            "--until".into(),
            "2026-11-20".into(),
            first.to_owned(),
            gcp.display().to_string(),
            azure.display().to_string(),
        ]
    };
    let remote_args = args("s3://trail/AWSLogs");
    let local_dir = root.join("AWSLogs").display().to_string();
    let local_args = args(&local_dir);
    let as_str = |v: &[String]| {
        v.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\u{0}")
    };
    let run = |env: &[(String, String)], v: &[String]| {
        let joined = as_str(v);
        let argv: Vec<&str> = joined.split('\u{0}').collect();
        snapback(env, &argv)
    };
    let remote = run(&e.env(), &remote_args);
    let local = run(&[], &local_args);
    let remote_out = String::from_utf8(remote.stdout).unwrap();
    let local_out = String::from_utf8(local.stdout).unwrap();
    assert!(local_out.lines().count() >= 3, "alerts of all three clouds");
    assert_eq!(
        remote_out.replace("s3://trail/AWSLogs/", &format!("{local_dir}/")),
        local_out
    );
    // A window that holds none of the sample's day: nothing is used, and it is said.
    let empty = snapback(
        &e.env(),
        &["scan", "--since", "2027-01-01", "s3://trail/AWSLogs/"],
    );
    let err = String::from_utf8(empty.stderr).unwrap();
    assert!(err.contains("0 events from 0 files"), "{err}");
}

#[test]
fn events_and_aql_run_read_a_store_url() {
    let Some(e) = served(
        Cloud::S3,
        "events_and_aql_run",
        "trail",
        "AWSLogs",
        "AWSLogs/",
    ) else {
        return;
    };
    let dir = atomic().join("AWSLogs");
    let local_dir = format!("{}/", dir.display());
    let remote = snapback(
        &e.env(),
        &["events", "--format", "jsonl", "s3://trail/AWSLogs/"],
    );
    let local = snapback(&[], &["events", "--format", "jsonl", dir.to_str().unwrap()]);
    let remote = String::from_utf8(remote.stdout).unwrap();
    assert_eq!(remote.lines().count(), 42);
    assert_eq!(
        remote.replace("s3://trail/AWSLogs/", &local_dir),
        String::from_utf8(local.stdout).unwrap()
    );
    let query = "SELECT QIDNAME(qid) AS name, COUNT(*) AS n FROM events GROUP BY name ORDER BY n DESC LAST 7 DAYS";
    let aql = |input: &str, env: &[(String, String)]| {
        let out = snapback(
            env,
            &["aql", "run", "--format", "jsonl", "-e", query, input],
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let rows = aql("s3://trail/AWSLogs/", &e.env());
    assert!(!rows.is_empty());
    assert_eq!(rows, aql(dir.to_str().unwrap(), &[]));
}
