//! `snapback scan` end to end on boot-disk swaps written in each cloud's delivery layout
//! (issue 18, items 4 and 5): a Google Cloud sink's JSON lines and `gcloud logging read`'s
//! JSON array; an Azure diagnostic export `{"records":[…]}`, a Log Analytics export (JSON
//! array) and a REST page (`{"value":[…]}`). The records are authored from the documented
//! shapes (shared/spec/revert-operations.md); the engine-level table is in
//! crates/snapback-correlate/tests/disk_swaps.rs.

use std::path::Path;

use assert_cmd::Command;
use serde_json::{json, Value};

/// An active alert: rule, risk, [(evidence role, operation lower-cased)], risk reasons.
type Seen = (String, u64, Vec<(String, String)>, Vec<String>);

/// Active alerts of `snapback scan DIR`.
fn scan(dir: &Path) -> Vec<Seen> {
    let out = Command::cargo_bin("snapback")
        .unwrap()
        .args(["scan", "--format", "jsonl"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let a: Value = serde_json::from_str(l).unwrap();
            assert!(a.get("suppressed").is_none(), "{l}");
            let evidence = a["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["role"].as_str().unwrap().to_owned(),
                        e["operation"].as_str().unwrap().to_ascii_lowercase(),
                    )
                })
                .collect();
            let reasons = a["risk_reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect();
            (
                a["rule_name"].as_str().unwrap().to_owned(),
                a["risk_score"].as_u64().unwrap(),
                evidence,
                reasons,
            )
        })
        .collect()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn roles(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(r, o)| (r.to_string(), o.to_string()))
        .collect()
}

// ------------------------------------------------------------------ Google Cloud

const P: &str = "projects/northwind-prod/zones/us-central1-a";

/// The first and last entries of a Compute Engine operation.
fn lro(method: &str, resource: &str, request: Value, op: &str, times: [&str; 2]) -> [Value; 2] {
    let short = method.trim_start_matches("v1.");
    let at_type = format!("type.googleapis.com/{short}");
    let mut first_request = request;
    first_request["@type"] = json!(at_type);
    let entry = |first: bool, time: &str| {
        json!({
            "logName": "projects/northwind-prod/logs/cloudaudit.googleapis.com%2Factivity",
            "insertId": format!("{op}-{first}"),
            "operation": {"id": op, "producer": "compute.googleapis.com", (if first { "first" } else { "last" }): true},
            "protoPayload": {
                "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "serviceName": "compute.googleapis.com",
                "methodName": method,
                "resourceName": resource,
                "authenticationInfo": {"principalEmail": "mallory@northwind.example"},
                "requestMetadata": {"callerIp": "203.0.113.66"},
                "request": if first { first_request.clone() } else { json!({"@type": at_type}) }
            },
            "resource": {"type": if resource.contains("/disks/") { "gce_disk" } else { "gce_instance" },
                         "labels": {"project_id": "northwind-prod", "zone": "us-central1-a"}},
            "severity": "NOTICE",
            "timestamp": time
        })
    };
    [entry(true, times[0]), entry(false, times[1])]
}

fn gcp_swap() -> Vec<Value> {
    let disk = format!("{P}/disks/web-1-restored");
    let instance = format!("{P}/instances/web-1");
    [
        lro(
            "v1.compute.disks.insert",
            &disk,
            json!({"name": "web-1-restored", "sourceSnapshot": "https://www.googleapis.com/compute/v1/projects/northwind-prod/global/snapshots/web-1-golden"}),
            "operation-1",
            ["2026-03-01T10:00:05Z", "2026-03-01T10:00:17Z"],
        ),
        lro(
            "v1.compute.instances.detachDisk",
            &instance,
            json!({}),
            "operation-2",
            ["2026-03-01T10:03:02Z", "2026-03-01T10:03:10Z"],
        ),
        lro(
            "v1.compute.instances.attachDisk",
            &instance,
            json!({"source": format!("https://www.googleapis.com/compute/v1/{disk}"), "deviceName": "web-1", "boot": true}),
            "operation-3",
            ["2026-03-01T10:04:11Z", "2026-03-01T10:04:20Z"],
        ),
    ]
    .concat()
}

#[test]
fn gcp_boot_disk_swap_scores_like_the_aws_root_swap() {
    let want = vec![(
        "gcp-restored-disk-attached-as-boot".to_owned(),
        80,
        roles(&[
            ("revert", "v1.compute.disks.insert"),
            ("confirmation", "v1.compute.disks.insert"),
            ("confirmation", "v1.compute.instances.detachdisk"),
            ("revert", "v1.compute.instances.detachdisk"),
            ("revert", "v1.compute.instances.attachdisk"),
            ("confirmation", "v1.compute.instances.attachdisk"),
        ]),
    )];
    let entries = gcp_swap();
    // A Cloud Storage sink: hourly JSON-lines shards.
    let sink = tempfile::tempdir().unwrap();
    let lines: Vec<String> = entries.iter().map(Value::to_string).collect();
    write(
        sink.path(),
        "cloudaudit.googleapis.com/activity/2026/03/01/10:00:00_10:59:59_S0.json",
        &(lines.join("\n") + "\n"),
    );
    // `gcloud logging read --format=json`: one JSON array of entries.
    let read = tempfile::tempdir().unwrap();
    write(
        read.path(),
        "logging-read.json",
        &serde_json::to_string_pretty(&entries).unwrap(),
    );
    for dir in [sink.path(), read.path()] {
        let got = scan(dir);
        let summary: Vec<_> = got
            .iter()
            .map(|(r, risk, ev, _)| (r.clone(), *risk, ev.clone()))
            .collect();
        assert_eq!(summary, want, "{}", dir.display());
        let reasons = &got[0].3;
        assert!(
            reasons[0].starts_with("80: High: a restored snapshot or image became the boot disk")
        );
        assert!(reasons
            .iter()
            .any(|r| r.contains("(gcp-instance-boot-disk-swap, risk 75), merged")));
        assert!(reasons
            .iter()
            .any(|r| r.contains("(gcp-restored-disk-attached, risk 65), merged")));
    }
}

// ------------------------------------------------------------------ Azure

const SUB: &str = "0E5ABB13-2BF7-46DD-91DA-26ED94D6C60F";

fn arm(rest: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-Prod-Web/providers/Microsoft.Compute/{rest}")
}

fn copy_body() -> Value {
    json!({"location": "westeurope", "properties": {"creationData": {"createOption": "Copy",
        "sourceResourceId": arm("snapshots/web01-os-20260201")}, "osType": "Linux"}})
}

fn vm_body(os_disk: &str) -> Value {
    json!({"location": "westeurope", "properties": {"storageProfile": {"osDisk": {
        "osType": "Linux", "createOption": "Attach", "managedDisk": {"id": os_disk}}}}})
}

/// Diagnostic-settings export record: upper-cased names, string-encoded body.
fn export_record(
    op: &str,
    resource: &str,
    start: bool,
    time: &str,
    corr: &str,
    body: Option<Value>,
) -> Value {
    let mut props = json!({"eventCategory": "Administrative"});
    if let Some(b) = body {
        props["requestbody"] = json!(b.to_string());
    }
    json!({
        "time": time, "resourceId": resource.to_ascii_uppercase(), "operationName": op.to_ascii_uppercase(),
        "category": "Administrative", "resultType": if start { "Start" } else { "Success" },
        "resultSignature": if start { "Started." } else { "Succeeded.OK" }, "callerIpAddress": "203.0.113.66",
        "correlationId": corr, "level": "Information",
        "identity": {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "mallory@northwind.example"}},
        "properties": props
    })
}

/// Log Analytics `AzureActivity` row.
fn la_row(
    op: &str,
    resource: &str,
    start: bool,
    time: &str,
    corr: &str,
    body: Option<Value>,
) -> Value {
    let mut props = json!({"eventCategory": "Administrative"});
    if let Some(b) = body {
        props["requestbody"] = json!(b.to_string());
    }
    json!({
        "TimeGenerated": time, "OperationNameValue": op.to_ascii_uppercase(),
        "ActivityStatusValue": if start { "Start" } else { "Success" }, "Caller": "mallory@northwind.example",
        "CallerIpAddress": "203.0.113.66", "CategoryValue": "Administrative", "CorrelationId": corr,
        "EventDataId": format!("{corr}-{start}"), "_ResourceId": resource.to_ascii_lowercase(),
        "SubscriptionId": SUB.to_ascii_lowercase(), "Properties_d": props
    })
}

/// REST / portal record: object bodies, `operationName.value`.
fn rest_record(
    op: &str,
    resource: &str,
    start: bool,
    time: &str,
    corr: &str,
    body: Option<Value>,
) -> Value {
    let mut props = json!({"statusCode": if start { "Created" } else { "OK" }});
    if let Some(b) = body {
        props["requestbody"] = b;
    }
    json!({
        "caller": "mallory@northwind.example", "correlationId": corr, "eventDataId": format!("{corr}-{start}"),
        "eventName": {"value": if start { "BeginRequest" } else { "EndRequest" }},
        "category": {"value": "Administrative"}, "eventTimestamp": time, "operationName": {"value": op},
        "resourceId": resource, "status": {"value": if start { "Started" } else { "Succeeded" }},
        "subscriptionId": SUB.to_ascii_lowercase(), "properties": props
    })
}

type Rec = fn(&str, &str, bool, &str, &str, Option<Value>) -> Value;

/// The disk copied from a snapshot, then a VM write whose Start record carries `vm`.
fn azure_swap(rec: Rec, vm: Option<Value>) -> Vec<Value> {
    let disk = arm("disks/web01-OS-restored");
    let machine = arm("virtualMachines/vm-web-01");
    let (d, w) = (
        "c0ffee00-0000-0000-0000-00000000d15c",
        "c0ffee00-0000-0000-0000-0000000000f1",
    );
    vec![
        rec(
            "Microsoft.Compute/disks/write",
            &disk,
            true,
            "2026-03-01T10:00:01.1Z",
            d,
            Some(copy_body()),
        ),
        rec(
            "Microsoft.Compute/disks/write",
            &disk,
            false,
            "2026-03-01T10:00:04.2Z",
            d,
            None,
        ),
        rec(
            "Microsoft.Compute/virtualMachines/write",
            &machine,
            true,
            "2026-03-01T10:05:00.5Z",
            w,
            vm,
        ),
        rec(
            "Microsoft.Compute/virtualMachines/write",
            &machine,
            false,
            "2026-03-01T10:05:06.9Z",
            w,
            None,
        ),
    ]
}

#[test]
fn azure_os_disk_swap_links_by_the_disk_the_vm_write_names() {
    let four = roles(&[
        ("revert", "microsoft.compute/disks/write"),
        ("confirmation", "microsoft.compute/disks/write"),
        ("revert", "microsoft.compute/virtualmachines/write"),
        ("confirmation", "microsoft.compute/virtualmachines/write"),
    ]);
    // The VM body spells the disk id in another case than the export's resourceId.
    let named = arm("disks/WEB01-os-RESTORED")
        .to_ascii_lowercase()
        .replace("web01-os-restored", "WEB01-os-RESTORED");
    let other = arm("disks/web01-os-2025");
    let export = tempfile::tempdir().unwrap();
    let blob = format!("insights-activity-logs/resourceId=/SUBSCRIPTIONS/{SUB}/y=2026/m=03/d=01/h=10/m=00/PT1H.json");
    write(
        export.path(),
        &blob,
        &json!({"records": azure_swap(export_record, Some(vm_body(&named)))}).to_string(),
    );
    let la = tempfile::tempdir().unwrap();
    write(
        la.path(),
        "azureactivity.json",
        &Value::Array(azure_swap(la_row, None)).to_string(),
    );
    let rest = tempfile::tempdir().unwrap();
    write(
        rest.path(),
        "activity-log-page.json",
        &json!({"value": azure_swap(rest_record, Some(vm_body(&other)))}).to_string(),
    );
    let got = scan(export.path());
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1),
        ("azure-disk-restored-then-vm-changed", 80)
    );
    assert_eq!(got[0].2, four);
    // Without the body (Log Analytics rows here): the resource group only, lower, saying so.
    let got = scan(la.path());
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1),
        (
            "azure-disk-restored-then-vm-written-same-resource-group",
            55
        )
    );
    assert_eq!(got[0].2, four);
    assert!(
        got[0].3[0].starts_with("55: Medium: linked by resource group only"),
        "{:?}",
        got[0].3
    );
    // The write names another disk: no alert at all.
    assert_eq!(scan(rest.path()), Vec::new());
}
