//! The QRadar view of an [`Event`]: the normalised (system) fields a QRadar DSM would fill,
//! and custom event properties resolved through a [`PropertyMap`].
//!
//! | field | AWS CloudTrail | Azure Activity Log | Google Cloud Audit Logs |
//! |---|---|---|---|
//! | `devicetime`, `starttime`, `endtime` | `eventTime` | `time` / `eventTimestamp` | `timestamp` |
//! | `username` | user name or role session | UPN / name claim / caller | principal email |
//! | `sourceip` (`sourceaddress`) | `sourceIPAddress` | `callerIpAddress` | `callerIp` |
//! | `devicetype` | 347 | 413 | 449 |
//! | `QIDNAME(qid)` | `eventName` | `operationName` | `methodName` |
//! | `CATEGORYNAME(category)` | `eventSource` | resource provider | `serviceName` |
//! | `LOGSOURCENAME(logsourceid)` | `Amazon AWS CloudTrail @ <account>` | `… @ <subscription>` | `… @ <project>` |
//! | `payload` | the record as compact JSON | | |
//!
//! Offline there is no ingestion delay, so `starttime` (the time QRadar stored the event, which
//! the time clause filters on) equals the event's own time. `qid`, `category` and
//! `logsourceid` are synthetic stable numbers (a hash of the name they stand for): only their
//! *Name functions are meaningful.

use std::sync::OnceLock;

use serde::Deserialize;
use snapback_model::{Cloud, Event};

use crate::keypath::{Found, KeyPath, KeyPathError};
use crate::value::Value;

/// A properties file (`--properties FILE`) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertiesError {
    #[error("not a properties file (TOML): {0}")]
    Toml(String),
    #[error("not a properties file (JSON): {0}")]
    Json(String),
    #[error("property \"{name}\" ({cloud}): {source}")]
    Path {
        name: String,
        cloud: &'static str,
        source: KeyPathError,
    },
}

/// QRadar log source type ids and display names this engine knows (LOGSOURCETYPENAME).
pub const LOG_SOURCE_TYPES: &[(i64, &str)] = &[
    (347, "Amazon AWS CloudTrail"),
    (413, "Microsoft Azure Platform"),
    (436, "Amazon GuardDuty"),
    (440, "AWS Security Hub"),
    (442, "Google G Suite"),
    (443, "Microsoft Azure Security Center"),
    (445, "Microsoft Azure Active Directory"),
    (449, "Google Cloud Audit Logs"),
    (455, "Google Cloud Platform Firewall"),
    (461, "Google Cloud DNS"),
];

pub fn log_source_type_name(id: i64) -> Option<&'static str> {
    LOG_SOURCE_TYPES
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| *n)
}

pub fn devicetype_of(cloud: Cloud) -> i64 {
    match cloud {
        Cloud::Aws => 347,
        Cloud::Azure => 413,
        Cloud::Gcp => 449,
    }
}

/// QRadar's normalised event and flow fields (lower case). A name here is never looked up as
/// a custom property; the ones the view does not fill are NULL.
pub const SYSTEM_FIELDS: &[&str] = &[
    // filled offline
    "devicetime",
    "starttime",
    "endtime",
    "username",
    "sourceip",
    "sourceaddress",
    "devicetype",
    "logsourceid",
    "qid",
    "category",
    "payload",
    "eventcount",
    // never filled for cloud audit events
    "destinationip",
    "destinationaddress",
    "sourceport",
    "destinationport",
    "protocolid",
    "highlevelcategory",
    "magnitude",
    "severity",
    "credibility",
    "relevance",
    "hasoffense",
    "creeventlist",
    "domainid",
    "eventdirection",
    "identityip",
    "identityhostname",
    "identityusername",
    "sourcemac",
    "destinationmac",
    "sourcev6",
    "destinationv6",
    "sourcegeographiclocation",
    "destinationgeographiclocation",
    "postnatsourceip",
    "postnatdestinationip",
    "postnatsourceport",
    "postnatdestinationport",
    "prenatsourceip",
    "prenatdestinationip",
    "prenatsourceport",
    "prenatdestinationport",
    "processorid",
    "isduplicate",
    "hasidentity",
    "partialmatchlist",
    "fullmatchlist",
    "eventprocessorid",
    "sourcenetwork",
    "destinationnetwork",
    // flows
    "applicationid",
    "sourcebytes",
    "destinationbytes",
    "sourcepackets",
    "destinationpackets",
    "flowbias",
    "flowdirection",
    "flowtype",
    "flowid",
    "flowsource",
    "flowinterface",
    "flowinterfaceid",
    "firstpackettime",
    "lastpackettime",
    "sourcepayload",
    "destinationpayload",
    "sourceflags",
    "destinationflags",
    "sourcedscp",
    "destinationdscp",
    "sourceprecedence",
    "destinationprecedence",
    "sourceasn",
    "destinationasn",
    "sourceifindex",
    "destinationifindex",
    "icmptype",
    "icmpcode",
    "geographic",
    "intervalid",
    "retentionbucket",
];

pub fn is_system_field(name: &str) -> bool {
    SYSTEM_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// System fields that may be NULL in the view (everything but the always-set ones).
pub fn system_field_may_be_null(name: &str) -> bool {
    !matches!(
        name.to_ascii_lowercase().as_str(),
        "devicetime"
            | "starttime"
            | "endtime"
            | "devicetype"
            | "logsourceid"
            | "qid"
            | "category"
            | "payload"
            | "eventcount"
    )
}

/// System fields the view fills (the others are always NULL offline).
pub fn system_field_filled(name: &str) -> bool {
    SYSTEM_FIELDS[..12]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
}

/// The columns `SELECT *` gives, in order.
pub const WILDCARD_COLUMNS: &[&str] = &[
    "starttime",
    "devicetime",
    "devicetype",
    "logsourceid",
    "qid",
    "category",
    "username",
    "sourceip",
    "eventcount",
];

/// One event as QRadar would hold it.
#[derive(Debug)]
pub struct QRadarEvent {
    pub event: Event,
    pub devicetime: i64,
    pub starttime: i64,
    pub devicetype: i64,
    pub logsourcename: String,
    pub logsourceid: i64,
    pub qid: i64,
    pub category: i64,
    payload: OnceLock<String>,
}

impl QRadarEvent {
    pub fn new(event: Event) -> QRadarEvent {
        let devicetime = event.time.instant.as_millisecond();
        let devicetype = devicetype_of(event.cloud);
        let type_name = log_source_type_name(devicetype).unwrap_or("unknown");
        let logsourcename = if event.account.is_empty() {
            type_name.to_string()
        } else {
            format!("{type_name} @ {}", event.account)
        };
        QRadarEvent {
            devicetime,
            starttime: devicetime,
            devicetype,
            logsourceid: synthetic_id(&logsourcename),
            qid: synthetic_id(&format!("{}:{}", event.cloud, event.operation)),
            category: synthetic_id(&event.service),
            logsourcename,
            event,
            payload: OnceLock::new(),
        }
    }

    /// The raw record as compact JSON (QRadar's `payload`, `UTF8(payload)`).
    pub fn payload(&self) -> &str {
        self.payload.get_or_init(|| self.event.raw_json())
    }

    pub fn username(&self) -> Option<&str> {
        self.event
            .actor
            .name
            .as_deref()
            .or(self.event.actor.principal.as_deref())
            .filter(|s| !s.is_empty())
    }

    pub fn sourceip(&self) -> Option<&str> {
        self.event.source_ip.as_deref().filter(|s| !s.is_empty())
    }

    /// A system field by name (any case): `None` when `name` is not a system field.
    pub fn system(&self, name: &str) -> Option<Value> {
        // Lower-case short names on the stack: this runs for every column of every event.
        let mut buf = [0u8; 48];
        let lower = if name.len() <= buf.len() && name.is_ascii() {
            let b = &mut buf[..name.len()];
            b.copy_from_slice(name.as_bytes());
            b.make_ascii_lowercase();
            std::str::from_utf8(b).unwrap_or("")
        } else {
            return None;
        };
        let s = |o: Option<&str>| o.map_or(Value::Null, |v| Value::Str(v.to_string()));
        Some(match lower {
            "devicetime" => Value::Int(self.devicetime),
            "starttime" | "endtime" => Value::Int(self.starttime),
            "username" => s(self.username()),
            "sourceip" | "sourceaddress" => s(self.sourceip()),
            "devicetype" => Value::Int(self.devicetype),
            "logsourceid" => Value::Int(self.logsourceid),
            "qid" => Value::Int(self.qid),
            "category" => Value::Int(self.category),
            "payload" => Value::Str(self.payload().to_string()),
            "eventcount" => Value::Int(1),
            other if is_system_field(other) => Value::Null,
            _ => return None,
        })
    }
}

/// FNV-1a, folded to a positive 31-bit number.
fn synthetic_id(name: &str) -> i64 {
    let mut h: u32 = 0x811c9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    i64::from(h & 0x7fff_ffff)
}

// ---------------------------------------------------------------------------------------------
// Custom properties

/// How one custom property is read from an event of one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertySource {
    /// One of the built-in derivations (see [`PropertyMap::default`]).
    Builtin(Builtin),
    /// A path into the raw record, read as QRadar reads a JSON custom property
    /// ([`crate::keypath`]): QRadar's `/"requestParameters"/"items"[0]/"instanceId"`, dotted
    /// `requestParameters.items[0].instanceId` or a JSON pointer. An array on the way needs an
    /// index; a name that meets an array finds nothing (NULL, and the run says where).
    Path(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Operation,
    ResourceType,
    ResourceGroup,
    SubscriptionId,
    ResultType,
}

/// A custom property: its name and its source per cloud (`None`: NULL for that cloud).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDef {
    pub name: String,
    pub aws: Option<PropertySource>,
    pub azure: Option<PropertySource>,
    pub gcp: Option<PropertySource>,
}

impl PropertyDef {
    fn source(&self, cloud: Cloud) -> Option<&PropertySource> {
        match cloud {
            Cloud::Aws => self.aws.as_ref(),
            Cloud::Azure => self.azure.as_ref(),
            Cloud::Gcp => self.gcp.as_ref(),
        }
    }
}

/// Custom event properties by name. Names match exactly first, then case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyMap {
    pub defs: Vec<PropertyDef>,
}

impl Default for PropertyMap {
    /// The built-in mapping that makes the seed query meaningful out of the box:
    ///
    /// | property | AWS | Azure | GCP |
    /// |---|---|---|---|
    /// | `Operation` | `eventName` | `operationName` | `protoPayload.methodName` |
    /// | `ResourceType` | `resources[0].type`, else `eventSource` | `<ns>/<type>` after `providers/` in `resourceId` | `resource.type` |
    /// | `ResourceGroup` | NULL | after `resourceGroups/` in `resourceId` | NULL |
    /// | `SubscriptionId` | account (`recipientAccountId`) | after `subscriptions/` in `resourceId` | project |
    /// | `ResultType` | `Success`, `Failure`, `DryRun` | `resultType` as written (`status.value` in the REST schema) | `Success`, `Failure`, `Accepted` |
    ///
    /// `ResultType` for AWS and GCP is **snapback's choice** (issue 17, item 3): CloudTrail has
    /// no result field, so `Success` means "no `errorCode`"; a QRadar property cannot say that
    /// (map `/"errorCode"` and test `IS NULL`). Lint says so wherever a query reads it, and
    /// a stock QRadar has none of these five ([`crate::custom`], `aql run --stock`).
    fn default() -> Self {
        let all = |b: Builtin| PropertyDef {
            name: String::new(),
            aws: Some(PropertySource::Builtin(b)),
            azure: Some(PropertySource::Builtin(b)),
            gcp: Some(PropertySource::Builtin(b)),
        };
        let named = |name: &str, mut d: PropertyDef| {
            d.name = name.to_string();
            d
        };
        PropertyMap {
            defs: vec![
                named("Operation", all(Builtin::Operation)),
                named("ResourceType", all(Builtin::ResourceType)),
                named(
                    "ResourceGroup",
                    PropertyDef {
                        name: String::new(),
                        aws: None,
                        azure: Some(PropertySource::Builtin(Builtin::ResourceGroup)),
                        gcp: None,
                    },
                ),
                named("SubscriptionId", all(Builtin::SubscriptionId)),
                named("ResultType", all(Builtin::ResultType)),
            ],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileSource {
    All(String),
    PerCloud {
        aws: Option<String>,
        azure: Option<String>,
        gcp: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertiesFile {
    properties: std::collections::BTreeMap<String, FileSource>,
}

impl PropertyMap {
    /// An empty map: every custom property is NULL.
    pub fn empty() -> PropertyMap {
        PropertyMap { defs: Vec::new() }
    }

    /// Find a property: exact name first, then case-insensitive.
    pub fn get(&self, name: &str) -> Option<&PropertyDef> {
        self.defs
            .iter()
            .find(|d| d.name == name)
            .or_else(|| self.defs.iter().find(|d| d.name.eq_ignore_ascii_case(name)))
    }

    /// Add or replace a property.
    pub fn insert(&mut self, def: PropertyDef) {
        if let Some(existing) = self.defs.iter_mut().find(|d| d.name == def.name) {
            *existing = def;
        } else {
            self.defs.push(def);
        }
    }

    /// Read a properties file (TOML, or JSON when the text starts with `{`) and lay it over
    /// this map:
    ///
    /// ```toml
    /// [properties]
    /// "Instance ID" = "requestParameters.instancesSet.items.0.instanceId"   # every cloud
    /// Region = { aws = "awsRegion", azure = "location", gcp = "resource.labels.zone" }
    /// ```
    pub fn merge_file_text(&mut self, text: &str) -> Result<(), PropertiesError> {
        let file: PropertiesFile = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| PropertiesError::Json(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| PropertiesError::Toml(e.to_string()))?
        };
        for (name, src) in &file.properties {
            let paths: Vec<(&'static str, &String)> = match src {
                FileSource::All(p) => vec![("every cloud", p)],
                FileSource::PerCloud { aws, azure, gcp } => {
                    [("aws", aws), ("azure", azure), ("gcp", gcp)]
                        .into_iter()
                        .filter_map(|(c, p)| p.as_ref().map(|p| (c, p)))
                        .collect()
                }
            };
            for (cloud, p) in paths {
                KeyPath::parse(p).map_err(|source| PropertiesError::Path {
                    name: name.clone(),
                    cloud,
                    source,
                })?;
            }
        }
        for (name, src) in file.properties {
            let path = |p: Option<String>| p.map(PropertySource::Path);
            let def = match src {
                FileSource::All(p) => PropertyDef {
                    name: name.clone(),
                    aws: Some(PropertySource::Path(p.clone())),
                    azure: Some(PropertySource::Path(p.clone())),
                    gcp: Some(PropertySource::Path(p)),
                },
                FileSource::PerCloud { aws, azure, gcp } => PropertyDef {
                    name: name.clone(),
                    aws: path(aws),
                    azure: path(azure),
                    gcp: path(gcp),
                },
            };
            self.insert(def);
        }
        Ok(())
    }

    /// The value of a custom property for an event: NULL when unmapped for its cloud or
    /// absent from the record.
    pub fn value(&self, def: &PropertyDef, ev: &QRadarEvent) -> Value {
        self.resolve(def, ev).0
    }

    /// As [`PropertyMap::value`], with the array the property's path met without an index
    /// (QRadar's JSON property finds no field there: NULL), in QRadar's spelling.
    pub fn resolve(&self, def: &PropertyDef, ev: &QRadarEvent) -> (Value, Option<String>) {
        match def.source(ev.event.cloud) {
            None => (Value::Null, None),
            Some(PropertySource::Path(p)) => path_value(&ev.event, p),
            Some(PropertySource::Builtin(b)) => {
                (builtin(*b, &ev.event).map_or(Value::Null, Value::Str), None)
            }
        }
    }
}

/// The value at a path in the raw record, read as QRadar's JSON property would (see
/// [`crate::keypath`]), and the array the path met without an index, if it did (then NULL).
pub fn path_value(event: &Event, path: &str) -> (Value, Option<String>) {
    let Ok(kp) = KeyPath::parse(path) else {
        return (Value::Null, None);
    };
    match kp.find(&event.raw) {
        Found::Value(v) => (Value::from_json(v), None),
        Found::Missing => (Value::Null, None),
        Found::ArrayWithoutIndex { at } => (Value::Null, Some(at)),
    }
}

fn raw_str<'a>(event: &'a Event, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| event.raw.get(*k).and_then(serde_json::Value::as_str))
        .filter(|s| !s.is_empty())
}

/// [`Event::azure_resource_id`], as written.
fn azure_resource_id(event: &Event) -> Option<String> {
    event.azure_resource_id().map(str::to_string)
}

/// `<namespace>/<type>[/<subtype>…]` after the last `providers/` of an ARM id.
pub fn arm_resource_type(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let at = segs
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))?;
    let rest = &segs[at + 1..];
    let ns = rest.first()?;
    let mut out = ns.to_string();
    // type, name, subtype, name, ...
    for (i, seg) in rest[1..].iter().enumerate() {
        if i % 2 == 0 {
            out.push('/');
            out.push_str(seg);
        }
    }
    if out.contains('/') {
        Some(out)
    } else {
        None
    }
}

fn builtin(b: Builtin, event: &Event) -> Option<String> {
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match (b, event.cloud) {
        (Builtin::Operation, _) => nonempty(&event.operation),
        (Builtin::ResourceType, Cloud::Azure) => azure_resource_id(event)
            .and_then(|id| arm_resource_type(&id))
            .or_else(|| raw_str(event, &["ResourceProviderValue"]).map(str::to_string)),
        (Builtin::ResourceType, Cloud::Aws) => event
            .raw
            .get("resources")
            .and_then(|r| r.get(0))
            .and_then(|r| r.get("type"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .or_else(|| nonempty(&event.service)),
        (Builtin::ResourceType, Cloud::Gcp) => event
            .raw
            .get("resource")
            .and_then(|r| r.get("type"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string),
        (Builtin::ResourceGroup, Cloud::Azure) => azure_resource_id(event)
            .and_then(|id| snapback_model::arm_segment(&id, "resourceGroups"))
            .or_else(|| {
                raw_str(event, &["resourceGroupName", "ResourceGroup"]).map(str::to_string)
            }),
        (Builtin::ResourceGroup, _) => None,
        (Builtin::SubscriptionId, Cloud::Azure) => azure_resource_id(event)
            .and_then(|id| snapback_model::arm_segment(&id, "subscriptions"))
            .or_else(|| nonempty(&event.account)),
        (Builtin::SubscriptionId, _) => nonempty(&event.account),
        (Builtin::ResultType, Cloud::Azure) => {
            raw_str(event, &["resultType", "ActivityStatusValue"])
                .map(str::to_string)
                .or_else(|| {
                    event
                        .raw
                        .get("status")
                        .and_then(|s| s.get("value").or(Some(s)))
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string)
                })
                .or_else(|| Some(event.outcome.label().to_string()))
        }
        (Builtin::ResultType, _) => Some(event.outcome.label().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_types() {
        assert_eq!(
            arm_resource_type(
                "/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/MICROSOFT.COMPUTE/DISKS/d1"
            )
            .as_deref(),
            Some("MICROSOFT.COMPUTE/DISKS")
        );
        assert_eq!(
            arm_resource_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/e").as_deref(),
            Some("Microsoft.Compute/virtualMachines/extensions")
        );
        assert_eq!(arm_resource_type("/subscriptions/s"), None);
    }
}
