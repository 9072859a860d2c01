//! The `snapback:` metadata block of a rule: what an alert from the rule means and what to do.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::{Detection, Guide, Level, LoadProblem, Meta, OutcomePolicy, Role};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    role: Option<String>,
    risk: Option<i64>,
    alert_type: Option<String>,
    risk_reason: Option<String>,
    guide: Option<RawGuide>,
    outcome: Option<String>,
    unless_operation_matches: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuide {
    #[serde(default)]
    check: Vec<String>,
    #[serde(default)]
    respond: Vec<String>,
}

/// A problem with the block: the message and the key it is about (to find its line).
pub(crate) struct MetaError {
    pub message: String,
    pub key: &'static str,
}

fn err(key: &'static str, message: impl Into<String>) -> MetaError {
    MetaError {
        message: message.into(),
        key,
    }
}

pub(crate) fn default_risk(level: Level) -> u8 {
    match level {
        Level::Informational => 10,
        Level::Low => 30,
        Level::Medium => 50,
        Level::High => 70,
        Level::Critical => 90,
    }
}

fn default_alert_type(role: Role) -> &'static str {
    match role {
        Role::Revert => "Revert Cloud Instance",
        Role::Step => "Revert Step",
        Role::Precursor => "Revert Precursor",
        Role::Standalone => "Sigma Detection",
    }
}

/// Read the block; rules without one get the defaults (standalone, risk from level).
pub(crate) fn parse(block: Option<&Value>, level: Level) -> Result<Meta, MetaError> {
    let Some(block) = block else {
        return Ok(Meta {
            role: Role::Standalone,
            risk: default_risk(level),
            alert_type: default_alert_type(Role::Standalone).to_owned(),
            risk_reason: format!("no snapback metadata: risk from level {}", level.as_str()),
            guide: Guide::default(),
            outcome: OutcomePolicy::Any,
            unless_operation_matches: Vec::new(),
        });
    };
    if !block.is_object() {
        return Err(err("snapback", "`snapback:` must be a mapping"));
    }
    let raw: RawMeta = serde_json::from_value(block.clone())
        .map_err(|e| err("snapback", format!("bad `snapback:` metadata: {e}")))?;
    let role = match raw.role.as_deref() {
        None | Some("standalone") => Role::Standalone,
        Some("revert") => Role::Revert,
        Some("step") => Role::Step,
        Some("precursor") => Role::Precursor,
        Some(other) => {
            return Err(err(
                "role",
                format!(
                "unknown snapback.role `{other}` (expected revert, step, precursor or standalone)"
            ),
            ))
        }
    };
    let risk = match raw.risk {
        None => default_risk(level),
        Some(r) if (0..=100).contains(&r) => r as u8,
        Some(r) => {
            return Err(err(
                "risk",
                format!("snapback.risk is {r}; it must be between 0 and 100"),
            ))
        }
    };
    let outcome = match raw.outcome.as_deref() {
        None => OutcomePolicy::default_for(role),
        Some("succeeded") => OutcomePolicy::Succeeded,
        Some("any") => OutcomePolicy::Any,
        Some(other) => {
            return Err(err(
                "outcome",
                format!("unknown snapback.outcome `{other}` (expected succeeded or any)"),
            ))
        }
    };
    let guide = raw
        .guide
        .map(|g| Guide {
            check: g.check,
            respond: g.respond,
        })
        .unwrap_or_default();
    Ok(Meta {
        role,
        risk,
        alert_type: raw
            .alert_type
            .unwrap_or_else(|| default_alert_type(role).to_owned()),
        risk_reason: raw.risk_reason.unwrap_or_default(),
        guide,
        outcome,
        unless_operation_matches: raw.unless_operation_matches.unwrap_or_default(),
    })
}

/// Resolve the `unless_operation_matches` of the detections in `pending` (each with a problem
/// that points at the key) to detection indices. A name that no detection has is a problem and
/// is ignored, so the rule's matches count as if it were not there.
pub(crate) fn resolve_unless(
    detections: &mut [Detection],
    by_ref: &HashMap<String, usize>,
    pending: Vec<(usize, LoadProblem)>,
) -> Vec<LoadProblem> {
    let mut problems = Vec::new();
    for (i, at) in pending {
        let Some(d) = detections.get_mut(i) else {
            continue;
        };
        for name in &d.meta.unless_operation_matches {
            match by_ref.get(name) {
                Some(&j) if !d.unless_operation.contains(&j) => d.unless_operation.push(j),
                Some(_) => {}
                None => problems.push(LoadProblem {
                    message: format!(
                        "snapback.unless_operation_matches names unknown rule `{name}` (no detection rule has this name or id): ignored"
                    ),
                    ..at.clone()
                }),
            }
        }
    }
    problems
}
