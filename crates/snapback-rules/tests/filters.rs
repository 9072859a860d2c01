//! Each built-in filter suppresses its automation and never the human doing the same call.

mod common;

use common::*;
use serde_json::{json, Value};
use snapback_ingest::Event;
use snapback_rules::RuleRef;

/// Titles of the filters that suppress `rule` (a detection or correlation name) on `e`.
fn suppressed_by(e: &Event, rule: &str) -> Vec<String> {
    let set = rules();
    let r = match set.detection(rule) {
        Some(i) => RuleRef::Detection(i),
        None => RuleRef::Correlation(set.correlation(rule).expect("rule exists")),
    };
    set.suppressing_filters(e, r)
        .into_iter()
        .map(|i| set.filters[i].id.clone())
        .map(|id| {
            set.filters
                .iter()
                .find(|f| f.id == id)
                .map(|f| f.title.clone())
                .unwrap()
        })
        .collect()
}

#[track_caller]
fn assert_suppressed(e: &Event, rule: &str, filter_title: &str) {
    assert!(
        !matched(e).is_empty() || rules().correlation(rule).is_some(),
        "fixture matches no rule"
    );
    assert_eq!(suppressed_by(e, rule), [filter_title], "rule {rule}");
}

#[track_caller]
fn assert_not_suppressed(e: &Event, rule: &str) {
    assert_eq!(suppressed_by(e, rule), Vec::<String>::new(), "rule {rule}");
}

fn create_volume(who: Value, ip: &str) -> Event {
    ct_by(
        "ec2.amazonaws.com",
        "CreateVolume",
        json!({"snapshotId": "snap-1"}),
        json!({"volumeId": "vol-1"}),
        who,
        ip,
    )
}

#[test]
fn aws_backup() {
    let t = "AWS Backup Service Activity";
    let by_role = create_volume(
        service_role("AWSBackupDefaultServiceRole", "service-role/", None),
        "backup.amazonaws.com",
    );
    assert_suppressed(&by_role, "aws-ec2-create-volume-from-snapshot", t);
    let slr = create_volume(
        service_role(
            "AWSServiceRoleForBackup",
            "aws-service-role/backup.amazonaws.com/",
            None,
        ),
        "10.0.0.1",
    );
    assert_suppressed(&slr, "aws-ec2-create-volume-from-snapshot", t);
    let invoked = create_volume(
        service_role("custom-restore-role", "", Some("backup.amazonaws.com")),
        "10.0.0.1",
    );
    assert_suppressed(&invoked, "aws-ec2-create-volume-from-snapshot", t);
    // Also on the correlation it is part of.
    assert_suppressed(&by_role, "aws-ebs-restored-volume-attached", t);
    // The human who asked for the restore is kept.
    let ask = ct_by(
        "backup.amazonaws.com",
        "StartRestoreJob",
        json!({}),
        json!({}),
        service_role("AWSBackupDefaultServiceRole", "service-role/", None),
        "1.2.3.4",
    );
    assert_not_suppressed(&ask, "aws-backup-start-restore-job");
    // A console user: invokedBy signin.amazonaws.com is a human, never a service.
    assert_not_suppressed(
        &create_volume(console_human(), "198.51.100.9"),
        "aws-ec2-create-volume-from-snapshot",
    );
    assert_not_suppressed(
        &create_volume(human(), "198.51.100.9"),
        "aws-ec2-create-volume-from-snapshot",
    );
}

#[test]
fn aws_dlm_autoscaling_image_builder_guardduty_inspector() {
    let share = |who| {
        ct_by(
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            json!({"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [{"userId": "444455556666"}]}}}),
            json!({"_return": true}),
            who,
            "10.0.0.1",
        )
    };
    let r = "aws-ec2-snapshot-shared-or-public";
    assert_suppressed(
        &share(service_role(
            "AWSDataLifecycleManagerDefaultRole",
            "service-role/",
            None,
        )),
        r,
        "AWS Data Lifecycle Manager Activity",
    );
    assert_suppressed(
        &share(service_role(
            "AWSDataLifecycleManagerDefaultRoleForAMIManagement",
            "",
            None,
        )),
        r,
        "AWS Data Lifecycle Manager Activity",
    );
    assert_suppressed(
        &share(service_role("dlm-custom", "", Some("dlm.amazonaws.com"))),
        r,
        "AWS Data Lifecycle Manager Activity",
    );
    assert_suppressed(
        &share(service_role(
            "AWSServiceRoleForAmazonGuardDutyMalwareProtection",
            "aws-service-role/malware-protection.guardduty.amazonaws.com/",
            None,
        )),
        r,
        "Amazon GuardDuty Malware Protection Scans",
    );
    assert_suppressed(
        &create_volume(
            service_role(
                "AWSServiceRoleForAmazonInspector2Agentless",
                "aws-service-role/agentless.inspector2.amazonaws.com/",
                None,
            ),
            "10.0.0.1",
        ),
        "aws-ec2-create-volume-from-snapshot",
        "Amazon Inspector Agentless Scans",
    );
    assert_not_suppressed(&share(human()), r);
    assert_not_suppressed(&share(console_human()), r);

    let stop = |who, ip| {
        ct_by(
            "ec2.amazonaws.com",
            "StopInstances",
            json!({"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
            json!(null),
            who,
            ip,
        )
    };
    let asg = service_role(
        "AWSServiceRoleForAutoScaling",
        "aws-service-role/autoscaling.amazonaws.com/",
        Some("autoscaling.amazonaws.com"),
    );
    assert_suppressed(
        &stop(asg.clone(), "autoscaling.amazonaws.com"),
        "aws-ec2-stop-instances",
        "AWS EC2 Auto Scaling Activity",
    );
    assert_suppressed(
        &stop(asg, "autoscaling.amazonaws.com"),
        "aws-ec2-stop-then-start",
        "AWS EC2 Auto Scaling Activity",
    );
    assert_suppressed(
        &stop(
            service_role(
                "AWSServiceRoleForImageBuilder",
                "aws-service-role/imagebuilder.amazonaws.com/",
                None,
            ),
            "10.0.0.1",
        ),
        "aws-ec2-stop-instances",
        "AWS EC2 Image Builder Activity",
    );
    assert_not_suppressed(&stop(human(), "203.0.113.7"), "aws-ec2-stop-instances");
    assert_not_suppressed(
        &stop(console_human(), "203.0.113.7"),
        "aws-ec2-stop-then-start",
    );
    // A filter only suppresses the rules it targets: a GuardDuty role stopping CloudTrail is
    // not a malware scan.
    let blind = ct_by(
        "cloudtrail.amazonaws.com",
        "StopLogging",
        json!({"name": "main"}),
        json!(null),
        service_role(
            "AWSServiceRoleForAmazonGuardDutyMalwareProtection",
            "",
            None,
        ),
        "10.0.0.1",
    );
    assert_not_suppressed(&blind, "aws-cloudtrail-logging-tampered");
}

#[test]
fn azure_backup_site_recovery_automation() {
    let disk = arm("prod", "Microsoft.Compute/disks/d1");
    let body = json!({"properties": {"creationData": {"createOption": "Restore"}}});
    let r = "azure-disk-created-from-snapshot-or-restore-point";
    let backup = az_records(
        "Microsoft.Compute/disks/write",
        &disk,
        Some(body.clone()),
        app_claims("262044b1-e2ce-469f-a196-69ab7ada62d3"),
    );
    assert_suppressed(&backup, r, "Azure Backup Management Service Activity");
    assert_suppressed(
        &backup,
        "azure-disk-restored-then-vm-changed",
        "Azure Backup Management Service Activity",
    );
    let in_backup_rg = az_records(
        "Microsoft.Compute/disks/write",
        &arm("AzureBackupRG_westeurope_1", "Microsoft.Compute/disks/d1"),
        Some(body.clone()),
        user_claims(),
    );
    assert_suppressed(&in_backup_rg, r, "Azure Backup Management Service Activity");
    let asr = az_records(
        "Microsoft.Compute/disks/write",
        &disk,
        Some(body.clone()),
        app_claims("b8340c3b-9267-498f-b21a-15d5547fd85e"),
    );
    assert_suppressed(&asr, r, "Azure Site Recovery Activity");
    assert_not_suppressed(
        &az_records(
            "Microsoft.Compute/disks/write",
            &disk,
            Some(body),
            user_claims(),
        ),
        r,
    );
    // The human asking Azure Backup for a restore is kept even in its vault.
    let ask = az_records(
        "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action",
        &arm("AzureBackupRG_westeurope_1", "Microsoft.RecoveryServices/vaults/v/x"),
        None,
        user_claims(),
    );
    assert_not_suppressed(&ask, "azure-backup-vm-restore");

    let vm = arm("prod", "Microsoft.Compute/virtualMachines/web01");
    let mut runbook = app_claims("11111111-2222-3333-4444-555555555555");
    runbook["xms_mirid"] = json!(format!("/subscriptions/{SUB}/resourcegroups/ops/providers/Microsoft.Automation/automationAccounts/startstop"));
    let dealloc = az_records(
        "Microsoft.Compute/virtualMachines/deallocate/action",
        &vm,
        None,
        runbook,
    );
    assert_suppressed(
        &dealloc,
        "azure-vm-deallocate",
        "Azure Automation Runbook Activity",
    );
    assert_suppressed(
        &dealloc,
        "azure-vm-deallocate-then-start",
        "Azure Automation Runbook Activity",
    );
    let mut other_mi = app_claims("11111111-2222-3333-4444-555555555555");
    other_mi["xms_mirid"] = json!(format!("/subscriptions/{SUB}/resourcegroups/ops/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ci"));
    assert_not_suppressed(
        &az_records(
            "Microsoft.Compute/virtualMachines/deallocate/action",
            &vm,
            None,
            other_mi,
        ),
        "azure-vm-deallocate",
    );
    assert_not_suppressed(
        &az_records(
            "Microsoft.Compute/virtualMachines/deallocate/action",
            &vm,
            None,
            user_claims(),
        ),
        "azure-vm-deallocate",
    );
}

#[test]
fn gcp_service_agents() {
    let t = "Google Cloud Service Agents";
    let inst = "projects/p1/zones/z/instances/i";
    for agent in [
        "service-123@compute-system.iam.gserviceaccount.com",
        "123@cloudservices.gserviceaccount.com",
        "service-123@gcp-sa-backupdr.iam.gserviceaccount.com",
    ] {
        assert_suppressed(
            &gcp_by("v1.compute.instances.stop", inst, json!({}), agent),
            "gcp-instance-stop",
            t,
        );
        assert_suppressed(
            &gcp_by("v1.compute.instances.stop", inst, json!({}), agent),
            "gcp-instance-stop-then-start",
            t,
        );
    }
    assert_not_suppressed(
        &gcp_by(
            "v1.compute.instances.stop",
            inst,
            json!({}),
            "eve@example.com",
        ),
        "gcp-instance-stop",
    );
    // A user-managed service account is not a Google service agent.
    assert_not_suppressed(
        &gcp_by(
            "v1.compute.instances.stop",
            inst,
            json!({}),
            "deployer@p1.iam.gserviceaccount.com",
        ),
        "gcp-instance-stop",
    );
}

#[test]
fn every_filter_has_a_reason_and_targets() {
    for f in &rules().filters {
        assert!(
            f.description.len() > 40,
            "{}: the description is the suppression reason",
            f.title
        );
        assert!(
            !f.any && !f.targets.is_empty(),
            "{}: built-in filters name their rules",
            f.title
        );
        assert!(!f.targets.iter().any(|t| t.contains("*")), "{}", f.title);
    }
}
