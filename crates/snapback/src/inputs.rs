//! What the commands read: paths, `-`, and store URLs (`s3://`, `az://`, `gs://`), with the
//! `--since/--until` window that filters events and prunes the listing of a store.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use snapback_ingest::{Input, TimeWindow};
use snapback_objstore::{ObjectInput, StoreOptions, StoreUrl};

#[derive(Args, Clone, Default)]
pub struct WindowArgs {
    /// Use only events at or after this time: a date (2026-03-01, UTC) or an RFC 3339 time.
    /// On a store URL, folders of earlier days are not even listed.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Use only events before the end of this date (or before this RFC 3339 time).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

impl WindowArgs {
    pub fn window(&self) -> anyhow::Result<TimeWindow> {
        TimeWindow::parse(self.since.as_deref(), self.until.as_deref()).context("--since/--until")
    }
}

/// The inputs named on the command line, in order: a store URL connects a client (with the
/// environment's credentials; nothing is listed yet), anything else is a path or `-`.
pub fn parse(args: &[String], window: TimeWindow) -> anyhow::Result<Vec<Input>> {
    args.iter()
        .map(|arg| {
            if !StoreUrl::looks_like(arg) {
                return Ok(Input::parse(arg));
            }
            let input = ObjectInput::open(arg, window, &StoreOptions::default())?;
            Ok(Input::Remote(Arc::new(input)))
        })
        .collect()
}
