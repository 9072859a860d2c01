//! The tune stage: Sigma filters, allowlists and maintenance windows decide whether a draft
//! is suppressed. Suppression never drops an alert: it is kept, marked with who suppressed it
//! and why, and counted. It runs on each draft before fold, so that fold merges only alerts in
//! the same suppression state (docs/decisions.md, "One act, one alert").

use super::*;

impl Detector<'_> {
    pub(crate) fn suppress(&self, d: &mut Draft) {
        // Built-in and user Sigma filters: the alert is suppressed when every revert step is
        // covered by a filter that targets the step's rule or the alert's rule.
        let mut by: Option<usize> = None;
        let all_covered = d.steps.iter().all(|s| {
            // Computed when the event was observed, while its raw record was at hand.
            let mut hit = s.m.filter(RuleRef::Detection(s.rule));
            if let RuleRef::Correlation(_) = d.rule_ref {
                hit = hit.or_else(|| s.m.filter(d.rule_ref));
            }
            if let Some(f) = hit {
                by.get_or_insert(f);
                true
            } else {
                false
            }
        });
        if all_covered {
            if let Some(f) = by {
                let filter = &self.rules.filters[f];
                let reason = if filter.description.trim().is_empty() {
                    filter.title.clone()
                } else {
                    filter.description.trim().to_owned()
                };
                d.alert.suppressed = Some(Suppression {
                    by: format!("filter:{}", filter.id),
                    reason,
                });
                return;
            }
        }
        if let Some(s) = self.tuning.suppression(&d.alert) {
            d.alert.suppressed = Some(s);
        }
    }
}
