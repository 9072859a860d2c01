//! The benign AWS look-alikes: calls that resemble a revert or its precursors and must not alert
//! (Data Lifecycle Manager snapshots, console browsing, a CI environment, an AWS Backup restore,
//! Auto Scaling, a reboot, denied and dry-run stop/start pairs).
//!
//! Why apart from the attacker's steps: each episode here says why it is benign, and together
//! they are the false-positive suite of the AWS rules.

use serde_json::{json, Value};

use super::aws_cast::{id, name_tag, Principals, Resources};
use super::{Timeline, NOISE};
use crate::aws::{self, Call, Outcome};
use crate::clock::at;
use crate::Part;

/// Benign: Data Lifecycle Manager daily snapshots at 09:00.
pub(super) fn dlm_snapshots(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let ids = t.ids;
    let Principals { dlm, .. } = who;
    let Resources {
        web1_root,
        db1_root,
        dlm_policy,
        ..
    } = res;
    for (n, (vol, snap_name)) in [(web1_root, "dlm-web-1"), (db1_root, "dlm-db-1")]
        .into_iter()
        .enumerate()
    {
        let when = at(0, 0, 3 + n as i64, 410);
        let description = format!("Created for policy: {dlm_policy} schedule: Default Schedule");
        let tags = json!({"items": [{"resourceType": "snapshot", "tags": [
            {"key": "aws:dlm:lifecycle-policy-id", "value": dlm_policy},
            {"key": "aws:dlm:lifecycle-schedule-name", "value": "Default Schedule"},
            {"key": "dlm:managed", "value": "true"},
        ]}]});
        t.aws(NOISE, Part::Benign, "Data Lifecycle Manager scheduled snapshot (invokedBy dlm.amazonaws.com): backup, not a revert", Call {
            label: &format!("aws/dlm/{n}"),
            principal: dlm,
            at: when,
            service: "ec2",
            name: "CreateSnapshot",
            request: json!({"volumeId": vol, "description": description, "tagSpecificationSet": tags}),
            outcome: Outcome::Ok(json!({
                "snapshotId": id(ids, "snap", snap_name), "volumeId": vol, "status": "pending",
                "startTime": when, "progress": "", "ownerId": aws::ACCOUNT, "volumeSize": 30,
                "encrypted": false, "description": description, "tagSet": {"items": [
                    {"key": "aws:dlm:lifecycle-policy-id", "value": dlm_policy},
                    {"key": "aws:dlm:lifecycle-schedule-name", "value": "Default Schedule"},
                    {"key": "dlm:managed", "value": "true"},
                ]},
            })),
        });
    }
}

/// Benign: ops console browsing.
pub(super) fn ops_browsing(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let Principals { ops, .. } = who;
    let Resources { reports, .. } = res;
    let browsing: [(i64, &'static str, Value); 7] = [
        (
            at(0, 12, 7, 0),
            "DescribeInstances",
            json!({"instancesSet": {}, "filterSet": {}, "maxResults": 1000}),
        ),
        (
            at(0, 13, 30, 0),
            "DescribeVolumes",
            json!({"volumeSet": {}, "filterSet": {}, "maxResults": 500}),
        ),
        (
            at(1, 5, 44, 0),
            "DescribeInstances",
            json!({"instancesSet": {"items": [{"instanceId": reports}]}, "filterSet": {}}),
        ),
        (
            at(1, 6, 12, 0),
            "DescribeSnapshots",
            json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}, "maxResults": 1000}),
        ),
        (
            at(2, 50, 3, 0),
            "DescribeInstances",
            json!({"instancesSet": {}, "filterSet": {}, "maxResults": 1000}),
        ),
        (
            at(2, 51, 26, 0),
            "DescribeImages",
            json!({"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}}),
        ),
        (
            at(3, 20, 8, 0),
            "DescribeInstanceStatus",
            json!({"instancesSet": {}, "filterSet": {}, "includeAllInstances": true}),
        ),
    ];
    for (n, (when, name, request)) in browsing.into_iter().enumerate() {
        t.aws(
            NOISE,
            Part::Benign,
            "ops engineer browsing the EC2 console; read-only",
            Call {
                label: &format!("aws/ops-browse/{n}"),
                principal: ops,
                at: when,
                service: "ec2",
                name,
                request,
                outcome: Outcome::ReadOnly,
            },
        );
    }
}

/// Benign: CI/CD integration environment, created and destroyed.
pub(super) fn ci_environment(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let ids = t.ids;
    let Principals { ci, .. } = who;
    let Resources {
        golden,
        ci_instance,
        ci_volume,
        ..
    } = res;
    let when = at(0, 48, 10, 0);
    t.aws(NOISE, Part::Benign, "CI pipeline launches a test instance from the golden AMI (no RegisterImage from a snapshot precedes it)", Call {
        label: "aws/ci/run",
        principal: ci,
        at: when,
        service: "ec2",
        name: "RunInstances",
        request: json!({
            "instancesSet": {"items": [{"imageId": golden, "minCount": 1, "maxCount": 1}]},
            "instanceType": "t3.small", "blockDeviceMapping": {}, "monitoring": {"enabled": false},
            "disableApiTermination": false, "disableApiStop": false,
            "clientToken": ids.uuid("aws/ci/run/token"), "subnetId": aws::SUBNET,
            "groupSet": {"items": [{"groupId": aws::SECURITY_GROUP}]},
            "tagSpecificationSet": name_tag("instance", "ci-integration-4821"),
        }),
        outcome: Outcome::Ok(json!({
            "reservationId": id(ids, "r", "ci"), "ownerId": aws::ACCOUNT, "groupSet": {},
            "instancesSet": {"items": [aws::launched_instance(ids, "aws/ci/run", ci_instance, golden, when, "t3.small")]},
        })),
    });
    t.aws(NOISE, Part::Benign, "CI polls its instance; read-only", Call {
        label: "aws/ci/describe",
        principal: ci,
        at: at(0, 48, 41, 0),
        service: "ec2",
        name: "DescribeInstances",
        request: json!({"instancesSet": {"items": [{"instanceId": ci_instance}]}, "filterSet": {}}),
        outcome: Outcome::ReadOnly,
    });
    let when = at(0, 49, 2, 0);
    t.aws(NOISE, Part::Benign, "CI creates an empty scratch volume (no snapshotId: nothing is restored)", Call {
        label: "aws/ci/volume",
        principal: ci,
        at: when,
        service: "ec2",
        name: "CreateVolume",
        request: json!({"size": 20, "zone": aws::ZONE, "volumeType": "gp3", "encrypted": true, "tagSpecificationSet": name_tag("volume", "ci-scratch")}),
        outcome: Outcome::Ok(json!({
            "volumeId": ci_volume, "size": "20", "zone": aws::ZONE, "status": "creating",
            "createTime": when, "volumeType": "gp3", "iops": 3000, "throughput": 125,
            "encrypted": true, "multiAttachEnabled": false,
            "tagSet": {"items": [{"key": "Name", "value": "ci-scratch"}]},
        })),
    });
    let when = at(0, 50, 20, 0);
    t.aws(NOISE, Part::Benign, "CI attaches the empty scratch volume as a data disk", Call {
        label: "aws/ci/attach",
        principal: ci,
        at: when,
        service: "ec2",
        name: "AttachVolume",
        request: json!({"volumeId": ci_volume, "instanceId": ci_instance, "device": "/dev/sdf"}),
        outcome: Outcome::Ok(json!({"volumeId": ci_volume, "instanceId": ci_instance, "device": "/dev/sdf", "status": "attaching", "attachTime": when, "deleteOnTermination": false})),
    });
    t.aws(
        NOISE,
        Part::Benign,
        "CI tears the test instance down",
        Call {
            label: "aws/ci/terminate",
            principal: ci,
            at: at(1, 27, 45, 0),
            service: "ec2",
            name: "TerminateInstances",
            request: json!({"instancesSet": aws::instances_set(&[ci_instance])}),
            outcome: Outcome::Ok(aws::state_change(
                &[ci_instance],
                aws::RUNNING,
                aws::SHUTTING_DOWN,
            )),
        },
    );
}

/// Benign: AWS Backup restores reports-1's data volume.
pub(super) fn backup_restore(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let ids = t.ids;
    let Principals { backup, .. } = who;
    let Resources {
        reports,
        backup_snap,
        backup_volume,
        ..
    } = res;
    let when = at(1, 30, 12, 0);
    let source_arn = format!(
        "arn:aws:ec2:{}:{}:volume/{}",
        aws::REGION,
        aws::ACCOUNT,
        id(ids, "vol", "reports-1-data")
    );
    t.aws(NOISE, Part::Benign, "AWS Backup restore job creating a volume from a recovery point (AWSBackupDefaultServiceRole, invokedBy backup.amazonaws.com): sanctioned DR", Call {
        label: "aws/backup/volume",
        principal: backup,
        at: when,
        service: "ec2",
        name: "CreateVolume",
        request: json!({"snapshotId": backup_snap, "zone": aws::ZONE, "volumeType": "gp3", "encrypted": true,
            "tagSpecificationSet": {"items": [{"resourceType": "volume", "tags": [{"key": "aws:backup:source-resource", "value": source_arn}]}]}}),
        outcome: Outcome::Ok(json!({
            "volumeId": backup_volume, "size": "100", "zone": aws::ZONE, "status": "creating",
            "createTime": when, "volumeType": "gp3", "iops": 3000, "throughput": 125,
            "encrypted": true, "multiAttachEnabled": false, "snapshotId": backup_snap,
            "tagSet": {"items": [{"key": "aws:backup:source-resource", "value": source_arn}]},
        })),
    });
    let when = at(1, 31, 40, 0);
    t.aws(NOISE, Part::Benign, "AWS Backup attaches the restored volume as a data disk (service identity)", Call {
        label: "aws/backup/attach",
        principal: backup,
        at: when,
        service: "ec2",
        name: "AttachVolume",
        request: json!({"volumeId": backup_volume, "instanceId": reports, "device": "/dev/sdf"}),
        outcome: Outcome::Ok(json!({"volumeId": backup_volume, "instanceId": reports, "device": "/dev/sdf", "status": "attaching", "attachTime": when, "deleteOnTermination": false})),
    });
}

/// Benign: Auto Scaling replaces a web instance.
pub(super) fn auto_scaling(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let ids = t.ids;
    let Principals { asg, .. } = who;
    let Resources {
        golden,
        asg_old,
        asg_new,
        ..
    } = res;
    let when = at(1, 45, 0, 0);
    t.aws(NOISE, Part::Benign, "Auto Scaling scale-out from a launch template (AWSServiceRoleForAutoScaling, invokedBy autoscaling.amazonaws.com)", Call {
        label: "aws/asg/run",
        principal: asg,
        at: when,
        service: "ec2",
        name: "RunInstances",
        request: json!({
            "instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
            "launchTemplate": {"launchTemplateId": id(ids, "lt", "web"), "version": "7"},
            "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "subnetId": aws::SUBNET,
            "disableApiTermination": false, "disableApiStop": false,
            "clientToken": ids.uuid("aws/asg/run/token"),
            "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "aws:autoscaling:groupName", "value": "web-asg"}]}]},
        }),
        outcome: Outcome::Ok(json!({
            "reservationId": id(ids, "r", "asg"), "ownerId": aws::ACCOUNT, "requesterId": "940372691376", "groupSet": {},
            "instancesSet": {"items": [aws::launched_instance(ids, "aws/asg/run", asg_new, golden, when, "t3.medium")]},
        })),
    });
    t.aws(
        NOISE,
        Part::Benign,
        "Auto Scaling scale-in",
        Call {
            label: "aws/asg/terminate",
            principal: asg,
            at: at(2, 15, 30, 0),
            service: "ec2",
            name: "TerminateInstances",
            request: json!({"instancesSet": aws::instances_set(&[asg_old])}),
            outcome: Outcome::Ok(aws::state_change(
                &[asg_old],
                aws::RUNNING,
                aws::SHUTTING_DOWN,
            )),
        },
    );
}

/// Benign: a reboot keeps the instance store.
pub(super) fn reboot(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let Principals { ops, .. } = who;
    let Resources { bastion, .. } = res;
    t.aws(
        NOISE,
        Part::Benign,
        "RebootInstances of bastion-1: a reboot does not wipe instance storage",
        Call {
            label: "aws/ops/reboot",
            principal: ops,
            at: at(1, 58, 21, 0),
            service: "ec2",
            name: "RebootInstances",
            request: json!({"instancesSet": aws::instances_set(&[bastion])}),
            outcome: Outcome::Ok(json!({"_return": true})),
        },
    );
}

/// Benign: a failed stop/start pair.
pub(super) fn denied_stop_start(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let ids = t.ids;
    let Principals { dev, .. } = who;
    let Resources { reports, .. } = res;
    for (n, (name, when)) in [
        ("StopInstances", at(2, 2, 10, 0)),
        ("StartInstances", at(2, 3, 1, 0)),
    ]
    .into_iter()
    .enumerate()
    {
        let action = format!("ec2:{name}");
        let message = format!(
            "You are not authorized to perform this operation. User: {} is not authorized to perform: {action} on resource: arn:aws:ec2:{}:{}:instance/{reports} because no identity-based policy allows the {action} action. Encoded authorization failure message: {}",
            dev.arn(), aws::REGION, aws::ACCOUNT, ids.mixed(&format!("aws/dev/denied/{n}"), 96)
        );
        t.aws(
            NOISE,
            Part::Benign,
            "denied stop/start (Client.UnauthorizedOperation): nothing happened to the instance",
            Call {
                label: &format!("aws/dev/denied/{n}"),
                principal: dev,
                at: when,
                service: "ec2",
                name: if n == 0 {
                    "StopInstances"
                } else {
                    "StartInstances"
                },
                request: json!({"instancesSet": aws::instances_set(&[reports])}),
                outcome: Outcome::Error("Client.UnauthorizedOperation", message),
            },
        );
    }
}

/// Benign: a dry-run stop/start pair.
pub(super) fn dry_run_stop_start(t: &mut Timeline<'_>, who: &Principals, res: &Resources) {
    let Principals { platform, .. } = who;
    let Resources { batch, .. } = res;
    for (n, when) in [at(2, 20, 44, 0), at(2, 21, 5, 0)].into_iter().enumerate() {
        t.aws(
            NOISE,
            Part::Benign,
            "DryRun stop/start (Client.DryRunOperation): a permission probe, not executed",
            Call {
                label: &format!("aws/platform/dryrun/{n}"),
                principal: platform,
                at: when,
                service: "ec2",
                name: if n == 0 {
                    "StopInstances"
                } else {
                    "StartInstances"
                },
                request: json!({"instancesSet": aws::instances_set(&[batch])}),
                outcome: Outcome::Error(
                    "Client.DryRunOperation",
                    "Request would have succeeded, but DryRun flag is set.".to_string(),
                ),
            },
        );
    }
}
