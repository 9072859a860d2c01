//! snapback's outputs: where alerts leave the program and reach the tools analysts already use.
//!
//! * [`ocsf::finding`]: an OCSF 1.5 Detection Finding (class 2004) per alert, as JSON.
//! * [`siem`]: LEEF 2.0 (default) / 1.0 and CEF lines, and the RFC 5424 / RFC 3164 syslog
//!   header around them.
//! * [`forward::Forwarder`]: syslog over UDP, TCP or TLS (rustls) with RFC 6587 octet counting,
//!   reconnection with backoff and a bounded buffer that fails loudly instead of dropping;
//!   [`delivery`] says what the receiver can have got (confirmed, may be lost, written again).
//! * [`report::render`]: one self-contained HTML file (inline CSS, JS and SVG; no network).
//!
//! Design reasons:
//!
//! * **Every string in an alert is attacker-controlled** (user agents, resource names, tags and
//!   actors come straight from audit records). So escaping is not left to each format's writer:
//!   [`text`] holds one total, bounded escaping function per destination (LEEF value, LEEF header,
//!   CEF header, CEF extension, syslog token, HTML, JSON inside `<script>`), each unit-tested, and
//!   no writer emits a raw control character. One alert is always exactly one event.
//! * **Alerts are borrowed** (`&Alert`): outputs never change what detection decided, and a scan
//!   can feed several outputs from one list.
//! * **Formats are pure functions** from an alert to text; only the forwarder does I/O, and it
//!   works message by message so that a streaming scan can use it as alerts come.
//! * **No template engine for the report**: the page is a fixed shell; all alert data travels as
//!   one escaped JSON block and is rendered by the page's own script with `textContent` only (never
//!   `innerHTML`), which makes HTML injection impossible by construction rather than by template
//!   discipline, and lets the page page through 10,000 alerts lazily.

// One function has `unsafe`: `delivery::bytes_acked` asks the kernel what the receiver's TCP
// acknowledged (docs/decisions.md).
#![deny(unsafe_code)]

pub mod attack;
mod connection;
pub mod delivery;
pub mod forward;
pub mod ocsf;
pub mod plain;
pub mod report;
#[doc(hidden)]
pub mod sample;
pub mod siem;
pub mod text;

use std::io::Write;

use snapback_model::{Alert, EvidenceRole};

pub use forward::{ForwardError, ForwardOptions, ForwardStats, Forwarder, Target, Transport};
pub use plain::{retraction_json, revision_json, write_jsonl, write_table};
pub use siem::{LeefVersion, SiemFormat, SyslogFormat};

/// Vendor and product in LEEF/CEF headers and OCSF metadata.
pub const VENDOR: &str = "snapback";
pub const PRODUCT: &str = "snapback";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a scan looked at, for the report's "scope" section.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Scope {
    /// Paths (or `-` for stdin) as given.
    pub inputs: Vec<String>,
    /// Events read and decoded.
    pub events: u64,
    /// Records that could not be read or decoded.
    pub skipped: u64,
    /// Records that are not audit events (digests, other log types).
    pub not_audit: u64,
    /// Alerts suppressed by tuning.
    pub suppressed: u64,
    /// Time of the earliest and latest event, RFC 3339.
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub rules_loaded: usize,
    /// When the scan ran, RFC 3339.
    pub generated_at: String,
}

/// The facts several formats derive from an alert's evidence.
pub(crate) struct Facts {
    pub technique: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Entities as `kind:id`, comma separated.
    pub resources: String,
}

/// Revert steps first: the source IP and user agent of the revert itself, then of anything else.
pub(crate) fn facts(a: &Alert) -> Facts {
    let ordered = a
        .evidence
        .iter()
        .filter(|e| e.role != EvidenceRole::Precursor)
        .chain(
            a.evidence
                .iter()
                .filter(|e| e.role == EvidenceRole::Precursor),
        );
    let mut source_ip = None;
    let mut user_agent = None;
    for e in ordered {
        if source_ip.is_none() {
            source_ip = e.source_ip.clone();
        }
        if user_agent.is_none() {
            user_agent = e.user_agent.clone();
        }
    }
    Facts {
        technique: attack::primary(a),
        source_ip,
        user_agent,
        resources: a
            .entities
            .iter()
            .map(|e| format!("{}:{}", e.kind.as_str(), e.id))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A line format for stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    Ocsf,
    Siem(SiemFormat),
}

impl LineFormat {
    /// `ocsf`, `leef` (2.0), `leef1`, `leef2` or `cef`.
    pub fn parse(s: &str) -> Option<LineFormat> {
        Some(match s.to_ascii_lowercase().as_str() {
            "ocsf" => LineFormat::Ocsf,
            "leef" | "leef2" => LineFormat::Siem(SiemFormat::Leef(LeefVersion::V2)),
            "leef1" => LineFormat::Siem(SiemFormat::Leef(LeefVersion::V1)),
            "cef" => LineFormat::Siem(SiemFormat::Cef),
            _ => return None,
        })
    }
}

/// One line per alert (no syslog header): what `scan --format ocsf|leef|cef` prints.
pub fn write_lines(
    format: LineFormat,
    alerts: &[&Alert],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for a in alerts {
        match format {
            LineFormat::Ocsf => {
                serde_json::to_writer(&mut *out, &ocsf::finding(a))?;
            }
            LineFormat::Siem(f) => out.write_all(siem::siem_line(a, f).as_bytes())?,
        }
        out.write_all(b"\n")?;
    }
    out.flush()
}
