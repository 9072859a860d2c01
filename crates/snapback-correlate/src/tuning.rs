//! Tuning from the config file: allowlists, maintenance windows, per-rule risk overrides.
//!
//! The seed's "False Positives & Tuning" names authorised administrators, DR automation, CI/CD
//! pipelines and planned migrations. Known automation is suppressed by the built-in Sigma
//! filters; what only the user knows goes here. Every entry needs a `reason`, because a
//! suppressed alert is kept and shown with it, never dropped.
//!
//! ```toml
//! [[allow]]
//! reason = "DR drills by the platform team"
//! principals = ["arn:aws:sts::*:assumed-role/dr-runner/*"]   # globs
//! source_cidrs = ["10.0.0.0/8"]
//! accounts = ["111122223333"]
//! rules = ["aws-ec2-stop-then-start"]                          # rule ids or names
//!
//! [[maintenance]]
//! reason = "Monthly patching"
//! start = "2026-11-20T00:00:00Z"
//! end = "2026-11-20T04:00:00Z"
//! accounts = ["111122223333"]                                  # optional
//!
//! [risk]
//! "aws-ec2-stop-then-start" = 35
//! ```
//!
//! Within one entry, every condition given must hold; a condition left out holds always. An
//! `[[allow]]` entry needs at least one of `principals`, `source_cidrs`, `accounts` and `rules`:
//! with only a reason it would suppress every alert, so such a file is refused, with the line
//! of the entry.

use std::collections::BTreeMap;
use std::net::IpAddr;

use globset::{Glob, GlobMatcher};
use ipnet::IpNet;
use serde::Deserialize;

use crate::alert::{Alert, Suppression};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    allow: Vec<toml::Spanned<RawAllow>>,
    #[serde(default)]
    maintenance: Vec<RawMaintenance>,
    #[serde(default)]
    risk: BTreeMap<String, u8>,
    #[serde(default)]
    state: StateLimits,
}

/// The `[state]` section: caps on the detector's state (see `DetectOptions`); unset keeps the
/// default.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateLimits {
    pub max_retained_events: Option<usize>,
    pub max_operations: Option<usize>,
    pub max_open_sequences: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    reason: String,
    #[serde(default)]
    principals: Vec<String>,
    #[serde(default)]
    source_cidrs: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaintenance {
    reason: String,
    start: String,
    end: String,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    rules: Vec<String>,
}

/// One allowlist entry.
#[derive(Debug)]
pub struct Allow {
    pub reason: String,
    principals: Vec<GlobMatcher>,
    cidrs: Vec<IpNet>,
    accounts: Vec<String>,
    rules: Vec<String>,
}

/// One maintenance window.
#[derive(Debug)]
pub struct Maintenance {
    pub reason: String,
    pub start: jiff::Timestamp,
    pub end: jiff::Timestamp,
    accounts: Vec<String>,
    rules: Vec<String>,
}

/// The user's tuning.
#[derive(Debug, Default)]
pub struct Tuning {
    pub allow: Vec<Allow>,
    pub maintenance: Vec<Maintenance>,
    /// Risk overrides by rule id or name.
    pub risk: BTreeMap<String, u8>,
    /// Caps on the detector's state.
    pub state: StateLimits,
}

impl Tuning {
    /// `options` with the caps of the `[state]` section applied.
    pub fn detect_options(&self, options: crate::DetectOptions) -> crate::DetectOptions {
        crate::DetectOptions {
            max_retained_events: self
                .state
                .max_retained_events
                .unwrap_or(options.max_retained_events),
            max_operations: self.state.max_operations.unwrap_or(options.max_operations),
            max_open_sequences: self
                .state
                .max_open_sequences
                .unwrap_or(options.max_open_sequences),
            ..options
        }
    }

    /// Parse a TOML config; errors name the entry and field.
    pub fn from_toml(text: &str) -> Result<Tuning, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, v) in [
            ("max_retained_events", raw.state.max_retained_events),
            ("max_operations", raw.state.max_operations),
            ("max_open_sequences", raw.state.max_open_sequences),
        ] {
            if v.is_some_and(|v| v < 10) {
                return Err(format!("state.{name} = {}: at least 10", v.unwrap_or(0)));
            }
        }
        let mut tuning = Tuning {
            risk: raw.risk,
            state: raw.state,
            ..Tuning::default()
        };
        for (k, v) in &tuning.risk {
            if *v > 100 {
                return Err(format!("risk.{k} = {v}: a risk score is 0 to 100"));
            }
        }
        for (i, a) in raw.allow.into_iter().enumerate() {
            let line = text[..a.span().start.min(text.len())].matches('\n').count() + 1;
            let a = a.into_inner();
            if a.principals.is_empty()
                && a.source_cidrs.is_empty()
                && a.accounts.is_empty()
                && a.rules.is_empty()
            {
                return Err(format!(
                    "allow[{i}] (line {line}, reason {:?}): no condition: give at least one of principals, source_cidrs, accounts or rules (with only a reason, it would suppress every alert)",
                    a.reason
                ));
            }
            let mut principals = Vec::new();
            for p in &a.principals {
                let glob =
                    Glob::new(p).map_err(|e| format!("allow[{i}].principals: {p:?}: {e}"))?;
                principals.push(glob.compile_matcher());
            }
            let mut cidrs = Vec::new();
            for c in &a.source_cidrs {
                let net = c
                    .parse::<IpNet>()
                    .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|e| format!("allow[{i}].source_cidrs: {c:?}: {e}"))?;
                cidrs.push(net);
            }
            tuning.allow.push(Allow {
                reason: a.reason,
                principals,
                cidrs,
                accounts: a.accounts,
                rules: a.rules,
            });
        }
        for (i, m) in raw.maintenance.into_iter().enumerate() {
            let start = m
                .start
                .parse::<jiff::Timestamp>()
                .map_err(|e| format!("maintenance[{i}].start: {:?}: {e}", m.start))?;
            let end = m
                .end
                .parse::<jiff::Timestamp>()
                .map_err(|e| format!("maintenance[{i}].end: {:?}: {e}", m.end))?;
            if end < start {
                return Err(format!("maintenance[{i}]: end is before start"));
            }
            tuning.maintenance.push(Maintenance {
                reason: m.reason,
                start,
                end,
                accounts: m.accounts,
                rules: m.rules,
            });
        }
        Ok(tuning)
    }

    /// The risk override for a rule, by id or name.
    pub fn risk_override(&self, rule_id: &str, rule_name: Option<&str>) -> Option<u8> {
        self.risk
            .get(rule_id)
            .or_else(|| rule_name.and_then(|n| self.risk.get(n)))
            .copied()
    }

    /// The first allowlist entry or maintenance window that covers the alert.
    pub fn suppression(&self, alert: &Alert) -> Option<Suppression> {
        let rule_matches = |rules: &[String]| {
            rules.is_empty()
                || rules
                    .iter()
                    .any(|r| *r == alert.rule_id || Some(r.as_str()) == alert.rule_name.as_deref())
        };
        for (i, a) in self.allow.iter().enumerate() {
            let principal_ok = a.principals.is_empty()
                || (!alert.principals.is_empty()
                    && alert
                        .principals
                        .iter()
                        .all(|p| a.principals.iter().any(|g| g.is_match(p))));
            let ip_ok = a.cidrs.is_empty()
                || (!alert.source_ips.is_empty()
                    && alert.source_ips.iter().all(|ip| {
                        ip.parse::<IpAddr>()
                            .is_ok_and(|ip| a.cidrs.iter().any(|n| n.contains(&ip)))
                    }));
            let account_ok = a.accounts.is_empty() || a.accounts.contains(&alert.account);
            if principal_ok && ip_ok && account_ok && rule_matches(&a.rules) {
                return Some(Suppression {
                    by: format!("allow[{i}]"),
                    reason: a.reason.clone(),
                });
            }
        }
        for (i, m) in self.maintenance.iter().enumerate() {
            let inside = alert.first_instant >= m.start && alert.last_instant <= m.end;
            let account_ok = m.accounts.is_empty() || m.accounts.contains(&alert.account);
            if inside && account_ok && rule_matches(&m.rules) {
                return Some(Suppression {
                    by: format!("maintenance[{i}]"),
                    reason: m.reason.clone(),
                });
            }
        }
        None
    }
}
