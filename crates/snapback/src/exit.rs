//! The exit codes, one place: README's table lists them and `tests/harden_cli.rs` checks each
//! against the binary.

use snapback_output::ForwardError;

// 0: done, alerts found or not (`ExitCode::SUCCESS`).
/// `--strict`: input was skipped, repaired or failed, or a `--rules` file did not load; `rules
/// lint` and `aql lint` found a problem.
pub(crate) const PROBLEMS: u8 = 1;
/// Could not run as asked: a bad flag or argument, an unreadable or invalid config, rules
/// file, query or forward address; an error writing the output.
pub(crate) const ERROR: u8 = 2;
/// Forwarding: an alert was not delivered (the receiver stayed unreachable, the buffer filled,
/// a UDP datagram was refused) or, with `--forward-strict`, its delivery is not confirmed.
pub(crate) const UNDELIVERED: u8 = 3;

/// The exit code of an error that ended a command.
pub(crate) fn of_error(e: &anyhow::Error) -> u8 {
    let undelivered = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<ForwardError>(),
            Some(ForwardError::Undelivered { .. } | ForwardError::BufferFull { .. })
        )
    });
    if undelivered {
        UNDELIVERED
    } else {
        ERROR
    }
}
