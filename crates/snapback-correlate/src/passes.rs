//! The correlation passes: the retained matched events, in event-time order, through one
//! [`crate::correlator::Correlator`] per correlation rule, and the single-event rules grouped
//! by operation. Each completed sequence becomes a draft ([`crate::alerting`]).

use super::*;

impl Detector<'_> {
    /// Alerts from rules that are a revert by themselves. The records of one multi-record
    /// operation make one alert.
    pub(crate) fn single_event_alerts(
        &self,
        drafts: &mut Vec<Draft>,
        only: Option<&HashSet<String>>,
    ) {
        let mut groups: BTreeMap<(usize, Cloud, String, String), Vec<Step>> = BTreeMap::new();
        for m in &self.matched {
            for &r in &m.rules {
                let meta = &self.rules.detections[r].meta;
                if !matches!(meta.role, Role::Revert | Role::Standalone) || !self.not_voided(m, r) {
                    continue;
                }
                if !self.counts(meta.outcome, &m.event) {
                    continue;
                }
                let op = m.event.act();
                groups
                    .entry((r, m.event.cloud, m.event.account.clone(), op))
                    .or_default()
                    .push(Step {
                        m: m.clone(),
                        rule: r,
                    });
            }
        }
        for ((r, cloud, account, _), steps) in groups {
            if only.is_some_and(|o| !steps.iter().any(|s| o.contains(&s.m.event.event_id))) {
                continue;
            }
            let d = &self.rules.detections[r];
            let mut draft = self.draft(
                RuleRef::Detection(r),
                &d.id,
                d.name.clone(),
                &d.title,
                &d.description,
                &d.tags,
                &d.meta,
                steps,
            );
            let confirmed = draft
                .steps
                .iter()
                .any(|s| self.effective(&s.m.event) == Outcome::Success);
            Self::confirm(&mut draft.alert, confirmed, d.meta.outcome);
            // Scoped like a correlation's key: two accounts' records may share an event id
            // (test fixtures reuse "1"), and are two alerts.
            draft.key = format!("{cloud}|{account}");
            drafts.push(draft);
        }
    }

    pub(crate) fn correlate(&mut self, c: usize, drafts: &mut Vec<Draft>) {
        let corr = &self.rules.correlations[c];
        let n = corr.rules.len();
        let mut correlator = correlator::for_rule(self.rules, c);
        let mut completed: Vec<correlator::Completed> = Vec::new();
        for m in &self.matched {
            let positions: Vec<usize> = (0..n)
                .filter(|&i| m.rules.contains(&corr.rules[i]) && self.not_voided(m, corr.rules[i]))
                .collect();
            if positions.is_empty() {
                continue;
            }
            if !self.counts(corr.meta.outcome, &m.event) {
                continue;
            }
            let t = m.event.time.instant;
            // Every position the event may take, with its keys.
            let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for &i in &positions {
                for k in m.keys(c, corr.rules[i]) {
                    by_key.entry(k.clone()).or_default().push(i);
                }
            }
            for (key, mut pos) in by_key {
                pos.sort_unstable();
                pos.dedup();
                self.stats.sequences_opened += correlator.observe(&key, &pos, m, t, &mut completed);
            }
            let cap = self.options.max_open_sequences;
            if correlator.open() > cap {
                // Down to 90% of the cap, so that the sort is paid once per tenth of the cap
                // and not once per event; counted so the report can say so.
                self.stats.sequences_evicted += correlator.evict(cap - cap / 10);
            }
        }
        if let Some(newest) = self.matched.last() {
            correlator.expire(newest.event.time.instant);
            self.open_sequences += correlator.open();
        }
        let corr = &self.rules.correlations[c];
        for (key, steps) in completed {
            // The completing call decides: a later step that used an earlier one's result
            // (attached the restored disk) shows the earlier one went through.
            let confirmed = steps
                .last()
                .is_some_and(|s| self.effective(&s.m.event) == Outcome::Success);
            let mut draft = self.draft(
                RuleRef::Correlation(c),
                &corr.id,
                corr.name.clone(),
                &corr.title,
                &corr.description,
                &corr.tags,
                &corr.meta,
                steps,
            );
            // The alert is about its key's resources: of a call on three instances, only the
            // one whose sequence completed.
            let values: Vec<&str> = key
                .split('|')
                .skip(if draft.alert.cloud == Cloud::Aws {
                    3
                } else {
                    2
                })
                .collect();
            let key_kinds: Vec<_> = draft
                .alert
                .entities
                .iter()
                .filter(|e| values.iter().any(|v| v.eq_ignore_ascii_case(&e.id)))
                .map(|e| e.kind)
                .collect();
            draft.alert.entities.retain(|e| {
                !key_kinds.contains(&e.kind) || values.iter().any(|v| v.eq_ignore_ascii_case(&e.id))
            });
            draft.key = key;
            Self::confirm(&mut draft.alert, confirmed, corr.meta.outcome);
            drafts.push(draft);
        }
    }
}
