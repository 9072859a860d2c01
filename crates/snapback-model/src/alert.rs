//! The `Alert`: what snapback reports, with the evidence that makes it true.

use std::fmt;

use crate::event::{Cloud, Event, Outcome, ResourceKind};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Severity, derived from the risk score so that the two never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// 90–100 critical, 70–89 high, 40–69 medium, 20–39 low, below informational.
    pub fn from_risk(risk: u8) -> Severity {
        match risk {
            90.. => Severity::Critical,
            70..=89 => Severity::High,
            40..=69 => Severity::Medium,
            20..=39 => Severity::Low,
            _ => Severity::Informational,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "informational" | "info" => Severity::Informational,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entity {
    pub kind: ResourceKind,
    pub id: String,
}

/// Why an event is in the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRole {
    /// A step of the revert (or the revert itself).
    Revert,
    /// A record of the same operation that confirms or accompanies a step (Azure Start and
    /// Success records; GCP first and last entries).
    Confirmation,
    /// A kill-chain precursor: exfiltration, movement or blinding before the revert.
    Precursor,
}

/// One event of an alert's evidence, pointing back at its bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub role: EvidenceRole,
    /// The rule that matched this event (id).
    pub rule_id: String,
    pub event_id: String,
    /// The operation the record belongs to: Azure `correlationId`, GCP `operation.id`,
    /// CloudTrail `requestID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    pub time: String,
    pub operation: String,
    pub outcome: Outcome,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub file: String,
    /// The byte offset of the record's first byte in the (decompressed) file: exact however
    /// the file was read (a scan that frames only around hits does not know record indices).
    pub offset: u64,
    /// The event time as an instant: evidence is ordered by it (times written with different
    /// precision do not sort as text).
    #[serde(skip)]
    pub instant: jiff::Timestamp,
    /// [`Event::act`]: the records of one operation share it.
    #[serde(skip)]
    pub act: String,
}

impl EvidenceRole {
    /// Which role a record keeps when it reaches an alert's evidence twice: a revert step is
    /// what the alert is about, a confirmation backs a step, a precursor only escalates.
    fn rank(self) -> u8 {
        match self {
            EvidenceRole::Revert => 2,
            EvidenceRole::Confirmation => 1,
            EvidenceRole::Precursor => 0,
        }
    }
}

impl Evidence {
    /// Add `ev` to `evidence` unless its record is there already: each record is listed once,
    /// with its strongest role (a record that is a revert step of one rule and a confirmation
    /// of another, as two merged alerts see it, is a revert step). Returns whether it was new.
    pub fn merge_into(evidence: &mut Vec<Evidence>, ev: Evidence) -> bool {
        match evidence.iter_mut().find(|x| x.event_id == ev.event_id) {
            Some(x) => {
                if ev.role.rank() > x.role.rank() {
                    *x = ev;
                }
                false
            }
            None => {
                evidence.push(ev);
                true
            }
        }
    }

    /// Event time, then file and offset (the records' order in the file): the order evidence
    /// is shown in.
    pub fn order(a: &Evidence, b: &Evidence) -> std::cmp::Ordering {
        a.instant
            .cmp(&b.instant)
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.offset.cmp(&b.offset))
    }

    pub fn from_event(e: &Event, role: EvidenceRole, rule_id: &str) -> Evidence {
        Evidence {
            role,
            rule_id: rule_id.to_owned(),
            event_id: e.event_id.clone(),
            correlation_id: e.correlation_id.clone(),
            time: e.time.instant.to_string(),
            operation: e.operation.clone(),
            outcome: e.outcome.clone(),
            actor: e.actor.display().to_owned(),
            source_ip: e.source_ip.clone(),
            user_agent: e.user_agent.clone(),
            file: e.provenance.file.to_string(),
            offset: e.provenance.offset,
            instant: e.time.instant,
            act: e.act(),
        }
    }
}

/// What to check next and how to respond.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Guide {
    pub check: Vec<String>,
    pub respond: Vec<String>,
}

/// Why an alert was suppressed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Suppression {
    /// The filter or config entry that suppressed it: `filter:<id>`, `allow:<n>`,
    /// `maintenance:<n>`.
    pub by: String,
    pub reason: String,
}

/// A risk-scored finding with its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// Derived from the rule and the evidence: the same input gives the same id.
    pub alert_id: String,
    pub rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    pub title: String,
    pub alert_type: String,
    pub severity: Severity,
    pub risk_score: u8,
    /// Why the score, one reason per adjustment.
    pub risk_reasons: Vec<String>,
    pub attack: Vec<String>,
    pub tactics: Vec<String>,
    pub cloud: Cloud,
    pub account: String,
    pub region: String,
    pub actor: String,
    pub entities: Vec<Entity>,
    pub first_seen: String,
    pub last_seen: String,
    /// Whether a kill-chain precursor escalated this alert.
    pub escalated: bool,
    /// Whether the input shows the completing call succeeded. `false` when its records stop
    /// at Azure `Started`/`Accepted` or a GCP first entry (the success record is in another
    /// blob or export window, or was never collected), and for a standalone rule's match of a
    /// failed call. An unconfirmed revert scores 10 lower and says so in its reasons.
    pub confirmed: bool,
    pub evidence: Vec<Evidence>,
    pub guide: Guide,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// Instant of first_seen, for sorting and windows.
    #[serde(skip)]
    pub first_instant: jiff::Timestamp,
    #[serde(skip)]
    pub last_instant: jiff::Timestamp,
    /// Principals and source IPs of the revert steps, for tuning.
    #[serde(skip)]
    pub principals: Vec<String>,
    #[serde(skip)]
    pub source_ips: Vec<String>,
    /// The rule's own risk before escalation: breaks ties between escalated alerts, so the
    /// more specific rule names a merged alert.
    #[serde(skip)]
    pub base_risk: u8,
    /// The key the alert's id was derived from: a correlation's group key, or the cloud and
    /// account of a single-event alert.
    #[serde(skip)]
    pub group_key: String,
}

impl Alert {
    /// Stable id: SHA-256 over the rule id, the correlation key (which resource the sequence
    /// was about) and the sorted operations ([`Event::act`]) of the revert steps. Operations,
    /// not record ids: the Started, Accepted and Succeeded records of one Azure call (a GCP
    /// operation's first and last entries) are one act, so the id does not change when the
    /// record that confirms a step arrives, nor when a precursor escalates the alert; only
    /// another revert step makes another alert.
    pub fn compute_id(rule_id: &str, key: &str, evidence: &[Evidence]) -> String {
        let mut ids: Vec<&str> = evidence
            .iter()
            .filter(|e| e.role == EvidenceRole::Revert)
            .map(|e| e.act.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut h = Sha256::new();
        h.update(rule_id.as_bytes());
        h.update([0u8]);
        h.update(key.as_bytes());
        for id in ids {
            h.update([0u8]);
            h.update(id.as_bytes());
        }
        let digest = h.finalize();
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("sb-{hex}")
    }

    /// Set risk and the severity that follows from it.
    pub fn set_risk(&mut self, risk: u8) {
        self.risk_score = risk.min(100);
        self.severity = Severity::from_risk(self.risk_score);
    }
}

/// ATT&CK technique ids and tactic names from Sigma tags (`attack.t1578.004`,
/// `attack.defense-evasion`).
pub fn attack_from_tags(tags: &[String]) -> (Vec<String>, Vec<String>) {
    let mut techniques = Vec::new();
    let mut tactics = Vec::new();
    for t in tags {
        let Some(rest) = t.strip_prefix("attack.") else {
            continue;
        };
        let bytes = rest.as_bytes();
        if bytes.first().is_some_and(|c| *c == b't' || *c == b'T')
            && bytes.get(1).is_some_and(u8::is_ascii_digit)
        {
            let id = rest.to_ascii_uppercase();
            if !techniques.contains(&id) {
                techniques.push(id);
            }
        } else if !rest.starts_with('g') || !rest[1..].chars().all(|c| c.is_ascii_digit()) {
            let tactic = rest.to_owned();
            if !tactics.contains(&tactic) {
                tactics.push(tactic);
            }
        }
    }
    (techniques, tactics)
}

/// The entities of an event that an alert is about (every resource except "other").
///
/// An Azure resource below a VM (`…/virtualMachines/NAME/extensions/X`, `…/runCommands/X`, a
/// diagnostic setting of the VM) also names the VM itself, so that what was done to the VM's
/// children links to a revert of the VM.
pub fn entities_of(e: &Event) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    let mut add = |kind: ResourceKind, id: &str| {
        if !out.iter().any(|x| x.kind == kind && x.id == id) {
            out.push(Entity {
                kind,
                id: id.to_owned(),
            });
        }
    };
    for r in &e.resources {
        if r.kind != ResourceKind::Other {
            add(r.kind, &r.id);
        }
        if e.cloud == Cloud::Azure {
            if let Some(vm) = azure_parent_vm(&r.id) {
                add(ResourceKind::Vm, vm);
            }
        }
    }
    out
}

/// The VM an Azure child resource belongs to: the id up to `virtualMachines/NAME` when more
/// segments follow it. Ids are compared as the decoder keeps them (lower-cased).
fn azure_parent_vm(id: &str) -> Option<&str> {
    const VM: &str = "/providers/microsoft.compute/virtualmachines/";
    let start = id.to_ascii_lowercase().find(VM)? + VM.len();
    let (name, child) = id.get(start..)?.split_once('/')?;
    if name.is_empty() || child.is_empty() {
        return None;
    }
    id.get(..start + name.len())
}

#[cfg(test)]
mod tests {
    use super::azure_parent_vm;

    #[test]
    fn a_child_of_a_vm_names_the_vm_and_nothing_else_does() {
        let vm =
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/web01";
        for child in [
            "/extensions/customscriptextension",
            "/runcommands/fix",
            "/providers/microsoft.insights/diagnosticsettings/to-siem",
        ] {
            assert_eq!(azure_parent_vm(&format!("{vm}{child}")), Some(vm));
        }
        assert_eq!(azure_parent_vm(vm), None);
        assert_eq!(azure_parent_vm(&format!("{vm}/")), None);
        assert_eq!(
            azure_parent_vm("/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/ss/virtualmachines/0"),
            None
        );
        assert_eq!(
            azure_parent_vm(
                "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/disks/d1"
            ),
            None
        );
    }
}
