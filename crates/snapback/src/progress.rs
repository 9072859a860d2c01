//! The progress bar of `snapback scan`: on a terminal only, and only once a scan has run for a
//! second (short scans print nothing extra). Files and bytes done, rate and ETA; bytes are as
//! stored, so a gzip file counts its compressed size.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use snapback_ingest::Progress;

pub struct Bar {
    started: Instant,
    terminal: bool,
    bar: Option<ProgressBar>,
}

impl Bar {
    pub fn new() -> Self {
        Bar {
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal()
                && std::env::var_os("SNAPBACK_NO_PROGRESS").is_none(),
            bar: None,
        }
    }

    pub fn update(&mut self, p: &Progress) {
        if !self.terminal {
            return;
        }
        if self.bar.is_none() && self.started.elapsed() >= Duration::from_secs(1) {
            let bar = ProgressBar::with_draw_target(
                Some(p.bytes_total),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_done);
            // While a directory is still walked, the totals are of what is listed so far.
            let more = if p.listing { "+ (listing)" } else { "" };
            bar.set_message(format!("files {}/{}{more}", p.files_done, p.files_total));
        }
    }

    /// Print something (a diagnostic) without tearing the bar.
    pub fn suspend(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
