//! The pack as a whole: every detection has a positive case in the matching tests, the
//! correlations resolve their rules in order with their group-by aliases, and field values fan
//! out over arrays and give the same keys for the ids a correlation links.

mod common;

use common::*;
use serde_json::json;
use snapback_rules::RuleSet;

/// Every detection of the pack is exercised by a positive case in the matching and precursor
/// tests.
#[test]
fn every_pack_detection_has_a_positive_case() {
    let src = [
        include_str!("matching_aws.rs"),
        include_str!("matching_azure_gcp.rs"),
        include_str!("matching_pack.rs"),
        include_str!("precursors_logging.rs"),
        include_str!("precursors_startup.rs"),
    ]
    .concat();
    let set = rules();
    let missing: Vec<&str> = set
        .detections
        .iter()
        .filter_map(|d| d.name.as_deref())
        .filter(|n| {
            // `gcp-instance-{verb}` names are built in a loop over the four verbs.
            let looped = n
                .strip_prefix("gcp-instance-")
                .is_some_and(|v| ["stop", "start", "suspend", "resume"].contains(&v));
            !looped && !src.contains(&format!("\"{n}\""))
        })
        .collect();
    assert!(missing.is_empty(), "no positive test for {missing:?}");
}

#[test]
fn correlations_resolve_in_order_with_aliases() {
    let set = rules();
    let c = &set.correlations[set.correlation("aws-ec2-stop-then-start").unwrap()];
    let names: Vec<&str> = c
        .rules
        .iter()
        .map(|&i| set.detections[i].name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["aws-ec2-stop-instances", "aws-ec2-start-instances"]);
    assert_eq!(c.kind, snapback_rules::CorrelationKind::TemporalOrdered);
    assert_eq!(c.group_by, ["instance"]);
    assert_eq!(c.timespan, std::time::Duration::from_secs(3600));
    assert_eq!(
        c.group_field("instance", c.rules[0]),
        Some("requestParameters.instancesSet.items.instanceId")
    );
    // Every correlation maps each of its group-by aliases for each of its rules.
    for c in &set.correlations {
        for g in &c.group_by {
            for &r in &c.rules {
                assert!(c.group_field(g, r).is_some(), "{}: {g} for rule {r}", c.id);
            }
        }
        assert!(!c.rules.is_empty());
    }
}

#[test]
fn field_values_fan_out_and_link_ids() {
    let stop = ec2(
        "StopInstances",
        json!({"instancesSet": items("instanceId", &["i-1", "i-2", "i-3"])}),
        json!(null),
    );
    assert_eq!(
        RuleSet::field_values(&stop, "requestParameters.instancesSet.items.instanceId"),
        ["i-1", "i-2", "i-3"]
    );
    assert_eq!(RuleSet::field_values(&stop, "snapback.actor.name"), ["eve"]);
    assert_eq!(
        RuleSet::field_values(&stop, "snapback.operation"),
        ["StopInstances"]
    );
    let create = ec2(
        "CreateVolume",
        json!({"snapshotId": "snap-1"}),
        json!({"volumeId": "vol-9"}),
    );
    let attach = ec2(
        "AttachVolume",
        json!({"volumeId": "vol-9", "instanceId": I1, "device": "/dev/xvda"}),
        json!({}),
    );
    assert_eq!(
        RuleSet::field_values(&create, "responseElements.volumeId"),
        ["vol-9"]
    );
    assert_eq!(
        RuleSet::field_values(&attach, "requestParameters.volumeId"),
        ["vol-9"]
    );
    // GCP: a full URL and a relative name compare equal.
    let insert = gcp(
        "v1.compute.disks.insert",
        "projects/p1/zones/z/disks/d1",
        json!({"sourceSnapshot": "s"}),
    );
    let att = gcp(
        "v1.compute.instances.attachDisk",
        "projects/p1/zones/z/instances/i",
        json!({"source": "https://www.googleapis.com/compute/v1/projects/p1/zones/z/disks/d1"}),
    );
    assert_eq!(
        RuleSet::field_values(&insert, "protoPayload.resourceName"),
        RuleSet::field_values(&att, "protoPayload.request.source")
    );
    assert_eq!(
        RuleSet::field_values(&att, "protoPayload.request.source"),
        ["projects/p1/zones/z/disks/d1"]
    );
    // Azure: upper-cased and original-case ids give the same keys.
    let a = az_records(
        "Microsoft.Compute/virtualMachines/deallocate/action",
        &arm("Prod", "Microsoft.Compute/virtualMachines/Web01"),
        None,
        user_claims(),
    );
    let b = az_rest(
        "Microsoft.Compute/virtualMachines/start/action",
        &arm("Prod", "Microsoft.Compute/virtualMachines/Web01"),
        None,
        None,
    );
    for f in [
        "snapback.azure.resource_id",
        "snapback.azure.resource_group",
        "snapback.azure.subscription",
        "resourceId",
    ] {
        let va = RuleSet::field_values(&a, f);
        assert_eq!(va.len(), 1, "{f}");
        assert_eq!(va, RuleSet::field_values(&b, f), "{f}");
    }
    assert_eq!(
        RuleSet::field_values(&a, "snapback.azure.resource_group"),
        ["prod"]
    );
}

#[test]
fn field_values_of_virtual_fields_and_bodies() {
    // Virtual fields and the string-encoded body.
    let d = az_records(
        "Microsoft.Compute/disks/write",
        &arm("prod", "Microsoft.Compute/disks/x"),
        Some(disk_body("Copy")),
        user_claims(),
    );
    assert_eq!(
        RuleSet::field_values(
            &d,
            "properties.requestbody.properties.creationData.createOption"
        ),
        ["Copy"]
    );
    assert_eq!(
        RuleSet::field_values(&d, "snapback.request.properties.creationData.createOption"),
        ["Copy"]
    );
    assert_eq!(
        RuleSet::field_values(&d, "operationName"),
        ["MICROSOFT.COMPUTE/DISKS/WRITE"]
    );
    assert_eq!(RuleSet::field_values(&d, "snapback.cloud"), ["azure"]);
    assert_eq!(
        RuleSet::field_values(&d, "snapback.action"),
        ["microsoft.compute/disks/write"]
    );
    assert_eq!(RuleSet::field_values(&d, "snapback.outcome"), ["Accepted"]);
    assert_eq!(RuleSet::field_values(&d, "resultType"), ["Start"]);
    let r = az_rest(
        "Microsoft.Compute/disks/write",
        &arm("prod", "Microsoft.Compute/disks/x"),
        None,
        None,
    );
    assert_eq!(RuleSet::field_values(&r, "resultType"), ["Succeeded"]);
    assert_eq!(
        RuleSet::field_values(&r, "operationName"),
        ["Microsoft.Compute/disks/write"]
    );
    assert_eq!(
        RuleSet::field_values(
            &r,
            "claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
        ),
        ["eve@contoso.com"]
    );
    let g = gcp(
        "beta.compute.instances.stop",
        "projects/p1/zones/z/instances/i",
        json!({}),
    );
    assert_eq!(
        RuleSet::field_values(&g, "snapback.action"),
        ["compute.instances.stop"]
    );
}
