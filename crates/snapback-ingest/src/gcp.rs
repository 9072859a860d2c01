//! Google Cloud Audit Log entries (`LogEntry` with an AuditLog `protoPayload`).
//!
//! Method names lose their API-version prefix in `action` (`v1.compute.instances.stop` →
//! `compute.instances.stop`). Long-running operations log a first entry (the full request,
//! "accepted") and a last entry (the result); both carry `operation.id`, which becomes the
//! event's correlation id. Resource references arrive as full URLs, partial paths or names;
//! they are normalised to `projects/P/…/NAME`.

use std::sync::Arc;

use serde_json::Value;

use crate::decode::{digest_id, event_time, json_type, scalar_string, str_at, Warnings};
use crate::event::{
    Actor, Cloud, Event, OperationPhase, Outcome, Provenance, Resource, ResourceKind, ResourceRole,
    Schema,
};
use snapback_model::normalise_ref;

pub(crate) fn decode(
    raw: Arc<Value>,
    provenance: &Provenance,
    warnings: &mut Warnings,
) -> Result<Event, String> {
    let r = &*raw;
    // Sinks to BigQuery name the payload `protopayload_auditlog`.
    let pp = r
        .get("protoPayload")
        .or_else(|| r.get("protopayload_auditlog"))
        .filter(|p| p.is_object())
        .ok_or("protoPayload is not an object")?;
    let time = event_time(r, "timestamp")?;
    let operation = str_at(pp, "methodName").ok_or("missing protoPayload.methodName")?;
    let action = normalise_method(&operation);
    let service = str_at(pp, "serviceName").unwrap_or_default();
    let log_name = str_at(r, "logName").unwrap_or_default();
    let account = str_at(r, "resource.labels.project_id")
        .or_else(|| {
            log_name
                .strip_prefix("projects/")
                .and_then(|s| s.split('/').next())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let region = str_at(r, "resource.labels.zone")
        .or_else(|| str_at(r, "resource.labels.region"))
        .or_else(|| str_at(r, "resource.labels.location"))
        .unwrap_or_default();

    let phase = {
        let first = r
            .get("operation")
            .and_then(|o| o.get("first"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let last = r
            .get("operation")
            .and_then(|o| o.get("last"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match (first, last) {
            (true, true) => Some(OperationPhase::Only),
            (true, false) => Some(OperationPhase::First),
            (false, true) => Some(OperationPhase::Last),
            (false, false) => None,
        }
    };
    let status_code = pp
        .get("status")
        .and_then(|s| s.get("code"))
        .and_then(|c| {
            c.as_i64()
                .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0);
    let severity = str_at(r, "severity").unwrap_or_default();
    let outcome = if status_code != 0 || severity.eq_ignore_ascii_case("ERROR") {
        Outcome::Failure {
            code: pp
                .get("status")
                .and_then(|s| s.get("message"))
                .and_then(scalar_string)
                .map(|m| format!("{status_code}:{m}"))
                .unwrap_or_else(|| status_code.to_string()),
        }
    } else if phase == Some(OperationPhase::First) {
        Outcome::Accepted
    } else {
        Outcome::Success
    };

    let email = str_at(pp, "authenticationInfo.principalEmail");
    let subject = str_at(pp, "authenticationInfo.principalSubject");
    let delegated_by = pp
        .get("authenticationInfo")
        .and_then(|a| a.get("serviceAccountDelegationInfo"))
        .and_then(Value::as_array)
        .and_then(|items| {
            items.iter().find_map(|i| {
                str_at(i, "firstPartyPrincipal.principalEmail")
                    .or_else(|| str_at(i, "principalSubject"))
            })
        });
    let actor = Actor {
        principal: email.clone().or_else(|| subject.clone()),
        name: email.clone(),
        principal_type: subject
            .as_deref()
            .and_then(|s| s.split_once(':'))
            .map(|(t, _)| t.to_owned())
            .or_else(|| {
                email.as_deref().map(|e| {
                    if e.ends_with(".gserviceaccount.com") {
                        "serviceAccount".to_owned()
                    } else {
                        "user".to_owned()
                    }
                })
            }),
        role: None,
        invoked_by: None,
        app_id: str_at(pp, "authenticationInfo.oauthInfo.oauthClientId"),
        account: None,
        delegated_by,
    };

    let mut subtree = |key: &str| match pp.get(key) {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(other) => {
            warnings.push(format!(
                "protoPayload.{key} is {}, not an object; ignored",
                json_type(other)
            ));
            None
        }
    };
    let request = subtree("request");
    let response = subtree("response");
    let mut resources = Vec::new();
    if let Some(name) = str_at(pp, "resourceName") {
        push(&mut resources, &name, ResourceRole::Target);
    }
    if let Some(req) = &request {
        walk_request(req, &mut resources);
        // disks.createSnapshot names the new snapshot only by `name`.
        if action.ends_with("disks.createSnapshot") {
            if let Some(name) = str_at(req, "name") {
                let id = format!("projects/{account}/global/snapshots/{name}");
                push(&mut resources, &id, ResourceRole::Created);
            }
        }
    }
    if let Some(items) = pp
        .get("metadata")
        .and_then(|m| m.get("usedResources"))
        .and_then(|u| u.get("attachedDisks"))
        .and_then(Value::as_array)
    {
        for d in items {
            if let Some(img) = str_at(d, "sourceImage") {
                push(&mut resources, &img, ResourceRole::Source);
            }
        }
    }

    let event_id = str_at(r, "insertId").unwrap_or_else(|| digest_id(r));
    Ok(Event {
        time,
        cloud: Cloud::Gcp,
        schema: Schema::GcpAuditLog,
        account,
        region,
        service,
        operation,
        action,
        actor,
        source_ip: str_at(pp, "requestMetadata.callerIp"),
        user_agent: str_at(pp, "requestMetadata.callerSuppliedUserAgent"),
        outcome,
        read_only: None,
        resources,
        request,
        response,
        event_id,
        correlation_id: str_at(r, "operation.id"),
        operation_phase: phase,
        provenance: provenance.clone(),
        raw,
    })
}

/// `v1.compute.instances.stop` → `compute.instances.stop`.
pub fn normalise_method(m: &str) -> String {
    for prefix in ["v1.", "beta.", "alpha.", "v1beta.", "v1alpha."] {
        if let Some(rest) = m.strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
    m.to_owned()
}

fn kind_of(reference: &str) -> Option<ResourceKind> {
    let segs: Vec<&str> = reference.split('/').collect();
    let ty = if segs.len() >= 2 {
        segs[segs.len() - 2]
    } else {
        return None;
    };
    Some(match ty {
        "instances" => ResourceKind::Instance,
        "disks" | "regionDisks" => ResourceKind::Disk,
        "snapshots" | "instantSnapshots" => ResourceKind::Snapshot,
        "images" => ResourceKind::Image,
        "machineImages" => ResourceKind::MachineImage,
        "sinks" => ResourceKind::Trail,
        "backups" | "dataSources" => ResourceKind::RestorePoint,
        _ => ResourceKind::Other,
    })
}

fn push(out: &mut Vec<Resource>, reference: &str, role: ResourceRole) {
    let id = normalise_ref(reference);
    let Some(kind) = kind_of(&id) else { return };
    if out.iter().any(|r| r.id == id) {
        return;
    }
    out.push(Resource { kind, role, id });
}

fn walk_request(v: &Value, out: &mut Vec<Resource>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                let role = match k.as_str() {
                    "sourceSnapshot"
                    | "sourceImage"
                    | "sourceDisk"
                    | "sourceMachineImage"
                    | "sourceInstantSnapshot"
                    | "sourceInstance"
                    | "source" => Some(ResourceRole::Source),
                    _ => None,
                };
                if let (Some(role), Some(s)) = (role, val.as_str()) {
                    push(out, s, role);
                }
                if val.is_object() || val.is_array() {
                    walk_request(val, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk_request(i, out)),
        _ => {}
    }
}
