//! The HTML report: one self-contained file an analyst can open from a USB stick.
//!
//! The summary (scope and counts) is rendered here with [`crate::text::html`]. The alerts travel
//! as one JSON block inside `<script type="application/json">` (escaped with
//! [`crate::text::report_data`]: hidden characters made visible, then
//! [`crate::text::json_for_script`]) and the page's own script renders them a page at a time with
//! `textContent` and `createElementNS` only, so no alert string is ever parsed as HTML. A
//! Content-Security-Policy allows no network at all and only the page's own script (by hash), so
//! even an injection that got past the escaping could neither run nor call out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;
use sha2::{Digest, Sha256};
use snapback_model::{Alert, EvidenceRole, Severity};

use crate::text::{html, report_data};
use crate::{attack, Scope, VERSION};

/// Alerts sorted the way the report shows them: highest risk first, then earliest.
pub fn order<'a>(alerts: &[&'a Alert]) -> Vec<&'a Alert> {
    let mut v = alerts.to_vec();
    v.sort_by(|a, b| {
        b.risk_score
            .cmp(&a.risk_score)
            .then(a.first_instant.cmp(&b.first_instant))
            .then(a.alert_id.cmp(&b.alert_id))
    });
    v
}

fn alert_json(a: &Alert) -> serde_json::Value {
    let evidence: Vec<_> = a
        .evidence
        .iter()
        .map(|e| {
            json!({
                "role": match e.role {
                    EvidenceRole::Revert => "revert",
                    EvidenceRole::Confirmation => "confirmation",
                    EvidenceRole::Precursor => "precursor",
                },
                "op": e.operation,
                "time": e.time,
                "t": e.time.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond()),
                "outcome": e.outcome.label(),
                "actor": e.actor,
                "ip": e.source_ip,
                "ua": e.user_agent,
                "file": e.file,
                "offset": e.offset,
                "event_id": e.event_id,
            })
        })
        .collect();
    json!({
        "id": a.alert_id,
        "rule_id": a.rule_id,
        "rule": a.rule_name.clone().unwrap_or_else(|| a.rule_id.clone()),
        "title": a.title,
        "type": a.alert_type,
        "severity": a.severity.as_str(),
        "risk": a.risk_score,
        "reasons": a.risk_reasons,
        "attack": a.attack.iter().map(|t| {
            let name = attack::technique_name(t);
            if name == *t { t.clone() } else { format!("{t} {name}") }
        }).collect::<Vec<_>>(),
        "tactics": a.tactics,
        "cloud": a.cloud.as_str(),
        "account": a.account,
        "region": a.region,
        "actor": a.actor,
        "entities": a.entities.iter().map(|e| [e.kind.as_str(), e.id.as_str()]).collect::<Vec<_>>(),
        "first": a.first_seen,
        "last": a.last_seen,
        "escalated": a.escalated,
        "confirmed": a.confirmed,
        "evidence": evidence,
        "check": a.guide.check,
        "respond": a.guide.respond,
        "desc": a.description,
        "suppressed": a.suppressed.as_ref().map(|s| format!("{}: {}", s.by, s.reason)),
    })
}

fn count_table(title: &str, rows: &BTreeMap<String, usize>, sort_by_count: bool) -> String {
    let mut rows: Vec<(&String, &usize)> = rows.iter().collect();
    if sort_by_count {
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    }
    let mut s = format!(
        "<div class=\"card\"><h3>{}</h3><table class=\"counts\">",
        html(title)
    );
    if rows.is_empty() {
        s.push_str("<tr><td class=\"muted\">none</td></tr>");
    }
    for (k, v) in rows.iter().take(50) {
        let _ = write!(s, "<tr><td>{}</td><td class=\"n\">{v}</td></tr>", html(k));
    }
    if rows.len() > 50 {
        let _ = write!(
            s,
            "<tr><td class=\"muted\">… {} more</td><td></td></tr>",
            rows.len() - 50
        );
    }
    s.push_str("</table></div>");
    s
}

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// The whole report.
pub fn render(alerts: &[&Alert], scope: &Scope) -> String {
    let ordered = order(alerts);
    let mut by_sev: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_cloud: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_account: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for a in &ordered {
        *by_cloud.entry(a.cloud.as_str().to_owned()).or_default() += 1;
        *by_account
            .entry(format!("{} ({})", a.account, a.cloud.as_str()))
            .or_default() += 1;
        *by_rule
            .entry(a.rule_name.clone().unwrap_or_else(|| a.rule_id.clone()))
            .or_default() += 1;
    }
    let sev_order = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ];
    let mut sev_cells = String::new();
    for s in sev_order {
        let n = ordered.iter().filter(|a| a.severity == s).count();
        by_sev.insert(s.as_str().to_owned(), n);
        let _ = write!(
            sev_cells,
            "<div class=\"sev sev-{0}\"><span class=\"n\">{n}</span><span>{0}</span></div>",
            s.as_str()
        );
    }
    let clouds: Vec<&String> = by_cloud.keys().collect();

    let data: Vec<_> = ordered.iter().map(|a| alert_json(a)).collect();
    let data = report_data(&serde_json::Value::Array(data));

    let range = match (&scope.first_event, &scope.last_event) {
        (Some(a), Some(b)) => format!("{} — {}", html(a), html(b)),
        _ => "no events".to_owned(),
    };
    let inputs = if scope.inputs.is_empty() {
        "<span class=\"muted\">none</span>".to_owned()
    } else {
        scope
            .inputs
            .iter()
            .map(|i| format!("<code>{}</code>", html(i)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut sev_filters = String::new();
    for s in sev_order {
        let _ = write!(
            sev_filters,
            "<label><input type=\"checkbox\" name=\"sev\" value=\"{0}\" checked> {0}</label>",
            s.as_str()
        );
    }
    let mut cloud_filters = String::new();
    for c in &clouds {
        let _ = write!(
            cloud_filters,
            "<label><input type=\"checkbox\" name=\"cloud\" value=\"{0}\" checked> {0}</label>",
            html(c)
        );
    }
    // The CSP admits exactly this script, by its SHA-256.
    let script_hash = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(JS.as_bytes()))
    };
    let mut page = String::with_capacity(data.len() + 32 * 1024);
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>snapback report — {n} alert(s)</title>
<style>{CSS}</style></head>
<body>
<header><h1>snapback: reverted cloud instances (MITRE ATT&amp;CK T1578.004)</h1>
<p class="lead">Each alert below is a cloud instance, VM or disk that was rolled back to an earlier state (restored from a snapshot or image, its root volume replaced, or stopped and started to wipe its local storage). Attackers do this to erase what they did on the machine. Alerts are ordered by risk, highest first; each shows the chain of audit-log events behind it.</p></header>
<section class="card scope"><h2>Scope of the scan</h2>
<table>
<tr><th>Inputs</th><td>{inputs}</td></tr>
<tr><th>Time range of events</th><td>{range}</td></tr>
<tr><th>Events read</th><td>{events}</td></tr>
<tr><th>Records skipped (unreadable)</th><td>{skipped}</td></tr>
<tr><th>Records that are not audit events</th><td>{not_audit}</td></tr>
<tr><th>Alerts suppressed by tuning</th><td>{suppressed}</td></tr>
<tr><th>Rules loaded</th><td>{rules}</td></tr>
<tr><th>Generated</th><td>{generated} by snapback {VERSION}</td></tr>
</table></section>
<section><h2>{n} alert(s)</h2><div class="sevs">{sev_cells}</div>
<div class="grid">{t_cloud}{t_account}{t_rule}</div></section>
<section id="alerts-section"><h2>Alerts, highest risk first</h2>
<form id="filters" class="card">
<fieldset><legend>Severity</legend>{sev_filters}</fieldset>
<fieldset><legend>Cloud</legend>{cloud_filters}</fieldset>
<fieldset><legend>Search</legend><input type="search" id="q" placeholder="actor, account, instance id, rule…"></fieldset>
</form>
<p id="shown" class="muted"></p>
<noscript><p class="card">This report lists its alerts with a small script embedded in the file (no network access). Allow scripts for this local file to see them.</p></noscript>
<div id="alerts"></div>
<nav id="pager"></nav>
</section>
<footer class="muted">Self-contained report: no part of this page is loaded from the network.</footer>
<script type="application/json" id="alert-data">{data}</script>
<script>{JS}</script>
</body></html>
"#,
        n = ordered.len(),
        events = scope.events,
        skipped = scope.skipped,
        not_audit = scope.not_audit,
        suppressed = scope.suppressed,
        rules = scope.rules_loaded,
        generated = html(&scope.generated_at),
        t_cloud = count_table("By cloud", &by_cloud, true),
        t_account = count_table("By account", &by_account, true),
        t_rule = count_table("By rule", &by_rule, true),
    );
    page
}
