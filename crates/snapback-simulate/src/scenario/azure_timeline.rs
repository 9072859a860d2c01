//! The Azure part of the scenario, test 3 of the seed: the snapshot exported by SAS, a managed
//! disk copied from it and swapped in as a VM's OS disk; and the look-alikes that must not alert
//! (an Azure Backup disk restore, a restart).
//!
//! Why apart: Azure's principals, its ARM resource ids and its long-running operation phases are
//! its own; the parent only fixes where this part stands in the timeline.

use serde_json::json;

use super::{Timeline, ATTACKER_IP, NOISE, T3};
use crate::azure::{self, AzCall, AzPrincipal, Tenancy, Who};
use crate::clock::at;
use crate::Part;

/// Who acts in the Azure part, and the VM, snapshot and disks of test 3.
struct Cast {
    ten: Tenancy,
    mallory: AzPrincipal,
    alice: AzPrincipal,
    backup: AzPrincipal,
    vm: String,
    snapshot: String,
    new_disk_name: &'static str,
    new_disk: String,
    nic: String,
}

impl Cast {
    fn new(t: &Timeline<'_>) -> Self {
        let ten = t.tenancy.clone();
        let mallory = AzPrincipal {
            key: "mallory",
            who: Who::User {
                upn: "mallory@northwindlabs.example",
                given: "Mallory",
                surname: "Ops",
                portal: false,
            },
            ip: ATTACKER_IP,
            role: ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
        };
        let alice = AzPrincipal {
            key: "alice",
            who: Who::User {
                upn: "alice@northwindlabs.example",
                given: "Alice",
                surname: "Admin",
                portal: true,
            },
            ip: "198.51.100.23",
            role: (
                "Virtual Machine Contributor",
                "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
            ),
        };
        let backup = AzPrincipal {
            key: "backup-management-service",
            who: Who::App {
                appid: azure::BACKUP_MANAGEMENT_SERVICE_APP,
            },
            ip: "198.51.100.200",
            role: ("Backup Contributor", "5e467623-bb1f-42f4-a55d-6e525e11384b"),
        };

        let rg = "rg-prod-web";
        let vm = ten.arm(rg, "Microsoft.Compute/virtualMachines/vm-web-01");
        let snapshot = ten.arm(
            rg,
            "Microsoft.Compute/snapshots/vm-web-01-osdisk-snap-20261101",
        );
        let new_disk_name = "vm-web-01-osdisk-restored";
        let new_disk = ten.arm(rg, &format!("Microsoft.Compute/disks/{new_disk_name}"));
        let nic = ten.arm(rg, "Microsoft.Network/networkInterfaces/vm-web-01-nic01");
        Cast {
            ten,
            mallory,
            alice,
            backup,
            vm,
            snapshot,
            new_disk_name,
            new_disk,
            nic,
        }
    }
}

/// The Azure episodes in timeline order.
pub(super) fn build_azure(t: &mut Timeline<'_>) {
    let cast = Cast::new(t);
    sas_export(t, &cast);
    backup_restore(t, &cast);
    restart(t, &cast);
    test3_revert(t, &cast);
}

/// Test 3 precursor: SAS export of the snapshot.
fn sas_export(t: &mut Timeline<'_>, cast: &Cast) {
    let Cast {
        mallory, snapshot, ..
    } = cast;
    t.azure(
        T3,
        Part::Precursor,
        "SAS URL export of the snapshot (beginGetAccess): exfiltration of the disk",
        AzCall {
            label: "azure/t3/sas",
            principal: mallory,
            resource_id: snapshot.clone(),
            operation: "Microsoft.Compute/snapshots/beginGetAccess/action",
            phases: azure::lro(at(1, 20, 5, 118), 182, 2_431),
            request_body: Some(
                json!({"access": "Read", "durationInSeconds": 86400, "fileFormat": "VHD"}),
            ),
            response_body: None,
        },
    );
}

/// Benign: Azure Backup restores a disk from a recovery point.
fn backup_restore(t: &mut Timeline<'_>, cast: &Cast) {
    let ids = t.ids;
    let Cast { ten, backup, .. } = cast;
    let bk_rg = "AzureBackupRG_westeurope_1";
    let restore_point = format!(
        "/subscriptions/{}/resourceGroups/{bk_rg}/providers/Microsoft.Compute/restorePointCollections/AzureBackup_vm-app-02_{}/restorePoints/{}/diskRestorePoints/vm-app-02_OsDisk_1_{}_{}",
        ten.subscription,
        ids.digits("azure/backup/rpc", 12),
        ids.uuid("azure/backup/rp"),
        ids.hex("azure/backup/disk", 32),
        ids.uuid("azure/backup/drp")
    );
    let restored = ten.arm(
        bk_rg,
        "Microsoft.Compute/disks/vm-app-02-osdisk-20261120-111000",
    );
    t.azure(NOISE, Part::Benign, "Azure Backup Management Service (appid 262044b1-…) restores a disk (createOption Restore) in AzureBackupRG_westeurope_1: sanctioned DR", AzCall {
        label: "azure/backup/disk",
        principal: backup,
        resource_id: restored.clone(),
        operation: "Microsoft.Compute/disks/write",
        phases: azure::sync(at(2, 10, 0, 64), 3_112, "Created", "Created"),
        request_body: Some(json!({
            "location": azure::LOCATION, "sku": {"name": "Premium_LRS"},
            "properties": {"creationData": {"createOption": "Restore", "sourceResourceId": restore_point}, "osType": "Linux", "hyperVGeneration": "V2"},
            "tags": {"RSVaultBackup": ids.uuid("azure/backup/tag")},
        })),
        response_body: None,
    });
}

/// Benign: a restart keeps the temporary disk.
fn restart(t: &mut Timeline<'_>, cast: &Cast) {
    let Cast { ten, alice, .. } = cast;
    t.azure(
        NOISE,
        Part::Benign,
        "restart/action of vm-app-02 by an admin in the portal: a restart keeps the temporary disk",
        AzCall {
            label: "azure/alice/restart",
            principal: alice,
            resource_id: ten.arm("rg-prod-app", "Microsoft.Compute/virtualMachines/vm-app-02"),
            operation: "Microsoft.Compute/virtualMachines/restart/action",
            phases: azure::lro(at(2, 35, 40, 301), 140, 38_207),
            request_body: None,
            response_body: None,
        },
    );
}

/// Test 3: disk copied from the snapshot, swapped in as vm-web-01's OS disk.
fn test3_revert(t: &mut Timeline<'_>, cast: &Cast) {
    let ids = t.ids;
    let Cast {
        mallory,
        vm,
        snapshot,
        new_disk_name,
        new_disk,
        nic,
        ..
    } = cast;
    let creation = json!({"createOption": "Copy", "sourceResourceId": snapshot});
    t.azure(T3, Part::Revert, "test 3: disks/write with createOption Copy from the snapshot (201 Created)", AzCall {
        label: "azure/t3/disk",
        principal: mallory,
        resource_id: new_disk.clone(),
        operation: "Microsoft.Compute/disks/write",
        phases: azure::sync(at(3, 50, 11, 207), 2_904, "Created", "Created"),
        request_body: Some(json!({
            "location": azure::LOCATION, "sku": {"name": "Premium_LRS"},
            "properties": {"creationData": creation, "osType": "Linux", "hyperVGeneration": "V2"},
        })),
        response_body: Some(json!({
            "name": new_disk_name, "id": new_disk, "type": "Microsoft.Compute/disks",
            "location": azure::LOCATION, "sku": {"name": "Premium_LRS", "tier": "Premium"},
            "properties": {
                "osType": "Linux", "hyperVGeneration": "V2",
                "creationData": {"createOption": "Copy", "sourceResourceId": snapshot, "sourceUniqueId": ids.uuid("azure/t3/snapshot-unique")},
                "diskSizeGB": 64, "provisioningState": "Updating", "uniqueId": ids.uuid("azure/t3/disk-unique"),
            },
        })),
    });
    t.azure(
        T3,
        Part::Revert,
        "test 3: deallocate/action of vm-web-01 (also wipes the temporary disk)",
        AzCall {
            label: "azure/t3/deallocate",
            principal: mallory,
            resource_id: vm.clone(),
            operation: "Microsoft.Compute/virtualMachines/deallocate/action",
            phases: azure::lro(at(3, 52, 30, 45), 151, 71_388),
            request_body: None,
            response_body: None,
        },
    );
    t.azure(T3, Part::Revert, "test 3: virtualMachines/write swapping the OS disk to the restored disk", AzCall {
        label: "azure/t3/swap",
        principal: mallory,
        resource_id: vm.clone(),
        operation: "Microsoft.Compute/virtualMachines/write",
        phases: azure::sync(at(3, 55, 3, 512), 5_817, "OK", "OK"),
        request_body: Some(json!({
            "location": azure::LOCATION,
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
                "storageProfile": {
                    "osDisk": {"osType": "Linux", "name": new_disk_name, "createOption": "Attach", "caching": "ReadWrite", "managedDisk": {"id": new_disk}, "deleteOption": "Detach"},
                    "dataDisks": [],
                },
                "networkProfile": {"networkInterfaces": [{"id": nic}]},
                "diagnosticsProfile": {"bootDiagnostics": {"enabled": true}},
            },
        })),
        response_body: None,
    });
    t.azure(
        T3,
        Part::Revert,
        "test 3: start/action of vm-web-01 on the reverted OS disk",
        AzCall {
            label: "azure/t3/start",
            principal: mallory,
            resource_id: vm.clone(),
            operation: "Microsoft.Compute/virtualMachines/start/action",
            phases: azure::lro(at(3, 57, 20, 880), 163, 44_950),
            request_body: None,
            response_body: None,
        },
    );
}
