//! Event fixtures: small records of each cloud, decoded by the real ingest decoder.

#![allow(dead_code)]

use std::sync::OnceLock;

use serde_json::{json, Value};
use snapback_ingest::{decode_record, Decoded, Event, Provenance};
use snapback_rules::RuleSet;

pub fn rules() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let set = RuleSet::builtin();
        assert!(set.problems.is_empty(), "{:#?}", set.problems);
        set
    })
}

pub fn decode(v: Value) -> Event {
    let p = Provenance {
        file: "fixture".into(),
        record: 0,
        offset: 0,
    };
    match decode_record(v.clone(), &p).pop() {
        Some(Decoded::Event(e)) => *e,
        Some(Decoded::Invalid(r)) => panic!("fixture does not decode: {r}\n{v:#}"),
        _ => panic!("fixture does not decode: {v:#}"),
    }
}

/// Names of the detections matching an event, sorted.
pub fn matched(e: &Event) -> Vec<String> {
    let set = rules();
    let mut names: Vec<String> = set
        .matches(e)
        .into_iter()
        .map(|i| set.detections[i].name.clone().unwrap())
        .collect();
    names.sort();
    names
}

/// Assert the exact detections an event matches.
#[track_caller]
pub fn gives(e: &Event, expected: &[&str]) {
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(matched(e), want, "operation {}", e.operation);
}

pub fn human() -> Value {
    json!({
        "type": "IAMUser",
        "arn": "arn:aws:iam::111122223333:user/eve",
        "accountId": "111122223333",
        "userName": "eve"
    })
}

pub fn console_human() -> Value {
    json!({
        "type": "IAMUser",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "userName": "alice",
        "invokedBy": "signin.amazonaws.com"
    })
}

pub fn service_role(role: &str, path: &str, invoked_by: Option<&str>) -> Value {
    let mut v = json!({
        "type": "AssumedRole",
        "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/session"),
        "accountId": "111122223333",
        "sessionContext": {"sessionIssuer": {
            "type": "Role",
            "arn": format!("arn:aws:iam::111122223333:role/{path}{role}"),
            "userName": role
        }}
    });
    if let Some(i) = invoked_by {
        v["invokedBy"] = json!(i);
    }
    v
}

/// A CloudTrail record.
pub fn ct(source: &str, name: &str, req: Value, resp: Value) -> Event {
    ct_by(source, name, req, resp, human(), "203.0.113.7")
}

pub fn ct_by(source: &str, name: &str, req: Value, resp: Value, who: Value, ip: &str) -> Event {
    decode(json!({
        "eventVersion": "1.09",
        "eventTime": "2026-03-01T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0",
        "userIdentity": who,
        "requestParameters": req,
        "responseElements": resp,
        "eventID": format!("id-{name}"),
        "eventType": "AwsApiCall"
    }))
}

pub fn ec2(name: &str, req: Value, resp: Value) -> Event {
    ct("ec2.amazonaws.com", name, req, resp)
}

pub const I1: &str = "i-0a1b2c3d4e5f60001";

/// An EC2 `{"items": [{key: v}, …]}` set.
pub fn items(key: &str, vals: &[&str]) -> Value {
    json!({"items": vals.iter().map(|v| json!({key: v})).collect::<Vec<_>>()})
}

pub const SUB: &str = "00000000-1111-2222-3333-444444444444";

/// Azure resource-log ("records") schema: upper-case names, string-encoded bodies.
pub fn az_records(op: &str, resource: &str, request: Option<Value>, claims: Value) -> Event {
    let mut props = json!({"eventCategory": "Administrative"});
    if let Some(b) = request {
        props["requestbody"] = json!(b.to_string());
    }
    decode(json!({
        "time": "2026-03-01T10:00:01.1Z",
        "resourceId": resource.to_ascii_uppercase(),
        "operationName": op.to_ascii_uppercase(),
        "category": "Administrative",
        "resultType": "Start",
        "resultSignature": "Started.",
        "callerIpAddress": "203.0.113.7",
        "correlationId": "c0ffee00-0000-0000-0000-000000000001",
        "identity": {"claims": claims},
        "properties": props
    }))
}

/// Azure REST schema: object bodies, `operationName.value`.
pub fn az_rest(op: &str, resource: &str, request: Option<Value>, response: Option<Value>) -> Event {
    let mut props = json!({"statusCode": "Created"});
    if let Some(b) = request {
        props["requestbody"] = b;
    }
    if let Some(b) = response {
        props["responseBody"] = b;
    }
    decode(json!({
        "authorization": {"action": op, "scope": resource},
        "caller": "eve@contoso.com",
        "claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "eve@contoso.com"},
        "correlationId": "c0ffee00-0000-0000-0000-000000000002",
        "eventDataId": "e0000000-0000-0000-0000-000000000001",
        "eventName": {"value": "EndRequest"},
        "category": {"value": "Administrative"},
        "eventTimestamp": "2026-03-01T10:00:02Z",
        "operationName": {"value": op},
        "resourceId": resource,
        "status": {"value": "Succeeded"},
        "subscriptionId": SUB,
        "properties": props
    }))
}

/// Azure Log Analytics `AzureActivity` schema.
pub fn az_la(op: &str, resource: &str, request: Option<Value>) -> Event {
    let mut props = json!({});
    if let Some(b) = request {
        props["requestbody"] = json!(b.to_string());
    }
    decode(json!({
        "TimeGenerated": "2026-03-01T10:00:03Z",
        "OperationNameValue": op,
        "ActivityStatusValue": "Start",
        "Caller": "eve@contoso.com",
        "CallerIpAddress": "203.0.113.7",
        "CategoryValue": "Administrative",
        "CorrelationId": "c0ffee00-0000-0000-0000-000000000003",
        "_ResourceId": resource.to_ascii_lowercase(),
        "SubscriptionId": SUB,
        "Properties_d": props
    }))
}

pub fn user_claims() -> Value {
    json!({"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "eve@contoso.com", "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46"})
}

pub fn app_claims(appid: &str) -> Value {
    json!({"appid": appid, "idtyp": "app"})
}

pub fn arm(rg: &str, rest: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/{rest}")
}

/// A managed-disk write body whose `creationData` has `createOption` `option`.
pub fn disk_body(option: &str) -> Value {
    json!({"location": "westeurope", "properties": {"creationData": {
        "createOption": option,
        "sourceResourceId": arm("prod", "Microsoft.Compute/snapshots/web01-os-2026-02-20")}}})
}

/// A Google Cloud audit entry (first entry of the operation).
pub fn gcp(method: &str, resource: &str, request: Value) -> Event {
    gcp_by(method, resource, request, "eve@example.com")
}

pub fn gcp_by(method: &str, resource: &str, request: Value, principal: &str) -> Event {
    decode(json!({
        "logName": "projects/p1/logs/cloudaudit.googleapis.com%2Factivity",
        "operation": {"id": "operation-1", "producer": "compute.googleapis.com", "first": true},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "methodName": method,
            "serviceName": if method.contains("logging") { "logging.googleapis.com" } else { "compute.googleapis.com" },
            "resourceName": resource,
            "authenticationInfo": {"principalEmail": principal},
            "requestMetadata": {"callerIp": "203.0.113.7"},
            "request": request
        },
        "resource": {"type": "gce_instance", "labels": {"project_id": "p1", "zone": "us-central1-a"}},
        "timestamp": "2026-03-01T10:00:00Z",
        "insertId": "x1",
        "severity": "NOTICE"
    }))
}

/// Assert the exact detections of every case, reporting all the cases that differ at once.
#[track_caller]
pub fn table(cases: &[(&str, snapback_ingest::Event, &[&str])]) {
    let mut failed = Vec::new();
    for (what, e, want) in cases {
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        let got = matched(e);
        if got != want {
            failed.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failed.is_empty(), "\n{}", failed.join("\n"));
}
