//! The timeline: every planted record, its principal, its ids and its time.
//! `docs/simulate.md` tells the same story in prose; keep them in step.

use serde_json::{json, Value};

use crate::aws::{self, Call, Client, Kind, Outcome, Principal};
use crate::azure::{self, AzCall, AzPrincipal, Tenancy, Who};
use crate::clock::{self, at};
use crate::gcp::{self, GcpCall, GcpPrincipal, Target};
use crate::ids::Ids;
use crate::{AtomicTest, Cloud, Part, Planted, Story};

const T1: Story = Story::Atomic(AtomicTest::Ec2StopStart);
const T2: Story = Story::Atomic(AtomicTest::EbsVolumeFromSnapshot);
const T3: Story = Story::Atomic(AtomicTest::AzureDiskFromSnapshot);
const T4: Story = Story::Atomic(AtomicTest::AmiFromSnapshot);
const NOISE: Story = Story::Noise;

/// The attacker's address in every cloud (TEST-NET-3).
pub(crate) const ATTACKER_IP: &str = "203.0.113.66";

struct Timeline<'a> {
    ids: &'a Ids,
    tenancy: Tenancy,
    out: Vec<Planted>,
}

impl Timeline<'_> {
    fn push(
        &mut self,
        cloud: Cloud,
        story: Story,
        part: Part,
        why: &'static str,
        at: i64,
        record: Value,
    ) {
        self.out.push(Planted {
            cloud,
            story,
            part,
            time: clock::timestamp(at),
            why,
            record,
        });
    }

    fn aws(&mut self, story: Story, part: Part, why: &'static str, call: Call<'_>) {
        let at = call.at;
        let record = call.record(self.ids);
        self.push(Cloud::Aws, story, part, why, at, record);
    }

    fn azure(&mut self, story: Story, part: Part, why: &'static str, call: AzCall<'_>) {
        for (at, record) in call.records(self.ids, &self.tenancy) {
            self.push(Cloud::Azure, story, part, why, at, record);
        }
    }

    fn gcp(&mut self, story: Story, part: Part, why: &'static str, call: GcpCall<'_>) {
        for (at, record) in call.entries(self.ids) {
            self.push(Cloud::Gcp, story, part, why, at, record);
        }
    }
}

pub(crate) fn build(ids: &Ids) -> Vec<Planted> {
    let mut t = Timeline {
        ids,
        tenancy: Tenancy::new(ids),
        out: Vec::new(),
    };
    build_aws(&mut t);
    build_azure(&mut t);
    build_gcp(&mut t);
    t.out
}

fn assumed(role: &'static str, path: &'static str, session: &str) -> Kind {
    Kind::AssumedRole {
        role,
        path,
        session: session.to_string(),
        web_identity: false,
    }
}

fn name_tag(resource_type: &str, name: &str) -> Value {
    json!({"items": [{"resourceType": resource_type, "tags": [{"key": "Name", "value": name}]}]})
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

#[allow(clippy::too_many_lines)]
fn build_aws(t: &mut Timeline<'_>) {
    let ids = t.ids;
    let id = |prefix: &str, name: &str| ids.ec2(prefix, &format!("aws/{prefix}/{name}"));

    // Principals.
    let attacker = Principal {
        key: "attacker",
        kind: assumed("ec2-maintenance", "", "mallory"),
        client: Client::Cli,
        ip: ATTACKER_IP,
    };
    let ops = Principal {
        key: "ops",
        kind: assumed(
            "AWSReservedSSO_PlatformOps_5f3a9c2e1b7d4a60",
            "aws-reserved/sso.amazonaws.com/",
            "alice@northwindlabs.example",
        ),
        client: Client::Console,
        ip: "198.51.100.23",
    };
    let ci = Principal {
        key: "ci",
        kind: Kind::AssumedRole {
            role: "ci-deployer",
            path: "",
            session: "GitHubActions-deploy-4821".to_string(),
            web_identity: true,
        },
        client: Client::Terraform,
        ip: "198.51.100.77",
    };
    let backup = Principal {
        key: "backup",
        kind: assumed(
            "AWSBackupDefaultServiceRole",
            "service-role/",
            "AWSBackup-AWSBackupDefaultServiceRole",
        ),
        client: Client::Service("backup.amazonaws.com"),
        ip: "",
    };
    let dlm = Principal {
        key: "dlm",
        kind: assumed(
            "AWSDataLifecycleManagerDefaultRole",
            "service-role/",
            "DLMSession",
        ),
        client: Client::Service("dlm.amazonaws.com"),
        ip: "",
    };
    let asg = Principal {
        key: "asg",
        kind: assumed(
            "AWSServiceRoleForAutoScaling",
            "aws-service-role/autoscaling.amazonaws.com/",
            "AutoScaling",
        ),
        client: Client::Service("autoscaling.amazonaws.com"),
        ip: "",
    };
    let dev = Principal {
        key: "dev",
        kind: Kind::IamUser {
            name: "dev-readonly",
        },
        client: Client::Cli,
        ip: "198.51.100.41",
    };
    let platform = Principal {
        key: "platform",
        kind: assumed("platform-engineer", "", "bob"),
        client: Client::Cli,
        ip: "198.51.100.52",
    };

    // Resources.
    let web1 = id("i", "web-1");
    let web1_root = id("vol", "web-1-root");
    let db1 = id("i", "db-1");
    let db1_root = id("vol", "db-1-root");
    let db1_snap = id("snap", "db-1-root-2026-11-01");
    let db1_restored = id("vol", "db-1-restored");
    let app1 = id("i", "app-1");
    let app1_snap = id("snap", "app-1-root-2026-11-01");
    let app1_ami = id("ami", "app-1-restore");
    let app1_new = id("i", "app-1-relaunched");
    let golden = id("ami", "golden");
    let ci_instance = id("i", "ci-integration");
    let ci_volume = id("vol", "ci-scratch");
    let reports = id("i", "reports-1");
    let backup_snap = id("snap", "backup-recovery-point");
    let backup_volume = id("vol", "reports-1-restored");
    let asg_old = id("i", "web-asg-old");
    let asg_new = id("i", "web-asg-new");
    let bastion = id("i", "bastion-1");
    let batch = id("i", "batch-1");
    let dlm_policy = format!("policy-0{}", ids.hex("aws/dlm-policy", 16));
    // Volumes attached when the instances were launched, 40 days before.
    let long_ago = clock::BASE_MS - 40 * 86_400_000;

    // ---- Benign: Data Lifecycle Manager daily snapshots at 09:00.
    for (n, (vol, snap_name)) in [(&web1_root, "dlm-web-1"), (&db1_root, "dlm-db-1")]
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
            principal: &dlm,
            at: when,
            service: "ec2",
            name: "CreateSnapshot",
            request: json!({"volumeId": vol, "description": description, "tagSpecificationSet": tags}),
            outcome: Outcome::Ok(json!({
                "snapshotId": id("snap", snap_name), "volumeId": vol, "status": "pending",
                "startTime": when, "progress": "", "ownerId": aws::ACCOUNT, "volumeSize": 30,
                "encrypted": false, "description": description, "tagSet": {"items": [
                    {"key": "aws:dlm:lifecycle-policy-id", "value": dlm_policy},
                    {"key": "aws:dlm:lifecycle-schedule-name", "value": "Default Schedule"},
                    {"key": "dlm:managed", "value": "true"},
                ]},
            })),
        });
    }

    // ---- Attacker reconnaissance.
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
                principal: &attacker,
                at: when,
                service: "ec2",
                name,
                request,
                outcome: Outcome::ReadOnly,
            },
        );
    }

    // ---- Test 1 precursors: SSH key pushed to web-1, then an SSM shell script on it.
    let when = at(0, 5, 12, 0);
    t.aws(T1, Part::Precursor, "EC2 Instance Connect key pushed to web-1 by the attacker (hands on the instance)", Call {
        label: "aws/t1/ssh",
        principal: &attacker,
        at: when,
        service: "ec2-instance-connect",
        name: "SendSSHPublicKey",
        request: json!({"instanceId": web1, "instanceOSUser": "ec2-user",
            "sSHPublicKey": format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{}", ids.mixed("aws/t1/sshkey", 43))}),
        outcome: Outcome::Ok(json!({"success": true})),
    });
    let when = at(0, 21, 40, 0);
    let (request, response) = send_command(ids, "aws/t1/ssm", when, &web1);
    t.aws(
        T1,
        Part::Precursor,
        "SSM RunShellScript on web-1 by the attacker (staging and exfiltration)",
        Call {
            label: "aws/t1/ssm",
            principal: &attacker,
            at: when,
            service: "ssm",
            name: "SendCommand",
            request,
            outcome: Outcome::Ok(response),
        },
    );

    // ---- Test 2 precursor: the pre-incident snapshot of db-1's root shared to a foreign account.
    t.aws(
        T2,
        Part::Precursor,
        "db-1's snapshot shared to foreign account 444455556666 (exfiltration of the disk)",
        Call {
            label: "aws/t2/share",
            principal: &attacker,
            at: at(0, 34, 18, 0),
            service: "ec2",
            name: "ModifySnapshotAttribute",
            request: share_snapshot(&db1_snap),
            outcome: Outcome::Ok(json!({"_return": true})),
        },
    );

    // ---- Benign: ops console browsing.
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
                principal: &ops,
                at: when,
                service: "ec2",
                name,
                request,
                outcome: Outcome::ReadOnly,
            },
        );
    }

    // ---- Benign: CI/CD integration environment, created and destroyed.
    let when = at(0, 48, 10, 0);
    t.aws(NOISE, Part::Benign, "CI pipeline launches a test instance from the golden AMI (no RegisterImage from a snapshot precedes it)", Call {
        label: "aws/ci/run",
        principal: &ci,
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
            "reservationId": id("r", "ci"), "ownerId": aws::ACCOUNT, "groupSet": {},
            "instancesSet": {"items": [aws::launched_instance(ids, "aws/ci/run", &ci_instance, &golden, when, "t3.small")]},
        })),
    });
    t.aws(NOISE, Part::Benign, "CI polls its instance; read-only", Call {
        label: "aws/ci/describe",
        principal: &ci,
        at: at(0, 48, 41, 0),
        service: "ec2",
        name: "DescribeInstances",
        request: json!({"instancesSet": {"items": [{"instanceId": ci_instance}]}, "filterSet": {}}),
        outcome: Outcome::ReadOnly,
    });
    let when = at(0, 49, 2, 0);
    t.aws(NOISE, Part::Benign, "CI creates an empty scratch volume (no snapshotId: nothing is restored)", Call {
        label: "aws/ci/volume",
        principal: &ci,
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
        principal: &ci,
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
            principal: &ci,
            at: at(1, 27, 45, 0),
            service: "ec2",
            name: "TerminateInstances",
            request: json!({"instancesSet": aws::instances_set(&[&ci_instance])}),
            outcome: Outcome::Ok(aws::state_change(
                &[&ci_instance],
                aws::RUNNING,
                aws::SHUTTING_DOWN,
            )),
        },
    );

    // ---- Test 4 precursors: app-1's snapshot shared out, SSM command on app-1.
    t.aws(
        T4,
        Part::Precursor,
        "app-1's snapshot shared to foreign account 444455556666 (exfiltration of the disk)",
        Call {
            label: "aws/t4/share",
            principal: &attacker,
            at: at(1, 3, 51, 0),
            service: "ec2",
            name: "ModifySnapshotAttribute",
            request: share_snapshot(&app1_snap),
            outcome: Outcome::Ok(json!({"_return": true})),
        },
    );
    let when = at(1, 12, 6, 0);
    let (request, response) = send_command(ids, "aws/t4/ssm", when, &app1);
    t.aws(
        T4,
        Part::Precursor,
        "SSM RunShellScript on app-1 by the attacker",
        Call {
            label: "aws/t4/ssm",
            principal: &attacker,
            at: when,
            service: "ssm",
            name: "SendCommand",
            request,
            outcome: Outcome::Ok(response),
        },
    );

    // ---- Benign: AWS Backup restores reports-1's data volume.
    let when = at(1, 30, 12, 0);
    let source_arn = format!(
        "arn:aws:ec2:{}:{}:volume/{}",
        aws::REGION,
        aws::ACCOUNT,
        id("vol", "reports-1-data")
    );
    t.aws(NOISE, Part::Benign, "AWS Backup restore job creating a volume from a recovery point (AWSBackupDefaultServiceRole, invokedBy backup.amazonaws.com): sanctioned DR", Call {
        label: "aws/backup/volume",
        principal: &backup,
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
        principal: &backup,
        at: when,
        service: "ec2",
        name: "AttachVolume",
        request: json!({"volumeId": backup_volume, "instanceId": reports, "device": "/dev/sdf"}),
        outcome: Outcome::Ok(json!({"volumeId": backup_volume, "instanceId": reports, "device": "/dev/sdf", "status": "attaching", "attachTime": when, "deleteOnTermination": false})),
    });

    // ---- Benign: Auto Scaling replaces a web instance.
    let when = at(1, 45, 0, 0);
    t.aws(NOISE, Part::Benign, "Auto Scaling scale-out from a launch template (AWSServiceRoleForAutoScaling, invokedBy autoscaling.amazonaws.com)", Call {
        label: "aws/asg/run",
        principal: &asg,
        at: when,
        service: "ec2",
        name: "RunInstances",
        request: json!({
            "instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
            "launchTemplate": {"launchTemplateId": id("lt", "web"), "version": "7"},
            "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "subnetId": aws::SUBNET,
            "disableApiTermination": false, "disableApiStop": false,
            "clientToken": ids.uuid("aws/asg/run/token"),
            "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "aws:autoscaling:groupName", "value": "web-asg"}]}]},
        }),
        outcome: Outcome::Ok(json!({
            "reservationId": id("r", "asg"), "ownerId": aws::ACCOUNT, "requesterId": "940372691376", "groupSet": {},
            "instancesSet": {"items": [aws::launched_instance(ids, "aws/asg/run", &asg_new, &golden, when, "t3.medium")]},
        })),
    });
    t.aws(
        NOISE,
        Part::Benign,
        "Auto Scaling scale-in",
        Call {
            label: "aws/asg/terminate",
            principal: &asg,
            at: at(2, 15, 30, 0),
            service: "ec2",
            name: "TerminateInstances",
            request: json!({"instancesSet": aws::instances_set(&[&asg_old])}),
            outcome: Outcome::Ok(aws::state_change(
                &[&asg_old],
                aws::RUNNING,
                aws::SHUTTING_DOWN,
            )),
        },
    );

    // ---- Benign: a reboot keeps the instance store.
    t.aws(
        NOISE,
        Part::Benign,
        "RebootInstances of bastion-1: a reboot does not wipe instance storage",
        Call {
            label: "aws/ops/reboot",
            principal: &ops,
            at: at(1, 58, 21, 0),
            service: "ec2",
            name: "RebootInstances",
            request: json!({"instancesSet": aws::instances_set(&[&bastion])}),
            outcome: Outcome::Ok(json!({"_return": true})),
        },
    );

    // ---- Benign: a failed stop/start pair.
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
                principal: &dev,
                at: when,
                service: "ec2",
                name: if n == 0 {
                    "StopInstances"
                } else {
                    "StartInstances"
                },
                request: json!({"instancesSet": aws::instances_set(&[&reports])}),
                outcome: Outcome::Error("Client.UnauthorizedOperation", message),
            },
        );
    }

    // ---- Benign: a dry-run stop/start pair.
    for (n, when) in [at(2, 20, 44, 0), at(2, 21, 5, 0)].into_iter().enumerate() {
        t.aws(
            NOISE,
            Part::Benign,
            "DryRun stop/start (Client.DryRunOperation): a permission probe, not executed",
            Call {
                label: &format!("aws/platform/dryrun/{n}"),
                principal: &platform,
                at: when,
                service: "ec2",
                name: if n == 0 {
                    "StopInstances"
                } else {
                    "StartInstances"
                },
                request: json!({"instancesSet": aws::instances_set(&[&batch])}),
                outcome: Outcome::Error(
                    "Client.DryRunOperation",
                    "Request would have succeeded, but DryRun flag is set.".to_string(),
                ),
            },
        );
    }

    // ---- Test 1: stop then start web-1 (instance store wiped).
    t.aws(
        T1,
        Part::Revert,
        "test 1: StopInstances of web-1",
        Call {
            label: "aws/t1/stop",
            principal: &attacker,
            at: at(2, 40, 5, 0),
            service: "ec2",
            name: "StopInstances",
            request: json!({"instancesSet": aws::instances_set(&[&web1]), "force": false}),
            outcome: Outcome::Ok(aws::state_change(&[&web1], aws::RUNNING, aws::STOPPING)),
        },
    );
    t.aws(
        T1,
        Part::Revert,
        "test 1: StartInstances of the same web-1, 4.5 minutes later",
        Call {
            label: "aws/t1/start",
            principal: &attacker,
            at: at(2, 44, 37, 0),
            service: "ec2",
            name: "StartInstances",
            request: json!({"instancesSet": aws::instances_set(&[&web1])}),
            outcome: Outcome::Ok(aws::state_change(&[&web1], aws::STOPPED, aws::PENDING)),
        },
    );

    // ---- Test 2: volume from the shared snapshot swapped in as db-1's root.
    let when = at(3, 5, 9, 0);
    t.aws(T2, Part::Revert, "test 2: CreateVolume from db-1's pre-incident snapshot", Call {
        label: "aws/t2/create",
        principal: &attacker,
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
            principal: &attacker,
            at: at(3, 7, 30, 0),
            service: "ec2",
            name: "StopInstances",
            request: json!({"instancesSet": aws::instances_set(&[&db1]), "force": false}),
            outcome: Outcome::Ok(aws::state_change(&[&db1], aws::RUNNING, aws::STOPPING)),
        },
    );
    t.aws(T2, Part::Revert, "test 2: DetachVolume of db-1's current root (/dev/xvda in the response)", Call {
        label: "aws/t2/detach",
        principal: &attacker,
        at: at(3, 9, 2, 0),
        service: "ec2",
        name: "DetachVolume",
        request: json!({"volumeId": db1_root, "instanceId": db1, "force": false}),
        outcome: Outcome::Ok(json!({"volumeId": db1_root, "instanceId": db1, "device": "/dev/xvda", "status": "detaching", "attachTime": long_ago})),
    });
    let when = at(3, 9, 48, 0);
    t.aws(T2, Part::Revert, "test 2: AttachVolume of the restored volume to db-1 as /dev/xvda (root)", Call {
        label: "aws/t2/attach",
        principal: &attacker,
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
            principal: &attacker,
            at: at(3, 10, 31, 0),
            service: "ec2",
            name: "StartInstances",
            request: json!({"instancesSet": aws::instances_set(&[&db1])}),
            outcome: Outcome::Ok(aws::state_change(&[&db1], aws::STOPPED, aws::PENDING)),
        },
    );

    // ---- Test 4: AMI from app-1's old snapshot, launched, old instance terminated.
    t.aws(T4, Part::Recon, "attacker looks up app-1's snapshots; read-only", Call {
        label: "aws/t4/recon",
        principal: &attacker,
        at: at(3, 29, 10, 0),
        service: "ec2",
        name: "DescribeSnapshots",
        request: json!({"snapshotSet": {"items": [{"snapshotId": app1_snap}]}, "ownersSet": {}, "sharedUsersSet": {}, "filterSet": {}}),
        outcome: Outcome::ReadOnly,
    });
    t.aws(T4, Part::Revert, "test 4: RegisterImage with app-1's old snapshot as /dev/xvda", Call {
        label: "aws/t4/register",
        principal: &attacker,
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
        principal: &attacker,
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
            "reservationId": id("r", "app-1"), "ownerId": aws::ACCOUNT, "groupSet": {},
            "instancesSet": {"items": [aws::launched_instance(ids, "aws/t4/run", &app1_new, &app1_ami, when, "t3.medium")]},
        })),
    });
    t.aws(
        T4,
        Part::Revert,
        "test 4: TerminateInstances of the compromised app-1 it replaces",
        Call {
            label: "aws/t4/terminate",
            principal: &attacker,
            at: at(3, 36, 2, 0),
            service: "ec2",
            name: "TerminateInstances",
            request: json!({"instancesSet": aws::instances_set(&[&app1])}),
            outcome: Outcome::Ok(aws::state_change(
                &[&app1],
                aws::RUNNING,
                aws::SHUTTING_DOWN,
            )),
        },
    );
}

fn build_azure(t: &mut Timeline<'_>) {
    let ids = t.ids;
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

    // ---- Test 3 precursor: SAS export of the snapshot.
    t.azure(
        T3,
        Part::Precursor,
        "SAS URL export of the snapshot (beginGetAccess): exfiltration of the disk",
        AzCall {
            label: "azure/t3/sas",
            principal: &mallory,
            resource_id: snapshot.clone(),
            operation: "Microsoft.Compute/snapshots/beginGetAccess/action",
            phases: azure::lro(at(1, 20, 5, 118), 182, 2_431),
            request_body: Some(
                json!({"access": "Read", "durationInSeconds": 86400, "fileFormat": "VHD"}),
            ),
            response_body: None,
        },
    );

    // ---- Benign: Azure Backup restores a disk from a recovery point.
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
        principal: &backup,
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

    // ---- Benign: a restart keeps the temporary disk.
    t.azure(
        NOISE,
        Part::Benign,
        "restart/action of vm-app-02 by an admin in the portal: a restart keeps the temporary disk",
        AzCall {
            label: "azure/alice/restart",
            principal: &alice,
            resource_id: ten.arm("rg-prod-app", "Microsoft.Compute/virtualMachines/vm-app-02"),
            operation: "Microsoft.Compute/virtualMachines/restart/action",
            phases: azure::lro(at(2, 35, 40, 301), 140, 38_207),
            request_body: None,
            response_body: None,
        },
    );

    // ---- Test 3: disk copied from the snapshot, swapped in as vm-web-01's OS disk.
    let creation = json!({"createOption": "Copy", "sourceResourceId": snapshot});
    t.azure(T3, Part::Revert, "test 3: disks/write with createOption Copy from the snapshot (201 Created)", AzCall {
        label: "azure/t3/disk",
        principal: &mallory,
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
            principal: &mallory,
            resource_id: vm.clone(),
            operation: "Microsoft.Compute/virtualMachines/deallocate/action",
            phases: azure::lro(at(3, 52, 30, 45), 151, 71_388),
            request_body: None,
            response_body: None,
        },
    );
    t.azure(T3, Part::Revert, "test 3: virtualMachines/write swapping the OS disk to the restored disk", AzCall {
        label: "azure/t3/swap",
        principal: &mallory,
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
            principal: &mallory,
            resource_id: vm,
            operation: "Microsoft.Compute/virtualMachines/start/action",
            phases: azure::lro(at(3, 57, 20, 880), 163, 44_950),
            request_body: None,
            response_body: None,
        },
    );
}

fn build_gcp(t: &mut Timeline<'_>) {
    let ids = t.ids;
    let gid = |label: &str| ids.digits(&format!("gcp/id/{label}"), 19);
    let mallory = GcpPrincipal {
        email: "mallory@northwindlabs.example".to_string(),
        subject_kind: "user:",
        ip: ATTACKER_IP,
        gcloud: true,
    };
    let agent = GcpPrincipal {
        email: format!(
            "service-{}@compute-system.iam.gserviceaccount.com",
            gcp::PROJECT_NUMBER
        ),
        subject_kind: "serviceAccount:",
        ip: "private",
        gcloud: false,
    };
    let instance = |name: &str| Target::Instance {
        name: name.to_string(),
        id: gid(name),
    };
    let web1 = instance("web-1");
    let snapshot = Target::Snapshot {
        name: "web-1-golden-20261101".to_string(),
        id: gid("snapshot/web-1-golden-20261101"),
    };
    let restored = Target::Disk {
        name: "web-1-restored".to_string(),
        id: gid("disk/web-1-restored"),
    };
    let snapshot_rn = snapshot.resource_name();
    let restored_rn = restored.resource_name();
    let web1_rn = web1.resource_name();
    let story = Story::GcpRevert;

    // ---- Precursor: the golden snapshot granted to an outside account.
    let policy = json!({"bindings": [{"role": "roles/compute.storageAdmin", "members": ["user:drop@exfil-collector.example"]}], "etag": "BwYh8mQ3pX0="});
    t.gcp(story, Part::Precursor, "snapshot shared to an outside account (setIamPolicy): exfiltration of the disk", GcpCall {
        label: "gcp/share",
        principal: &mallory,
        method: "v1.compute.snapshots.setIamPolicy",
        gcloud_command: "gcloud.compute.snapshots.add-iam-policy-binding",
        target: snapshot.clone(),
        permissions: vec![("compute.snapshots.setIamPolicy", snapshot_rn.clone())],
        request: json!({"policy": policy}),
        operation: None,
        sync_response: Some(json!({"@type": "type.googleapis.com/compute.Policy", "bindings": policy["bindings"], "etag": "BwYh8nA1c2Q=", "version": 1})),
        first_at: at(1, 15, 22, 377),
    });

    // ---- Benign: the instance schedule stops and starts batch-worker-1.
    for (n, (method, op, first, last)) in [
        (
            "v1.compute.instances.stop",
            "stop",
            at(2, 0, 1, 92),
            at(2, 0, 43, 515),
        ),
        (
            "v1.compute.instances.start",
            "start",
            at(2, 30, 1, 140),
            at(2, 30, 22, 9),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let target = instance("batch-worker-1");
        t.gcp(NOISE, Part::Benign, "instance schedule run by the Compute Engine Service Agent (service-<PN>@compute-system): planned stop/start", GcpCall {
            label: &format!("gcp/schedule/{n}"),
            principal: &agent,
            method,
            gcloud_command: "",
            permissions: vec![(if n == 0 { "compute.instances.stop" } else { "compute.instances.start" }, target.resource_name())],
            target,
            request: json!({}),
            operation: Some((op, last)),
            sync_response: None,
            first_at: first,
        });
    }

    // ---- Revert: disk from the snapshot, boot-disk swap on web-1.
    t.gcp(story, Part::Revert, "disks.insert with sourceSnapshot (first entry carries the request)", GcpCall {
        label: "gcp/disk",
        principal: &mallory,
        method: "v1.compute.disks.insert",
        gcloud_command: "gcloud.compute.disks.create",
        target: restored.clone(),
        permissions: vec![("compute.disks.create", restored_rn.clone()), ("compute.snapshots.useReadOnly", snapshot_rn.clone())],
        request: json!({"name": "web-1-restored", "sourceSnapshot": gcp::url(&snapshot_rn), "type": gcp::url(&format!("projects/{}/zones/{}/diskTypes/pd-balanced", gcp::PROJECT, gcp::ZONE))}),
        operation: Some(("insert", at(4, 20, 17, 402))),
        sync_response: None,
        first_at: at(4, 20, 5, 211),
    });
    let steps = [
        (
            "gcp/stop",
            "v1.compute.instances.stop",
            "gcloud.compute.instances.stop",
            "stop",
            "compute.instances.stop",
            json!({}),
            at(4, 21, 30, 33),
            at(4, 22, 14, 250),
        ),
        (
            "gcp/detach",
            "v1.compute.instances.detachDisk",
            "gcloud.compute.instances.detach-disk",
            "detachDisk",
            "compute.instances.detachDisk",
            json!({}),
            at(4, 23, 2, 610),
            at(4, 23, 10, 71),
        ),
        (
            "gcp/attach",
            "v1.compute.instances.attachDisk",
            "gcloud.compute.instances.attach-disk",
            "attachDisk",
            "compute.instances.attachDisk",
            json!({"source": gcp::url(&restored_rn), "deviceName": "web-1", "boot": true, "mode": "READ_WRITE", "autoDelete": false, "type": "PERSISTENT"}),
            at(4, 24, 11, 5),
            at(4, 24, 20, 880),
        ),
        (
            "gcp/start",
            "v1.compute.instances.start",
            "gcloud.compute.instances.start",
            "start",
            "compute.instances.start",
            json!({}),
            at(4, 25, 0, 412),
            at(4, 25, 31, 96),
        ),
    ];
    for (label, method, command, op, permission, request, first, last) in steps {
        let mut permissions = vec![(permission, web1_rn.clone())];
        if op == "attachDisk" {
            permissions.push(("compute.disks.use", restored_rn.clone()));
        }
        t.gcp(
            story,
            Part::Revert,
            match op {
                "stop" => "instances.stop of web-1 before the boot-disk swap",
                "detachDisk" => "instances.detachDisk of web-1's boot disk",
                "attachDisk" => "instances.attachDisk of the restored disk to web-1 as boot disk",
                _ => "instances.start of web-1 on the reverted boot disk",
            },
            GcpCall {
                label,
                principal: &mallory,
                method,
                gcloud_command: command,
                target: web1.clone(),
                permissions,
                request,
                operation: Some((op, last)),
                sync_response: None,
                first_at: first,
            },
        );
    }

    // ---- Revert: stop then start cache-1 (Local SSD discarded).
    for (n, (method, command, op, first, last)) in [
        (
            "v1.compute.instances.stop",
            "gcloud.compute.instances.stop",
            "stop",
            at(4, 40, 12, 730),
            at(4, 40, 50, 18),
        ),
        (
            "v1.compute.instances.start",
            "gcloud.compute.instances.start",
            "start",
            at(4, 47, 33, 291),
            at(4, 48, 1, 664),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let target = instance("cache-1");
        t.gcp(
            story,
            Part::Revert,
            if n == 0 {
                "instances.stop of cache-1 (Local SSD discarded)"
            } else {
                "instances.start of cache-1 after the stop"
            },
            GcpCall {
                label: &format!("gcp/cache/{n}"),
                principal: &mallory,
                method,
                gcloud_command: command,
                permissions: vec![(
                    if n == 0 {
                        "compute.instances.stop"
                    } else {
                        "compute.instances.start"
                    },
                    target.resource_name(),
                )],
                target,
                request: json!({}),
                operation: Some((op, last)),
                sync_response: None,
                first_at: first,
            },
        );
    }
}
