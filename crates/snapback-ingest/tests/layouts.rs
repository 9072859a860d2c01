//! Every supported layout and schema, read from the authored fixtures in
//! `tests/fixtures/ingest/` (see its README), with the normalised fields asserted.

mod common;

use common::{fixture, read};
use snapback_ingest::{Cloud, OperationPhase, Outcome, ResourceKind, ResourceRole, Schema};

#[test]
fn s3_delivery_layout_reads_every_gzip_file() {
    let r = read(&[&fixture("s3")]);
    assert_eq!(r.summary.events, 6);
    assert_eq!(r.summary.files_read, 3);
    assert!(r.diags.is_empty(), "{:?}", r.diags);
    // Files are walked in name order (eu-west-1 before us-east-1); sorting by time is the
    // caller's job (see the CLI tests), so here the order is the files' order.
    assert_eq!(
        r.operations(),
        [
            "DescribeInstances",
            "StopInstances",
            "ModifyInstanceAttribute",
            "StartInstances",
            "CreateSnapshot",
            "CreateVolume"
        ]
    );
    let e = &r.events[1];
    assert_eq!(e.cloud, Cloud::Aws);
    assert_eq!(e.schema, Schema::CloudTrail);
    assert_eq!(e.account, "111122223333");
    assert_eq!(e.region, "us-east-1");
    assert_eq!(e.time.instant.to_string(), "2024-03-01T10:00:00Z");
    assert_eq!(
        e.actor.principal.as_deref(),
        Some("arn:aws:iam::111122223333:user/alice")
    );
    assert_eq!(e.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(e.resource_ids(ResourceKind::Instance), ["i-0abc"]);
    assert!(e.provenance.file.ends_with("_aaaa.json.gz"));
    // `{"Records": [{`: the record starts at byte 13.
    assert_eq!((e.provenance.record, e.provenance.offset), (0, 13));
}

#[test]
fn cloudtrail_array_lines_pretty_eventbridge_cloudwatch_lookup() {
    let dir = fixture("layouts/aws");
    let r = read(&[&dir.join("array.json")]);
    assert_eq!(r.operations(), ["RunInstances", "TerminateInstances"]);

    let r = read(&[&dir.join("lines.jsonl")]);
    assert_eq!(r.operations(), ["StopInstances", "StartInstances"]);
    assert_eq!(r.events[0].time.text, "2024-03-02T00:01:01.123Z");
    assert_eq!(
        r.events[1].outcome,
        Outcome::Failure {
            code: "UnauthorizedOperation".into()
        }
    );

    let r = read(&[&dir.join("pretty.json")]);
    assert_eq!(r.operations(), ["CreateImage", "RegisterImage"]);
    assert_eq!(r.events[1].provenance.record, 1);

    let r = read(&[&dir.join("eventbridge.json")]);
    assert_eq!(r.operations(), ["CreateReplaceRootVolumeTask"]);
    assert_eq!(r.events[0].schema, Schema::CloudTrailEventBridge);
    assert_eq!(r.events[0].account, "444455556666");
    assert_eq!(r.events[0].region, "us-west-2");

    // A CloudWatch Logs subscription payload: the framer streams `logEvents` items and each
    // item's `message` is decoded.
    let r = read(&[&dir.join("cloudwatch-logs.json")]);
    assert_eq!(r.operations(), ["StopInstances", "StartInstances"]);

    let r = read(&[&dir.join("lookup-events.json")]);
    assert_eq!(r.operations(), ["StopInstances"]);
    assert_eq!(r.events[0].schema, Schema::CloudTrailLookup);
}

#[test]
fn azure_storage_export_event_hub_rest_and_log_analytics() {
    let dir = fixture("layouts/azure");
    let r = read(&[&dir.join("insights-activity-logs")]);
    assert_eq!(r.events.len(), 2);
    let (start, done) = (&r.events[0], &r.events[1]);
    assert_eq!(start.schema, Schema::AzureResourceLog);
    assert_eq!(start.outcome, Outcome::Accepted);
    assert_eq!(done.outcome, Outcome::Success);
    assert_eq!(start.correlation_id.as_deref(), Some("c-1"));
    assert_eq!(start.action, "microsoft.compute/disks/write");
    assert_eq!(start.account, "00000000-0000-0000-0000-0000000000aa");
    assert_eq!(start.region, "westeurope");
    assert_eq!(start.actor.name.as_deref(), Some("bob@contoso.example"));
    assert_eq!(start.actor.app_id.as_deref(), Some("app-1"));
    assert_eq!(start.actor.principal_type.as_deref(), Some("user"));
    assert_eq!(start.time.text, "2024-03-03T08:00:00.1234567Z");
    // The request body arrived as a JSON string and is decoded; its source snapshot is named.
    assert_eq!(
        start.resource_ids_with(ResourceKind::Snapshot, ResourceRole::Source),
        ["/subscriptions/00000000-0000-0000-0000-0000000000aa/resourcegroups/rg1/providers/microsoft.compute/snapshots/snap1"]
    );

    let r = read(&[&dir.join("eventhub.json")]);
    assert_eq!(
        r.operations(),
        ["MICROSOFT.COMPUTE/VIRTUALMACHINES/DEALLOCATE/ACTION"]
    );

    let r = read(&[&dir.join("rest-page.json")]);
    assert_eq!(r.events.len(), 1);
    let e = &r.events[0];
    assert_eq!(e.schema, Schema::AzureRest);
    assert_eq!(
        e.operation,
        "Microsoft.Compute/virtualMachines/start/action"
    );
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.actor.principal.as_deref(), Some("carol@contoso.example"));
    assert_eq!(e.source_ip.as_deref(), Some("203.0.113.10"));
    assert_eq!(e.event_id, "ed-1");

    let r = read(&[&dir.join("log-analytics.json")]);
    assert_eq!(r.events.len(), 1);
    let e = &r.events[0];
    assert_eq!(e.schema, Schema::AzureLogAnalytics);
    assert_eq!(e.operation, "MICROSOFT.COMPUTE/DISKS/WRITE");
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.actor.principal.as_deref(), Some("dave@contoso.example"));
    assert_eq!(e.source_ip.as_deref(), Some("203.0.113.11"));
    assert_eq!(e.region, "northeurope");
    assert_eq!(e.resource_ids(ResourceKind::Snapshot).len(), 1);
}

#[test]
fn gcp_lines_arrays_single_objects_prefixes_and_long_running_operations() {
    let dir = fixture("layouts/gcp");
    let r = read(&[&dir.join("cloudaudit.googleapis.com")]);
    assert_eq!(r.events.len(), 3);
    let (first, last, disk) = (&r.events[0], &r.events[1], &r.events[2]);
    assert_eq!(first.operation, "v1.compute.instances.stop");
    assert_eq!(first.action, "compute.instances.stop");
    assert_eq!(first.operation_phase, Some(OperationPhase::First));
    assert_eq!(last.operation_phase, Some(OperationPhase::Last));
    assert_eq!(first.outcome, Outcome::Accepted);
    assert_eq!(last.outcome, Outcome::Success);
    assert_eq!(first.correlation_id.as_deref(), Some("operation-1709-abc"));
    assert_eq!(first.correlation_id, last.correlation_id);
    assert_eq!(first.time.text, "2024-03-04T09:00:00.000001Z");
    assert_eq!(first.account, "proj-1");
    assert_eq!(first.region, "europe-west1-b");
    assert_eq!(first.actor.principal.as_deref(), Some("erin@example.com"));
    assert_eq!(first.source_ip.as_deref(), Some("192.0.2.44"));
    assert_eq!(disk.action, "compute.disks.insert");
    assert_eq!(disk.operation_phase, Some(OperationPhase::Only));
    assert_eq!(
        disk.resource_ids_with(ResourceKind::Snapshot, ResourceRole::Source),
        ["projects/proj-1/global/snapshots/snap-1"]
    );

    let r = read(&[&dir.join("array.json")]);
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[1].action, "compute.instances.start");
    assert!(matches!(r.events[1].outcome, Outcome::Failure { .. }));

    let r = read(&[&dir.join("single.json")]);
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].action, "compute.snapshots.insert");
}

#[test]
fn a_zip_of_json_lines_is_read_member_by_member() {
    let r = read(&[&fixture("layouts/archive/cloudtrail-lines.zip")]);
    assert_eq!(r.events.len(), 3);
    assert!(r.events[2]
        .provenance
        .file
        .ends_with("cloudtrail-lines.zip!export/cloudtrail.jsonl"));
    assert_eq!(r.events[2].provenance.record, 2);
}

#[test]
fn non_audit_records_are_counted_by_kind_not_as_errors() {
    let r = read(&[&fixture("non-audit")]);
    assert_eq!(r.summary.events, 0);
    assert!(r.diags.is_empty(), "{:?}", r.diags);
    assert_eq!(r.summary.skipped_total(), 0);
    assert_eq!(r.summary.files_failed, 0);
    let kinds: Vec<(&str, u64)> = r
        .summary
        .not_audit
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        kinds,
        [
            ("load-balancer-log", 1),
            ("s3-access-log (text)", 1),
            ("vpc-flow-log", 1),
            ("vpc-flow-log (text)", 1),
            ("workspace-login", 1)
        ]
    );
    assert!(!r.summary.has_problems());
}
