//! A run where input ends: `scan` and `demo`.

use snapback_correlate::{DetectOptions, Detector, Report, Tuning};
use snapback_ingest::{read_inputs_parallel, Diagnostic, IngestOptions, Input, Progress, Summary};
use snapback_rules::RuleSet;

use crate::reading::{prepare, PrefilterMode, ReadPlan};

/// Everything a batch run needs besides its inputs.
pub struct Batch<'r> {
    pub rules: &'r RuleSet,
    pub tuning: &'r Tuning,
    pub prefilter: PrefilterMode,
    pub ingest: IngestOptions,
}

/// What a batch run found: what was read, and the detector's report (alerts ranked, highest
/// first, suppressed ones included and marked).
pub struct BatchRun {
    pub summary: Summary,
    pub report: Report,
}

impl Batch<'_> {
    /// Read `inputs` on every core through the plan, match and prepare on the reading threads,
    /// detect on this one, and finish: every alert of the input, in rank order. Diagnostics
    /// and progress go to the callbacks as they happen, in input order.
    pub fn run(
        &self,
        inputs: &[Input],
        on_diag: &mut dyn FnMut(&Diagnostic),
        on_progress: &mut dyn FnMut(&Progress),
    ) -> BatchRun {
        let mut detector = Detector::new(
            self.rules,
            self.tuning,
            self.tuning.detect_options(DetectOptions::default()),
        );
        let plan = ReadPlan::new(self.rules, self.prefilter).by_hits();
        let summary = plan.with_parallel(|parallel| {
            read_inputs_parallel(
                inputs,
                &self.ingest,
                parallel,
                &prepare(self.rules),
                &mut |e, prepared| detector.observe_prepared(e, prepared),
                on_diag,
                on_progress,
            )
        });
        BatchRun {
            summary,
            report: detector.finish(),
        }
    }
}
