//! Every Azure and Google Cloud rule of the pack against a positive fixture and a near miss,
//! through the real decoder: Azure in its three schemas (resource logs, REST, Log Analytics),
//! Google Cloud with any API version prefix.

mod common;

use common::*;
use serde_json::json;

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
}

#[test]
fn gcp_metadata_snapshot_policy_and_sink_rules() {
    let inst = "projects/p1/zones/us-central1-a/instances/web-1";
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
