//! The one normalised model of a cloud audit record.
//!
//! Every decoder in this crate produces an [`Event`]; every later stage (rules, correlation, AQL,
//! outputs) reads only this type. The normalised fields are what detections and analysts need
//! across the three clouds; the raw record is kept beside them, unchanged, because Sigma rules
//! match the clouds' own field names.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

/// Which cloud wrote the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Aws,
    Azure,
    Gcp,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Azure => "azure",
            Cloud::Gcp => "gcp",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the supported record schemas the event was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schema {
    /// A CloudTrail record (S3 delivery, Lake, Athena, arrays, lines).
    CloudTrail,
    /// A CloudTrail record inside an EventBridge envelope (`detail`).
    CloudTrailEventBridge,
    /// A CloudTrail record inside an Event history (`LookupEvents`) item (`CloudTrailEvent`).
    CloudTrailLookup,
    /// Azure resource-log ("records") schema: storage export, Event Hubs.
    AzureResourceLog,
    /// Azure REST / portal schema (`operationName.value`, `status.value`).
    AzureRest,
    /// Azure Log Analytics `AzureActivity` table export.
    AzureLogAnalytics,
    /// Google Cloud `LogEntry` with an AuditLog `protoPayload`.
    GcpAuditLog,
}

/// What came of the call the record describes. See the success rules in the spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// The call succeeded (CloudTrail without `errorCode`, Azure `Succeeded`/`Success`, GCP last
    /// entry without error, or a single-entry GCP call without error).
    Success,
    /// The call failed; `code` is the cloud's error code or status.
    Failure { code: String },
    /// An EC2 `DryRun` permission probe: nothing was executed.
    DryRun,
    /// Accepted or in progress (Azure `Started`/`Accepted`, GCP first entry of a long-running
    /// operation). May open a sequence; never completes one.
    Accepted,
    /// The record does not say (an Azure status outside the known vocabulary).
    Unknown { status: String },
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }

    /// Short label for tables and AQL's `ResultType`.
    pub fn label(&self) -> &str {
        match self {
            Outcome::Success => "Success",
            Outcome::Failure { .. } => "Failure",
            Outcome::DryRun => "DryRun",
            Outcome::Accepted => "Accepted",
            Outcome::Unknown { .. } => "Unknown",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Failure { code } => write!(f, "Failure({code})"),
            Outcome::Unknown { status } => write!(f, "Unknown({status})"),
            other => f.write_str(other.label()),
        }
    }
}

/// The kind of a resource an event names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// AWS EC2 instance, GCP Compute instance.
    Instance,
    /// Azure virtual machine (or scale-set VM).
    Vm,
    /// AWS EBS volume.
    Volume,
    /// Azure managed disk, GCP persistent disk, Lightsail disk.
    Disk,
    /// EBS snapshot, Azure snapshot, GCP snapshot, Lightsail instance snapshot.
    Snapshot,
    /// AWS AMI, Azure image, GCP image.
    Image,
    /// GCP machine image.
    MachineImage,
    /// Azure restore point or restore point collection, AWS Backup recovery point.
    RestorePoint,
    /// RDS DB instance or cluster.
    DbInstance,
    /// RDS DB snapshot or cluster snapshot.
    DbSnapshot,
    /// CloudTrail trail, Azure diagnostic setting, GCP sink.
    Trail,
    /// Backup vault items, restore jobs and other named resources.
    Other,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Instance => "instance",
            ResourceKind::Vm => "vm",
            ResourceKind::Volume => "volume",
            ResourceKind::Disk => "disk",
            ResourceKind::Snapshot => "snapshot",
            ResourceKind::Image => "image",
            ResourceKind::MachineImage => "machine_image",
            ResourceKind::RestorePoint => "restore_point",
            ResourceKind::DbInstance => "db_instance",
            ResourceKind::DbSnapshot => "db_snapshot",
            ResourceKind::Trail => "trail",
            ResourceKind::Other => "other",
        }
    }
}

/// Where in the record a resource was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceRole {
    /// The resource the call acts on (Azure `resourceId`, GCP `resourceName`, the instances of
    /// `StopInstances`).
    Target,
    /// Named in the request as an input (the snapshot a volume is created from).
    Source,
    /// Created or returned by the call (`responseElements.volumeId`).
    Created,
    /// Named elsewhere (`resources[]`, `authorizationInfo[]`).
    Mentioned,
}

/// A resource an event names, with its kind and where it was named.
///
/// `id` is the cloud's identifier as written: an EC2 id (`i-…`, `vol-…`, `snap-…`, `ami-…`), an
/// Azure ARM id (lower-cased, since exports upper-case them), or a GCP relative resource name
/// (`projects/P/zones/Z/disks/D`, URL prefixes removed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Resource {
    pub kind: ResourceKind,
    pub role: ResourceRole,
    pub id: String,
}

/// Who made the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// Principal as the cloud names it: AWS ARN, Azure caller (UPN or object id), GCP principal
    /// email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The principal as an analyst reads it (QRadar's `username`): AWS user name or role session
    /// name, Azure UPN / name claim / caller, GCP email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// AWS `userIdentity.type`, Azure `idtyp` (`user`/`app`), GCP principal subject prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<String>,
    /// The role behind an assumed-role session (`sessionContext.sessionIssuer.arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The AWS service that made the call on the principal's behalf (`userIdentity.invokedBy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    /// Azure application id (`appid` claim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// AWS account of the principal (may differ from the event's account), Azure tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Azure managed identity resource (`xms_mirid` claim); GCP service-account delegation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_by: Option<String>,
}

impl Actor {
    /// The best single string for this actor: the principal, else the readable name.
    pub fn display(&self) -> &str {
        self.principal
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("")
    }
}

/// Where the event came from, so that every alert can point at its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Provenance {
    /// The input path (for an archive member: `archive.zip!member`), or `-` for stdin.
    pub file: Arc<str>,
    /// Zero-based index of the record in the file, counting every framed record, decoded or not.
    pub record: u64,
    /// Byte offset of the record in the (decompressed) stream.
    pub offset: u64,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.file, self.record)
    }
}

/// An event time, kept as the record wrote it and as an instant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventTime {
    /// The instant, to the precision given (nanoseconds at most).
    pub instant: jiff::Timestamp,
    /// The text as written in the record.
    pub text: String,
}

impl Serialize for EventTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.instant.to_string())
    }
}

/// One cloud audit record, normalised.
///
/// Invariants: `time`, `cloud`, `operation` and `provenance` are always set; the other strings
/// are empty or `None` when the record does not carry them. `raw` is the record as decoded from
/// the input (for an envelope, the inner record), never modified.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub time: EventTime,
    pub cloud: Cloud,
    pub schema: Schema,
    /// AWS account (`recipientAccountId`), Azure subscription, GCP project.
    pub account: String,
    /// AWS region, Azure location of the resource when known, GCP zone or region.
    pub region: String,
    /// `ec2.amazonaws.com`, `microsoft.compute`, `compute.googleapis.com`.
    pub service: String,
    /// The operation as the cloud spells it: `StopInstances`,
    /// `MICROSOFT.COMPUTE/DISKS/WRITE`, `v1.compute.instances.stop`.
    pub operation: String,
    /// The normalised operation: AWS as written; Azure lower-cased; GCP without the
    /// `v1.`/`beta.`/`alpha.` prefix (`compute.instances.stop`).
    pub action: String,
    pub actor: Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub outcome: Outcome,
    /// AWS `readOnly`; derived from the verb elsewhere (`read`, `get`, `list`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    pub resources: Vec<Resource>,
    /// The request subtree, decoded: CloudTrail `requestParameters` (an EC2
    /// `<Action>Request` wrapper removed), Azure request body (parsed when it arrives as a
    /// string), GCP `protoPayload.request`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    /// The response subtree, decoded likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// CloudTrail `eventID`, Azure `eventDataId` (or a digest of the record), GCP `insertId`.
    pub event_id: String,
    /// Azure `correlationId`, GCP `operation.id`; CloudTrail `requestID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// GCP long-running operation markers (`operation.first`, `operation.last`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_phase: Option<OperationPhase>,
    pub provenance: Provenance,
    #[serde(skip)]
    pub raw: Arc<Value>,
}

/// Which entry of a Google Cloud long-running operation this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationPhase {
    First,
    Last,
    /// Both `first` and `last` (a synchronous call logged once).
    Only,
}

impl Event {
    /// Values at a dotted path in the raw record. Arrays fan out: `a.b` over `{"a":[{"b":1},{"b":2}]}`
    /// gives both. A path segment may also index an array (`items.0.instanceId`).
    pub fn raw_values<'a>(&'a self, path: &str) -> Vec<&'a Value> {
        values_at(&self.raw, path)
    }

    /// The first string at a dotted path in the raw record.
    pub fn raw_str(&self, path: &str) -> Option<&str> {
        self.raw_values(path).into_iter().find_map(Value::as_str)
    }

    /// Values at a dotted path in the decoded request.
    pub fn request_values<'a>(&'a self, path: &str) -> Vec<&'a Value> {
        self.request
            .as_ref()
            .map(|v| values_at(v, path))
            .unwrap_or_default()
    }

    /// Values at a dotted path in the decoded response.
    pub fn response_values<'a>(&'a self, path: &str) -> Vec<&'a Value> {
        self.response
            .as_ref()
            .map(|v| values_at(v, path))
            .unwrap_or_default()
    }

    /// Resource ids of a kind, in the order the record names them, without duplicates.
    pub fn resource_ids(&self, kind: ResourceKind) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.resources {
            if r.kind == kind && !out.contains(&r.id.as_str()) {
                out.push(&r.id);
            }
        }
        out
    }

    /// Resource ids of a kind and role.
    pub fn resource_ids_with(&self, kind: ResourceKind, role: ResourceRole) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.resources {
            if r.kind == kind && r.role == role && !out.contains(&r.id.as_str()) {
                out.push(&r.id);
            }
        }
        out
    }

    /// The act this record is part of. The records of one multi-record operation (Azure's
    /// Start, Accept and Success records; a Google Cloud operation's first and last entries)
    /// share it: their correlation id, normalised operation and target resource. Azure gives
    /// every operation of one request the same `correlationId`, hence the operation and target.
    /// Any other record is its own act.
    pub fn act(&self) -> String {
        match (self.cloud, &self.correlation_id) {
            (Cloud::Aws, _) | (_, None) => self.event_id.clone(),
            (_, Some(id)) => {
                let target = self
                    .resources
                    .iter()
                    .find(|r| r.role == ResourceRole::Target)
                    .map(|r| r.id.as_str())
                    .unwrap_or("");
                format!("{id}|{}|{target}", self.action.to_ascii_lowercase())
            }
        }
    }

    /// The Azure Resource Manager id the record is about, as written: the record's
    /// `resourceId` (resource logs), `ResourceId` or `_ResourceId` (Log Analytics), the first
    /// non-empty; else the first of its resources whose id is an ARM id. `None` for other
    /// clouds. The one accessor for this derived field: the Sigma virtual fields
    /// (`azure.resource_id`, lower-cased where they compare) and AQL's `ResourceType`,
    /// `ResourceGroup` and `SubscriptionId` all read it.
    pub fn azure_resource_id(&self) -> Option<&str> {
        if self.cloud != Cloud::Azure {
            return None;
        }
        ["resourceId", "ResourceId", "_ResourceId"]
            .iter()
            .find_map(|k| self.raw.get(*k).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .or_else(|| {
                self.resources
                    .iter()
                    .map(|r| r.id.as_str())
                    .find(|id| id.starts_with("/subscriptions/"))
            })
    }

    /// The raw record as compact JSON text (QRadar's payload).
    pub fn raw_json(&self) -> String {
        serde_json::to_string(&*self.raw).unwrap_or_default()
    }
}

/// Events are ordered as correlation sees them: by event time, then by where they came from
/// (file, record, offset), so that ties are stable. Equal means "the same record position at
/// the same time", not equal content: two deliveries of one record at different positions
/// are two events (de-duplication goes by event id, not by this).
impl Ord for Event {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.time
            .instant
            .cmp(&other.time.instant)
            .then_with(|| self.provenance.cmp(&other.provenance))
    }
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Event {}

/// Values at a dotted path; arrays fan out, numeric segments index arrays. Keys that themselves
/// contain dots (Azure claim URIs) are matched whole before the path is split.
pub fn values_at<'a>(root: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    walk_path(root, path, &mut |v| out.push(v), &mut |_, _| {});
    out
}

/// The dotted-path walk of [`values_at`], for callers that need more: `found` gets every value
/// at the path (an array at its end fans out), and `string` every string met with path left
/// (`values_at` ignores those; rule fields parse JSON held in a string and walk on into it).
pub fn walk_path<'a>(
    node: &'a Value,
    path: &str,
    found: &mut dyn FnMut(&'a Value),
    string: &mut dyn FnMut(&'a str, &str),
) {
    if path.is_empty() {
        match node {
            Value::Array(items) => items.iter().for_each(&mut *found),
            other => found(other),
        }
        return;
    }
    match node {
        Value::Object(map) => {
            if let Some(v) = map.get(path) {
                walk_path(v, "", found, string);
                return;
            }
            let mut start = 0;
            // Trying the longest key first is costly; keys with dots are rare, so try each
            // split from the left.
            while let Some(pos) = path[start..].find('.') {
                let split = start + pos;
                if let Some(v) = map.get(&path[..split]) {
                    walk_path(v, &path[split + 1..], found, string);
                    return;
                }
                start = split + 1;
            }
        }
        Value::Array(items) => {
            let (head, rest) = path.split_once('.').unwrap_or((path, ""));
            if let Ok(index) = head.parse::<usize>() {
                if let Some(v) = items.get(index) {
                    walk_path(v, rest, found, string);
                }
                return;
            }
            for item in items {
                walk_path(item, path, found, string);
            }
        }
        Value::String(s) => string(s, path),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_fan_out_over_arrays() {
        let v = json!({"a": {"items": [{"id": "i-1"}, {"id": "i-2"}]}});
        let got: Vec<_> = values_at(&v, "a.items.id")
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(got, ["i-1", "i-2"]);
        let got: Vec<_> = values_at(&v, "a.items.1.id")
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(got, ["i-2"]);
    }

    #[test]
    fn keys_with_dots_match_whole() {
        let v = json!({"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "eve@x"}});
        let got = values_at(
            &v,
            "claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
        );
        assert_eq!(got, [&json!("eve@x")]);
    }

    #[test]
    fn missing_and_null_paths_give_nothing() {
        let v = json!({"requestParameters": null});
        assert!(values_at(&v, "requestParameters.instanceId").is_empty());
        assert!(values_at(&v, "nope").is_empty());
    }
}
