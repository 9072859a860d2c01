//! Every AWS rule of the pack against a positive fixture and a near miss, through the real
//! decoder: stop/start, volume and image restores, root-volume replacement, single-call reverts
//! and the precursors.

mod common;

use common::*;
use serde_json::json;

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
