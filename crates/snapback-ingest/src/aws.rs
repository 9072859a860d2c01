//! AWS CloudTrail records.
//!
//! Success is the absence of `errorCode`; `Client.DryRunOperation` is a permission probe. EC2's
//! newer APIs wrap their parameters in `<Action>Request` / `<Action>Response` objects with
//! PascalCase keys; the wrapper is removed from `request`/`response`, and resource keys are
//! matched without regard to case, so both forms give the same resources.

use std::sync::Arc;

use serde_json::Value;

use crate::decode::{event_time, json_type, scalar_string, str_at, subtree, Warnings};
use crate::event::{
    Actor, Cloud, Event, Outcome, Provenance, Resource, ResourceKind, ResourceRole, Schema,
};

pub(crate) fn decode(
    raw: Arc<Value>,
    provenance: &Provenance,
    envelope_account: Option<String>,
    warnings: &mut Warnings,
) -> Result<Event, String> {
    let r = &*raw;
    // SIEM exports (Logstash, Elasticsearch, Panther) sometimes drop eventTime for their copy.
    let time = event_time(r, "eventTime")?;
    let operation = match r.get("eventName") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => return Err("missing eventName".into()),
        Some(other) => return Err(format!("eventName is {}, not a string", json_type(other))),
    };
    let service = str_at(r, "eventSource").unwrap_or_default();
    let account = str_at(r, "recipientAccountId")
        .or_else(|| str_at(r, "userIdentity.accountId"))
        .or(envelope_account)
        .unwrap_or_default();
    let region = str_at(r, "awsRegion").unwrap_or_default();
    let actor = actor(r, warnings);
    let outcome = match r.get("errorCode").and_then(scalar_string) {
        None => Outcome::Success,
        Some(code) if code.ends_with("DryRunOperation") => Outcome::DryRun,
        Some(code) => Outcome::Failure { code },
    };
    let read_only = match r.get("readOnly") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    // Null is CloudTrail's own "no parameters"; some exports stringify the subtree.
    let request = unwrap_action(
        subtree(r, "requestParameters", "requestParameters", warnings),
        "Request",
    );
    let response = unwrap_action(
        subtree(r, "responseElements", "responseElements", warnings),
        "Response",
    );
    let mut resources = Vec::new();
    if let Some(req) = &request {
        walk(req, &operation, &service, Side::Request, &mut resources);
    }
    if let Some(resp) = &response {
        walk(resp, &operation, &service, Side::Response, &mut resources);
    }
    if let Some(Value::Array(items)) = r.get("resources") {
        for item in items {
            let arn = item
                .get("ARN")
                .or_else(|| item.get("arn"))
                .and_then(Value::as_str);
            if let Some(arn) = arn {
                if let Some((kind, id)) = kind_from_arn(arn) {
                    push(&mut resources, kind, ResourceRole::Mentioned, id);
                }
            }
        }
    }
    let event_id = str_at(r, "eventID").unwrap_or_else(|| crate::decode::digest_id(r));
    Ok(Event {
        time,
        cloud: Cloud::Aws,
        schema: Schema::CloudTrail,
        account,
        region,
        service,
        action: operation.clone(),
        operation,
        actor,
        source_ip: str_at(r, "sourceIPAddress"),
        user_agent: str_at(r, "userAgent"),
        outcome,
        read_only,
        resources,
        request,
        response,
        event_id,
        correlation_id: str_at(r, "requestID"),
        operation_phase: None,
        provenance: provenance.clone(),
        raw,
    })
}

fn actor(r: &Value, warnings: &mut Warnings) -> Actor {
    let ui = match r.get("userIdentity") {
        Some(ui @ Value::Object(_)) => ui,
        None | Some(Value::Null) => return Actor::default(),
        Some(other) => {
            warnings.push(format!(
                "userIdentity is {}, not an object; the actor is unknown",
                json_type(other)
            ));
            return Actor::default();
        }
    };
    let principal_type = str_at(ui, "type");
    let arn = str_at(ui, "arn");
    let role = str_at(ui, "sessionContext.sessionIssuer.arn");
    let invoked_by = str_at(ui, "invokedBy");
    // The readable name: an IAM user's name, an assumed role's session name, "root".
    let name = match principal_type.as_deref() {
        Some("Root") => Some("root".to_owned()),
        Some("AWSService") => invoked_by.clone(),
        _ => str_at(ui, "userName").or_else(|| {
            arn.as_deref()
                .and_then(|a| a.rsplit('/').next())
                .map(str::to_owned)
        }),
    };
    Actor {
        principal: arn
            .or_else(|| str_at(ui, "principalId"))
            .or_else(|| invoked_by.clone()),
        name,
        principal_type,
        role,
        invoked_by,
        app_id: None,
        account: str_at(ui, "accountId"),
        delegated_by: None,
    }
}

/// `requestParameters` without an EC2 `<Action>Request` wrapper.
fn unwrap_action(v: Option<Value>, suffix: &str) -> Option<Value> {
    // Taken by value: the subtree is already a copy of the record's (`subtree`), so the
    // wrapper's inside is moved out of it, not copied a second time.
    match v? {
        Value::Null => None,
        Value::Object(mut m) => {
            // The wrapper may sit beside a `requestId`.
            if m.len() <= 2
                && m.keys()
                    .all(|k| k.ends_with(suffix) || k.eq_ignore_ascii_case("requestId"))
            {
                let mut wrapped = m
                    .iter()
                    .filter(|(k, inner)| k.ends_with(suffix) && inner.is_object())
                    .map(|(k, _)| k.clone());
                if let (Some(key), None) = (wrapped.next(), wrapped.next()) {
                    return m.remove(&key);
                }
            }
            Some(Value::Object(m))
        }
        other => Some(other),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Request,
    Response,
}

fn walk(v: &Value, op: &str, service: &str, side: Side, out: &mut Vec<Resource>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if let Some(kind) = kind_for_key(k, service) {
                    let role = role_for(kind, k, op, side);
                    for s in strings(val) {
                        if kind == ResourceKind::Instance && !looks_like_instance(&s, k) {
                            continue;
                        }
                        push(out, kind, role, s);
                    }
                }
                if k.eq_ignore_ascii_case("targets") {
                    // SSM: targets[{key: "instanceids", values: [...]}]
                    if let Value::Array(items) = val {
                        for t in items {
                            let key = t.get("key").or_else(|| t.get("Key"));
                            if key
                                .and_then(Value::as_str)
                                .is_some_and(|k| k.eq_ignore_ascii_case("instanceids"))
                            {
                                for s in strings(t.get("values").unwrap_or(&Value::Null)) {
                                    push(out, ResourceKind::Instance, ResourceRole::Target, s);
                                }
                            }
                        }
                    }
                }
                if val.is_object() || val.is_array() {
                    walk(val, op, service, side, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, op, service, side, out);
            }
        }
        _ => {}
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn looks_like_instance(s: &str, key: &str) -> bool {
    // SSM `target` and Lightsail names are free text; EC2 ids start with "i-".
    !(key.eq_ignore_ascii_case("target")) || s.starts_with("i-") || s.starts_with("mi-")
}

fn kind_for_key(key: &str, service: &str) -> Option<ResourceKind> {
    let k = key.to_ascii_lowercase();
    let rds = service.starts_with("rds.");
    let lightsail = service.starts_with("lightsail.");
    Some(match k.as_str() {
        "instanceid" | "instanceids" | "target" => ResourceKind::Instance,
        "volumeid" | "sourcevolumeid" => ResourceKind::Volume,
        "snapshotid" | "sourcesnapshotid" | "snapshotids" => ResourceKind::Snapshot,
        "imageid" | "sourceimageid" | "imageids" => ResourceKind::Image,
        "dbinstanceidentifier"
        | "sourcedbinstanceidentifier"
        | "targetdbinstanceidentifier"
        | "dbclusteridentifier"
        | "sourcedbclusteridentifier"
        | "dbinstancearn"
        | "dbclusterarn" => ResourceKind::DbInstance,
        "dbsnapshotidentifier"
        | "dbclustersnapshotidentifier"
        | "sourcedbsnapshotidentifier"
        | "targetdbsnapshotidentifier" => ResourceKind::DbSnapshot,
        "snapshotidentifier" if rds => ResourceKind::DbSnapshot,
        "recoverypointarn" => ResourceKind::RestorePoint,
        "instancenames" | "sourceinstancename" | "instancename" if lightsail => {
            ResourceKind::Instance
        }
        "instancesnapshotname" | "disksnapshotname" | "sourcedisksnapshotname" if lightsail => {
            ResourceKind::Snapshot
        }
        "diskname" if lightsail => ResourceKind::Disk,
        "replacerootvolumetaskid" | "restorejobid" => ResourceKind::Other,
        "name" | "trailname" if service.starts_with("cloudtrail.") => ResourceKind::Trail,
        _ => return None,
    })
}

fn role_for(kind: ResourceKind, key: &str, op: &str, side: Side) -> ResourceRole {
    if side == Side::Response {
        return ResourceRole::Created;
    }
    let k = key.to_ascii_lowercase();
    if k.starts_with("source") {
        return ResourceRole::Source;
    }
    match kind {
        ResourceKind::Snapshot
        | ResourceKind::Image
        | ResourceKind::DbSnapshot
        | ResourceKind::RestorePoint
            if op.starts_with("Create")
                || op.starts_with("Register")
                || op.starts_with("Run")
                || op.starts_with("Restore")
                || op.starts_with("Copy")
                || op.starts_with("StartRestore") =>
        {
            ResourceRole::Source
        }
        _ => ResourceRole::Target,
    }
}

/// Push a resource unless the same id of the same kind is already there (a response echoing
/// the request names nothing new).
fn push(out: &mut Vec<Resource>, kind: ResourceKind, role: ResourceRole, id: String) {
    if out.iter().any(|r| r.kind == kind && r.id == id) {
        return;
    }
    out.push(Resource { kind, role, id });
}

fn kind_from_arn(arn: &str) -> Option<(ResourceKind, String)> {
    // arn:aws:ec2:region:acct:instance/i-123
    let rest = arn.splitn(6, ':').nth(5)?;
    let (ty, id) = rest.split_once(['/', ':']).unwrap_or((rest, ""));
    let kind = match ty {
        "instance" => ResourceKind::Instance,
        "volume" => ResourceKind::Volume,
        "snapshot" => ResourceKind::Snapshot,
        "image" => ResourceKind::Image,
        "trail" => ResourceKind::Trail,
        "db" | "cluster" => ResourceKind::DbInstance,
        _ => return None,
    };
    if id.is_empty() {
        return None;
    }
    Some((kind, id.to_owned()))
}

#[cfg(test)]
mod unwrap_tests {
    use serde_json::json;

    use super::unwrap_action;

    #[test]
    fn an_ec2_wrapper_is_removed_only_when_it_is_the_one_object_beside_a_request_id() {
        let inner = json!({"InstanceId": "i-1", "SnapshotId": "snap-1"});
        let unwrap = |v: serde_json::Value| unwrap_action(Some(v), "Request");
        assert_eq!(
            unwrap(json!({"CreateReplaceRootVolumeTaskRequest": inner})),
            Some(inner.clone())
        );
        assert_eq!(
            unwrap(json!({"CreateReplaceRootVolumeTaskRequest": inner, "RequestId": "r"})),
            Some(inner.clone())
        );
        for kept in [
            json!({"ARequest": inner, "BRequest": inner}),
            json!({"ARequest": inner, "instanceId": "i-1"}),
            json!({"ARequest": "not an object"}),
            json!({"instancesSet": {"items": []}}),
            json!({"a": 1, "b": 2, "CRequest": inner}),
            json!([inner]),
        ] {
            assert_eq!(unwrap(kept.clone()), Some(kept));
        }
        assert_eq!(unwrap(json!(null)), None);
        assert_eq!(unwrap_action(None, "Request"), None);
    }
}
