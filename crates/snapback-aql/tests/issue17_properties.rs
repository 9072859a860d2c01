//! Issue 17 ("AQL fidelity"), items 1-3: custom event properties read as QRadar reads them.
//! One table per item; each row's expected cells are computed by hand from the fixture below,
//! and the IBM page the behaviour follows is named beside the table.
//!
//! Fixture `issue17-events.jsonl` (CloudTrail unless said; in time order, 10:00-10:06Z):
//! ct-i1 alice RegisterImage, blockDeviceMapping.items = [{/dev/xvda, ebs.snapshotId snap-0a}] ·
//! ct-i2 bob RegisterImage, items = [{/dev/sdb, ephemeral0}, {/dev/xvda, ebs.snapshotId snap-0b}] ·
//! ct-i3 alice ModifySnapshotAttribute snap-0a, createVolumePermission.add.items = [{group all}] ·
//! ct-i4 carol ModifySnapshotAttribute snap-0b, add.items = [{userId 444455556666}, {group all}] ·
//! ct-i5 alice ModifyImageAttribute ami-0a, launchPermission.add.items = [{group all}] ·
//! ct-i6 bob StopInstances, instancesSet.items = [{i-01}, {i-02}] ·
//! az-i7 Azure alice MICROSOFT.COMPUTE/DISKS/WRITE, resultType Success.

mod common;
use common::*;

use snapback_aql::{
    custom, export, lint, parse, run, ExportOptions, LintOptions, PropertyMap, RunOptions, Severity,
};
use snapback_rules::RuleSet;

const FIXTURE: &str = "issue17-events.jsonl";

/// The built-in mapping plus one property `P` with `path` for AWS.
fn with_property(path: &str) -> PropertyMap {
    let mut props = PropertyMap::default();
    let toml = format!(
        "[properties]\nP = {{ aws = {} }}\n",
        serde_json::to_string(path).unwrap()
    );
    props.merge_file_text(&toml).expect("properties file");
    props
}

fn all_time(properties: PropertyMap) -> RunOptions {
    RunOptions {
        properties,
        default_window_ms: None,
        ..RunOptions::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Item 1. IBM, "JSON keypath expressions" (QRadar DSM Editor,
// https://www.ibm.com/docs/en/qsip/7.6.0?topic=editor-json-keypath-expressions): square
// brackets handle arrays, `[n]` reads element n (0 first), `[]` the whole array; a name is a
// field of an object, so a path that meets an array without an index finds nothing (NULL).

/// (path of `P`, cells of `SELECT "P"` for the two RegisterImage events ct-i1, ct-i2)
const ITEM1_PATHS: &[(&str, [&str; 2])] = &[
    // IBM's documented form, first element: ct-i1's only element has the snapshot, ct-i2's first
    // is the ephemeral disk.
    (
        "/\"requestParameters\"/\"blockDeviceMapping\"/\"items\"[0]/\"ebs\"/\"snapshotId\"",
        ["snap-0a", "NULL"],
    ),
    // Second element: ct-i1 has none.
    (
        "/\"requestParameters\"/\"blockDeviceMapping\"/\"items\"[1]/\"ebs\"/\"snapshotId\"",
        ["NULL", "snap-0b"],
    ),
    // The same in snapback's dotted and JSON-pointer spellings.
    (
        "requestParameters.blockDeviceMapping.items[1].ebs.snapshotId",
        ["NULL", "snap-0b"],
    ),
    (
        "/requestParameters/blockDeviceMapping/items/1/ebs/snapshotId",
        ["NULL", "snap-0b"],
    ),
    // No index: the name "ebs" meets the array: NULL for both (it used to search every element
    // and find snap-0a and snap-0b).
    (
        "/\"requestParameters\"/\"blockDeviceMapping\"/\"items\"/\"ebs\"/\"snapshotId\"",
        ["NULL", "NULL"],
    ),
    (
        "requestParameters.blockDeviceMapping.items.ebs.snapshotId",
        ["NULL", "NULL"],
    ),
    // Past the end of the array.
    (
        "requestParameters.blockDeviceMapping.items[2].deviceName",
        ["NULL", "NULL"],
    ),
    // A field of the element itself.
    (
        "requestParameters.blockDeviceMapping.items[0].deviceName",
        ["/dev/xvda", "/dev/sdb"],
    ),
];

#[test]
fn item1_keypaths_with_and_without_an_index() {
    for (path, cells) in ITEM1_PATHS {
        let rows = rows_with(
            "SELECT \"P\" FROM events WHERE \"Operation\" = 'RegisterImage'",
            FIXTURE,
            all_time(with_property(path)),
        );
        assert_eq!(rows, cells, "path {path}");
    }
}

#[test]
fn item1_whole_array_with_empty_brackets() {
    // `[]` extracts the whole array (as its JSON text): ct-i2's holds both disks.
    let rows = rows_with(
        "SELECT \"P\" ILIKE '%ephemeral0%snap-0b%' AS both FROM events WHERE \"Operation\" = 'RegisterImage'",
        FIXTURE,
        all_time(with_property(
            "/\"requestParameters\"/\"blockDeviceMapping\"/\"items\"[]",
        )),
    );
    assert_eq!(rows, ["false", "true"]);
}

#[test]
fn item1_run_says_where_a_path_met_an_array() {
    let q = parse("SELECT \"P\" FROM events WHERE \"Operation\" = 'RegisterImage'").unwrap();
    let result = run(
        &q,
        events(FIXTURE),
        all_time(with_property(
            "requestParameters.blockDeviceMapping.items.ebs.snapshotId",
        )),
    );
    // Both RegisterImage events: one diagnostic at the column, counted twice.
    let d: Vec<_> = result
        .diagnostics
        .iter()
        .map(|d| (d.code, d.line, d.column, d.count))
        .collect();
    assert_eq!(d, [("AQL-R005", 1, 8, 2)]);
    assert!(
        result.diagnostics[0]
            .message
            .contains("/\"requestParameters\"/\"blockDeviceMapping\"/\"items\"[0]/…"),
        "{}",
        result.diagnostics[0].message
    );
    // With the index, nothing to say.
    let result = run(
        &q,
        events(FIXTURE),
        all_time(with_property(
            "requestParameters.blockDeviceMapping.items[0].ebs.snapshotId",
        )),
    );
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
}

/// (path of `P`, whether lint says it crosses an array without an index: AQL-W015)
const ITEM1_LINT: &[(&str, bool)] = &[
    (
        "requestParameters.blockDeviceMapping.items.ebs.snapshotId",
        true,
    ),
    (
        "/\"requestParameters\"/\"createVolumePermission\"/\"add\"/\"items\"/\"group\"",
        true,
    ),
    (
        "requestParameters.blockDeviceMapping.items[0].ebs.snapshotId",
        false,
    ),
    ("requestParameters.instancesSet.items.0.instanceId", false),
    ("requestParameters.snapshotId", false),
    // Ending at an array is reading it, not crossing it.
    ("resources", false),
];

#[test]
fn item1_lint_flags_a_path_without_an_index_that_meets_a_known_array() {
    for (path, flagged) in ITEM1_LINT {
        let findings = lint(
            "SELECT \"P\" FROM events LAST 1 HOURS",
            &LintOptions {
                properties: with_property(path),
            },
        );
        let w015: Vec<_> = findings.iter().filter(|d| d.code == "AQL-W015").collect();
        assert_eq!(!w015.is_empty(), *flagged, "{path}: {findings:?}");
        if let Some(d) = w015.first() {
            assert_eq!((d.line, d.column, d.severity), (1, 8, Severity::Warning));
            assert!(
                d.message.contains("JSON keypath expressions"),
                "{}",
                d.message
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item 2. The same IBM page: `aql export` writes the index QRadar needs, and every exported
// search is run by the runner with item 1's semantics (also over every event set in
// tests/export.rs, where no exported path meets an array without an index).

/// One exported rule: its name, its array property as exported, QRadar's expression for it,
/// the events the exported search matches in the fixture, the events snapback's own Sigma
/// engine matches.
type ExportCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const ITEM2_RULES: &[ExportCase] = &[
    (
        "aws-ec2-register-image-from-snapshot",
        "requestParameters.blockDeviceMapping.items[0].ebs.snapshotId",
        "/\"requestParameters\"/\"blockDeviceMapping\"/\"items\"[0]/\"ebs\"/\"snapshotId\"",
        // ct-i2's snapshot is in its second element: QRadar's property (and the search) reads
        // the first only; the export's block says so ("-- arrays: …").
        &["ct-i1"],
        &["ct-i1", "ct-i2"],
    ),
    (
        "aws-ec2-snapshot-shared-or-public",
        "requestParameters.createVolumePermission.add.items[0].group",
        "/\"requestParameters\"/\"createVolumePermission\"/\"add\"/\"items\"[0]/\"group\"",
        // ct-i3: group all at [0]; ct-i4: userId at [0] (shared with an account).
        &["ct-i3", "ct-i4"],
        &["ct-i3", "ct-i4"],
    ),
    (
        "aws-ec2-image-shared-or-public",
        "requestParameters.launchPermission.add.items[0].group",
        "/\"requestParameters\"/\"launchPermission\"/\"add\"/\"items\"[0]/\"group\"",
        &["ct-i5"],
        &["ct-i5"],
    ),
];

#[test]
fn item2_export_writes_the_index_and_its_searches_run_with_it() {
    let rules = RuleSet::builtin();
    let ex = export(&rules, &ExportOptions { time_clause: None });
    let props = ex.property_map();
    let text = ex.render_aql();
    let fixture = events(FIXTURE);
    for (name, property, qradar, aql_hits, native_hits) in ITEM2_RULES {
        let r = ex
            .rules
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} not exported"));
        let p = r
            .properties
            .iter()
            .find(|p| p.name == *property)
            .unwrap_or_else(|| panic!("{name}: no {property} in {:?}", r.properties));
        assert_eq!(p.qradar_expression(), *qradar);
        assert!(
            text.contains(&format!("\"{property}\": Amazon AWS CloudTrail {qradar}")),
            "header lists {property}"
        );
        let block = text
            .split("\n\n")
            .find(|b| b.contains(&format!("-- rule: {name} (")))
            .unwrap();
        assert!(
            block.contains("-- arrays: reads only the first element ([0]) of "),
            "{block}"
        );
        // No path of the search crosses an array without its index.
        let findings = lint(
            r.aql.as_deref().unwrap(),
            &LintOptions {
                properties: props.clone(),
            },
        );
        assert!(
            !findings.iter().any(|d| d.code == "AQL-W015"),
            "{findings:?}"
        );
        // The search through the runner.
        let probe = parse(&format!(
            "SELECT UTF8(payload) AS p FROM events WHERE {}",
            r.condition.as_deref().unwrap()
        ))
        .unwrap();
        let result = run(&probe, fixture.clone(), all_time(props.clone()));
        assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
        let ids: Vec<String> = result
            .rows
            .iter()
            .map(|row| {
                let v: serde_json::Value = serde_json::from_str(&cell(&row[0])).unwrap();
                v["eventID"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(ids, *aql_hits, "{name}: exported search");
        let index = rules.detection(&r.id).unwrap();
        let native: Vec<&str> = fixture
            .iter()
            .filter(|e| rules.matches(e).contains(&index))
            .map(|e| e.event_id.as_str())
            .collect();
        assert_eq!(native, *native_hits, "{name}: snapback's engine");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 3. IBM, "Configuring a custom property expression"
// (https://www.ibm.com/docs/en/qsip/7.6.0?topic=expressions-configuring-custom-property-expression)
// and the DSM pages ("Includes custom properties? No"): a stock QRadar has none of the seed's
// properties. Lint lists each with its extraction; `--stock` (no built-in mapping) runs as
// that QRadar would.

/// (property, a line its lint finding must hold)
const ITEM3_EXTRACTIONS: &[(&str, &str)] = &[
    ("Operation", "Amazon AWS CloudTrail: JSON /\"eventName\""),
    (
        "Operation",
        "Microsoft Azure Platform: JSON /\"operationName\"",
    ),
    (
        "Operation",
        "Google Cloud Audit Logs: JSON /\"protoPayload\"/\"methodName\"",
    ),
    (
        "ResourceType",
        "Amazon AWS CloudTrail: JSON /\"resources\"[0]/\"type\"",
    ),
    ("ResourceType", "/providers/([^/\"]+/[^/\"]+)"),
    ("ResourceGroup", "/resourceGroups/([^/\"]+)"),
    (
        "SubscriptionId",
        "Amazon AWS CloudTrail: JSON /\"recipientAccountId\"",
    ),
    (
        "ResultType",
        "Microsoft Azure Platform: JSON /\"resultType\"",
    ),
    // Where snapback's ResultType for CloudTrail is its own choice, lint says so.
    (
        "ResultType",
        "CloudTrail has no result field. snapback's choice",
    ),
    ("ResultType", "is snapback's choice, not a value QRadar has"),
];

#[test]
fn item3_lint_lists_each_custom_property_with_what_qradar_needs() {
    let seed = std::fs::read_to_string(format!("{FIXTURES}/seed-query.aql")).unwrap();
    let findings = lint(&seed, &LintOptions::default());
    let w016: Vec<_> = findings.iter().filter(|d| d.code == "AQL-W016").collect();
    // The seed's five, each once, at its first use, as warnings (run prints them).
    let listed: Vec<(usize, usize)> = w016.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(listed, [(3, 11), (4, 1), (5, 1), (5, 18), (8, 41)]);
    assert!(w016.iter().all(|d| d.severity == Severity::Warning));
    for (name, line) in ITEM3_EXTRACTIONS {
        let d = w016
            .iter()
            .find(|d| d.message.starts_with(&format!("\"{name}\"")))
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert!(
            d.message.contains(line),
            "{name}: `{line}` in\n{}",
            d.message
        );
    }
    // A property from --properties is listed too, as a note, with its JSON expression.
    let findings = lint(
        "SELECT \"P\" FROM events LAST 1 HOURS",
        &LintOptions {
            properties: with_property("requestParameters.snapshotId"),
        },
    );
    let d = findings.iter().find(|d| d.code == "AQL-W016").unwrap();
    assert_eq!(d.severity, Severity::Note);
    assert!(d
        .message
        .contains("Amazon AWS CloudTrail: JSON /\"requestParameters\"/\"snapshotId\""));
    // Without the built-in mapping (--stock), they are unmapped (W002), still with the fix.
    let findings = lint(
        &seed,
        &LintOptions {
            properties: PropertyMap::empty(),
        },
    );
    let w002: Vec<_> = findings.iter().filter(|d| d.code == "AQL-W002").collect();
    assert_eq!(w002.len(), 5);
    assert!(
        w002[0].message.contains("JSON /\"eventName\""),
        "{}",
        w002[0].message
    );
}

/// The seed over seed-events.jsonl with no custom properties (as a stock QRadar): under SQL
/// precedence `A OR (B AND C AND D AND E)`, A (Azure) holds for the three Azure events of the
/// hour and B AND C is UNKNOWN for CloudTrail (C reads "Operation", NULL): no CloudTrail row.
/// Every CASE falls to ELSE (40, 'Cloud Modification'); ties keep event order. Left to right,
/// `(A OR B) AND C …` is UNKNOWN for every event: no rows.
const ITEM3_STOCK_SQL: &[&str] = &[
    "2026-11-20 11:30:00 | alice@x.example | NULL | NULL | NULL | NULL | 40 | Cloud Modification",
    "2026-11-20 11:35:00 | NULL | NULL | NULL | NULL | NULL | 40 | Cloud Modification",
    "2026-11-20 11:40:00 | AzureAutomationAcct | NULL | NULL | NULL | NULL | 40 | Cloud Modification",
];

#[test]
fn item3_stock_runs_without_the_custom_properties() {
    let seed = std::fs::read_to_string(format!("{FIXTURES}/seed-query.aql")).unwrap();
    gives_both_with(&seed, ITEM3_STOCK_SQL, &[]);
    // The default mapping still gives the rows of seed.rs (six under SQL precedence).
    assert_eq!(
        rows_with(
            &seed,
            "seed-events.jsonl",
            options(snapback_aql::Precedence::Sql)
        )
        .len(),
        6
    );
}

fn gives_both_with(query: &str, sql: &[&str], ltr: &[&str]) {
    for (precedence, expected) in [
        (snapback_aql::Precedence::Sql, sql),
        (snapback_aql::Precedence::LeftToRight, ltr),
    ] {
        let options = RunOptions {
            precedence,
            properties: PropertyMap::empty(),
            ..RunOptions::default()
        };
        assert_eq!(
            rows_with(query, "seed-events.jsonl", options),
            expected,
            "{precedence:?}"
        );
    }
}

#[test]
fn item3_lint_toml_is_the_properties_file_of_the_query() {
    let q = parse("SELECT \"Operation\", \"P\", \"Missing\" FROM events LAST 1 HOURS").unwrap();
    let toml = custom::properties_toml(&q, &with_property("requestParameters.items[0].id"));
    assert!(
        toml.contains("#   Amazon AWS CloudTrail: JSON /\"eventName\""),
        "{toml}"
    );
    assert!(
        toml.contains("\"P\" = { aws = \"requestParameters.items[0].id\" }"),
        "{toml}"
    );
    assert!(
        toml.contains("#   Amazon AWS CloudTrail: JSON /\"requestParameters\"/\"items\"[0]/\"id\"")
    );
    assert!(toml.contains("# \"Missing\": not mapped"), "{toml}");
    // It reads back as a properties file that maps P.
    let mut map = PropertyMap::empty();
    map.merge_file_text(&toml).unwrap();
    assert_eq!(map.defs.len(), 1);
    assert_eq!(map.defs[0].name, "P");
    // And the export's TOML names Operation's extraction too.
    let ex = export(&RuleSet::builtin(), &ExportOptions::default());
    assert!(ex
        .properties_toml()
        .contains("#   Amazon AWS CloudTrail: JSON /\"eventName\""));
}

#[test]
fn item3_result_type_is_documented_as_snapbacks_choice() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/aql.md")).unwrap();
    assert!(
        doc.contains("snapback's choice"),
        "docs/aql.md says whose choice ResultType is"
    );
    // For CloudTrail: Success without errorCode (every fixture event), as the table says.
    let rows = rows_with(
        "SELECT \"ResultType\" FROM events WHERE \"Operation\" = 'StopInstances'",
        FIXTURE,
        all_time(PropertyMap::default()),
    );
    assert_eq!(rows, ["Success"]);
}
