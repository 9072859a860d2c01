//! Decoding: one parsed JSON record into an [`Event`], or a stated reason why not.
//!
//! The shape of each record decides its decoder, never a flag or a file name: CloudTrail
//! records have `eventSource` and `eventName`; Azure records have an operation name in one of
//! three schemas; Google Cloud records are `LogEntry`s with an AuditLog `protoPayload`.
//! Envelopes (EventBridge, Event history, CloudWatch Logs, detection-test harnesses) are
//! opened and their inner records decoded.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::event::{Event, EventTime, Provenance};
use crate::{aws, azure, gcp};

/// What one record turned out to be.
#[derive(Debug)]
pub enum Decoded {
    Event(Box<Event>),
    /// A record of a kind that is not a cloud audit event (VPC flow log, load balancer log…):
    /// skipped and counted by kind, not an error.
    NotAudit(&'static str),
    /// A record that should have been an audit event but cannot be decoded.
    Invalid(String),
}

/// Decode one record. `raw` is the record; envelopes may yield several events.
pub fn decode_record(raw: Value, provenance: &Provenance) -> Vec<Decoded> {
    decode_record_checked(raw, provenance).0
}

/// Something wrong in a record that still decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeWarning {
    /// `bad-field` (a field of the wrong JSON type, ignored) or `lone-surrogate` (JSON held
    /// in a string, repaired).
    pub reason: &'static str,
    pub detail: String,
}

/// The warnings of one record, as its decoders find them.
#[derive(Debug, Default)]
pub(crate) struct Warnings(Vec<DecodeWarning>);

impl Warnings {
    /// A field of the wrong JSON type, ignored.
    pub(crate) fn push(&mut self, detail: String) {
        self.0.push(DecodeWarning {
            reason: "bad-field",
            detail,
        });
    }

    /// JSON held in the string `what` parsed once `n` lone surrogate escapes were replaced.
    fn repaired(&mut self, what: &str, n: usize) {
        if n > 0 {
            let (reason, detail) = crate::repair::Repair::LoneSurrogates(n).describe();
            self.0.push(DecodeWarning {
                reason,
                detail: format!("{what}: {detail}"),
            });
        }
    }
}

/// Decode one record, and also say what was wrong in the records that still decoded: a field
/// of the wrong JSON type that was ignored (`userIdentity` a string, Azure `properties` a
/// number), JSON held in a string that parsed once repaired (a lone surrogate escape).
/// [`read_inputs`](crate::read_inputs) reports these as warnings.
pub fn decode_record_checked(
    raw: Value,
    provenance: &Provenance,
) -> (Vec<Decoded>, Vec<DecodeWarning>) {
    let mut out = Vec::new();
    let mut warnings = Warnings::default();
    decode_into(raw, provenance, 0, &mut out, &mut warnings);
    (out, warnings.0)
}

/// JSON held in the string `what` of a record, repaired if it must be (said in `warnings`).
fn parse_held(text: &str, what: &str, warnings: &mut Warnings) -> Result<Value, serde_json::Error> {
    let (value, n) = crate::repair::parse_embedded(text)?;
    warnings.repaired(what, n);
    Ok(value)
}

fn decode_into(
    raw: Value,
    provenance: &Provenance,
    depth: u8,
    out: &mut Vec<Decoded>,
    warnings: &mut Warnings,
) {
    let raw = restore_key_case(raw);
    let map = match &raw {
        Value::Object(m) => m,
        other => {
            out.push(Decoded::Invalid(format!(
                "record is {}, not a JSON object",
                json_type(other)
            )));
            return;
        }
    };
    if depth > 4 {
        out.push(Decoded::Invalid("envelopes nested too deeply".into()));
        return;
    }
    match classify(map) {
        Kind::CloudTrail => out.push(finish(aws::decode(
            Arc::new(raw),
            provenance,
            None,
            warnings,
        ))),
        Kind::EventBridgeCloudTrail => {
            let Some(Value::Object(_)) = map.get("detail") else {
                out.push(Decoded::Invalid(
                    "EventBridge event without a detail object".into(),
                ));
                return;
            };
            let account = map
                .get("account")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let mut raw = raw;
            let detail = raw
                .as_object_mut()
                .and_then(|m| m.remove("detail"))
                .unwrap_or(Value::Null);
            if !detail.get("eventName").is_some_and(Value::is_string) {
                out.push(Decoded::Invalid(
                    "EventBridge CloudTrail event whose detail has no eventName".into(),
                ));
                return;
            }
            let mut decoded = aws::decode(Arc::new(detail), provenance, account, warnings);
            if let Ok(e) = &mut decoded {
                e.schema = crate::event::Schema::CloudTrailEventBridge;
            }
            out.push(finish(decoded));
        }
        Kind::LookupEvent => {
            let text = map
                .get("CloudTrailEvent")
                .and_then(Value::as_str)
                .unwrap_or("");
            match parse_held(text, "CloudTrailEvent", warnings) {
                Ok(inner) => {
                    let mut decoded = aws::decode(Arc::new(inner), provenance, None, warnings);
                    if let Ok(e) = &mut decoded {
                        e.schema = crate::event::Schema::CloudTrailLookup;
                    }
                    out.push(finish(decoded));
                }
                Err(e) => out.push(Decoded::Invalid(format!(
                    "CloudTrailEvent string is not JSON: {e}"
                ))),
            }
        }
        Kind::CloudWatchLogs => {
            let events = map
                .get("logEvents")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for item in events {
                match item.get("message").and_then(Value::as_str) {
                    Some(text) => match parse_held(text, "logEvents[].message", warnings) {
                        Ok(inner) => decode_into(inner, provenance, depth + 1, out, warnings),
                        Err(e) => out.push(log_message_not_json(text, e)),
                    },
                    None => out.push(Decoded::Invalid(
                        "CloudWatch Logs event without a message string".into(),
                    )),
                }
            }
        }
        Kind::CloudWatchLogEvent => {
            let text = map.get("message").and_then(Value::as_str).unwrap_or("");
            match parse_held(text, "message", warnings) {
                Ok(inner) => decode_into(inner, provenance, depth + 1, out, warnings),
                Err(e) => out.push(log_message_not_json(text, e)),
            }
        }
        Kind::Container(key) => {
            let mut raw = raw;
            if let Some(Value::Array(items)) = raw.as_object_mut().and_then(|m| m.remove(key)) {
                for item in items {
                    decode_into(item, provenance, depth + 1, out, warnings);
                }
            }
        }
        Kind::Wrapper(key) => {
            let mut raw = raw;
            let inner = raw
                .as_object_mut()
                .and_then(|m| m.remove(key))
                .unwrap_or(Value::Null);
            decode_into(inner, provenance, depth + 1, out, warnings);
        }
        Kind::AzureResourceLog | Kind::AzureRest | Kind::AzureLogAnalytics => {
            out.push(finish(azure::decode(Arc::new(raw), provenance, warnings)))
        }
        Kind::GcpAudit => out.push(finish(gcp::decode(Arc::new(raw), provenance, warnings))),
        Kind::NotAudit(kind) => out.push(Decoded::NotAudit(kind)),
        Kind::Unknown => out.push(Decoded::Invalid(format!(
            "unrecognised record shape (keys: {})",
            key_list(map)
        ))),
    }
}

/// A CloudWatch Logs message that is not JSON: a text message (not audit), unless it starts
/// as a JSON object, when it is a record broken inside its message (cut off, say), never
/// counted as text without a word.
fn log_message_not_json(text: &str, e: serde_json::Error) -> Decoded {
    if text.trim_start().starts_with('{') {
        Decoded::Invalid(format!("CloudWatch Logs message is broken JSON: {e}"))
    } else {
        Decoded::NotAudit("cloudwatch-logs-text-message")
    }
}

fn finish(r: Result<Event, String>) -> Decoded {
    match r {
        Ok(e) => Decoded::Event(Box::new(e)),
        Err(reason) => Decoded::Invalid(reason),
    }
}

#[derive(Debug, PartialEq)]
enum Kind {
    CloudTrail,
    EventBridgeCloudTrail,
    LookupEvent,
    CloudWatchLogs,
    CloudWatchLogEvent,
    Container(&'static str),
    Wrapper(&'static str),
    AzureResourceLog,
    AzureRest,
    AzureLogAnalytics,
    GcpAudit,
    NotAudit(&'static str),
    Unknown,
}

fn classify(m: &Map<String, Value>) -> Kind {
    // TrailDiscover's catalogue of event names: metadata, not events.
    if m.contains_key("eventName")
        && !m.contains_key("eventTime")
        && (m.contains_key("mitreAttackTechniques") || m.contains_key("awsService"))
    {
        return Kind::NotAudit("event-name-catalogue");
    }
    if m.get("eventSource")
        .or_else(|| m.get("EventSource"))
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("aws:"))
    {
        // S3, SNS, SQS, DynamoDB event notifications share the `Records` container.
        return Kind::NotAudit("aws-service-notification");
    }
    if m.get("eventType").and_then(Value::as_str) == Some("AwsCloudTrailInsight") {
        // CloudTrail's own anomaly notices: no caller, no API call.
        return Kind::NotAudit("cloudtrail-insight");
    }
    if m.contains_key("eventName")
        && (m.contains_key("eventSource")
            || m.contains_key("eventVersion")
            || m.contains_key("recipientAccountId")
            || m.contains_key("awsRegion")
            || m.get("eventType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("Aws")))
    {
        // Partial records (test harnesses, SIEM exports) may lack eventSource; they are still
        // CloudTrail, and a missing time is reported as such.
        return Kind::CloudTrail;
    }
    if m.contains_key("TrailARN") && m.contains_key("HomeRegion") {
        // A trail's configuration (DescribeTrails / a CSPM snapshot), not an API call.
        return Kind::NotAudit("cloud-resource-config");
    }
    if let Some(dt) = m.get("detail-type").and_then(Value::as_str) {
        if dt.contains("via CloudTrail")
            || m.get("detail")
                .is_some_and(|d| d.get("eventName").is_some())
        {
            return Kind::EventBridgeCloudTrail;
        }
        return Kind::NotAudit("eventbridge-service-event");
    }
    if m.get("CloudTrailEvent").is_some_and(Value::is_string) {
        return Kind::LookupEvent;
    }
    if m.contains_key("digestStartTime") || m.contains_key("digestS3Object") {
        return Kind::NotAudit("cloudtrail-digest");
    }
    if m.get("logEvents").is_some_and(Value::is_array) {
        return Kind::CloudWatchLogs;
    }
    if m.get("message").is_some_and(Value::is_string)
        && m.contains_key("timestamp")
        && m.contains_key("id")
        && m.len() <= 4
    {
        // One item of a CloudWatch Logs `logEvents` array, which the framer streams one by one.
        return Kind::CloudWatchLogEvent;
    }
    for key in ["Records", "records", "value"] {
        if m.get(key).is_some_and(Value::is_array) {
            return Kind::Container(key);
        }
    }
    // Azure: three schemas.
    if m.get("operationName").is_some_and(Value::is_object)
        && (m.contains_key("eventTimestamp")
            || m.contains_key("eventDataId")
            || m.contains_key("time")
            || m.contains_key("resourceId")
            || m.contains_key("category"))
    {
        return Kind::AzureRest;
    }
    if m.contains_key("OperationNameValue")
        || (m.contains_key("TimeGenerated") && m.contains_key("OperationName"))
    {
        return Kind::AzureLogAnalytics;
    }
    if m.get("operationName").is_some_and(Value::is_string)
        && (m.contains_key("time") || m.contains_key("resourceId") || m.contains_key("category"))
    {
        return Kind::AzureResourceLog;
    }
    if let Some(pp) = m
        .get("protoPayload")
        .or_else(|| m.get("protopayload_auditlog"))
    {
        let ty = pp
            .get("@type")
            .or_else(|| pp.get("at_sign_type"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let service = pp.get("serviceName").and_then(Value::as_str).unwrap_or("");
        if service == "login.googleapis.com" || ty.contains("LoginAudit") {
            return Kind::NotAudit("workspace-login");
        }
        // A payload with no type at all is taken for a (partial) AuditLog; BigQuery sink
        // exports (`protopayload_auditlog`) carry no type.
        if ty.ends_with("google.cloud.audit.AuditLog")
            || ty.is_empty()
            || pp.get("methodName").is_some()
        {
            return Kind::GcpAudit;
        }
        return Kind::NotAudit("gcp-non-audit-log-entry");
    }
    if m.contains_key("logName") || m.contains_key("insertId") {
        let log = m.get("logName").and_then(Value::as_str).unwrap_or("");
        let rtype = m
            .get("resource")
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if log.contains("vpc_flows") || rtype == "gce_subnetwork" {
            return Kind::NotAudit("vpc-flow-log");
        }
        if log.contains("requests") || rtype.contains("load_balancer") {
            return Kind::NotAudit("load-balancer-log");
        }
        return Kind::NotAudit("gcp-non-audit-log-entry");
    }
    // AWS VPC flow logs and S3 access logs exported as JSON.
    if m.contains_key("interface-id") || m.contains_key("interface_id") || m.contains_key("srcaddr")
    {
        return Kind::NotAudit("vpc-flow-log");
    }
    if m.contains_key("bucket_owner") || m.contains_key("BucketOwner") {
        return Kind::NotAudit("s3-access-log");
    }
    if m.contains_key("elb") || m.contains_key("elb_status_code") {
        return Kind::NotAudit("load-balancer-log");
    }
    // Detection-test harnesses wrap one record under `log` (Panther) or `data` (StreamAlert);
    // Elasticsearch hits under `_source`.
    for key in ["log", "data", "_source"] {
        if m.get(key).is_some_and(Value::is_object) {
            return Kind::Wrapper(key);
        }
    }
    if m.contains_key("acsRegion") {
        return Kind::NotAudit("other-cloud-audit (Alibaba ActionTrail)");
    }
    Kind::Unknown
}

/// Top-level keys as the clouds spell them. Some exports lower-case top-level keys (Panther's
/// `eventname`, `protopayload`); those keys are restored to this spelling, so that decoding and
/// rules over raw field names see one form.
const CANONICAL_KEYS: &[&str] = &[
    // CloudTrail
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "eventCategory",
    "tlsDetails",
    "serviceEventDetails",
    "sessionCredentialFromConsole",
    // Google Cloud LogEntry
    "insertId",
    "logName",
    "protoPayload",
    "receiveTimestamp",
    "timestamp",
    "severity",
    "resource",
    "operation",
    "labels",
    "jsonPayload",
    "textPayload",
    "httpRequest",
];

/// Top-level keys that show an export lower-cased the clouds' keys; the decoder then restores
/// their spelling ([`CANONICAL_KEYS`]). The prefilter must let such records through.
pub const LOWER_CASE_MARKERS: [&str; 6] = [
    "eventname",
    "eventsource",
    "eventtime",
    "protopayload",
    "logname",
    "insertid",
];

/// The keys the decoders must see listed by the framer when a record filter is in front of them
/// (the key contract, `snapback_model::KeySpec`): a record holding one is rewritten before
/// decoding, so a filter must let it through.
pub fn marker_keys() -> &'static [&'static str] {
    &LOWER_CASE_MARKERS
}

fn restore_key_case(raw: Value) -> Value {
    let Value::Object(map) = raw else {
        return raw;
    };
    // Only records that show a lower-cased marker key are touched: Azure's Log Analytics
    // columns (`Resource`, `HTTPRequest`) are spelt their own way on purpose.
    let lowered = map.keys().any(|k| LOWER_CASE_MARKERS.contains(&k.as_str()));
    if !lowered {
        return Value::Object(map);
    }
    let misspelt = |k: &str| {
        !CANONICAL_KEYS.contains(&k)
            && CANONICAL_KEYS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(k) && !map.contains_key(*c))
    };
    if !map.keys().any(|k| misspelt(k)) {
        return Value::Object(map);
    }
    let mut fixed = Map::with_capacity(map.len());
    for (k, v) in map.iter() {
        let key = match CANONICAL_KEYS
            .iter()
            .find(|c| c.eq_ignore_ascii_case(k) && !map.contains_key(**c))
        {
            Some(c) if misspelt(k) => (*c).to_owned(),
            _ => k.clone(),
        };
        fixed.insert(key, v.clone());
    }
    Value::Object(fixed)
}

fn key_list(m: &Map<String, Value>) -> String {
    let mut keys: Vec<&str> = m.keys().map(String::as_str).take(8).collect();
    if m.len() > 8 {
        keys.push("…");
    }
    keys.join(", ")
}

pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---- helpers shared by the decoders ----

/// A string at a path, accepting numbers and booleans written where a string is expected.
pub(crate) fn str_at(v: &Value, path: &str) -> Option<String> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = cur.get(seg)?;
    }
    scalar_string(cur)
}

/// A field of an object, exactly by key (for keys containing dots).
pub(crate) fn str_key(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(scalar_string)
}

pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parse an event time: RFC 3339 with any precision and offset; a date-time without an offset
/// is taken as UTC.
pub(crate) fn parse_time(field: &str, v: Option<&Value>) -> Result<EventTime, String> {
    let text = match v {
        None | Some(Value::Null) => return Err(format!("missing event time ({field})")),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!(
                "event time ({field}) is {}, not a string",
                json_type(other)
            ))
        }
    };
    let trimmed = text.trim();
    if let Ok(instant) = trimmed.parse::<jiff::Timestamp>() {
        return Ok(EventTime { instant, text });
    }
    if let Ok(dt) = trimmed.replace(' ', "T").parse::<jiff::civil::DateTime>() {
        if let Ok(zoned) = dt.to_zoned(jiff::tz::TimeZone::UTC) {
            return Ok(EventTime {
                instant: zoned.timestamp(),
                text,
            });
        }
    }
    Err(format!("unparsable event time ({field}): {trimmed:?}"))
}

/// The event time from `field`, or, when the record has none, from a pipeline's copy of it:
/// `@timestamp` (Logstash, Elasticsearch) or `p_event_time` (Panther), which those pipelines
/// set from the cloud's own time.
pub(crate) fn event_time(r: &Value, field: &str) -> Result<EventTime, String> {
    match r.get(field) {
        None | Some(Value::Null) => {
            for fallback in ["@timestamp", "p_event_time"] {
                if let Some(v) = r.get(fallback).filter(|v| !v.is_null()) {
                    return parse_time(fallback, Some(v));
                }
            }
            Err(format!("missing event time ({field})"))
        }
        some => parse_time(field, some),
    }
}

/// A subtree that should be an object (or absent, or null): an object or a JSON string holding
/// one is decoded; anything else is ignored with a warning.
pub(crate) fn subtree(r: &Value, path: &str, key: &str, warnings: &mut Warnings) -> Option<Value> {
    match r.get(key)? {
        Value::Null => None,
        v @ (Value::Object(_) | Value::Array(_)) => Some(v.clone()),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => match decode_embedded(Some(&Value::String(s.clone())), warnings) {
            Some(v) => Some(v),
            None => {
                warnings.push(format!("{path} is a string that is not JSON; ignored"));
                None
            }
        },
        other => {
            warnings.push(format!(
                "{path} is {}, not an object; ignored",
                json_type(other)
            ));
            None
        }
    }
}

/// If `v` is a JSON string holding JSON (Azure's double-encoded bodies), parse it (repaired
/// if it must be, said in `warnings`).
pub(crate) fn decode_embedded(v: Option<&Value>, warnings: &mut Warnings) -> Option<Value> {
    match v? {
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return None;
            }
            if t.starts_with('{') || t.starts_with('[') {
                parse_held(t, "a JSON string", warnings).ok()
            } else {
                None
            }
        }
        Value::Null => None,
        other => Some(other.clone()),
    }
}

/// FNV-1a over the record's compact text: a stable id for records that carry none.
pub(crate) fn digest_id(v: &Value) -> String {
    let text = serde_json::to_vec(v).unwrap_or_default();
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("fnv:{h:016x}")
}
