//! The flags every detecting command shares (`scan`, `demo`, `watch`, `consume`): which rules
//! and which tuning, and the duration syntax of `--lateness` and its kin. One definition, so
//! that the commands cannot drift apart in name, help or meaning.

use std::path::PathBuf;

use clap::Args;
use jiff::SignedDuration;

/// `--rules`, `--no-builtin`, `--config`.
#[derive(Args, Clone, Debug, Default)]
pub struct DetectArgs {
    /// Load Sigma rules (detections, correlations, filters) from this directory too
    /// (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rule pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Tuning: allowlists, maintenance windows, risk overrides, state caps (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A duration like `15m`, `2s` or `1h30m`; not negative.
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = s
        .parse()
        .map_err(|e| format!("{s:?} is not a duration like 15m, 2s or 1h30m: {e}"))?;
    if d.is_negative() {
        return Err(format!("{s:?} is negative"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_negative_ones_are_refused() {
        assert_eq!(
            parse_duration("15m").unwrap(),
            SignedDuration::from_mins(15)
        );
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("not a duration"));
    }
}
