//! The AWS cast of the scenario: who acts (the attacker and the benign principals whose calls
//! look alike) and the instances, volumes, snapshots and images they act on.
//!
//! Why apart: the attacker's steps (`aws_attack`) and the benign look-alikes (`aws_benign`) act
//! on the same resources; naming them once here keeps every identifier the same in both.

use serde_json::{json, Value};

use super::ATTACKER_IP;
use crate::aws::{Client, Kind, Principal};
use crate::clock;
use crate::ids::Ids;

/// Who acts in the AWS part.
pub(super) struct Principals {
    pub(super) attacker: Principal,
    pub(super) ops: Principal,
    pub(super) ci: Principal,
    pub(super) backup: Principal,
    pub(super) dlm: Principal,
    pub(super) asg: Principal,
    pub(super) dev: Principal,
    pub(super) platform: Principal,
}

impl Principals {
    pub(super) fn new() -> Self {
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
        Principals {
            attacker,
            ops,
            ci,
            backup,
            dlm,
            asg,
            dev,
            platform,
        }
    }
}

/// What they act on, by the name the scenario gives each resource.
pub(super) struct Resources {
    pub(super) web1: String,
    pub(super) web1_root: String,
    pub(super) db1: String,
    pub(super) db1_root: String,
    pub(super) db1_snap: String,
    pub(super) db1_restored: String,
    pub(super) app1: String,
    pub(super) app1_snap: String,
    pub(super) app1_ami: String,
    pub(super) app1_new: String,
    pub(super) golden: String,
    pub(super) ci_instance: String,
    pub(super) ci_volume: String,
    pub(super) reports: String,
    pub(super) backup_snap: String,
    pub(super) backup_volume: String,
    pub(super) asg_old: String,
    pub(super) asg_new: String,
    pub(super) bastion: String,
    pub(super) batch: String,
    pub(super) dlm_policy: String,
    /// Volumes attached when the instances were launched, 40 days before.
    pub(super) long_ago: i64,
}

impl Resources {
    pub(super) fn new(ids: &Ids) -> Self {
        let web1 = id(ids, "i", "web-1");
        let web1_root = id(ids, "vol", "web-1-root");
        let db1 = id(ids, "i", "db-1");
        let db1_root = id(ids, "vol", "db-1-root");
        let db1_snap = id(ids, "snap", "db-1-root-2026-11-01");
        let db1_restored = id(ids, "vol", "db-1-restored");
        let app1 = id(ids, "i", "app-1");
        let app1_snap = id(ids, "snap", "app-1-root-2026-11-01");
        let app1_ami = id(ids, "ami", "app-1-restore");
        let app1_new = id(ids, "i", "app-1-relaunched");
        let golden = id(ids, "ami", "golden");
        let ci_instance = id(ids, "i", "ci-integration");
        let ci_volume = id(ids, "vol", "ci-scratch");
        let reports = id(ids, "i", "reports-1");
        let backup_snap = id(ids, "snap", "backup-recovery-point");
        let backup_volume = id(ids, "vol", "reports-1-restored");
        let asg_old = id(ids, "i", "web-asg-old");
        let asg_new = id(ids, "i", "web-asg-new");
        let bastion = id(ids, "i", "bastion-1");
        let batch = id(ids, "i", "batch-1");
        let dlm_policy = format!("policy-0{}", ids.hex("aws/dlm-policy", 16));
        // Volumes attached when the instances were launched, 40 days before.
        let long_ago = clock::BASE_MS - 40 * 86_400_000;
        Resources {
            web1,
            web1_root,
            db1,
            db1_root,
            db1_snap,
            db1_restored,
            app1,
            app1_snap,
            app1_ami,
            app1_new,
            golden,
            ci_instance,
            ci_volume,
            reports,
            backup_snap,
            backup_volume,
            asg_old,
            asg_new,
            bastion,
            batch,
            dlm_policy,
            long_ago,
        }
    }
}

/// An EC2 identifier (`i-…`, `vol-…`, `snap-…`, `ami-…`) for the resource `name`.
pub(super) fn id(ids: &Ids, prefix: &str, name: &str) -> String {
    ids.ec2(prefix, &format!("aws/{prefix}/{name}"))
}

fn assumed(role: &'static str, path: &'static str, session: &str) -> Kind {
    Kind::AssumedRole {
        role,
        path,
        session: session.to_string(),
        web_identity: false,
    }
}

pub(super) fn name_tag(resource_type: &str, name: &str) -> Value {
    json!({"items": [{"resourceType": resource_type, "tags": [{"key": "Name", "value": name}]}]})
}
