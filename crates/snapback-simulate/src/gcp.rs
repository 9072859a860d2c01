//! Cloud Audit Logs `LogEntry` records (Admin Activity) for Compute Engine: long-running
//! operations as a first entry (full request and RUNNING operation) and a last entry (request
//! `@type` only) sharing `operation.id`, as the spec §1.3 and §4.1 describe.

use serde_json::{json, Map, Value};

use crate::clock;
use crate::ids::Ids;

pub(crate) const PROJECT: &str = "northwind-prod-4821";
pub(crate) const PROJECT_NUMBER: &str = "481516234200";
pub(crate) const ZONE: &str = "us-central1-a";
const API: &str = "https://www.googleapis.com/compute/v1";

#[derive(Clone, Debug)]
pub(crate) struct GcpPrincipal {
    pub(crate) email: String,
    /// `user:` or `serviceAccount:`.
    pub(crate) subject_kind: &'static str,
    pub(crate) ip: &'static str,
    /// gcloud callers send a user agent naming the command; service agents send none.
    pub(crate) gcloud: bool,
}

/// The Compute resource an entry is about.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Instance { name: String, id: String },
    Disk { name: String, id: String },
    Snapshot { name: String, id: String },
}

impl Target {
    pub(crate) fn resource_name(&self) -> String {
        match self {
            Target::Instance { name, .. } => {
                format!("projects/{PROJECT}/zones/{ZONE}/instances/{name}")
            }
            Target::Disk { name, .. } => format!("projects/{PROJECT}/zones/{ZONE}/disks/{name}"),
            Target::Snapshot { name, .. } => format!("projects/{PROJECT}/global/snapshots/{name}"),
        }
    }

    fn id(&self) -> &str {
        match self {
            Target::Instance { id, .. } | Target::Disk { id, .. } | Target::Snapshot { id, .. } => {
                id
            }
        }
    }

    fn resource(&self) -> Value {
        match self {
            Target::Instance { id, .. } => {
                json!({"type": "gce_instance", "labels": {"instance_id": id, "project_id": PROJECT, "zone": ZONE}})
            }
            Target::Disk { id, .. } => {
                json!({"type": "gce_disk", "labels": {"disk_id": id, "project_id": PROJECT, "zone": ZONE}})
            }
            Target::Snapshot { id, .. } => {
                json!({"type": "gce_snapshot", "labels": {"snapshot_id": id, "project_id": PROJECT}})
            }
        }
    }
}

/// A full compute URL for a resource name.
pub(crate) fn url(resource_name: &str) -> String {
    format!("{API}/{resource_name}")
}

/// One Compute API call.
pub(crate) struct GcpCall<'a> {
    pub(crate) label: &'a str,
    pub(crate) principal: &'a GcpPrincipal,
    /// e.g. `v1.compute.instances.stop`.
    pub(crate) method: &'static str,
    /// e.g. `gcloud.compute.instances.stop`.
    pub(crate) gcloud_command: &'static str,
    pub(crate) target: Target,
    /// The permissions checked: `(permission, resource name)`; the first is on the target.
    pub(crate) permissions: Vec<(&'static str, String)>,
    /// Request fields besides `@type`.
    pub(crate) request: Value,
    /// `Some((operationType, last entry time))` for a long-running operation; `None` for a
    /// synchronous call logged once with its `response`.
    pub(crate) operation: Option<(&'static str, i64)>,
    pub(crate) sync_response: Option<Value>,
    pub(crate) first_at: i64,
}

impl GcpCall<'_> {
    pub(crate) fn entries(self, ids: &Ids) -> Vec<(i64, Value)> {
        let request_type = format!(
            "type.googleapis.com/{}",
            self.method.trim_start_matches("v1.")
        );
        let op_name = self.operation_name(ids);
        let first = self.first_payload(ids, &request_type, &op_name);
        let mut out = vec![(
            self.first_at,
            self.envelope(
                ids,
                &op_name,
                self.first_at,
                first,
                self.operation.map(|_| "first"),
                0,
            ),
        )];
        if let Some((_, last_at)) = self.operation {
            let last = json!({
                "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "authenticationInfo": self.authentication(),
                "requestMetadata": self.request_metadata(ids, last_at, false),
                "serviceName": "compute.googleapis.com",
                "methodName": self.method,
                "resourceName": self.target.resource_name(),
                "request": {"@type": request_type},
            });
            out.push((
                last_at,
                self.envelope(ids, &op_name, last_at, last, Some("last"), 1),
            ));
        }
        out
    }

    /// `requestMetadata` at `at`: the first entry's (`full`) has the request's time.
    fn request_metadata(&self, ids: &Ids, at: i64, full: bool) -> Value {
        let p = self.principal;
        let l = self.label;
        let mut m = Map::new();
        m.insert("callerIp".into(), json!(p.ip));
        if p.gcloud {
            m.insert("callerSuppliedUserAgent".into(), json!(format!(
                "google-cloud-sdk gcloud/497.0.0 command/{} invocation-id/{} environment/None environment-version/None client-os/LINUX client-os-ver/6.8.0 client-pltf-arch/x86_64 interactive/True from-script/False python/3.12.7 term/xterm-256color (Linux 6.8.0-45-generic),gzip(gfe)",
                self.gcloud_command,
                ids.hex(&format!("{l}/invocation"), 32)
            )));
        }
        if full {
            m.insert("requestAttributes".into(), json!({"time": clock::gcp(at, ids.below(&format!("{l}/reqtime"), 1000)), "auth": {}}));
        } else {
            m.insert("requestAttributes".into(), json!({}));
        }
        m.insert("destinationAttributes".into(), json!({}));
        Value::Object(m)
    }

    fn authentication(&self) -> Value {
        let p = self.principal;
        json!({
            "principalEmail": p.email,
            "principalSubject": format!("{}{}", p.subject_kind, p.email),
        })
    }

    fn authorization(&self) -> Vec<Value> {
        self.permissions
            .iter()
            .map(|(perm, res)| {
                let kind = perm.rsplit_once('.').map(|(k, _)| k).unwrap_or(perm);
                json!({
                    "permission": perm,
                    "granted": true,
                    "resource": res,
                    "resourceAttributes": {"service": "compute", "name": res, "type": kind},
                    "permissionType": "ADMIN_WRITE",
                })
            })
            .collect()
    }

    /// The long-running operation's name, `operation-<ms>-<hex>-<hex>-<hex>`.
    fn operation_name(&self, ids: &Ids) -> String {
        let l = self.label;
        format!(
            "operation-{}-{}-{}-{}",
            self.first_at,
            ids.hex(&format!("{l}/op1"), 13),
            ids.hex(&format!("{l}/op2"), 8),
            ids.hex(&format!("{l}/op3"), 8)
        )
    }

    /// The `LogEntry` around `payload`, entry `n` of the call; `first_last` marks an operation's
    /// first or last entry.
    fn envelope(
        &self,
        ids: &Ids,
        op_name: &str,
        at: i64,
        payload: Value,
        first_last: Option<&str>,
        n: usize,
    ) -> Value {
        let l = self.label;
        let mut e = Map::new();
        e.insert("protoPayload".into(), payload);
        e.insert(
            "insertId".into(),
            json!(format!("-{}", ids.lower(&format!("{l}/{n}/insertId"), 12))),
        );
        e.insert("resource".into(), self.target.resource());
        e.insert(
            "timestamp".into(),
            json!(clock::gcp(at, ids.below(&format!("{l}/{n}/us"), 1000))),
        );
        e.insert("severity".into(), json!("NOTICE"));
        e.insert(
            "logName".into(),
            json!(format!(
                "projects/{PROJECT}/logs/cloudaudit.googleapis.com%2Factivity"
            )),
        );
        if let Some(which) = first_last {
            let trigger = ids.uuid(&format!("{l}/root_trigger"));
            e.insert(
                "operation".into(),
                json!({"id": op_name, "producer": "compute.googleapis.com", which: true}),
            );
            e.insert(
                "labels".into(),
                json!({"compute.googleapis.com/root_trigger_id": trigger}),
            );
        }
        let received = at + 180 + ids.below(&format!("{l}/{n}/lag"), 400) as i64;
        e.insert(
            "receiveTimestamp".into(),
            json!(clock::gcp_nanos(
                received,
                ids.below(&format!("{l}/{n}/ns"), 1_000_000)
            )),
        );
        Value::Object(e)
    }

    /// The first (or only) entry's `protoPayload`: the full request and, for an operation, the
    /// RUNNING operation as its response.
    fn first_payload(&self, ids: &Ids, request_type: &str, op_name: &str) -> Value {
        let mut request = self.request.clone();
        if let Some(obj) = request.as_object_mut() {
            obj.insert("@type".into(), json!(request_type));
        }
        let mut first = Map::new();
        first.insert(
            "@type".into(),
            json!("type.googleapis.com/google.cloud.audit.AuditLog"),
        );
        first.insert("status".into(), json!({}));
        first.insert("authenticationInfo".into(), self.authentication());
        first.insert(
            "requestMetadata".into(),
            self.request_metadata(ids, self.first_at, true),
        );
        first.insert("serviceName".into(), json!("compute.googleapis.com"));
        first.insert("methodName".into(), json!(self.method));
        first.insert("authorizationInfo".into(), json!(self.authorization()));
        first.insert("resourceName".into(), json!(self.target.resource_name()));
        first.insert("request".into(), request);
        if let Some(response) = self.first_response(ids, op_name) {
            first.insert("response".into(), response);
        }
        let location = match self.target {
            Target::Snapshot { .. } => "global",
            _ => ZONE,
        };
        first.insert(
            "resourceLocation".into(),
            json!({"currentLocations": [location]}),
        );
        Value::Object(first)
    }

    /// The first entry's `response`: the RUNNING operation, or a synchronous call's response.
    fn first_response(&self, ids: &Ids, op_name: &str) -> Option<Value> {
        let zone_url = url(&format!("projects/{PROJECT}/zones/{ZONE}"));
        match (self.operation, &self.sync_response) {
            (Some((op_type, _)), _) => {
                let op_id = ids.digits(&format!("{}/opid", self.label), 19);
                let self_link = format!("{zone_url}/operations/{op_name}");
                Some(json!({
                    "@type": "type.googleapis.com/operation",
                    "id": op_id,
                    "name": op_name,
                    "zone": zone_url,
                    "operationType": op_type,
                    "targetLink": url(&self.target.resource_name()),
                    "targetId": self.target.id(),
                    "status": "RUNNING",
                    "user": self.principal.email,
                    "progress": "0",
                    "insertTime": clock::pacific(self.first_at - 40),
                    "startTime": clock::pacific(self.first_at - 25),
                    "selfLink": self_link,
                    "selfLinkWithId": format!("{zone_url}/operations/{op_id}"),
                }))
            }
            (None, Some(resp)) => Some(resp.clone()),
            (None, None) => None,
        }
    }
}

/// The folder, under the output directory, that holds the GCS sink objects.
pub(crate) const FOLDER: &str = "gcp";
