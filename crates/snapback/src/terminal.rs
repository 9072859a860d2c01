//! What the commands print on stderr about their input: diagnostics and the summary line,
//! escaped for the terminal (`snapback_output::text::terminal`). File names, zip member names
//! and record keys in them are attacker-controlled: an ESC or OSC sequence must not drive the
//! terminal, and a line break must not forge an `error:` line of its own.

use snapback_ingest::{Diagnostic, Summary};
use snapback_output::text;

/// One diagnostic, on one line of stderr.
pub(crate) fn diagnostic(d: &Diagnostic) {
    eprintln!("{}", text::terminal(&d.to_string()));
}

/// `snapback: <summary>`, and, when diagnostics were counted but not shown, how many are
/// (`per_reason`) and, when the command has `--max-diagnostics` (`flag`), how to see more.
pub(crate) fn summary(summary: &Summary, per_reason: usize, flag: bool) {
    eprintln!("snapback: {}", text::terminal(&summary.to_string()));
    if summary.not_shown_total() > 0 {
        let more = if flag {
            "; --max-diagnostics N shows more"
        } else {
            ""
        };
        eprintln!(
            "snapback: only the first {per_reason} diagnostics of each reason are shown{more}"
        );
    }
}
