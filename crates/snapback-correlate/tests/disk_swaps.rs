//! Boot-disk swaps with the built-in pack, table-driven (issue 18, items 4 and 5): which alert a
//! Google Cloud boot-disk swap and an Azure OS-disk swap raise, at what risk, with which
//! evidence roles, in each delivery layout.
//!
//! The records are authored from the vendors' documented shapes (shared/spec/revert-operations.md
//! §1.2, §1.3, §3.1, §4.1; the Compute Engine `instances.attachDisk` body is an `AttachedDisk`
//! with `source`, `deviceName`, `boot`; `instances.detachDisk` has an empty body, `deviceName`
//! being a query parameter; Azure Activity Log records carry `properties.requestbody` on the
//! Start record only). No public corpus holds these calls.

use serde_json::{json, Value};
use snapback_correlate::{Alert, DetectOptions, Detector, Tuning};
use snapback_ingest::{decode_record, Decoded, Event, Provenance};
use snapback_rules::RuleSet;

// ------------------------------------------------------------------ harness

fn events(records: &[Value]) -> Vec<Event> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let prov = Provenance {
            file: "fixture.json".into(),
            record: i as u64,
            offset: 0,
        };
        for d in decode_record(r.clone(), &prov) {
            match d {
                Decoded::Event(e) => out.push(*e),
                other => panic!("fixture did not decode: {other:?}"),
            }
        }
    }
    out
}

fn detect(records: &[Value]) -> Vec<Alert> {
    let rules = RuleSet::builtin();
    assert!(rules.problems.is_empty(), "{:?}", rules.problems);
    let tuning = Tuning::default();
    let mut d = Detector::new(&rules, &tuning, DetectOptions::default());
    for e in events(records) {
        d.observe(e);
    }
    d.finish()
        .alerts
        .into_iter()
        .filter(|a| a.suppressed.is_none())
        .collect()
}

/// An alert as the tests compare it: rule, risk, and the (role, operation) of its evidence in
/// order, operations lower-cased (Azure exports upper-case them).
fn summary(a: &Alert) -> (String, u8, Vec<(String, String)>) {
    let roles = a
        .evidence
        .iter()
        .map(|e| {
            let role = serde_json::to_value(e.role).unwrap();
            (
                role.as_str().unwrap().to_owned(),
                e.operation.to_ascii_lowercase(),
            )
        })
        .collect();
    (a.rule_name.clone().unwrap_or_default(), a.risk_score, roles)
}

/// Expected active alerts: (rule, risk, evidence as [`summary`] gives it).
type Want = Vec<(&'static str, u8, Vec<(String, String)>)>;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(r, o)| (r.to_string(), o.to_string()))
        .collect()
}

// ------------------------------------------------------------------ Google Cloud

const PROJECT: &str = "northwind-prod";
const ZONE: &str = "us-central1-a";

fn gcp_rn(kind: &str, name: &str) -> String {
    format!("projects/{PROJECT}/zones/{ZONE}/{kind}/{name}")
}

fn gcp_url(rn: &str) -> String {
    format!("https://www.googleapis.com/compute/v1/{rn}")
}

/// One entry of a Compute Engine long-running operation: the first carries the request, the
/// last only its `@type` (and, when the call failed, `status` and severity ERROR).
struct Lro<'a> {
    method: &'a str,
    resource: String,
    request: Value,
    op: &'a str,
    first: &'a str,
    last: &'a str,
    failed: bool,
}

impl Lro<'_> {
    fn entries(&self) -> Vec<Value> {
        let short = self.method.trim_start_matches("v1.");
        let at_type = json!({"@type": format!("type.googleapis.com/{short}")});
        let mut first_request = self.request.clone();
        if let Some(m) = first_request.as_object_mut() {
            m.insert("@type".into(), at_type["@type"].clone());
        }
        let kind = if self.resource.contains("/disks/") {
            "gce_disk"
        } else {
            "gce_instance"
        };
        let entry = |first: bool| {
            let mut proto = json!({
                "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "serviceName": "compute.googleapis.com",
                "methodName": self.method,
                "resourceName": self.resource,
                "authenticationInfo": {"principalEmail": "mallory@northwind.example"},
                "requestMetadata": {"callerIp": "203.0.113.66", "callerSuppliedUserAgent": "google-cloud-sdk gcloud/497.0.0"},
                "request": if first { first_request.clone() } else { at_type.clone() },
            });
            if first {
                proto["response"] = json!({"@type": "type.googleapis.com/operation", "name": self.op, "status": "RUNNING"});
            }
            let mut severity = "NOTICE";
            if !first && self.failed {
                proto["status"] = json!({"code": 3, "message": "INVALID_ARGUMENT"});
                severity = "ERROR";
            }
            let mut operation = json!({"id": self.op, "producer": "compute.googleapis.com"});
            operation[if first { "first" } else { "last" }] = json!(true);
            json!({
                "logName": format!("projects/{PROJECT}/logs/cloudaudit.googleapis.com%2Factivity"),
                "insertId": format!("{}-{}", self.op, first),
                "operation": operation,
                "protoPayload": proto,
                "resource": {"type": kind, "labels": {"project_id": PROJECT, "zone": ZONE}},
                "severity": severity,
                "timestamp": if first { self.first } else { self.last },
            })
        };
        vec![entry(true), entry(false)]
    }
}

fn disk_from_snapshot(disk: &str) -> Lro<'static> {
    let snapshot = format!("projects/{PROJECT}/global/snapshots/web-1-golden");
    Lro {
        method: "v1.compute.disks.insert",
        resource: gcp_rn("disks", disk),
        request: json!({"name": disk, "sourceSnapshot": gcp_url(&snapshot)}),
        op: "operation-insert",
        first: "2026-03-01T10:00:05Z",
        last: "2026-03-01T10:00:17Z",
        failed: false,
    }
}

fn detach(instance: &str) -> Lro<'static> {
    Lro {
        method: "v1.compute.instances.detachDisk",
        resource: gcp_rn("instances", instance),
        request: json!({}),
        op: "operation-detach",
        first: "2026-03-01T10:03:02Z",
        last: "2026-03-01T10:03:10Z",
        failed: false,
    }
}

fn attach(instance: &str, source: String, boot: Value) -> Lro<'static> {
    Lro {
        method: "v1.compute.instances.attachDisk",
        resource: gcp_rn("instances", instance),
        request: json!({"source": source, "deviceName": instance, "boot": boot, "mode": "READ_WRITE", "type": "PERSISTENT"}),
        op: "operation-attach",
        first: "2026-03-01T10:04:11Z",
        last: "2026-03-01T10:04:20Z",
        failed: false,
    }
}

fn gcp_records(calls: &[Lro<'_>]) -> Vec<Value> {
    calls.iter().flat_map(Lro::entries).collect()
}

const INSERT: &str = "v1.compute.disks.insert";
const DETACH: &str = "v1.compute.instances.detachdisk";
const ATTACH: &str = "v1.compute.instances.attachdisk";

/// A Google Cloud case: the calls made, the active alerts expected.
struct Case {
    name: &'static str,
    calls: Vec<Lro<'static>>,
    /// (rule, risk, evidence) of every active alert.
    want: Want,
}

#[test]
fn gcp_boot_disk_swaps() {
    for case in gcp_cases() {
        let alerts = detect(&gcp_records(&case.calls));
        let got: Vec<_> = alerts.iter().map(summary).collect();
        let want: Vec<_> = case
            .want
            .iter()
            .map(|(r, risk, ev)| (r.to_string(), *risk, ev.clone()))
            .collect();
        assert_eq!(got, want, "{}", case.name);
    }
}

fn gcp_cases() -> Vec<Case> {
    let restored = gcp_rn("disks", "web-1-restored");
    let full_swap = pairs(&[
        ("revert", INSERT),
        ("confirmation", INSERT),
        ("confirmation", DETACH),
        ("revert", DETACH),
        ("revert", ATTACH),
        ("confirmation", ATTACH),
    ]);
    vec![
        Case {
            name: "insert from a snapshot, detach, attach as boot (full URL): one alert at 80",
            calls: vec![
                disk_from_snapshot("web-1-restored"),
                detach("web-1"),
                attach("web-1", gcp_url(&restored), json!(true)),
            ],
            want: vec![("gcp-restored-disk-attached-as-boot", 80, full_swap.clone())],
        },
        Case {
            name: "the source as a relative name and boot as a string link the same way",
            calls: vec![
                disk_from_snapshot("web-1-restored"),
                detach("web-1"),
                attach("web-1", restored.clone(), json!("true")),
            ],
            want: vec![("gcp-restored-disk-attached-as-boot", 80, full_swap)],
        },
        Case {
            name: "no detach: the restored disk attached as boot still scores 80",
            calls: vec![
                disk_from_snapshot("web-1-restored"),
                attach("web-1", gcp_url(&restored), json!(true)),
            ],
            want: vec![(
                "gcp-restored-disk-attached-as-boot",
                80,
                pairs(&[
                    ("revert", INSERT),
                    ("confirmation", INSERT),
                    ("revert", ATTACH),
                    ("confirmation", ATTACH),
                ]),
            )],
        },
        Case {
            name: "a disk not restored swapped in as boot: the by-instance swap at 75",
            calls: vec![
                detach("web-1"),
                attach("web-1", gcp_rn("disks", "web-1-rebuilt"), json!(true)),
            ],
            want: vec![(
                "gcp-instance-boot-disk-swap",
                75,
                pairs(&[
                    ("confirmation", DETACH),
                    ("revert", DETACH),
                    ("revert", ATTACH),
                    ("confirmation", ATTACH),
                ]),
            )],
        },
        Case {
            name: "the restored disk attached as a data disk: the generic 65",
            calls: vec![
                disk_from_snapshot("web-1-restored"),
                detach("web-1"),
                attach("web-1", gcp_url(&restored), json!(false)),
            ],
            want: vec![(
                "gcp-restored-disk-attached",
                65,
                pairs(&[
                    ("revert", INSERT),
                    ("confirmation", INSERT),
                    ("revert", ATTACH),
                    ("confirmation", ATTACH),
                ]),
            )],
        },
    ]
}

#[test]
fn gcp_no_swap_without_a_successful_boot_attach_on_the_same_instance() {
    let restored = gcp_rn("disks", "web-1-restored");
    let other_instance = [
        detach("web-1"),
        attach("web-2", gcp_rn("disks", "web-1-rebuilt"), json!(true)),
    ];
    assert!(detect(&gcp_records(&other_instance)).is_empty());
    let failed_attach = Lro {
        failed: true,
        ..attach("web-1", gcp_url(&restored), json!(true))
    };
    let failed = [
        disk_from_snapshot("web-1-restored"),
        detach("web-1"),
        failed_attach,
    ];
    assert!(detect(&gcp_records(&failed)).is_empty());
}

#[test]
fn gcp_boot_swap_alert_names_what_it_merged() {
    let restored = gcp_rn("disks", "web-1-restored");
    let alerts = detect(&gcp_records(&[
        disk_from_snapshot("web-1-restored"),
        detach("web-1"),
        attach("web-1", gcp_url(&restored), json!(true)),
    ]));
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.base_risk, 80);
    assert_eq!(a.alert_type, "Root Volume Reverted");
    let merged: Vec<&str> = a
        .risk_reasons
        .iter()
        .filter(|r| r.starts_with("also matched"))
        .map(String::as_str)
        .collect();
    assert_eq!(merged.len(), 2, "{merged:?}");
    assert!(merged[0].contains("(gcp-instance-boot-disk-swap, risk 75)"));
    assert!(merged[1].contains("(gcp-restored-disk-attached, risk 65)"));
    let mut ids: Vec<&str> = a.entities.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "projects/northwind-prod/global/snapshots/web-1-golden",
            "projects/northwind-prod/zones/us-central1-a/disks/web-1-restored",
            "projects/northwind-prod/zones/us-central1-a/instances/web-1",
        ]
    );
}

// ------------------------------------------------------------------ Azure

const SUB: &str = "0E5ABB13-2BF7-46DD-91DA-26ED94D6C60F";

/// An ARM id as a caller typed it (mixed case); exports upper-case it.
fn arm(rg: &str, rest: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/{rest}")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Schema {
    /// Diagnostic-settings export (storage `PT1H.json`, Event Hubs): `{"records":[…]}`,
    /// upper-cased names, string-encoded bodies, `Start`/`Success`.
    Records,
    /// REST / portal JSON: `operationName.value`, object bodies, `Started`/`Succeeded`.
    Rest,
    /// Log Analytics `AzureActivity`: `_ResourceId`, `Properties_d`, `Start`/`Success`.
    LogAnalytics,
}

/// One record of an ARM operation.
#[derive(Clone)]
struct AzRec {
    op: &'static str,
    resource: String,
    start: bool,
    time: &'static str,
    corr: &'static str,
    body: Option<Value>,
}

fn az_record(schema: Schema, r: &AzRec, n: usize) -> Value {
    let upn = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
    match schema {
        Schema::Records => {
            let mut props = json!({"eventCategory": "Administrative"});
            if let Some(b) = &r.body {
                props["requestbody"] = json!(b.to_string());
            }
            json!({
                "time": r.time,
                "resourceId": r.resource.to_ascii_uppercase(),
                "operationName": r.op.to_ascii_uppercase(),
                "category": "Administrative",
                "resultType": if r.start { "Start" } else { "Success" },
                "resultSignature": if r.start { "Started." } else { "Succeeded.OK" },
                "callerIpAddress": "203.0.113.66",
                "correlationId": r.corr,
                "identity": {"claims": {upn: "mallory@northwind.example"}},
                "level": "Information",
                "properties": props,
            })
        }
        Schema::Rest => {
            let mut props = json!({"statusCode": if r.start { "Created" } else { "OK" }});
            if let Some(b) = &r.body {
                props["requestbody"] = b.clone();
            }
            json!({
                "authorization": {"action": r.op, "scope": r.resource},
                "caller": "mallory@northwind.example",
                "claims": {upn: "mallory@northwind.example"},
                "correlationId": r.corr,
                "eventDataId": format!("e0000000-0000-0000-0000-{n:012}"),
                "eventName": {"value": if r.start { "BeginRequest" } else { "EndRequest" }},
                "category": {"value": "Administrative"},
                "eventTimestamp": r.time,
                "httpRequest": {"clientIpAddress": "203.0.113.66", "method": "PUT"},
                "operationName": {"value": r.op},
                "resourceId": r.resource,
                "status": {"value": if r.start { "Started" } else { "Succeeded" }},
                "subStatus": {"value": ""},
                "subscriptionId": SUB.to_ascii_lowercase(),
                "properties": props,
            })
        }
        Schema::LogAnalytics => {
            let mut props = json!({"eventCategory": "Administrative"});
            if let Some(b) = &r.body {
                props["requestbody"] = json!(b.to_string());
            }
            json!({
                "TimeGenerated": r.time,
                "OperationNameValue": r.op.to_ascii_uppercase(),
                "ActivityStatusValue": if r.start { "Start" } else { "Success" },
                "Caller": "mallory@northwind.example",
                "CallerIpAddress": "203.0.113.66",
                "CategoryValue": "Administrative",
                "CorrelationId": r.corr,
                "EventDataId": format!("1a000000-0000-0000-0000-{n:012}"),
                "_ResourceId": r.resource.to_ascii_lowercase(),
                "SubscriptionId": SUB.to_ascii_lowercase(),
                "Properties_d": props,
            })
        }
    }
}

/// The records as their layout delivers them: one `{"records":[…]}` blob for the export.
fn az_layout(schema: Schema, recs: &[AzRec]) -> Vec<Value> {
    let rows: Vec<Value> = recs
        .iter()
        .enumerate()
        .map(|(n, r)| az_record(schema, r, n))
        .collect();
    match schema {
        Schema::Records => vec![json!({"records": rows})],
        _ => rows,
    }
}

const DISK_WRITE: &str = "Microsoft.Compute/disks/write";
const VM_WRITE: &str = "Microsoft.Compute/virtualMachines/write";

fn restored_disk() -> String {
    arm("rg-Prod-Web", "Microsoft.Compute/disks/web01-OS-restored")
}

fn vm() -> String {
    arm("rg-Prod-Web", "Microsoft.Compute/virtualMachines/vm-web-01")
}

/// Start and Success of the disk copied from a snapshot (`createOption: Copy`).
fn disk_copy(disk: String) -> Vec<AzRec> {
    let snapshot = arm(
        "rg-Prod-Web",
        "Microsoft.Compute/snapshots/web01-os-20260201",
    );
    let body = json!({"location": "westeurope", "sku": {"name": "Premium_LRS"},
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": snapshot}, "osType": "Linux"}});
    vec![
        AzRec {
            op: DISK_WRITE,
            resource: disk.clone(),
            start: true,
            time: "2026-03-01T10:00:01.1Z",
            corr: "c0ffee00-0000-0000-0000-00000000d15c",
            body: Some(body),
        },
        AzRec {
            op: DISK_WRITE,
            resource: disk,
            start: false,
            time: "2026-03-01T10:00:04.2Z",
            corr: "c0ffee00-0000-0000-0000-00000000d15c",
            body: None,
        },
    ]
}

/// A VM write's Start and Success; `body` (on the Start record) when logged.
fn vm_write(body: Option<Value>) -> Vec<AzRec> {
    vec![
        AzRec {
            op: VM_WRITE,
            resource: vm(),
            start: true,
            time: "2026-03-01T10:05:00.5Z",
            corr: "c0ffee00-0000-0000-0000-0000000000f1",
            body,
        },
        AzRec {
            op: VM_WRITE,
            resource: vm(),
            start: false,
            time: "2026-03-01T10:05:06.9Z",
            corr: "c0ffee00-0000-0000-0000-0000000000f1",
            body: None,
        },
    ]
}

/// A VM PUT body whose OS disk is `disk`.
fn os_disk_body(disk: &str) -> Value {
    json!({"location": "westeurope", "properties": {
        "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
        "storageProfile": {"osDisk": {"osType": "Linux", "createOption": "Attach", "managedDisk": {"id": disk}}, "dataDisks": []}}})
}

fn vm_action(action: &'static str, at: [&'static str; 2], corr: &'static str) -> Vec<AzRec> {
    [true, false]
        .into_iter()
        .zip(at)
        .map(|(start, time)| AzRec {
            op: action,
            resource: vm(),
            start,
            time,
            corr,
            body: None,
        })
        .collect()
}

const DISK: &str = "microsoft.compute/disks/write";
const VM: &str = "microsoft.compute/virtualmachines/write";

#[test]
fn azure_os_disk_swaps_in_every_schema() {
    // The disk's id as the VM body spells it: another case than the disk write's resourceId.
    let named_restored = restored_disk()
        .to_ascii_lowercase()
        .replace("web01-os-restored", "WEB01-os-RESTORED");
    let other = arm("rg-Prod-Web", "Microsoft.Compute/disks/web01-os-2025");
    let by_disk = pairs(&[
        ("revert", DISK),
        ("confirmation", DISK),
        ("revert", VM),
        ("confirmation", VM),
    ]);
    let fallback = "azure-disk-restored-then-vm-written-same-resource-group";
    let cases: Vec<(&str, Vec<AzRec>, Want)> = vec![
        (
            "the VM write names the restored disk: linked by disk id at 80",
            [
                disk_copy(restored_disk()),
                vm_write(Some(os_disk_body(&named_restored))),
            ]
            .concat(),
            vec![("azure-disk-restored-then-vm-changed", 80, by_disk.clone())],
        ),
        (
            "the VM write names another disk: no alert of either disk rule",
            [
                disk_copy(restored_disk()),
                vm_write(Some(os_disk_body(&other))),
            ]
            .concat(),
            vec![],
        ),
        (
            "no body on any record of the write: resource group only, at 55",
            [disk_copy(restored_disk()), vm_write(None)].concat(),
            vec![(fallback, 55, by_disk)],
        ),
        (
            "only the Success record of the write was collected: resource group only",
            [disk_copy(restored_disk()), vm_write(None).split_off(1)].concat(),
            vec![(
                fallback,
                55,
                pairs(&[("revert", DISK), ("confirmation", DISK), ("revert", VM)]),
            )],
        ),
        (
            "a body that does not touch the OS disk (tags): not a swap",
            [
                disk_copy(restored_disk()),
                vm_write(Some(json!({"tags": {"owner": "ops"}}))),
            ]
            .concat(),
            vec![],
        ),
        (
            "a body-less write in another resource group: not linked",
            [
                disk_copy(arm("rg-Other", "Microsoft.Compute/disks/web01-OS-restored")),
                vm_write(None),
            ]
            .concat(),
            vec![],
        ),
    ];
    for schema in [Schema::Records, Schema::Rest, Schema::LogAnalytics] {
        for (name, recs, want) in &cases {
            let alerts = detect(&az_layout(schema, recs));
            let got: Vec<_> = alerts.iter().map(summary).collect();
            let want: Vec<_> = want
                .iter()
                .map(|(r, risk, ev)| (r.to_string(), *risk, ev.clone()))
                .collect();
            assert_eq!(got, want, "{schema:?}: {name}");
            if let Some(a) = alerts.first() {
                let reason = &a.risk_reasons[0];
                if a.rule_name.as_deref() == Some(fallback) {
                    assert!(
                        reason.starts_with("55: Medium: linked by resource group only"),
                        "{reason}"
                    );
                } else {
                    assert!(reason.contains("linked by the disk id"), "{reason}");
                }
            }
        }
    }
}

#[test]
fn azure_deallocate_and_start_around_a_write_naming_another_disk() {
    // The Atomic test 3 sequence, but the write puts back another disk: the temporary-disk
    // wipe is still reported, the restored disk is linked to nothing.
    let other = arm("rg-Prod-Web", "Microsoft.Compute/disks/web01-os-2025");
    let recs = [
        disk_copy(restored_disk()),
        vm_action(
            "Microsoft.Compute/virtualMachines/deallocate/action",
            ["2026-03-01T10:02:00Z", "2026-03-01T10:03:10Z"],
            "c0ffee00-0000-0000-0000-0000000000a1",
        ),
        vm_write(Some(os_disk_body(&other))),
        vm_action(
            "Microsoft.Compute/virtualMachines/start/action",
            ["2026-03-01T10:07:00Z", "2026-03-01T10:07:40Z"],
            "c0ffee00-0000-0000-0000-0000000000a2",
        ),
    ]
    .concat();
    for schema in [Schema::Records, Schema::Rest, Schema::LogAnalytics] {
        let alerts = detect(&az_layout(schema, &recs));
        let rules: Vec<_> = alerts.iter().map(|a| a.rule_name.clone()).collect();
        assert_eq!(
            rules,
            [Some("azure-vm-deallocate-then-start".to_owned())],
            "{schema:?}"
        );
        assert_eq!(alerts[0].risk_score, 45, "{schema:?}");
    }
}
