//! LEEF 1.0 / 2.0 and CEF lines for QRadar and other SIEMs, and the syslog header around them.
//!
//! The attribute set is fixed and every key is ours: no user-controlled key is ever emitted
//! (spec §3.4 item 5). Values go through [`crate::text`]; each is bounded so that a whole line
//! stays well under QRadar's default 4 KB TCP payload.

use snapback_model::{Alert, Severity};

use crate::text::{cef_header, cef_value, leef_header, leef_value, syslog_token};
use crate::{facts, PRODUCT, VENDOR, VERSION};

/// Longest value of one attribute, in characters (after escaping).
pub const MAX_VALUE: usize = 256;
/// Longest title / description attribute.
pub const MAX_TEXT: usize = 512;

/// LEEF version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeefVersion {
    V1,
    #[default]
    V2,
}

/// Which SIEM line to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiemFormat {
    Leef(LeefVersion),
    Cef,
}

/// Syslog header to put in front of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogFormat {
    #[default]
    Rfc5424,
    Rfc3164,
}

/// QRadar's `sev` and CEF's severity: the risk score on a 1–10 scale (0–10 for CEF).
pub fn sev_1_10(risk: u8) -> u8 {
    (risk / 10).clamp(1, 10)
}

/// The Java SimpleDateFormat of `devTime` (IBM's documented example pattern).
pub const DEV_TIME_FORMAT: &str = "MMM dd yyyy HH:mm:ss.SSS z";

fn dev_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%b %d %Y %H:%M:%S%.3f UTC").to_string()
}

/// The attributes of an alert, in order: (LEEF key, CEF key, value, max length).
fn attributes(a: &Alert) -> Vec<(&'static str, &'static str, String, usize)> {
    let f = facts(a);
    let mut v = vec![
        ("devTime", "", dev_time(a.last_instant), 64),
        ("devTimeFormat", "", DEV_TIME_FORMAT.to_owned(), 64),
        ("cat", "cat", f.technique.clone(), MAX_VALUE),
        ("sev", "", sev_1_10(a.risk_score).to_string(), 4),
        ("usrName", "suser", a.actor.clone(), 255),
    ];
    if let Some(ip) = &f.source_ip {
        v.push(("src", "src", ip.clone(), 64));
    }
    v.extend([
        ("accountName", "cs1", a.account.clone(), MAX_VALUE),
        ("cloud", "cs4", a.cloud.as_str().to_owned(), 16),
        ("region", "cs5", a.region.clone(), 64),
        ("ruleId", "cs2", a.rule_id.clone(), MAX_VALUE),
        (
            "ruleName",
            "cs3",
            a.rule_name.clone().unwrap_or_else(|| a.rule_id.clone()),
            MAX_VALUE,
        ),
        ("riskScore", "cn1", a.risk_score.to_string(), 4),
        ("severity", "cs6", a.severity.as_str().to_owned(), 16),
        ("alertId", "externalId", a.alert_id.clone(), 64),
        ("alertType", "", a.alert_type.clone(), 64),
        ("firstSeen", "start", a.first_seen.clone(), 64),
        ("lastSeen", "end", a.last_seen.clone(), 64),
        ("escalated", "", a.escalated.to_string(), 8),
        ("confirmed", "", a.confirmed.to_string(), 8),
        ("resource", "duid", f.resources.clone(), MAX_TEXT),
    ]);
    if let Some(ua) = &f.user_agent {
        v.push((
            "userAgent",
            "requestClientApplication",
            ua.clone(),
            MAX_VALUE,
        ));
    }
    if let Some(s) = &a.suppressed {
        v.push((
            "suppressed",
            "",
            format!("{}: {}", s.by, s.reason),
            MAX_VALUE,
        ));
    }
    v.push(("title", "msg", a.title.clone(), MAX_TEXT));
    v
}

/// One LEEF event (no syslog header), tab-delimited.
pub fn leef_line(a: &Alert, version: LeefVersion) -> String {
    let event_id = leef_header(&a.alert_type, 255);
    let mut s = match version {
        LeefVersion::V1 => format!("LEEF:1.0|{VENDOR}|{PRODUCT}|{VERSION}|{event_id}|"),
        LeefVersion::V2 => format!("LEEF:2.0|{VENDOR}|{PRODUCT}|{VERSION}|{event_id}|x09|"),
    };
    let mut first = true;
    for (key, _, value, max) in attributes(a) {
        if !first {
            s.push('\t');
        }
        first = false;
        s.push_str(key);
        s.push('=');
        s.push_str(&leef_value(&value, max));
    }
    s
}

/// One CEF event (no syslog header).
pub fn cef_line(a: &Alert) -> String {
    let mut s = format!(
        "CEF:0|{}|{}|{}|{}|{}|{}|",
        cef_header(VENDOR, 63),
        cef_header(PRODUCT, 63),
        cef_header(VERSION, 31),
        cef_header(&a.rule_id, 255),
        cef_header(&a.title, MAX_TEXT),
        sev_1_10(a.risk_score),
    );
    let mut ext: Vec<(String, String)> =
        vec![("rt".into(), a.last_instant.as_millisecond().to_string())];
    for (_, key, value, max) in attributes(a) {
        match key {
            "" => {}
            "start" => ext.push((key.into(), a.first_instant.as_millisecond().to_string())),
            "end" => ext.push((key.into(), a.last_instant.as_millisecond().to_string())),
            _ => ext.push((key.into(), cef_value(&value, max))),
        }
    }
    let labels = [
        ("cs1Label", "cloudAccount"),
        ("cs2Label", "ruleId"),
        ("cs3Label", "ruleName"),
        ("cs4Label", "cloud"),
        ("cs5Label", "region"),
        ("cs6Label", "severity"),
        ("cn1Label", "riskScore"),
    ];
    for (k, v) in labels {
        ext.push((k.into(), v.into()));
    }
    let parts: Vec<String> = ext.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    s.push_str(&parts.join(" "));
    s
}

/// The line for `format`.
pub fn siem_line(a: &Alert, format: SiemFormat) -> String {
    match format {
        SiemFormat::Leef(v) => leef_line(a, v),
        SiemFormat::Cef => cef_line(a),
    }
}

/// Syslog severity (RFC 5424 table 2) for an alert severity.
fn syslog_severity(s: Severity) -> u8 {
    match s {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
        Severity::Informational => 6,
    }
}

/// Facility 13, "log audit".
const FACILITY: u8 = 13;

/// Host name for the syslog header: QRadar routes on it (the Log Source Identifier).
pub fn local_hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    syslog_token(raw.trim(), 255)
}

/// `line` behind a syslog header. The line holds no CR or LF (the escaping above guarantees it),
/// so whatever the framing, one alert stays one event.
pub fn syslog_message(
    line: &str,
    severity: Severity,
    format: SyslogFormat,
    hostname: &str,
    now: jiff::Timestamp,
) -> String {
    let pri = FACILITY * 8 + syslog_severity(severity);
    let host = syslog_token(hostname, 255);
    match format {
        SyslogFormat::Rfc5424 => format!(
            "<{pri}>1 {} {host} snapback {} alert - {line}",
            now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            std::process::id()
        ),
        SyslogFormat::Rfc3164 => {
            // "Mmm dd hh:mm:ss" with the day space-padded, in UTC.
            format!(
                "<{pri}>{} {host} snapback[{}]: {line}",
                now.strftime("%b %e %H:%M:%S"),
                std::process::id()
            )
        }
    }
}

/// RFC 6587 octet counting: `LEN SP MSG`. The receiver reads exactly LEN bytes, so nothing
/// inside the message can end it early.
pub fn octet_counted(msg: &str) -> Vec<u8> {
    let mut v = format!("{} ", msg.len()).into_bytes();
    v.extend_from_slice(msg.as_bytes());
    v
}
