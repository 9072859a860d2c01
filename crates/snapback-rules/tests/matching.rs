//! Every pack rule against a positive fixture and a near miss, through the real decoder.

mod common;

use common::*;
use serde_json::json;
use snapback_rules::RuleSet;

const I1: &str = "i-0a1b2c3d4e5f60001";

fn items(key: &str, vals: &[&str]) -> serde_json::Value {
    json!({"items": vals.iter().map(|v| json!({key: v})).collect::<Vec<_>>()})
}

#[test]
fn aws_stop_start_and_reboot() {
    let req = json!({"instancesSet": items("instanceId", &[I1])});
    gives(
        &ec2("StopInstances", req.clone(), json!(null)),
        &["aws-ec2-stop-instances"],
    );
    gives(
        &ec2("StartInstances", req.clone(), json!(null)),
        &["aws-ec2-start-instances"],
    );
    // Reboot keeps instance store: not a step of anything.
    gives(&ec2("RebootInstances", req, json!(null)), &[]);
}

#[test]
fn aws_volume_restore_steps() {
    gives(
        &ec2(
            "CreateVolume",
            json!({"snapshotId": "snap-1", "zone": "us-east-1a"}),
            json!({"volumeId": "vol-1"}),
        ),
        &["aws-ec2-create-volume-from-snapshot"],
    );
    // An empty volume restores nothing.
    gives(
        &ec2(
            "CreateVolume",
            json!({"size": "10", "zone": "us-east-1a"}),
            json!({"volumeId": "vol-2"}),
        ),
        &[],
    );
    gives(
        &ec2(
            "AttachVolume",
            json!({"volumeId": "vol-1", "instanceId": I1, "device": "/dev/sdf"}),
            json!({}),
        ),
        &["aws-ec2-attach-volume"],
    );
    for dev in ["/dev/xvda", "/dev/sda1", "/dev/sda", "xvda", "sda1"] {
        gives(
            &ec2(
                "AttachVolume",
                json!({"volumeId": "vol-1", "instanceId": I1, "device": dev}),
                json!({}),
            ),
            &["aws-ec2-attach-volume", "aws-ec2-attach-volume-root-device"],
        );
    }
    // /dev/xvdab is not a root device: `device` is an exact match, not a prefix.
    gives(
        &ec2(
            "AttachVolume",
            json!({"volumeId": "vol-1", "instanceId": I1, "device": "/dev/xvdab"}),
            json!({}),
        ),
        &["aws-ec2-attach-volume"],
    );
    gives(
        &ec2(
            "DetachVolume",
            json!({"volumeId": "vol-0"}),
            json!({"instanceId": I1, "device": "/dev/xvda"}),
        ),
        &["aws-ec2-detach-volume"],
    );
}

#[test]
fn aws_image_steps() {
    gives(
        &ec2(
            "RegisterImage",
            json!({"name": "x", "rootDeviceName": "/dev/xvda",
                   "blockDeviceMapping": {"items": [{"deviceName": "/dev/xvda", "ebs": {"snapshotId": "snap-1"}}]}}),
            json!({"imageId": "ami-1"}),
        ),
        &["aws-ec2-register-image-from-snapshot"],
    );
    gives(
        &ec2(
            "RegisterImage",
            json!({"name": "x", "imageLocation": "bucket/manifest.xml"}),
            json!({"imageId": "ami-2"}),
        ),
        &[],
    );
    gives(
        &ec2(
            "RunInstances",
            json!({"instancesSet": items("imageId", &["ami-1"])}),
            json!({}),
        ),
        &["aws-ec2-run-instances"],
    );
}

#[test]
fn aws_replace_root_volume_both_forms() {
    let wrapped = |inner: serde_json::Value| {
        ec2(
            "CreateReplaceRootVolumeTask",
            json!({"CreateReplaceRootVolumeTaskRequest": inner}),
            json!(null),
        )
    };
    let kept = ["aws-ec2-replace-root-volume-from-snapshot-or-image"];
    let gone = ["aws-ec2-replace-root-volume-launch-state-or-delete"];
    gives(
        &wrapped(json!({"InstanceId": I1, "SnapshotId": "snap-1"})),
        &kept,
    );
    gives(
        &wrapped(json!({"InstanceId": I1, "ImageId": "ami-1"})),
        &kept,
    );
    gives(&wrapped(json!({"InstanceId": I1})), &gone);
    gives(
        &wrapped(
            json!({"InstanceId": I1, "SnapshotId": "snap-1", "DeleteReplacedRootVolume": true}),
        ),
        &gone,
    );
    gives(
        &wrapped(json!({"InstanceId": I1, "ImageId": "ami-1", "DeleteReplacedRootVolume": "true"})),
        &gone,
    );
    gives(
        &wrapped(
            json!({"InstanceId": I1, "SnapshotId": "snap-1", "DeleteReplacedRootVolume": false}),
        ),
        &kept,
    );
    // The flat lowerCamel form.
    let flat = |req| ec2("CreateReplaceRootVolumeTask", req, json!(null));
    gives(
        &flat(json!({"instanceId": I1, "snapshotId": "snap-1"})),
        &kept,
    );
    gives(&flat(json!({"instanceId": I1})), &gone);
    gives(
        &flat(json!({"instanceId": I1, "imageId": "ami-1", "deleteReplacedRootVolume": true})),
        &gone,
    );
}

#[test]
fn aws_single_call_reverts() {
    gives(
        &ec2(
            "RestoreSnapshotFromRecycleBin",
            json!({"snapshotId": "snap-1"}),
            json!({}),
        ),
        &["aws-ec2-restore-snapshot-from-recycle-bin"],
    );
    gives(
        &ec2(
            "RestoreImageFromRecycleBin",
            json!({"imageId": "ami-1"}),
            json!({}),
        ),
        &["aws-ec2-restore-image-from-recycle-bin"],
    );
    gives(
        &ct(
            "backup.amazonaws.com",
            "StartRestoreJob",
            json!({"recoveryPointArn": "arn:aws:ec2:us-east-1::snapshot/snap-1"}),
            json!({"restoreJobId": "r-1"}),
        ),
        &["aws-backup-start-restore-job"],
    );
    // Starting a backup is not a restore.
    gives(
        &ct(
            "backup.amazonaws.com",
            "StartBackupJob",
            json!({}),
            json!({}),
        ),
        &[],
    );
    for name in [
        "RestoreDBInstanceFromDBSnapshot",
        "RestoreDBInstanceToPointInTime",
        "RestoreDBClusterFromSnapshot",
        "RestoreDBClusterToPointInTime",
    ] {
        gives(
            &ct(
                "rds.amazonaws.com",
                name,
                json!({"dBInstanceIdentifier": "db1"}),
                json!({}),
            ),
            &["aws-rds-restore"],
        );
    }
    gives(
        &ct(
            "rds.amazonaws.com",
            "CreateDBSnapshot",
            json!({}),
            json!({}),
        ),
        &[],
    );
    for name in ["CreateInstancesFromSnapshot", "CreateDiskFromSnapshot"] {
        gives(
            &ct("lightsail.amazonaws.com", name, json!({}), json!({})),
            &["aws-lightsail-create-from-snapshot"],
        );
    }
    gives(
        &ct(
            "lightsail.amazonaws.com",
            "CreateInstanceSnapshot",
            json!({}),
            json!({}),
        ),
        &[],
    );
}

#[test]
fn aws_precursors() {
    let share = |add: serde_json::Value| {
        ec2(
            "ModifySnapshotAttribute",
            json!({"snapshotId": "snap-1", "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": add}),
            json!({"_return": true}),
        )
    };
    gives(
        &share(json!({"add": {"items": [{"userId": "444455556666"}]}})),
        &["aws-ec2-snapshot-shared-or-public"],
    );
    gives(
        &share(json!({"add": {"items": [{"group": "all"}]}})),
        &["aws-ec2-snapshot-shared-or-public"],
    );
    // Revoking access is the opposite of exfiltration.
    gives(
        &share(json!({"remove": {"items": [{"group": "all"}]}})),
        &[],
    );
    gives(
        &ec2(
            "ModifyImageAttribute",
            json!({"imageId": "ami-1", "launchPermission": {"add": {"items": [{"userId": "444455556666"}]}}}),
            json!({}),
        ),
        &["aws-ec2-image-shared-or-public"],
    );
    gives(
        &ec2(
            "ModifyImageAttribute",
            json!({"imageId": "ami-1", "description": {"value": "x"}}),
            json!({}),
        ),
        &[],
    );
    gives(
        &ct(
            "ec2-instance-connect.amazonaws.com",
            "SendSSHPublicKey",
            json!({"instanceId": I1, "instanceOSUser": "ec2-user"}),
            json!({"success": true}),
        ),
        &["aws-ec2-instance-connect-ssh-key"],
    );
    gives(
        &ct(
            "ssm.amazonaws.com",
            "SendCommand",
            json!({"documentName": "AWS-RunShellScript", "instanceIds": [I1]}),
            json!({}),
        ),
        &["aws-ssm-command-or-session"],
    );
    gives(
        &ct(
            "ssm.amazonaws.com",
            "StartSession",
            json!({"target": I1}),
            json!({}),
        ),
        &["aws-ssm-command-or-session"],
    );
    gives(
        &ct("ssm.amazonaws.com", "GetParameter", json!({}), json!({})),
        &[],
    );
    gives(
        &ec2("GetPasswordData", json!({"instanceId": I1}), json!(null)),
        &["aws-ec2-get-password-data"],
    );
    // UpdateTrail and PutEventSelectors count only when they narrow: precursors_logging.rs.
    for name in ["StopLogging", "DeleteTrail"] {
        gives(
            &ct(
                "cloudtrail.amazonaws.com",
                name,
                json!({"name": "main"}),
                json!(null),
            ),
            &["aws-cloudtrail-logging-tampered"],
        );
    }
    gives(
        &ct(
            "cloudtrail.amazonaws.com",
            "StartLogging",
            json!({"name": "main"}),
            json!(null),
        ),
        &[],
    );
}

fn disk_body(option: &str) -> serde_json::Value {
    json!({"location": "westeurope", "properties": {"creationData": {
        "createOption": option,
        "sourceResourceId": arm("prod", "Microsoft.Compute/snapshots/web01-os-2026-02-20")}}})
}

#[test]
fn azure_disk_restore_in_all_three_schemas() {
    let disk = arm("prod", "Microsoft.Compute/disks/web01-os-restored");
    let step = ["azure-disk-created-from-snapshot-or-restore-point"];
    // Records schema: upper-case operation name, string-encoded request body.
    gives(
        &az_records(
            "Microsoft.Compute/disks/write",
            &disk,
            Some(disk_body("Copy")),
            user_claims(),
        ),
        &step,
    );
    gives(
        &az_records(
            "Microsoft.Compute/disks/write",
            &disk,
            Some(disk_body("Restore")),
            user_claims(),
        ),
        &step,
    );
    // REST schema: operationName.value, object body.
    gives(
        &az_rest(
            "Microsoft.Compute/disks/write",
            &disk,
            Some(disk_body("Copy")),
            None,
        ),
        &step,
    );
    // Only the response body says where the disk came from.
    gives(
        &az_rest(
            "Microsoft.Compute/disks/write",
            &disk,
            None,
            Some(disk_body("Restore")),
        ),
        &step,
    );
    gives(
        &az_rest(
            "Microsoft.Compute/disks/write",
            &disk,
            None,
            Some(json!(disk_body("Copy").to_string())),
        ),
        &step,
    );
    // Log Analytics: OperationNameValue, Properties_d.requestbody as a string.
    gives(
        &az_la(
            "Microsoft.Compute/disks/write",
            &disk,
            Some(disk_body("Copy")),
        ),
        &step,
    );
    // Near misses: an empty disk, a disk from an image, a disk write without a body.
    gives(
        &az_records(
            "Microsoft.Compute/disks/write",
            &disk,
            Some(disk_body("Empty")),
            user_claims(),
        ),
        &[],
    );
    gives(
        &az_rest(
            "Microsoft.Compute/disks/write",
            &disk,
            Some(disk_body("FromImage")),
            None,
        ),
        &[],
    );
    gives(
        &az_records("Microsoft.Compute/disks/write", &disk, None, user_claims()),
        &[],
    );
}

#[test]
fn azure_vm_operations() {
    let vm = arm("prod", "Microsoft.Compute/virtualMachines/web01");
    gives(
        &az_records(
            "Microsoft.Compute/virtualMachines/deallocate/action",
            &vm,
            None,
            user_claims(),
        ),
        &["azure-vm-deallocate"],
    );
    gives(
        &az_rest(
            "Microsoft.Compute/virtualMachines/start/action",
            &vm,
            None,
            None,
        ),
        &["azure-vm-start"],
    );
    gives(
        &az_la("Microsoft.Compute/virtualMachines/start/action", &vm, None),
        &["azure-vm-start"],
    );
    // A successful restart keeps the temporary disk.
    gives(
        &az_records(
            "Microsoft.Compute/virtualMachines/restart/action",
            &vm,
            None,
            user_claims(),
        ),
        &[],
    );
    gives(
        &az_records(
            "Microsoft.Compute/virtualMachines/reimage/action",
            &vm,
            None,
            user_claims(),
        ),
        &["azure-vm-reimage"],
    );
    gives(
        &az_rest(
            "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/reimage/action",
            &arm(
                "prod",
                "Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/0",
            ),
            None,
            None,
        ),
        &["azure-vm-reimage"],
    );
}

#[test]
fn azure_managed_restores_and_precursors() {
    let rp = arm("rg", "Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/c/protectedItems/i/recoveryPoints/1");
    gives(
        &az_records("Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action", &rp, None, user_claims()),
        &["azure-backup-vm-restore"],
    );
    gives(
        &az_rest(
            "Microsoft.DataProtection/backupVaults/backupInstances/restore/action",
            &arm(
                "rg",
                "Microsoft.DataProtection/backupVaults/v/backupInstances/b",
            ),
            None,
            None,
        ),
        &["azure-dataprotection-restore"],
    );
    let item = arm("rg", "Microsoft.RecoveryServices/vaults/v/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/vm1");
    for action in [
        "testFailover",
        "plannedFailover",
        "unplannedFailover",
        "failoverCommit",
    ] {
        gives(
            &az_records(&format!("Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectedItems/{action}/action"), &item, None, user_claims()),
            &["azure-site-recovery-failover"],
        );
    }
    gives(
        &az_records("Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectedItems/reProtect/action", &item, None, user_claims()),
        &[],
    );
    gives(
        &az_records(
            "Microsoft.Compute/disks/beginGetAccess/action",
            &arm("prod", "Microsoft.Compute/disks/d1"),
            None,
            user_claims(),
        ),
        &["azure-disk-or-snapshot-sas-export"],
    );
    gives(
        &az_rest(
            "Microsoft.Compute/snapshots/beginGetAccess/action",
            &arm("prod", "Microsoft.Compute/snapshots/s1"),
            None,
            None,
        ),
        &["azure-disk-or-snapshot-sas-export"],
    );
    gives(
        &az_records(
            "Microsoft.Compute/disks/endGetAccess/action",
            &arm("prod", "Microsoft.Compute/disks/d1"),
            None,
            user_claims(),
        ),
        &[],
    );
    gives(
        &az_records(
            "microsoft.insights/diagnosticSettings/delete",
            &format!("/subscriptions/{SUB}/providers/microsoft.insights/diagnosticSettings/export"),
            None,
            user_claims(),
        ),
        &["azure-diagnostic-settings-deleted"],
    );
    gives(
        &az_records(
            "microsoft.insights/diagnosticSettings/write",
            &format!("/subscriptions/{SUB}/providers/microsoft.insights/diagnosticSettings/export"),
            None,
            user_claims(),
        ),
        &[],
    );
}

#[test]
fn gcp_rules_with_any_version_prefix() {
    let disk = "projects/p1/zones/us-central1-a/disks/web-1-restored";
    let step = ["gcp-disk-inserted-from-snapshot-or-image"];
    for method in [
        "v1.compute.disks.insert",
        "beta.compute.disks.insert",
        "alpha.compute.regionDisks.insert",
    ] {
        gives(
            &gcp(
                method,
                disk,
                json!({"sourceSnapshot": "https://www.googleapis.com/compute/v1/projects/p1/global/snapshots/s1"}),
            ),
            &step,
        );
    }
    for key in ["sourceImage", "sourceMachineImage", "sourceInstantSnapshot"] {
        gives(
            &gcp(
                "v1.compute.disks.insert",
                disk,
                json!({key: "projects/p1/global/x/y"}),
            ),
            &step,
        );
    }
    // A blank disk, and the last entry of the operation (request holds only @type).
    gives(
        &gcp(
            "v1.compute.disks.insert",
            disk,
            json!({"name": "blank", "sizeGb": "10"}),
        ),
        &[],
    );
    gives(
        &gcp(
            "beta.compute.disks.insert",
            disk,
            json!({"@type": "type.googleapis.com/compute.disks.insert"}),
        ),
        &[],
    );
    let inst = "projects/p1/zones/us-central1-a/instances/web-1";
    gives(
        &gcp(
            "v1.compute.instances.attachDisk",
            inst,
            json!({"source": disk}),
        ),
        &["gcp-instance-attach-disk"],
    );
    for verb in ["stop", "start", "suspend", "resume"] {
        gives(
            &gcp(&format!("beta.compute.instances.{verb}"), inst, json!({})),
            &[&format!("gcp-instance-{verb}")],
        );
    }
    gives(&gcp("v1.compute.instances.reset", inst, json!({})), &[]);
    gives(
        &gcp(
            "v1.compute.instances.insert",
            inst,
            json!({"sourceMachineImage": "projects/p1/global/machineImages/m1"}),
        ),
        &["gcp-instance-inserted-from-machine-image"],
    );
    gives(
        &gcp(
            "v1.compute.instances.insert",
            inst,
            json!({"disks": [{"boot": true, "initializeParams": {"sourceImage": "projects/debian-cloud/global/images/d"}}]}),
        ),
        &[],
    );
    gives(
        &gcp("v1.compute.instances.setMetadata", inst, json!({})),
        &["gcp-instance-ssh-keys-metadata"],
    );
    gives(
        &gcp(
            "v1.compute.projects.setCommonInstanceMetadata",
            "projects/p1",
            json!({}),
        ),
        &["gcp-instance-ssh-keys-metadata"],
    );
    gives(
        &gcp(
            "v1.compute.snapshots.setIamPolicy",
            "projects/p1/global/snapshots/s1",
            json!({}),
        ),
        &["gcp-snapshot-or-image-iam-policy-changed"],
    );
    gives(
        &gcp(
            "v1.compute.snapshots.getIamPolicy",
            "projects/p1/global/snapshots/s1",
            json!({}),
        ),
        &[],
    );
    gives(
        &gcp(
            "google.logging.v2.ConfigServiceV2.DeleteSink",
            "projects/p1/sinks/audit",
            json!({}),
        ),
        &["gcp-logging-sink-deleted"],
    );
    gives(
        &gcp(
            "google.logging.v2.ConfigServiceV2.UpdateSink",
            "projects/p1/sinks/audit",
            json!({}),
        ),
        &[],
    );
}

/// Every detection of the pack is exercised by a positive case above.
#[test]
fn every_pack_detection_has_a_positive_case() {
    let src = [
        include_str!("matching.rs"),
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
    assert_eq!(RuleSet::field_values(&stop, "snapback.actor.name"), ["eve"]);
    assert_eq!(
        RuleSet::field_values(&stop, "snapback.operation"),
        ["StopInstances"]
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

#[test]
fn gcp_attach_as_boot_and_detach() {
    let disk = "projects/p1/zones/us-central1-a/disks/web-1-restored";
    let inst = "projects/p1/zones/us-central1-a/instances/web-1";
    for boot in [json!(true), json!("true")] {
        gives(
            &gcp(
                "beta.compute.instances.attachDisk",
                inst,
                json!({"source": disk, "boot": boot, "deviceName": "web-1"}),
            ),
            &[
                "gcp-instance-attach-disk",
                "gcp-instance-attach-disk-as-boot",
            ],
        );
    }
    gives(
        &gcp(
            "v1.compute.instances.attachDisk",
            inst,
            json!({"source": disk, "boot": false}),
        ),
        &["gcp-instance-attach-disk"],
    );
    // The last entry of the attach carries only its @type: not a boot attach by itself.
    gives(
        &gcp(
            "v1.compute.instances.attachDisk",
            inst,
            json!({"@type": "type.googleapis.com/compute.instances.attachDisk"}),
        ),
        &["gcp-instance-attach-disk"],
    );
    gives(
        &gcp(
            "v1.compute.instances.detachDisk",
            inst,
            json!({"@type": "type.googleapis.com/compute.instances.detachDisk"}),
        ),
        &["gcp-instance-detach-disk"],
    );
}

#[test]
fn azure_vm_writes_by_request_body() {
    let vm = arm("prod", "Microsoft.Compute/virtualMachines/web01");
    let disk = arm("prod", "Microsoft.Compute/disks/web01-restored");
    let body = json!({"properties": {"storageProfile": {"osDisk": {"createOption": "Attach", "managedDisk": {"id": disk}}}}});
    let named = "azure-vm-written-naming-os-disk";
    let with_body = "azure-vm-written-with-request-body";
    let without_body = "azure-vm-written-without-request-body";
    // A write whose body names the OS disk, in the three schemas (string and object bodies).
    gives(
        &az_records(
            "Microsoft.Compute/virtualMachines/write",
            &vm,
            Some(body.clone()),
            user_claims(),
        ),
        &[named, with_body],
    );
    gives(
        &az_rest(
            "Microsoft.Compute/virtualMachines/write",
            &vm,
            Some(body.clone()),
            None,
        ),
        &[named, with_body],
    );
    gives(
        &az_la("Microsoft.Compute/virtualMachines/write", &vm, Some(body)),
        &[named, with_body],
    );
    // A body that does not touch the OS disk (a tag change) is a body all the same.
    gives(
        &az_records(
            "Microsoft.Compute/virtualMachines/write",
            &vm,
            Some(json!({"tags": {"owner": "ops"}})),
            user_claims(),
        ),
        &[with_body],
    );
    // No body: the Success record, or an export without bodies.
    gives(
        &az_records(
            "Microsoft.Compute/virtualMachines/write",
            &vm,
            None,
            user_claims(),
        ),
        &[without_body],
    );
    gives(
        &az_la("Microsoft.Compute/virtualMachines/write", &vm, None),
        &[without_body],
    );
}
