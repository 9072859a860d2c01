//! `--sort-buffer` and `--temp-dir`: how much `events` and `aql run` hold in memory while
//! they put events in time order, and where the rest goes (issue 13, item 10).

use std::path::PathBuf;

use clap::Args;
use snapback_spill::{SpillOptions, DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORDS};

#[derive(Args, Clone)]
pub struct SpillArgs {
    /// Events (or rows) held in memory while putting them in order; beyond it (or beyond
    /// 64 MiB of them), sorted runs go to temporary files and are merged.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RECORDS)]
    pub sort_buffer: usize,
    /// Directory for those temporary files (default: $TMPDIR or /tmp). They are unlinked as
    /// soon as they are created: nothing is left behind.
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
}

impl SpillArgs {
    pub fn options(&self) -> SpillOptions {
        SpillOptions {
            max_records: self.sort_buffer.max(1),
            max_bytes: DEFAULT_MAX_BYTES,
            dir: self.temp_dir.clone(),
        }
    }
}
