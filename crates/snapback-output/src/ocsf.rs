//! OCSF 1.5 Detection Finding (class 2004, category 2 "Findings") for each alert.
//!
//! Built as `serde_json::Value` so that the shape reads like the schema. The `cloud` and `host`
//! profiles are declared: `cloud` brings `cloud` and `api`, `host` brings `actor`.

use serde_json::{json, Value};
use snapback_model::Cloud;
use snapback_model::{Alert, EvidenceRole, Severity};

use crate::{attack, PRODUCT, VENDOR, VERSION};

/// OCSF schema version the findings follow.
pub const OCSF_VERSION: &str = "1.5.0";

fn severity_id(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

fn provider(c: Cloud) -> &'static str {
    match c {
        Cloud::Aws => "AWS",
        Cloud::Azure => "Azure",
        Cloud::Gcp => "GCP",
    }
}

/// OCSF account type ids: AWS Account 10, Azure AD Account 6, GCP Account 5.
fn account_type(c: Cloud) -> (u8, &'static str) {
    match c {
        Cloud::Aws => (10, "AWS Account"),
        Cloud::Azure => (6, "Azure AD Account"),
        Cloud::Gcp => (5, "GCP Account"),
    }
}

fn millis(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

fn user(name: &str, a: &Alert) -> Value {
    let (tid, tname) = account_type(a.cloud);
    json!({
        "name": name,
        "uid": name,
        "type_id": 0,
        "type": "Unknown",
        "account": { "uid": a.account, "name": a.account, "type_id": tid, "type": tname },
    })
}

/// The Detection Finding of one alert.
pub fn finding(a: &Alert) -> Value {
    let (sev_id, sev) = severity_id(a.severity);
    let first = a.first_instant.as_millisecond();
    let last = a.last_instant.as_millisecond();
    let attacks: Vec<Value> = attack::attacks(a)
        .into_iter()
        .map(|m| {
            let mut o = json!({
                "technique": { "uid": m.technique_uid, "name": m.technique_name },
                "version": attack::ATTACK_VERSION,
            });
            if let Some((uid, name)) = m.sub_technique {
                o["sub_technique"] = json!({ "uid": uid, "name": name });
            }
            if let Some((uid, name)) = m.tactic {
                o["tactic"] = json!({ "name": name });
                if let Some(uid) = uid {
                    o["tactic"]["uid"] = json!(uid);
                }
            }
            o
        })
        .collect();
    let evidences: Vec<Value> = a
        .evidence
        .iter()
        .map(|e| {
            let mut o = json!({
                "name": format!("{} ({})", e.operation, role(e.role)),
                "actor": { "user": user(&e.actor, a) },
                "api": { "operation": e.operation },
                "data": {
                    "role": role(e.role),
                    "event_id": e.event_id,
                    "time": e.time,
                    "outcome": e.outcome.label(),
                    "rule_id": e.rule_id,
                    "file": e.file,
                    "offset": e.offset,
                },
            });
            if let Some(ip) = &e.source_ip {
                o["src_endpoint"] = json!({ "ip": ip });
            }
            if let Some(ua) = &e.user_agent {
                o["data"]["user_agent"] = json!(ua);
            }
            if let Some(t) = millis(&e.time) {
                o["data"]["time_ms"] = json!(t);
            }
            o
        })
        .collect();
    let resources: Vec<Value> = a
        .entities
        .iter()
        .map(|en| {
            json!({
                "type": en.kind.as_str(),
                "uid": en.id,
                "name": en.id,
                "region": a.region,
            })
        })
        .collect();
    let (status_id, status) = match &a.suppressed {
        Some(_) => (3, "Suppressed"),
        None => (1, "New"),
    };
    let mut f = json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": sev_id,
        "severity": sev,
        "risk_score": a.risk_score,
        "risk_details": a.risk_reasons.join("; "),
        "status_id": status_id,
        "status": status,
        "time": last,
        "start_time": first,
        "end_time": last,
        "message": a.title,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": a.alert_id,
            "profiles": ["cloud", "host"],
            "product": {
                "name": PRODUCT,
                "vendor_name": VENDOR,
                "version": VERSION,
            },
        },
        "finding_info": {
            "uid": a.alert_id,
            "title": a.title,
            "desc": a.description,
            "types": [a.alert_type],
            "first_seen_time": first,
            "last_seen_time": last,
            "analytic": {
                "uid": a.rule_id,
                "name": a.rule_name.clone().unwrap_or_else(|| a.rule_id.clone()),
                "type_id": 1,
                "type": "Rule",
            },
            "attacks": attacks,
        },
        "evidences": evidences,
        "resources": resources,
        "cloud": {
            "provider": provider(a.cloud),
            "region": a.region,
            "account": {
                "uid": a.account,
                "name": a.account,
                "type_id": account_type(a.cloud).0,
                "type": account_type(a.cloud).1,
            },
        },
        "actor": { "user": user(&a.actor, a) },
        "unmapped": {
            "escalated": a.escalated,
            "confirmed": a.confirmed,
            "risk_reasons": a.risk_reasons,
            "guide": { "check": a.guide.check, "respond": a.guide.respond },
        },
    });
    if let Some(s) = &a.suppressed {
        f["status_detail"] = json!(format!("{}: {}", s.by, s.reason));
    }
    if !a.guide.respond.is_empty() {
        f["remediation"] = json!({ "desc": a.guide.respond.join(" ") });
    }
    f
}

fn role(r: EvidenceRole) -> &'static str {
    match r {
        EvidenceRole::Revert => "revert",
        EvidenceRole::Confirmation => "confirmation",
        EvidenceRole::Precursor => "precursor",
    }
}
