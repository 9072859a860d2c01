//! `snapback scan` over small logs in each cloud's delivery layout (CloudTrail S3 files, Azure
//! `insights-activity-logs` PT1H.json lines, Cloud Logging export lines), for issue 18 items 2
//! and 3: a stop/start (deallocate/start) is escalated to critical by startup code rewritten on
//! the same instance, between the stop and the start or before, and by a change that narrows
//! logging; a change that widens logging, by the same principal, never escalates it.
//!
//! Record shapes follow the vendors' API references and the public corpus: the Stratus Red Team
//! `ec2-user-data` detonation (`../shared/corpus/stratus-red-team-detonation-logs`), the
//! Stratus `cloudtrail-event-selectors` detonation, Panther's Azure and Google Cloud samples.

use assert_cmd::Command;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const I1: &str = "i-0aa11bb22cc33dd44";
const SUB: &str = "0e5abb13-2bf7-46dd-91da-26ed94d6c60f";
const GINST: &str = "projects/p1/zones/us-central1-a/instances/web-1";

/// Scan a directory holding these files; the active alerts.
fn scan(files: &[(&str, String)]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let out = Command::cargo_bin("snapback")
        .unwrap()
        .args(["scan", "--quiet", "--format", "jsonl"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|a| a.get("suppressed").is_none())
        .collect()
}

// ------------------------------------------------------------------ AWS

fn ct(t: &str, source: &str, name: &str, who: &str, req: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{}", who.to_uppercase()),
                         "arn": format!("arn:aws:iam::{ACCOUNT}:user/{who}"), "accountId": ACCOUNT,
                         "accessKeyId": "AKIAEXAMPLE", "userName": who},
        "eventTime": t, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.17.0",
        "requestParameters": req, "responseElements": null,
        "requestID": format!("req-{name}-{t}"), "eventID": format!("ev-{name}-{t}-{who}"),
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management"
    })
}

fn ec2(t: &str, name: &str, who: &str, req: Value) -> Value {
    ct(t, "ec2.amazonaws.com", name, who, req)
}

fn trail(t: &str, name: &str, req: Value) -> Value {
    ct(t, "cloudtrail.amazonaws.com", name, "alice", req)
}

/// A CloudTrail file: alice stops and starts I1 around 10:00, after `before` and with `between`.
fn aws_file(before: Vec<Value>, between: Vec<Value>) -> Vec<(&'static str, String)> {
    let set = json!({"instancesSet": {"items": [{"instanceId": I1}]}});
    let mut records = before;
    records.push(ec2(
        "2026-03-01T10:00:00Z",
        "StopInstances",
        "alice",
        json!({"instancesSet": set["instancesSet"], "force": true}),
    ));
    records.extend(between);
    records.push(ec2("2026-03-01T10:01:00Z", "StartInstances", "alice", set));
    vec![(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/111122223333_CloudTrail_us-east-1_20260301T1005Z_x.json",
        json!({"Records": records}).to_string(),
    )]
}

fn user_data(t: &str, who: &str, instance: &str, attribute_form: bool) -> Value {
    let req = if attribute_form {
        json!({"instanceId": instance, "attribute": "userData", "value": "<sensitiveDataRemoved>"})
    } else {
        json!({"instanceId": instance, "userData": "<sensitiveDataRemoved>"})
    };
    ec2(t, "ModifyInstanceAttribute", who, req)
}

fn data_selectors(management: bool, rw: &str) -> Value {
    json!({"trailName": "main", "eventSelectors": [{
        "dataResources": [{"type": "AWS::S3::Object", "values": []}, {"type": "AWS::Lambda::Function", "values": []}],
        "excludeManagementEventSources": [], "includeManagementEvents": management, "readWriteType": rw}]})
}

// ------------------------------------------------------------------ Azure

fn vm_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/web01")
}

/// Start and Succeeded records of one Azure operation (resource-log schema, upper-cased ids).
fn az(t: &str, op: &str, resource: &str, who: &str, body: Option<Value>) -> Vec<Value> {
    let corr = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (t, op, resource, who).hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let mut out = Vec::new();
    for (phase, signature, at) in [("Start", "Started.", t), ("Success", "Succeeded.", t)] {
        let mut props =
            json!({"eventCategory": "Administrative", "entity": resource, "message": op});
        if phase == "Start" {
            if let Some(b) = &body {
                props["requestbody"] = json!(b.to_string());
            }
        }
        out.push(json!({
            "time": at, "resourceId": resource.to_uppercase(), "operationName": op.to_uppercase(),
            "category": "Administrative", "resultType": phase, "resultSignature": signature,
            "callerIpAddress": "203.0.113.66", "correlationId": corr,
            "level": "Information", "location": "global",
            "identity": {"claims": {
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": format!("{who}@contoso.example"),
                "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46"}},
            "properties": props
        }));
    }
    out
}

/// mallory deallocates and starts web01 around 10:00, after `before` and with `between`.
fn azure_file(before: Vec<Vec<Value>>, between: Vec<Vec<Value>>) -> Vec<(&'static str, String)> {
    let vm = vm_id();
    let mut records: Vec<Value> = before.into_iter().flatten().collect();
    records.extend(az(
        "2026-03-01T10:00:00.1Z",
        "Microsoft.Compute/virtualMachines/deallocate/action",
        &vm,
        "mallory",
        None,
    ));
    records.extend(between.into_iter().flatten());
    records.extend(az(
        "2026-03-01T10:02:00.1Z",
        "Microsoft.Compute/virtualMachines/start/action",
        &vm,
        "mallory",
        None,
    ));
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    vec![(
        "insights-activity-logs/resourceId=/SUBSCRIPTIONS/0E5ABB13-2BF7-46DD-91DA-26ED94D6C60F/y=2026/m=03/d=01/h=10/m=00/PT1H.json",
        lines.join("\n") + "\n",
    )]
}

fn diag(t: &str, op: &str, logs: Option<Value>) -> Vec<Value> {
    let id =
        format!("/subscriptions/{SUB}/providers/microsoft.insights/diagnosticSettings/to-siem");
    let body =
        logs.map(|l| json!({"properties": {"workspaceId": "/subscriptions/x/w", "logs": l}}));
    az(t, op, &id, "mallory", body)
}

fn categories(administrative: bool, others: bool) -> Value {
    json!([{"category": "Security", "enabled": others}, {"category": "Policy", "enabled": others},
           {"category": "Administrative", "enabled": administrative}])
}

fn extension(t: &str, name: &str, ty: &str) -> Vec<Value> {
    az(
        t,
        "Microsoft.Compute/virtualMachines/extensions/write",
        &format!("{}/extensions/{name}", vm_id()),
        "bob",
        Some(
            json!({"location": "westeurope", "properties": {"publisher": "Microsoft.Compute", "type": ty, "typeHandlerVersion": "1.10"}}),
        ),
    )
}

// ------------------------------------------------------------------ Google Cloud

/// First and last entries of one operation (Cloud Logging export lines).
fn gcp(
    t: &str,
    method: &str,
    resource: &str,
    who: &str,
    request: Value,
    metadata: Option<Value>,
) -> Vec<Value> {
    let op = format!("operation-{t}-{method}-{who}");
    let service = if method.contains("logging") {
        "logging.googleapis.com"
    } else {
        "compute.googleapis.com"
    };
    let mut first = json!({
        "insertId": format!("f-{t}-{method}"), "logName": "projects/p1/logs/cloudaudit.googleapis.com%2Factivity",
        "operation": {"id": op, "producer": service, "first": true},
        "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": format!("{who}@example.com")},
            "methodName": method, "serviceName": service, "resourceName": resource,
            "requestMetadata": {"callerIp": "203.0.113.66"}, "request": request},
        "resource": {"type": "gce_instance", "labels": {"project_id": "p1", "zone": "us-central1-a"}},
        "severity": "NOTICE", "timestamp": t
    });
    if let Some(m) = metadata {
        first["protoPayload"]["metadata"] = m;
    }
    let mut last = first.clone();
    last["insertId"] = json!(format!("l-{t}-{method}"));
    last["operation"] = json!({"id": op, "producer": service, "last": true});
    vec![first, last]
}

/// mallory stops and starts web-1 around 10:00, after `before` and with `between`.
fn gcp_file(before: Vec<Vec<Value>>, between: Vec<Vec<Value>>) -> Vec<(&'static str, String)> {
    let mut records: Vec<Value> = before.into_iter().flatten().collect();
    let at = json!({"@type": "type.googleapis.com/compute.instances.stop"});
    records.extend(gcp(
        "2026-03-01T10:00:00Z",
        "v1.compute.instances.stop",
        GINST,
        "mallory",
        at.clone(),
        None,
    ));
    records.extend(between.into_iter().flatten());
    records.extend(gcp(
        "2026-03-01T10:02:00Z",
        "v1.compute.instances.start",
        GINST,
        "mallory",
        at,
        None,
    ));
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    vec![(
        "cloudaudit.googleapis.com/activity/2026/03/01/10:00:00_10:59:59_S0.json",
        lines.join("\n") + "\n",
    )]
}

fn set_metadata(t: &str, who: &str, keys: &[&str]) -> Vec<Value> {
    gcp(
        t,
        "v1.compute.instances.setMetadata",
        GINST,
        who,
        json!({"@type": "type.googleapis.com/compute.instances.setMetadata"}),
        Some(
            json!({"@type": "type.googleapis.com/google.cloud.audit.GceInstanceAuditMetadata",
                    "instanceMetadataDelta": {"addedMetadataKeys": keys}}),
        ),
    )
}

fn update_sink(t: &str, mask: &str, sink: Value) -> Vec<Value> {
    gcp(
        t,
        "google.logging.v2.ConfigServiceV2.UpdateSink",
        "projects/p1/sinks/siem",
        "mallory",
        json!({"@type": "type.googleapis.com/google.logging.v2.UpdateSinkRequest",
               "sinkName": "projects/p1/sinks/siem", "sink": sink, "updateMask": mask}),
        None,
    )
}

// ------------------------------------------------------------------ the table

/// The revert rule, and the precursor operations its evidence must list (none: not escalated).
struct Case {
    name: &'static str,
    files: Vec<(&'static str, String)>,
    rule: &'static str,
    /// (operation, precursor rule title) of each precursor in the evidence.
    precursors: &'static [(&'static str, &'static str)],
}

fn aws_startup_cases() -> Vec<Case> {
    let case = |name, before, between, precursors| Case {
        name,
        files: aws_file(before, between),
        rule: "aws-ec2-stop-then-start",
        precursors,
    };
    vec![
        case(
            "aws: user data rewritten between stop and start (Stratus)",
            vec![],
            vec![user_data("2026-03-01T10:00:48Z", "alice", I1, false)],
            &[(
                "ModifyInstanceAttribute",
                "AWS EC2 Instance User Data Modified",
            )],
        ),
        case(
            "aws: attribute userData by another principal",
            vec![],
            vec![user_data("2026-03-01T10:00:48Z", "bob", I1, true)],
            &[(
                "ModifyInstanceAttribute",
                "AWS EC2 Instance User Data Modified",
            )],
        ),
        case(
            "aws: user data of another instance, another principal",
            vec![],
            vec![user_data(
                "2026-03-01T10:00:48Z",
                "bob",
                "i-0ffffffffffffffff",
                false,
            )],
            &[],
        ),
    ]
}

fn aws_logging_cases() -> Vec<Case> {
    let widen = vec![
        trail(
            "2026-03-01T09:00:00Z",
            "PutEventSelectors",
            data_selectors(true, "All"),
        ),
        trail(
            "2026-03-01T09:01:00Z",
            "UpdateTrail",
            json!({"name": "main",
            "cloudWatchLogsLogGroupArn": format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:trail:*"),
            "cloudWatchLogsRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/CloudTrailToCloudWatch")}),
        ),
        trail(
            "2026-03-01T09:02:00Z",
            "UpdateTrail",
            json!({"name": "main", "enableLogFileValidation": true, "isMultiRegionTrail": true}),
        ),
    ];
    let case = |name, before, between, precursors| Case {
        name,
        files: aws_file(before, between),
        rule: "aws-ec2-stop-then-start",
        precursors,
    };
    vec![
        case(
            "aws: trail widened by the same principal",
            widen,
            vec![],
            &[],
        ),
        case(
            "aws: management events switched off (Stratus)",
            vec![trail(
                "2026-03-01T09:00:00Z",
                "PutEventSelectors",
                data_selectors(false, "ReadOnly"),
            )],
            vec![],
            &[(
                "PutEventSelectors",
                "AWS CloudTrail Event Selectors Narrowed",
            )],
        ),
        case(
            "aws: advanced selectors without management",
            vec![trail(
                "2026-03-01T09:00:00Z",
                "PutEventSelectors",
                json!({"trailName": "main", "advancedEventSelectors": [
                 {"name": "S3", "fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]},
                                                   {"field": "resources.type", "equals": ["AWS::S3::Object"]}]}]}),
            )],
            vec![],
            &[(
                "PutEventSelectors",
                "AWS CloudTrail Event Selectors Narrowed",
            )],
        ),
        case(
            "aws: trail made single-Region",
            vec![trail(
                "2026-03-01T09:00:00Z",
                "UpdateTrail",
                json!({"name": "main", "isMultiRegionTrail": false}),
            )],
            vec![],
            &[("UpdateTrail", "AWS CloudTrail Trail Narrowed")],
        ),
        case(
            "aws: logging stopped",
            vec![trail(
                "2026-03-01T09:00:00Z",
                "StopLogging",
                json!({"name": "main"}),
            )],
            vec![],
            &[("StopLogging", "AWS CloudTrail Logging Stopped or Deleted")],
        ),
    ]
}

fn azure_startup_cases() -> Vec<Case> {
    let case = |name, before, between, precursors| Case {
        name,
        files: azure_file(before, between),
        rule: "azure-vm-deallocate-then-start",
        precursors,
    };
    vec![
        case(
            "azure: run command on the VM by another principal",
            vec![],
            vec![az(
                "2026-03-01T10:01:00.1Z",
                "Microsoft.Compute/virtualMachines/runCommand/action",
                &vm_id(),
                "bob",
                None,
            )],
            &[(
                "MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION",
                "Azure VM Run Command",
            )],
        ),
        case(
            "azure: custom script extension (a child of the VM) by another principal",
            vec![],
            vec![extension(
                "2026-03-01T10:01:00.1Z",
                "CustomScriptExtension",
                "CustomScriptExtension",
            )],
            &[(
                "MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS/WRITE",
                "Azure VM Script Extension Written",
            )],
        ),
        case(
            "azure: monitoring agent extension",
            vec![],
            vec![extension(
                "2026-03-01T10:01:00.1Z",
                "AzureMonitorWindowsAgent",
                "AzureMonitorWindowsAgent",
            )],
            &[],
        ),
        case(
            "azure: VM userData written by another principal",
            vec![],
            vec![az(
                "2026-03-01T10:01:00.1Z",
                "Microsoft.Compute/virtualMachines/write",
                &vm_id(),
                "bob",
                Some(json!({"properties": {"userData": "IyEvYmluL3NoCg=="}})),
            )],
            &[(
                "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
                "Azure VM User Data or Custom Data Set",
            )],
        ),
    ]
}

fn azure_logging_cases() -> Vec<Case> {
    let write = "microsoft.insights/diagnosticSettings/write";
    let case = |name, before, between, precursors| Case {
        name,
        files: azure_file(before, between),
        rule: "azure-vm-deallocate-then-start",
        precursors,
    };
    vec![
        case(
            "azure: diagnostic setting widened by the same principal",
            vec![
                diag(
                    "2026-03-01T09:00:00.1Z",
                    write,
                    Some(categories(true, true)),
                ),
                diag("2026-03-01T09:01:00.1Z", write, None),
            ],
            vec![],
            &[],
        ),
        case(
            "azure: Administrative category disabled",
            vec![diag(
                "2026-03-01T09:00:00.1Z",
                write,
                Some(categories(false, true)),
            )],
            vec![],
            &[(
                "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE",
                "Azure Diagnostic Setting Narrowed",
            )],
        ),
        case(
            "azure: diagnostic setting deleted",
            vec![diag(
                "2026-03-01T09:00:00.1Z",
                "microsoft.insights/diagnosticSettings/delete",
                None,
            )],
            vec![],
            &[(
                "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE",
                "Azure Diagnostic Settings or Log Profile Deleted",
            )],
        ),
    ]
}

fn gcp_cases() -> Vec<Case> {
    let stop_start = "gcp-instance-stop-then-start";
    let dest = "pubsub.googleapis.com/projects/p1/topics/siem";
    let case = |name, before, between, precursors| Case {
        name,
        files: gcp_file(before, between),
        rule: stop_start,
        precursors,
    };
    vec![
        case(
            "gcp: startup-script set between stop and start by another principal",
            vec![],
            vec![set_metadata(
                "2026-03-01T10:01:00Z",
                "bob",
                &["startup-script"],
            )],
            &[(
                "v1.compute.instances.setMetadata",
                "Google Cloud Instance or Project Startup Script Set",
            )],
        ),
        case(
            "gcp: sink filter changed and exclusion removed by the same principal",
            vec![
                update_sink(
                    "2026-03-01T09:00:00Z",
                    "filter",
                    json!({"name": "siem", "destination": dest, "filter": "logName:activity"}),
                ),
                update_sink(
                    "2026-03-01T09:01:00Z",
                    "exclusions",
                    json!({"name": "siem", "destination": dest}),
                ),
            ],
            vec![],
            &[],
        ),
        case(
            "gcp: sink excludes everything",
            vec![update_sink(
                "2026-03-01T09:00:00Z",
                "exclusions",
                json!({"name": "siem", "destination": dest,
                  "exclusions": [{"name": "excludeall", "filter": "*"}]}),
            )],
            vec![],
            &[(
                "google.logging.v2.ConfigServiceV2.UpdateSink",
                "Google Cloud Logging Sink or Exclusion Narrowed",
            )],
        ),
    ]
}

#[test]
fn precursors_escalate_only_startup_code_and_narrowed_logging() {
    let mut failed = Vec::new();
    let cases = [
        aws_startup_cases(),
        aws_logging_cases(),
        azure_startup_cases(),
        azure_logging_cases(),
        gcp_cases(),
    ];
    for c in cases.into_iter().flatten() {
        let alerts = scan(&c.files);
        if let Err(why) = check(&alerts, &c) {
            failed.push(format!("{}: {why}", c.name));
        }
    }
    assert!(failed.is_empty(), "\n{}", failed.join("\n"));
}

fn check(alerts: &[Value], c: &Case) -> Result<(), String> {
    let summary: Vec<String> = alerts
        .iter()
        .map(|a| format!("{} risk {}", a["rule_name"], a["risk_score"]))
        .collect();
    let [a] = alerts else {
        return Err(format!("want one active alert, got {summary:?}"));
    };
    if a["rule_name"] != c.rule {
        return Err(format!("want {}, got {summary:?}", c.rule));
    }
    let mut got: Vec<String> = a["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["role"] == "precursor")
        .map(|e| e["operation"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = c.precursors.iter().map(|(op, _)| op.to_string()).collect();
    want.sort();
    if !got
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .eq(want.iter().map(|s| s.to_ascii_lowercase()))
    {
        return Err(format!("precursors {got:?}, want {want:?}"));
    }
    let risk = a["risk_score"].as_u64().unwrap();
    let escalated = !want.is_empty();
    let (severity, ok_risk) = if escalated {
        ("critical", risk >= 90)
    } else {
        ("medium", (40..70).contains(&risk))
    };
    if a["escalated"] != escalated || a["severity"] != severity || !ok_risk {
        return Err(format!(
            "escalated {} severity {} risk {risk}, want escalated {escalated}; reasons {}",
            a["escalated"], a["severity"], a["risk_reasons"]
        ));
    }
    let reasons = a["risk_reasons"].to_string();
    for (_, title) in c.precursors {
        if !reasons.contains(&format!("kill chain: {title} at")) {
            return Err(format!("no kill-chain reason for {title}: {reasons}"));
        }
    }
    Ok(())
}
