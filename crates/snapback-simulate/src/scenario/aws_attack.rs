//! The attacker's AWS steps, tests 1, 2 and 4 of the seed: read-only reconnaissance, the
//! precursors the kill-chain rule links to a revert (SSH key pushed, SSM command, snapshot shared
//! out), and the reverts themselves.
//!
//! Why apart from the benign episodes: these are the records that must alert, each named for the
//! step it plays; `build_aws` in the parent interleaves them with the look-alikes in time order.

use serde_json::{json, Value};

use super::aws_cast::{id, name_tag, Principals, Resources};
use super::{Timeline, T1, T2, T4};
use crate::aws::{self, Call, Outcome};
use crate::clock::{self, at};
use crate::ids::Ids;
use crate::{AtomicTest, Part, Story};

/// Attacker reconnaissance.
pub(super) fn recon(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let Principals { attacker, .. } = who;
    let Resources { db1, .. } = res;
    let recon: [(i64, &'static str, Value); 3] = [
        (
            at(0, 2, 11, 0),
            "DescribeInstances",
            json!({"instancesSet": {}, "filterSet": {}}),
        ),
        (
            at(0, 3, 2, 0),
            "DescribeSnapshots",
            json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}}),
        ),
        (
            at(3, 4, 2, 0),
            "DescribeVolumes",
            json!({"volumeSet": {}, "filterSet": {"items": [{"name": "attachment.instance-id", "valueSet": {"items": [{"value": db1}]}}]}}),
        ),
    ];
    for (n, (when, name, request)) in recon.into_iter().enumerate() {
        t.aws(
            Story::Atomic(if n < 2 {
                AtomicTest::Ec2StopStart
            } else {
                AtomicTest::EbsVolumeFromSnapshot
            }),
            Part::Recon,
            "attacker inventory before acting; read-only",
            Call {
                label: &format!("aws/recon/{n}"),
                principal: attacker,
                at: when,
                service: "ec2",
                name,
                request,
                outcome: Outcome::ReadOnly,
            },
        );
    }
}

/// Test 1 precursors: SSH key pushed to web-1, then an SSM shell script on it.
pub(super) fn test1_precursors(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let ids = t.ids;
    let Principals { attacker, .. } = who;
    let Resources { web1, .. } = res;
    let when = at(0, 5, 12, 0);
    t.aws(T1, Part::Precursor, "EC2 Instance Connect key pushed to web-1 by the attacker (hands on the instance)", Call {
        label: "aws/t1/ssh",
        principal: attacker,
        at: when,
        service: "ec2-instance-connect",
        name: "SendSSHPublicKey",
        request: json!({"instanceId": web1, "instanceOSUser": "ec2-user",
            "sSHPublicKey": format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{}", ids.mixed("aws/t1/sshkey", 43))}),
        outcome: Outcome::Ok(json!({"success": true})),
    });
    let when = at(0, 21, 40, 0);
    let (request, response) = send_command(ids, "aws/t1/ssm", when, web1);
    t.aws(
        T1,
        Part::Precursor,
        "SSM RunShellScript on web-1 by the attacker (staging and exfiltration)",
        Call {
            label: "aws/t1/ssm",
            principal: attacker,
            at: when,
            service: "ssm",
            name: "SendCommand",
            request,
            outcome: Outcome::Ok(response),
        },
    );
}

/// Test 2 precursor: the pre-incident snapshot of db-1's root shared to a foreign account.
pub(super) fn test2_precursor(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let Principals { attacker, .. } = who;
    let Resources { db1_snap, .. } = res;
    t.aws(
        T2,
        Part::Precursor,
        "db-1's snapshot shared to foreign account 444455556666 (exfiltration of the disk)",
        Call {
            label: "aws/t2/share",
            principal: attacker,
            at: at(0, 34, 18, 0),
            service: "ec2",
            name: "ModifySnapshotAttribute",
            request: share_snapshot(db1_snap),
            outcome: Outcome::Ok(json!({"_return": true})),
        },
    );
}

/// Test 4 precursors: app-1's snapshot shared out, SSM command on app-1.
pub(super) fn test4_precursors(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let ids = t.ids;
    let Principals { attacker, .. } = who;
    let Resources {
        app1, app1_snap, ..
    } = res;
    t.aws(
        T4,
        Part::Precursor,
        "app-1's snapshot shared to foreign account 444455556666 (exfiltration of the disk)",
        Call {
            label: "aws/t4/share",
            principal: attacker,
            at: at(1, 3, 51, 0),
            service: "ec2",
            name: "ModifySnapshotAttribute",
            request: share_snapshot(app1_snap),
            outcome: Outcome::Ok(json!({"_return": true})),
        },
    );
    let when = at(1, 12, 6, 0);
    let (request, response) = send_command(ids, "aws/t4/ssm", when, app1);
    t.aws(
        T4,
        Part::Precursor,
        "SSM RunShellScript on app-1 by the attacker",
        Call {
            label: "aws/t4/ssm",
            principal: attacker,
            at: when,
            service: "ssm",
            name: "SendCommand",
            request,
            outcome: Outcome::Ok(response),
        },
    );
}

/// Test 1: stop then start web-1 (instance store wiped).
pub(super) fn test1_revert(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let Principals { attacker, .. } = who;
    let Resources { web1, .. } = res;
    t.aws(
        T1,
        Part::Revert,
        "test 1: StopInstances of web-1",
        Call {
            label: "aws/t1/stop",
            principal: attacker,
            at: at(2, 40, 5, 0),
            service: "ec2",
            name: "StopInstances",
            request: json!({"instancesSet": aws::instances_set(&[web1]), "force": false}),
            outcome: Outcome::Ok(aws::state_change(&[web1], aws::RUNNING, aws::STOPPING)),
        },
    );
    t.aws(
        T1,
        Part::Revert,
        "test 1: StartInstances of the same web-1, 4.5 minutes later",
        Call {
            label: "aws/t1/start",
            principal: attacker,
            at: at(2, 44, 37, 0),
            service: "ec2",
            name: "StartInstances",
            request: json!({"instancesSet": aws::instances_set(&[web1])}),
            outcome: Outcome::Ok(aws::state_change(&[web1], aws::STOPPED, aws::PENDING)),
        },
    );
}

/// Test 2: volume from the shared snapshot swapped in as db-1's root.
pub(super) fn test2_revert(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let Principals { attacker, .. } = who;
    let Resources {
        db1,
        db1_root,
        db1_snap,
        db1_restored,
        long_ago,
        ..
    } = res;
    let when = at(3, 5, 9, 0);
    t.aws(T2, Part::Revert, "test 2: CreateVolume from db-1's pre-incident snapshot", Call {
        label: "aws/t2/create",
        principal: attacker,
        at: when,
        service: "ec2",
        name: "CreateVolume",
        request: json!({"snapshotId": db1_snap, "zone": aws::ZONE, "volumeType": "gp3", "encrypted": false, "tagSpecificationSet": name_tag("volume", "db-1-root")}),
        outcome: Outcome::Ok(json!({
            "volumeId": db1_restored, "size": "30", "zone": aws::ZONE, "status": "creating",
            "createTime": when, "volumeType": "gp3", "iops": 3000, "throughput": 125,
            "encrypted": false, "multiAttachEnabled": false, "snapshotId": db1_snap,
            "tagSet": {"items": [{"key": "Name", "value": "db-1-root"}]},
        })),
    });
    t.aws(
        T2,
        Part::Revert,
        "test 2: StopInstances of db-1 (root swap needs it stopped)",
        Call {
            label: "aws/t2/stop",
            principal: attacker,
            at: at(3, 7, 30, 0),
            service: "ec2",
            name: "StopInstances",
            request: json!({"instancesSet": aws::instances_set(&[db1]), "force": false}),
            outcome: Outcome::Ok(aws::state_change(&[db1], aws::RUNNING, aws::STOPPING)),
        },
    );
    t.aws(T2, Part::Revert, "test 2: DetachVolume of db-1's current root (/dev/xvda in the response)", Call {
        label: "aws/t2/detach",
        principal: attacker,
        at: at(3, 9, 2, 0),
        service: "ec2",
        name: "DetachVolume",
        request: json!({"volumeId": db1_root, "instanceId": db1, "force": false}),
        outcome: Outcome::Ok(json!({"volumeId": db1_root, "instanceId": db1, "device": "/dev/xvda", "status": "detaching", "attachTime": long_ago})),
    });
    let when = at(3, 9, 48, 0);
    t.aws(T2, Part::Revert, "test 2: AttachVolume of the restored volume to db-1 as /dev/xvda (root)", Call {
        label: "aws/t2/attach",
        principal: attacker,
        at: when,
        service: "ec2",
        name: "AttachVolume",
        request: json!({"volumeId": db1_restored, "instanceId": db1, "device": "/dev/xvda"}),
        outcome: Outcome::Ok(json!({"volumeId": db1_restored, "instanceId": db1, "device": "/dev/xvda", "status": "attaching", "attachTime": when, "deleteOnTermination": false})),
    });
    t.aws(
        T2,
        Part::Revert,
        "test 2: StartInstances of db-1 on the reverted root",
        Call {
            label: "aws/t2/start",
            principal: attacker,
            at: at(3, 10, 31, 0),
            service: "ec2",
            name: "StartInstances",
            request: json!({"instancesSet": aws::instances_set(&[db1])}),
            outcome: Outcome::Ok(aws::state_change(&[db1], aws::STOPPED, aws::PENDING)),
        },
    );
}

/// Test 4: AMI from app-1's old snapshot, launched, old instance terminated.
pub(super) fn test4_revert(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let ids = t.ids;
    let Principals { attacker, .. } = who;
    let Resources {
        app1,
        app1_snap,
        app1_ami,
        app1_new,
        ..
    } = res;
    t.aws(T4, Part::Recon, "attacker looks up app-1's snapshots; read-only", Call {
        label: "aws/t4/recon",
        principal: attacker,
        at: at(3, 29, 10, 0),
        service: "ec2",
        name: "DescribeSnapshots",
        request: json!({"snapshotSet": {"items": [{"snapshotId": app1_snap}]}, "ownersSet": {}, "sharedUsersSet": {}, "filterSet": {}}),
        outcome: Outcome::ReadOnly,
    });
    t.aws(T4, Part::Revert, "test 4: RegisterImage with app-1's old snapshot as /dev/xvda", Call {
        label: "aws/t4/register",
        principal: attacker,
        at: at(3, 30, 15, 0),
        service: "ec2",
        name: "RegisterImage",
        request: json!({
            "name": "app-1-2026-11-01", "architecture": "x86_64", "rootDeviceName": "/dev/xvda",
            "virtualizationType": "hvm", "enaSupport": true, "bootMode": "uefi-preferred",
            "blockDeviceMapping": {"items": [{"deviceName": "/dev/xvda", "ebs": {"snapshotId": app1_snap, "volumeSize": 16, "deleteOnTermination": true, "volumeType": "gp3"}}]},
        }),
        outcome: Outcome::Ok(json!({"imageId": app1_ami})),
    });
    let when = at(3, 33, 40, 0);
    t.aws(T4, Part::Revert, "test 4: RunInstances from the AMI RegisterImage returned", Call {
        label: "aws/t4/run",
        principal: attacker,
        at: when,
        service: "ec2",
        name: "RunInstances",
        request: json!({
            "instancesSet": {"items": [{"imageId": app1_ami, "minCount": 1, "maxCount": 1}]},
            "instanceType": "t3.medium", "blockDeviceMapping": {}, "monitoring": {"enabled": false},
            "disableApiTermination": false, "disableApiStop": false,
            "clientToken": ids.uuid("aws/t4/run/token"), "subnetId": aws::SUBNET,
            "groupSet": {"items": [{"groupId": aws::SECURITY_GROUP}]},
            "tagSpecificationSet": name_tag("instance", "app-1"),
        }),
        outcome: Outcome::Ok(json!({
            "reservationId": id(ids, "r", "app-1"), "ownerId": aws::ACCOUNT, "groupSet": {},
            "instancesSet": {"items": [aws::launched_instance(ids, "aws/t4/run", app1_new, app1_ami, when, "t3.medium")]},
        })),
    });
    t.aws(
        T4,
        Part::Revert,
        "test 4: TerminateInstances of the compromised app-1 it replaces",
        Call {
            label: "aws/t4/terminate",
            principal: attacker,
            at: at(3, 36, 2, 0),
            service: "ec2",
            name: "TerminateInstances",
            request: json!({"instancesSet": aws::instances_set(&[app1])}),
            outcome: Outcome::Ok(aws::state_change(&[app1], aws::RUNNING, aws::SHUTTING_DOWN)),
        },
    );
}

fn send_command(ids: &Ids, label: &str, at_ms: i64, instance: &str) -> (Value, Value) {
    let request = json!({
        "documentName": "AWS-RunShellScript",
        "instanceIds": [instance],
        "interactive": false,
        "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS",
    });
    let response = json!({"command": {
        "alarmConfiguration": {"alarms": [], "ignorePollAlarmFailure": false},
        "clientName": "", "clientSourceId": "",
        "cloudWatchOutputConfig": {"cloudWatchLogGroupName": "", "cloudWatchOutputEnabled": false},
        "commandId": ids.uuid(&format!("{label}/commandId")),
        "comment": "", "completedCount": 0, "deliveryTimedOutCount": 0,
        "documentName": "AWS-RunShellScript", "documentVersion": "$DEFAULT",
        "errorCount": 0,
        "expiresAfter": clock::ssm(at_ms + 2 * 3_600_000),
        "hasCancelCommandSignature": false, "hasSendCommandSignature": false,
        "instanceIds": [instance], "interactive": false,
        "maxConcurrency": "50", "maxErrors": "0",
        "notificationConfig": {"notificationArn": "", "notificationEvents": [], "notificationType": ""},
        "outputS3BucketName": "", "outputS3KeyPrefix": "", "outputS3Region": aws::REGION,
        "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS",
        "requestedDateTime": clock::ssm(at_ms),
        "serviceRole": "", "status": "Pending", "statusDetails": "Pending",
        "targetCount": 1, "targets": [], "timeoutSeconds": 3600, "triggeredAlarms": [],
    }});
    (request, response)
}

fn share_snapshot(snapshot: &str) -> Value {
    json!({
        "snapshotId": snapshot,
        "attributeType": "CREATE_VOLUME_PERMISSION",
        "createVolumePermission": {"add": {"items": [{"userId": aws::FOREIGN_ACCOUNT}]}},
    })
}
