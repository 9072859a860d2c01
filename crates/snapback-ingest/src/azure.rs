//! Azure Activity Log records, in the three schemas Azure writes them in.
//!
//! The same event arrives as a resource-log record (storage export, Event Hubs), a REST /
//! portal record, or a Log Analytics `AzureActivity` row. Names differ, values mostly do not;
//! exports upper-case operation names and resource ids, so both are compared lower-cased, and
//! resource ids are stored lower-cased. Request and response bodies are JSON strings in real
//! exports and objects in hand-written data: both are decoded.

use std::sync::Arc;

use serde_json::Value;

use crate::decode::{decode_embedded, digest_id, json_type, parse_time, str_at, str_key, Warnings};
use crate::event::{
    Actor, Cloud, Event, Outcome, Provenance, Resource, ResourceKind, ResourceRole, Schema,
};
use snapback_model::arm_segment;

const CLAIM_UPN: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
const CLAIM_NAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
const CLAIM_OID: &str = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const CLAIM_TENANT: &str = "http://schemas.microsoft.com/identity/claims/tenantid";

pub(crate) fn decode(
    raw: Arc<Value>,
    provenance: &Provenance,
    warnings: &mut Warnings,
) -> Result<Event, String> {
    let r = &*raw;
    let schema = if r.get("operationName").is_some_and(Value::is_object) {
        Schema::AzureRest
    } else if r.get("OperationNameValue").is_some() || r.get("TimeGenerated").is_some() {
        Schema::AzureLogAnalytics
    } else {
        Schema::AzureResourceLog
    };
    let (time_field, time_value) = match schema {
        // Hand-written REST records sometimes carry the resource-log `time` instead.
        Schema::AzureRest if r.get("eventTimestamp").is_none() && r.get("time").is_some() => {
            ("time", r.get("time"))
        }
        Schema::AzureRest => ("eventTimestamp", r.get("eventTimestamp")),
        Schema::AzureLogAnalytics => ("TimeGenerated", r.get("TimeGenerated")),
        _ => ("time", r.get("time")),
    };
    let time = parse_time(time_field, time_value)?;
    let operation = match schema {
        Schema::AzureRest => str_at(r, "operationName.value"),
        Schema::AzureLogAnalytics => {
            str_at(r, "OperationNameValue").or_else(|| str_at(r, "OperationName"))
        }
        _ => str_at(r, "operationName"),
    }
    .ok_or_else(|| "missing operation name".to_owned())?;
    let action = operation.to_ascii_lowercase();
    let resource_id = str_at(r, "resourceId")
        .or_else(|| str_at(r, "_ResourceId"))
        .or_else(|| str_at(r, "ResourceId"))
        .map(|s| s.to_ascii_lowercase());
    let account = str_at(r, "subscriptionId")
        .or_else(|| str_at(r, "SubscriptionId"))
        .or_else(|| {
            resource_id
                .as_deref()
                .and_then(|id| arm_segment(id, "subscriptions"))
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    let service = action.split('/').next().unwrap_or("").to_owned();

    // Properties: an object in the resource-log and REST schemas; a JSON string or an object
    // (`Properties_d`) in Log Analytics.
    let properties = r
        .get("properties")
        .filter(|p| p.is_object())
        .cloned()
        .or_else(|| r.get("Properties_d").filter(|p| p.is_object()).cloned())
        .or_else(|| decode_embedded(r.get("Properties"), warnings))
        .unwrap_or(Value::Null);
    for key in ["properties", "Properties_d", "Properties"] {
        match r.get(key) {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(Value::String(s)) if key == "Properties" || s.is_empty() => {}
            Some(other) => warnings.push(format!(
                "{key} is {}, not an object; ignored",
                json_type(other)
            )),
        }
    }
    let request = decode_embedded(
        properties
            .get("requestbody")
            .or_else(|| properties.get("requestBody")),
        warnings,
    );
    let response = decode_embedded(
        properties
            .get("responseBody")
            .or_else(|| properties.get("responsebody")),
        warnings,
    );

    let claims = r
        .get("identity")
        .and_then(|i| i.get("claims"))
        .filter(|c| c.is_object())
        .cloned()
        .or_else(|| r.get("claims").filter(|c| c.is_object()).cloned())
        .or_else(|| r.get("Claims_d").filter(|c| c.is_object()).cloned())
        .or_else(|| decode_embedded(r.get("Claims"), warnings))
        .unwrap_or(Value::Null);
    let actor = actor(r, &claims);

    let status = match schema {
        Schema::AzureRest => str_at(r, "status.value").or_else(|| str_at(r, "status")),
        Schema::AzureLogAnalytics => {
            str_at(r, "ActivityStatusValue").or_else(|| str_at(r, "ActivityStatus"))
        }
        _ => str_at(r, "resultType"),
    };
    let outcome = match status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("success" | "succeeded") => Outcome::Success,
        Some("failure" | "failed") => Outcome::Failure {
            code: str_at(r, "resultSignature")
                .or_else(|| str_at(r, "subStatus.value"))
                .or_else(|| str_at(r, "ActivitySubstatusValue"))
                .or_else(|| str_at(&properties, "statusCode"))
                .unwrap_or_else(|| "Failed".into()),
        },
        Some("start" | "started" | "accept" | "accepted" | "in progress" | "active") => {
            Outcome::Accepted
        }
        Some(other) => Outcome::Unknown {
            status: other.to_owned(),
        },
        None => Outcome::Unknown {
            status: String::new(),
        },
    };

    let mut resources = Vec::new();
    if let Some(id) = &resource_id {
        push_arm(&mut resources, id, ResourceRole::Target);
    }
    if let Some(req) = &request {
        walk_body(req, &mut resources);
    }
    if let Some(resp) = &response {
        walk_body(resp, &mut resources);
    }
    let region = request
        .as_ref()
        .and_then(|b| str_at(b, "location"))
        .or_else(|| str_at(r, "location").filter(|l| l != "global"))
        .or_else(|| str_at(r, "Location"))
        .unwrap_or_default();

    let event_id = str_at(r, "eventDataId")
        .or_else(|| str_at(r, "EventDataId"))
        .unwrap_or_else(|| digest_id(r));
    let correlation_id = str_at(r, "correlationId").or_else(|| str_at(r, "CorrelationId"));
    let source_ip = str_at(r, "callerIpAddress")
        .or_else(|| str_at(r, "httpRequest.clientIpAddress"))
        .or_else(|| str_at(r, "CallerIpAddress"))
        .or_else(|| str_key(&claims, "ipaddr"));
    let read_only = Some(action.ends_with("/read"));
    Ok(Event {
        time,
        cloud: Cloud::Azure,
        schema,
        account,
        region,
        service,
        operation,
        action,
        actor,
        source_ip,
        user_agent: str_at(r, "userAgent").or_else(|| str_at(r, "httpRequest.userAgent")),
        outcome,
        read_only,
        resources,
        request,
        response,
        event_id,
        correlation_id,
        operation_phase: None,
        provenance: provenance.clone(),
        raw,
    })
}

fn actor(r: &Value, claims: &Value) -> Actor {
    let upn = str_key(claims, CLAIM_UPN);
    let name_claim = str_key(claims, "name").or_else(|| str_key(claims, CLAIM_NAME));
    let oid = str_key(claims, CLAIM_OID).or_else(|| str_key(claims, "oid"));
    let caller = str_at(r, "caller").or_else(|| str_at(r, "Caller"));
    let app_id = str_key(claims, "appid").or_else(|| str_key(claims, "azp"));
    let principal = caller
        .clone()
        .or_else(|| upn.clone())
        .or_else(|| oid.clone())
        .or_else(|| app_id.clone());
    Actor {
        name: upn.or(name_claim).or(caller).or(oid),
        principal,
        principal_type: str_key(claims, "idtyp")
            .or_else(|| str_at(r, "identity.authorization.evidence.principalType")),
        role: str_at(r, "identity.authorization.evidence.role"),
        invoked_by: None,
        app_id,
        account: str_key(claims, CLAIM_TENANT).or_else(|| str_key(claims, "tid")),
        delegated_by: str_key(claims, "xms_mirid"),
    }
}

fn kind_of_arm(id: &str) -> ResourceKind {
    // The last type segment decides: …/providers/microsoft.compute/disks/NAME
    let lower = id.to_ascii_lowercase();
    let segs: Vec<&str> = lower.split('/').collect();
    let ty = if segs.len() >= 2 {
        segs[segs.len() - 2]
    } else {
        ""
    };
    match ty {
        "virtualmachines" => ResourceKind::Vm,
        "disks" => ResourceKind::Disk,
        "snapshots" => ResourceKind::Snapshot,
        "images" | "versions" => ResourceKind::Image,
        "restorepointcollections" | "restorepoints" | "diskrestorepoints" | "recoverypoints" => {
            ResourceKind::RestorePoint
        }
        "diagnosticsettings" => ResourceKind::Trail,
        _ => ResourceKind::Other,
    }
}

fn push_arm(out: &mut Vec<Resource>, id: &str, role: ResourceRole) {
    let id = id.trim().to_ascii_lowercase();
    if !id.starts_with("/subscriptions/") {
        return;
    }
    if out.iter().any(|r| r.id == id) {
        return;
    }
    out.push(Resource {
        kind: kind_of_arm(&id),
        role,
        id,
    });
}

/// ARM ids in a request or response body that name inputs: `sourceResourceId`, the disks a
/// VM is given, the disks attached, the VM a backup is restored to.
fn walk_body(v: &Value, out: &mut Vec<Resource>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                let key = k.to_ascii_lowercase();
                let role = match key.as_str() {
                    "sourceresourceid" | "sourceuri" | "diskid" | "storageaccountid" => {
                        Some(ResourceRole::Source)
                    }
                    "targetvirtualmachineid" | "targetresourcegroupid" => {
                        Some(ResourceRole::Target)
                    }
                    "id" => Some(ResourceRole::Source),
                    _ => None,
                };
                if let (Some(role), Some(s)) = (role, val.as_str()) {
                    push_arm(out, s, role);
                }
                if val.is_object() || val.is_array() {
                    walk_body(val, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk_body(i, out)),
        _ => {}
    }
}
