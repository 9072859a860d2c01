//! ATT&CK names for the technique and tactic ids an alert carries (from its rule's Sigma tags).
//!
//! Only names we are sure of are listed; an unknown technique keeps its id as its name and an
//! unknown tactic keeps its name without an id, rather than guessing.

use snapback_model::Alert;

/// ATT&CK version the names below were taken from.
pub const ATTACK_VERSION: &str = "v16";

const TECHNIQUES: &[(&str, &str)] = &[
    ("T1578", "Modify Cloud Compute Infrastructure"),
    ("T1578.001", "Create Snapshot"),
    ("T1578.002", "Create Cloud Instance"),
    ("T1578.003", "Delete Cloud Instance"),
    ("T1578.004", "Revert Cloud Instance"),
    ("T1578.005", "Modify Cloud Compute Configurations"),
    ("T1537", "Transfer Data to Cloud Account"),
    ("T1485", "Data Destruction"),
    ("T1070", "Indicator Removal"),
    ("T1562", "Impair Defenses"),
    ("T1562.008", "Disable or Modify Cloud Logs"),
    ("T1078", "Valid Accounts"),
    ("T1078.004", "Cloud Accounts"),
    ("T1098", "Account Manipulation"),
    ("T1530", "Data from Cloud Storage"),
    ("T1580", "Cloud Infrastructure Discovery"),
    ("T1496", "Resource Hijacking"),
];

const TACTICS: &[(&str, &str, &str)] = &[
    ("reconnaissance", "TA0043", "Reconnaissance"),
    ("resource-development", "TA0042", "Resource Development"),
    ("initial-access", "TA0001", "Initial Access"),
    ("execution", "TA0002", "Execution"),
    ("persistence", "TA0003", "Persistence"),
    ("privilege-escalation", "TA0004", "Privilege Escalation"),
    ("defense-evasion", "TA0005", "Defense Evasion"),
    ("credential-access", "TA0006", "Credential Access"),
    ("discovery", "TA0007", "Discovery"),
    ("lateral-movement", "TA0008", "Lateral Movement"),
    ("collection", "TA0009", "Collection"),
    ("command-and-control", "TA0011", "Command and Control"),
    ("exfiltration", "TA0010", "Exfiltration"),
    ("impact", "TA0040", "Impact"),
];

/// Name of a technique or sub-technique id (`T1578.004`), the id itself when unknown.
pub fn technique_name(id: &str) -> String {
    TECHNIQUES
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(id))
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or_else(|| id.to_owned())
}

/// (uid, display name) of a Sigma tactic tag (`defense-evasion`).
pub fn tactic(tag: &str) -> (Option<&'static str>, String) {
    match TACTICS.iter().find(|(t, _, _)| t.eq_ignore_ascii_case(tag)) {
        Some((_, uid, name)) => (Some(uid), (*name).to_owned()),
        None => (
            None,
            tag.split(['-', '_'])
                .filter(|w| !w.is_empty())
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect::<String>())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
    }
}

/// One ATT&CK mapping: a technique, its sub-technique when the id has one, and a tactic.
pub struct Mapping {
    pub technique_uid: String,
    pub technique_name: String,
    pub sub_technique: Option<(String, String)>,
    pub tactic: Option<(Option<&'static str>, String)>,
}

/// One mapping per technique of the alert, each paired with the alert's first tactic (Sigma
/// tags do not say which tactic goes with which technique). T1578.004 when the rule has none.
pub fn attacks(a: &Alert) -> Vec<Mapping> {
    let techniques: Vec<String> = if a.attack.is_empty() {
        vec!["T1578.004".to_owned()]
    } else {
        a.attack.clone()
    };
    let tactic = a.tactics.first().map(|t| tactic(t));
    techniques
        .into_iter()
        .map(|id| {
            let id = id.to_ascii_uppercase();
            let (parent, sub) = match id.split_once('.') {
                Some((p, _)) => (p.to_owned(), Some((id.clone(), technique_name(&id)))),
                None => (id.clone(), None),
            };
            Mapping {
                technique_name: technique_name(&parent),
                technique_uid: parent,
                sub_technique: sub,
                tactic: tactic.clone(),
            }
        })
        .collect()
}

/// The alert's main technique id, for LEEF `cat` (with the EventID it keys QRadar's QID map).
pub fn primary(a: &Alert) -> String {
    a.attack
        .first()
        .map(|t| t.to_ascii_uppercase())
        .unwrap_or_else(|| "T1578.004".to_owned())
}
