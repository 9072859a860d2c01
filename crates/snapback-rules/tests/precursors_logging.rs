//! Logging precursors count only changes that reduce what is logged (issue 18, item 2): CloudTrail
//! trails and event selectors, Azure diagnostic settings, Google Cloud sinks and exclusions. A
//! change that widens logging matches no rule at all. Each case is a record in its cloud's
//! delivery layout, shaped after the vendor's API reference and the public corpus
//! (`../shared/corpus`), decoded by the real ingest decoder; the expected list is every pack rule
//! it matches.

mod common;

use common::*;
use serde_json::{json, Value};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";

const STOPPED: &str = "aws-cloudtrail-logging-tampered";
const TRAIL_NARROWED: &str = "aws-cloudtrail-trail-narrowed";
const SELECTORS_NARROWED: &str = "aws-cloudtrail-event-selectors-narrowed";
const FOREIGN_KEY: &str = "aws-cloudtrail-trail-foreign-kms-key";

fn trail(name: &str, req: Value) -> snapback_ingest::Event {
    ct("cloudtrail.amazonaws.com", name, req, json!(null))
}

/// UpdateTrail of the trail with these settings.
fn update(req: Value) -> snapback_ingest::Event {
    let mut r = json!({"name": TRAIL});
    for (k, v) in req.as_object().unwrap() {
        r[k] = v.clone();
    }
    trail("UpdateTrail", r)
}

#[test]
fn aws_trail_switched_off_or_widened() {
    let own_key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    table(&[
        (
            "StopLogging",
            trail("StopLogging", json!({"name": TRAIL})),
            &[STOPPED],
        ),
        (
            "DeleteTrail",
            trail("DeleteTrail", json!({"name": "main"})),
            &[STOPPED],
        ),
        (
            "StopEventDataStoreIngestion",
            trail(
                "StopEventDataStoreIngestion",
                json!({"eventDataStore": "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/eds1"}),
            ),
            &[STOPPED],
        ),
        (
            "DeleteEventDataStore",
            trail("DeleteEventDataStore", json!({"eventDataStore": "eds1"})),
            &[STOPPED],
        ),
        (
            "StartLogging",
            trail("StartLogging", json!({"name": TRAIL})),
            &[],
        ),
        (
            "PutInsightSelectors",
            trail(
                "PutInsightSelectors",
                json!({"trailName": TRAIL, "insightSelectors": []}),
            ),
            &[],
        ),
        // Widening or neutral: CloudWatch delivery added (the lab's case), validation and
        // multi-Region turned on, SNS, a key of the trail's own account or an alias.
        (
            "UpdateTrail adds CloudWatch Logs",
            update(json!({
                "cloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:aws-cloudtrail-logs:*",
                "cloudWatchLogsRoleArn": "arn:aws:iam::111122223333:role/CloudTrail_CloudWatchLogs_Role"})),
            &[],
        ),
        (
            "UpdateTrail turns settings on",
            update(
                json!({"isMultiRegionTrail": true, "enableLogFileValidation": true,
                          "includeGlobalServiceEvents": true, "isOrganizationTrail": true}),
            ),
            &[],
        ),
        (
            "UpdateTrail adds SNS",
            update(json!({"snsTopicName": "trail-topic"})),
            &[],
        ),
        (
            "UpdateTrail own KMS key",
            update(json!({"kmsKeyId": own_key})),
            &[],
        ),
        (
            "UpdateTrail KMS alias",
            update(json!({"kmsKeyId": "alias/cloudtrail"})),
            &[],
        ),
        (
            "UpdateTrail key prefix",
            update(json!({"s3KeyPrefix": "new/"})),
            &[],
        ),
        // A failed call whose record carries no request (TrailDiscover's AccessDenied sample).
        (
            "UpdateTrail without request",
            trail("UpdateTrail", json!(null)),
            &[],
        ),
    ]);
}

#[test]
fn aws_update_trail_counts_when_it_narrows() {
    let other_key = "arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    table(&[
        (
            "UpdateTrail single-Region (Panther's sample)",
            update(json!({"isMultiRegionTrail": false})),
            &[TRAIL_NARROWED],
        ),
        (
            "UpdateTrail not organization",
            update(json!({"isOrganizationTrail": false})),
            &[TRAIL_NARROWED],
        ),
        (
            "UpdateTrail no global events",
            update(json!({"includeGlobalServiceEvents": false})),
            &[TRAIL_NARROWED],
        ),
        (
            "UpdateTrail validation off",
            update(json!({"enableLogFileValidation": false})),
            &[TRAIL_NARROWED],
        ),
        (
            "UpdateTrail CloudWatch removed",
            update(json!({"cloudWatchLogsLogGroupArn": "", "cloudWatchLogsRoleArn": ""})),
            &[TRAIL_NARROWED],
        ),
        (
            "UpdateTrail bucket moved",
            update(json!({"s3BucketName": "logs-elsewhere"})),
            &[TRAIL_NARROWED],
        ),
        (
            "UpdateTrail foreign KMS key",
            update(json!({"kmsKeyId": other_key})),
            &[FOREIGN_KEY],
        ),
    ]);
}

fn selectors(sel: Value) -> snapback_ingest::Event {
    trail(
        "PutEventSelectors",
        json!({"trailName": "main", "eventSelectors": sel}),
    )
}

fn advanced(sel: Value) -> snapback_ingest::Event {
    trail(
        "PutEventSelectors",
        json!({"trailName": "main", "advancedEventSelectors": sel}),
    )
}

fn data_resources() -> Value {
    json!([{"type": "AWS::S3::Object", "values": []}, {"type": "AWS::Lambda::Function", "values": []}])
}

#[test]
fn aws_event_selectors_count_only_when_management_logging_is_cut() {
    let mgmt = json!({"name": "Management events", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]});
    let s3 = json!({"name": "S3", "fieldSelectors": [
        {"field": "eventCategory", "equals": ["Data"]},
        {"field": "resources.type", "equals": ["AWS::S3::Object"]}]});
    table(&[
        // The lab's widening: data events added, management kept in full.
        (
            "basic: data events added",
            selectors(
                json!([{"dataResources": data_resources(), "excludeManagementEventSources": [],
                              "includeManagementEvents": true, "readWriteType": "All"}]),
            ),
            &[],
        ),
        (
            "basic: defaults omitted",
            selectors(json!([{"dataResources": data_resources()}])),
            &[],
        ),
        (
            "basic: a data-only selector next to a full one",
            selectors(json!([
                {"dataResources": data_resources(), "includeManagementEvents": false, "readWriteType": "All"},
                {"dataResources": [], "includeManagementEvents": true, "readWriteType": "All"}])),
            &[],
        ),
        (
            "advanced: management plus S3 data",
            advanced(json!([mgmt.clone(), s3.clone()])),
            &[],
        ),
        (
            "advanced: S3 data first, management second",
            advanced(json!([s3.clone(), mgmt.clone()])),
            &[],
        ),
        (
            "no selectors in the record",
            trail("PutEventSelectors", json!({"trailName": "main"})),
            &[],
        ),
        // Narrowing: Stratus Red Team's cloudtrail-event-selectors detonation (real record
        // shape): management off, read-only data events.
        (
            "basic: management off (Stratus)",
            selectors(
                json!([{"dataResources": data_resources(), "excludeManagementEventSources": [],
                              "includeManagementEvents": false, "readWriteType": "ReadOnly"}]),
            ),
            &[SELECTORS_NARROWED],
        ),
        (
            "basic: write-only",
            selectors(json!([{"includeManagementEvents": true, "readWriteType": "WriteOnly"}])),
            &[SELECTORS_NARROWED],
        ),
        (
            "basic: KMS events excluded",
            selectors(
                json!([{"includeManagementEvents": true, "readWriteType": "All",
                              "excludeManagementEventSources": ["kms.amazonaws.com"]}]),
            ),
            &[SELECTORS_NARROWED],
        ),
        (
            "basic: two partial selectors",
            selectors(json!([
                {"includeManagementEvents": true, "readWriteType": "ReadOnly"},
                {"dataResources": data_resources(), "includeManagementEvents": false}])),
            &[SELECTORS_NARROWED],
        ),
        (
            "advanced: data only",
            advanced(json!([s3.clone()])),
            &[SELECTORS_NARROWED],
        ),
        (
            "advanced: write-only management",
            advanced(json!([{"name": "w", "fieldSelectors": [
                {"field": "eventCategory", "equals": ["Management"]},
                {"field": "readOnly", "equals": ["false"]}]}, s3.clone()])),
            &[SELECTORS_NARROWED],
        ),
        (
            "advanced: KMS events excluded",
            advanced(json!([{"name": "m", "fieldSelectors": [
                {"field": "eventCategory", "equals": ["Management"]},
                {"field": "eventSource", "notEquals": ["kms.amazonaws.com"]}]}])),
            &[SELECTORS_NARROWED],
        ),
    ]);
}

const DELETED: &str = "azure-diagnostic-settings-deleted";
const DIAG_NARROWED: &str = "azure-diagnostic-settings-narrowed";

fn diag_body(logs: Value) -> Value {
    json!({"properties": {
        "workspaceId": format!("/subscriptions/{SUB}/resourceGroups/sec/providers/Microsoft.OperationalInsights/workspaces/siem"),
        "logs": logs,
        "metrics": []}})
}

fn activity_categories(administrative: bool, others: bool) -> Value {
    let mut v = vec![json!({"category": "Administrative", "enabled": administrative})];
    for c in [
        "Security",
        "ServiceHealth",
        "Alert",
        "Recommendation",
        "Policy",
        "Autoscale",
        "ResourceHealth",
    ] {
        v.push(json!({"category": c, "enabled": others}));
    }
    // The portal lists Administrative wherever it likes; put it last.
    v.rotate_left(1);
    Value::Array(v)
}

type Schema = fn(&str, &str, Option<Value>) -> snapback_ingest::Event;
type Cases = Vec<(String, snapback_ingest::Event, &'static [&'static str])>;

fn sub_setting() -> String {
    format!("/subscriptions/{SUB}/providers/microsoft.insights/diagnosticSettings/export")
}

fn nsg_setting() -> String {
    arm(
        "prod",
        "Microsoft.Network/networkSecurityGroups/nsg1/providers/microsoft.insights/diagnosticSettings/default",
    )
}

const SUB_WRITE: &str = "microsoft.insights/diagnosticSettings/write";
const NSG_WRITE: &str =
    "Microsoft.Network/networkSecurityGroups/providers/microsoft.insights/diagnosticSettings/write";

/// Deletions at each scope, in one schema.
fn diag_deletes(rec: Schema) -> Cases {
    let profile = format!("/subscriptions/{SUB}/providers/microsoft.insights/logprofiles/default");
    vec![
        (
            "subscription setting deleted".into(),
            rec("microsoft.insights/diagnosticSettings/delete", &sub_setting(), None),
            &[DELETED],
        ),
        (
            "resource setting deleted (Panther's NSG form)".into(),
            rec(
                "Microsoft.Network/networkSecurityGroups/providers/microsoft.insights/diagnosticSettings/delete",
                &nsg_setting(),
                None,
            ),
            &[DELETED],
        ),
        (
            "log profile deleted".into(),
            rec("microsoft.insights/logProfiles/delete", &profile, None),
            &[DELETED],
        ),
    ]
}

/// Writes, in one schema: without a body, widening, metrics only, then narrowing.
fn diag_writes(rec: Schema) -> Cases {
    let sub = |logs: Value| rec(SUB_WRITE, &sub_setting(), Some(diag_body(logs)));
    let nsg = |body: Value| rec(NSG_WRITE, &nsg_setting(), Some(body));
    let metrics_only = json!({"properties": {"workspaceId": "w",
        "metrics": [{"category": "AllMetrics", "enabled": true}]}});
    let nsg_off = json!([{"category": "NetworkSecurityGroupEvent", "enabled": false},
                         {"category": "NetworkSecurityGroupRuleCounter", "enabled": false}]);
    vec![
        (
            "write without body".into(),
            rec(SUB_WRITE, &sub_setting(), None),
            &[],
        ),
        (
            "write enabling everything".into(),
            sub(activity_categories(true, true)),
            &[],
        ),
        (
            "write enabling Administrative only".into(),
            sub(activity_categories(true, false)),
            &[],
        ),
        (
            "write of a resource's category group".into(),
            nsg(diag_body(
                json!([{"categoryGroup": "allLogs", "enabled": true}]),
            )),
            &[],
        ),
        ("write of metrics only".into(), nsg(metrics_only), &[]),
        (
            "write disabling every category".into(),
            sub(activity_categories(false, false)),
            &[DIAG_NARROWED],
        ),
        (
            "write disabling Administrative only".into(),
            sub(activity_categories(false, true)),
            &[DIAG_NARROWED],
        ),
        (
            "resource write disabling its logs".into(),
            nsg(diag_body(nsg_off)),
            &[DIAG_NARROWED],
        ),
    ]
}

#[test]
fn azure_diagnostic_settings_deleted_or_narrowed_in_all_three_schemas() {
    let schemas: [(&str, Schema); 3] = [
        ("records", |op, id, body| {
            az_records(op, id, body, user_claims())
        }),
        ("rest", |op, id, body| az_rest(op, id, body, None)),
        ("log analytics", az_la),
    ];
    let mut cases: Cases = Vec::new();
    for (schema, rec) in schemas {
        for (what, e, want) in diag_deletes(rec).into_iter().chain(diag_writes(rec)) {
            cases.push((format!("{schema}: {what}"), e, want));
        }
    }
    let cases: Vec<(&str, snapback_ingest::Event, &[&str])> = cases
        .iter()
        .map(|(w, e, x)| (w.as_str(), e.clone(), *x))
        .collect();
    table(&cases);
}

const SINK_DELETED: &str = "gcp-logging-sink-deleted";
const SINK_NARROWED: &str = "gcp-logging-sink-or-exclusion-narrowed";

fn logging(method: &str, resource: &str, request: Value) -> snapback_ingest::Event {
    gcp(&format!("google.logging.v2.{method}"), resource, request)
}

#[test]
fn gcp_sinks_count_only_when_narrowed() {
    let sink = "projects/p1/sinks/siem";
    let update = |mask: &str, s: Value| {
        logging(
            "ConfigServiceV2.UpdateSink",
            sink,
            json!({
            "@type": "type.googleapis.com/google.logging.v2.UpdateSinkRequest",
            "sinkName": sink, "sink": s, "updateMask": mask, "uniqueWriterIdentity": true}),
        )
    };
    let dest = "pubsub.googleapis.com/projects/p1/topics/siem";
    table(&[
        (
            "DeleteSink",
            logging(
                "ConfigServiceV2.DeleteSink",
                sink,
                json!({"sinkName": sink}),
            ),
            &[SINK_DELETED],
        ),
        (
            "DeleteBucket",
            logging(
                "ConfigServiceV2.DeleteBucket",
                "projects/p1/locations/global/buckets/audit",
                json!({"name": "projects/p1/locations/global/buckets/audit"}),
            ),
            &[SINK_DELETED],
        ),
        (
            "DeleteLog",
            logging(
                "LoggingServiceV2.DeleteLog",
                "projects/p1/logs/syslog",
                json!({"logName": "projects/p1/logs/syslog"}),
            ),
            &[SINK_DELETED],
        ),
        // Panther's samples: exclusions set on a sink.
        (
            "UpdateSink exclude all",
            update(
                "exclusions",
                json!({"name": "siem", "destination": dest, "exclusions": [{"filter": "*", "name": "excludeall"}]}),
            ),
            &[SINK_NARROWED],
        ),
        (
            "UpdateSink disabled",
            update(
                "disabled",
                json!({"name": "siem", "destination": dest, "disabled": true}),
            ),
            &[SINK_NARROWED],
        ),
        (
            "UpdateSink destination moved",
            update(
                "destination",
                json!({"name": "siem", "destination": "storage.googleapis.com/elsewhere"}),
            ),
            &[SINK_NARROWED],
        ),
        // Widening or of unknown direction.
        (
            "UpdateSink enabled (false is omitted in JSON)",
            update("disabled", json!({"name": "siem", "destination": dest})),
            &[],
        ),
        (
            "UpdateSink exclusions removed",
            update("exclusions", json!({"name": "siem", "destination": dest})),
            &[],
        ),
        (
            "UpdateSink filter",
            update(
                "filter",
                json!({"name": "siem", "destination": dest, "filter": "logName:cloudaudit", "exclusions": [{"filter": "x", "name": "old"}]}),
            ),
            &[],
        ),
        (
            "UpdateSink description",
            update(
                "description",
                json!({"name": "siem", "destination": dest, "disabled": true}),
            ),
            &[],
        ),
        (
            "CreateSink",
            logging(
                "ConfigServiceV2.CreateSink",
                sink,
                json!({"sink": {"name": "siem", "destination": dest}}),
            ),
            &[],
        ),
    ]);
}

/// A call on the project's exclusion `noisy` (the _Default sink's exclusions).
fn exclusion(method: &str, request: Value) -> snapback_ingest::Event {
    logging(method, "projects/p1/exclusions/noisy", request)
}

#[test]
fn gcp_exclusions_count_when_they_turn_on() {
    let name = "projects/p1/exclusions/noisy";
    table(&[
        (
            "CreateExclusion",
            exclusion(
                "ConfigServiceV2.CreateExclusion",
                json!({"parent": "projects/p1", "exclusion": {"name": "noisy", "filter": "resource.type=gce_instance"}}),
            ),
            &[SINK_NARROWED],
        ),
        (
            "CreateExclusion disabled",
            exclusion(
                "ConfigServiceV2.CreateExclusion",
                json!({"parent": "projects/p1", "exclusion": {"name": "noisy", "filter": "x", "disabled": true}}),
            ),
            &[],
        ),
        (
            "UpdateExclusion turned on",
            exclusion(
                "ConfigServiceV2.UpdateExclusion",
                json!({"name": name, "exclusion": {"name": "noisy", "filter": "x"}, "updateMask": "disabled"}),
            ),
            &[SINK_NARROWED],
        ),
        (
            "UpdateExclusion turned off",
            exclusion(
                "ConfigServiceV2.UpdateExclusion",
                json!({"name": name, "exclusion": {"name": "noisy", "disabled": true}, "updateMask": "disabled"}),
            ),
            &[],
        ),
        (
            "UpdateExclusion filter",
            exclusion(
                "ConfigServiceV2.UpdateExclusion",
                json!({"name": name, "exclusion": {"name": "noisy", "filter": "y"}, "updateMask": "filter"}),
            ),
            &[],
        ),
        (
            "DeleteExclusion",
            exclusion("ConfigServiceV2.DeleteExclusion", json!({"name": name})),
            &[],
        ),
    ]);
}
