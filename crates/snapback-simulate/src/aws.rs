//! CloudTrail management-event records, shaped like the S3-delivered records in the corpus
//! (stratus-red-team detonations, invictus-ir): every top-level field a real record carries.

use serde_json::{json, Map, Value};

use crate::clock;
use crate::ids::Ids;

/// The account every scenario runs in (an AWS documentation account number).
pub(crate) const ACCOUNT: &str = "111122223333";
/// The account the attacker shares snapshots to.
pub(crate) const FOREIGN_ACCOUNT: &str = "444455556666";
pub(crate) const REGION: &str = "us-east-1";
pub(crate) const ZONE: &str = "us-east-1a";

/// How a principal calls: which identity, from where, with what client.
#[derive(Clone, Debug)]
pub(crate) enum Client {
    /// AWS CLI v2 from a workstation or a shell; adds `md/command#<service>.<verb>`.
    Cli,
    /// The EC2 console (`sessionCredentialFromConsole`).
    Console,
    /// Terraform's AWS provider in a CI pipeline.
    Terraform,
    /// An AWS service acting under a role (`invokedBy`, source IP and user agent = service).
    Service(&'static str),
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`; `path` is the IAM role path.
    AssumedRole {
        role: &'static str,
        path: &'static str,
        session: String,
        web_identity: bool,
    },
    IamUser {
        name: &'static str,
    },
}

/// A principal that makes calls in the scenario.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub(crate) key: &'static str,
    pub(crate) kind: Kind,
    pub(crate) client: Client,
    pub(crate) ip: &'static str,
}

impl Principal {
    pub(crate) fn arn(&self) -> String {
        match &self.kind {
            Kind::AssumedRole { role, session, .. } => {
                format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}")
            }
            Kind::IamUser { name } => format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        }
    }

    fn user_identity(&self, ids: &Ids, at: i64) -> Value {
        let mut ui = match &self.kind {
            Kind::AssumedRole {
                role,
                path,
                session,
                web_identity,
            } => {
                // Sessions are renewed hourly at :01; the key id changes with the session.
                let created = at - (at - clock::BASE_MS - 60_000).rem_euclid(3_600_000);
                let role_id = format!("AROA{}", ids.upper(&format!("role-id/{role}"), 17));
                let web = if *web_identity {
                    json!({"federatedProvider": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"), "attributes": {}})
                } else {
                    json!({})
                };
                json!({
                    "type": "AssumedRole",
                    "principalId": format!("{role_id}:{session}"),
                    "arn": self.arn(),
                    "accountId": ACCOUNT,
                    "accessKeyId": format!("ASIA{}", ids.upper(&format!("session-key/{}/{created}", self.key), 16)),
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": role_id,
                            "arn": format!("arn:aws:iam::{ACCOUNT}:role/{path}{role}"),
                            "accountId": ACCOUNT,
                            "userName": role,
                        },
                        "webIdFederationData": web,
                        "attributes": {
                            "creationDate": clock::cloudtrail(created),
                            "mfaAuthenticated": "false",
                        },
                    },
                })
            }
            Kind::IamUser { name } => json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{}", ids.upper(&format!("user-id/{name}"), 17)),
                "arn": self.arn(),
                "accountId": ACCOUNT,
                "accessKeyId": format!("AKIA{}", ids.upper(&format!("user-key/{name}"), 16)),
                "userName": name,
            }),
        };
        if let Client::Service(svc) = self.client {
            ui["invokedBy"] = json!(svc);
        }
        ui
    }

    fn user_agent(&self, service: &str, event_name: &str) -> String {
        match self.client {
            Client::Cli => format!(
                "aws-cli/2.17.21 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#{}.{}",
                service,
                kebab(event_name)
            ),
            Client::Console => format!("console.{service}.amazonaws.com"),
            Client::Terraform => format!(
                "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.72.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.2 ua/2.1 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64 api/{service}#1.182.0"
            ),
            Client::Service(svc) => svc.to_string(),
        }
    }
}

/// `StopInstances` → `stop-instances`, as the CLI names its commands.
fn kebab(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev_lower = chars[i - 1].is_ascii_lowercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev_lower || (next_lower && chars[i - 1].is_ascii_uppercase()) {
                out.push('-');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// What the call returned.
pub(crate) enum Outcome {
    /// Success; EC2 responses get the request id added as `requestId`.
    Ok(Value),
    /// Success of a read-only call: `responseElements` is null.
    ReadOnly,
    /// Failure: `errorCode`, `errorMessage`, `responseElements: null`.
    Error(&'static str, String),
}

/// One API call to render as a CloudTrail record.
pub(crate) struct Call<'a> {
    pub(crate) label: &'a str,
    pub(crate) principal: &'a Principal,
    pub(crate) at: i64,
    /// `ec2`, `ssm`, `ec2-instance-connect`.
    pub(crate) service: &'static str,
    pub(crate) name: &'static str,
    pub(crate) request: Value,
    pub(crate) outcome: Outcome,
}

impl Call<'_> {
    pub(crate) fn record(self, ids: &Ids) -> Value {
        let p = self.principal;
        let request_id = ids.uuid(&format!("{}/requestID", self.label));
        let mut r = Map::new();
        r.insert("eventVersion".into(), json!("1.10"));
        r.insert("userIdentity".into(), p.user_identity(ids, self.at));
        r.insert("eventTime".into(), json!(clock::cloudtrail(self.at)));
        r.insert(
            "eventSource".into(),
            json!(format!("{}.amazonaws.com", self.service)),
        );
        r.insert("eventName".into(), json!(self.name));
        r.insert("awsRegion".into(), json!(REGION));
        let (ip, agent) = match p.client {
            Client::Service(svc) => (svc.to_string(), svc.to_string()),
            _ => (p.ip.to_string(), p.user_agent(self.service, self.name)),
        };
        r.insert("sourceIPAddress".into(), json!(ip));
        r.insert("userAgent".into(), json!(agent));
        let read_only = matches!(self.outcome, Outcome::ReadOnly);
        match self.outcome {
            Outcome::Ok(mut resp) => {
                if self.service == "ec2" || self.service == "ec2-instance-connect" {
                    if let Some(obj) = resp.as_object_mut() {
                        obj.insert("requestId".into(), json!(request_id));
                    }
                }
                r.insert("requestParameters".into(), self.request);
                r.insert("responseElements".into(), resp);
            }
            Outcome::ReadOnly => {
                r.insert("requestParameters".into(), self.request);
                r.insert("responseElements".into(), Value::Null);
            }
            Outcome::Error(code, message) => {
                r.insert("errorCode".into(), json!(code));
                r.insert("errorMessage".into(), json!(message));
                r.insert("requestParameters".into(), self.request);
                r.insert("responseElements".into(), Value::Null);
            }
        }
        r.insert("requestID".into(), json!(request_id));
        r.insert(
            "eventID".into(),
            json!(ids.uuid(&format!("{}/eventID", self.label))),
        );
        r.insert("readOnly".into(), json!(read_only));
        r.insert("eventType".into(), json!("AwsApiCall"));
        r.insert("managementEvent".into(), json!(true));
        r.insert("recipientAccountId".into(), json!(ACCOUNT));
        r.insert("eventCategory".into(), json!("Management"));
        if !matches!(p.client, Client::Service(_)) {
            r.insert(
                "tlsDetails".into(),
                json!({
                    "tlsVersion": "TLSv1.3",
                    "cipherSuite": "TLS_AES_128_GCM_SHA256",
                    "clientProvidedHostHeader": format!("{}.{REGION}.amazonaws.com", self.service),
                }),
            );
        }
        if matches!(p.client, Client::Console) {
            r.insert("sessionCredentialFromConsole".into(), json!("true"));
        }
        Value::Object(r)
    }
}

/// `{"items":[{"instanceId":…}]}`.
pub(crate) fn instances_set(ids: &[&str]) -> Value {
    json!({"items": ids.iter().map(|i| json!({"instanceId": i})).collect::<Vec<_>>()})
}

/// EC2 state-change items: `(code, name)` before and after.
pub(crate) fn state_change(ids: &[&str], previous: (u16, &str), current: (u16, &str)) -> Value {
    json!({"instancesSet": {"items": ids.iter().map(|i| json!({
        "instanceId": i,
        "currentState": {"code": current.0, "name": current.1},
        "previousState": {"code": previous.0, "name": previous.1},
    })).collect::<Vec<_>>()}})
}

pub(crate) const RUNNING: (u16, &str) = (16, "running");
pub(crate) const STOPPING: (u16, &str) = (64, "stopping");
pub(crate) const STOPPED: (u16, &str) = (80, "stopped");
pub(crate) const PENDING: (u16, &str) = (0, "pending");
pub(crate) const SHUTTING_DOWN: (u16, &str) = (32, "shutting-down");

/// The `RunInstances` response item for one new instance.
pub(crate) fn launched_instance(
    ids: &Ids,
    label: &str,
    instance: &str,
    image: &str,
    launch_ms: i64,
    instance_type: &str,
) -> Value {
    let octet3 = 1 + ids.below(&format!("{label}/ip3"), 3);
    let octet4 = 10 + ids.below(&format!("{label}/ip4"), 240);
    let private_ip = format!("10.40.{octet3}.{octet4}");
    let dns = format!("ip-{}.ec2.internal", private_ip.replace('.', "-"));
    json!({
        "instanceId": instance,
        "imageId": image,
        "currentInstanceBootMode": "legacy-bios",
        "instanceState": {"code": 0, "name": "pending"},
        "privateDnsName": dns,
        "amiLaunchIndex": 0,
        "productCodes": {},
        "instanceType": instance_type,
        "launchTime": launch_ms,
        "placement": {"availabilityZone": ZONE, "tenancy": "default"},
        "monitoring": {"state": "disabled"},
        "subnetId": SUBNET,
        "vpcId": VPC,
        "privateIpAddress": private_ip,
        "stateReason": {"code": "pending", "message": "pending"},
        "architecture": "x86_64",
        "rootDeviceType": "ebs",
        "rootDeviceName": "/dev/xvda",
        "blockDeviceMapping": {},
        "virtualizationType": "hvm",
        "hypervisor": "xen",
        "groupSet": {"items": [{"groupId": SECURITY_GROUP, "groupName": "app-servers"}]},
        "sourceDestCheck": true,
        "ebsOptimized": false,
        "enaSupport": true,
        "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
        "capacityReservationSpecification": {"capacityReservationPreference": "open"},
        "enclaveOptions": {"enabled": false},
        "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled", "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
        "maintenanceOptions": {"autoRecovery": "default"},
        "privateDnsNameOptions": {"hostnameType": "ip-name", "enableResourceNameDnsARecord": false, "enableResourceNameDnsAAAARecord": false},
    })
}

pub(crate) const VPC: &str = "vpc-0c3f5e7a9b1d2f460";
pub(crate) const SUBNET: &str = "subnet-04a6c8e0f2b4d6a81";
pub(crate) const SECURITY_GROUP: &str = "sg-0e2a4c6e8a0c2e4f6";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_matches_cli_command_names() {
        assert_eq!(kebab("StopInstances"), "stop-instances");
        assert_eq!(kebab("SendSSHPublicKey"), "send-ssh-public-key");
    }
}
