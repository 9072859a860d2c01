//! The alert stage: a completed sequence (or a single-event match) becomes a draft alert,
//! escalated by the precursors of its entities and principals, confirmed or not by its
//! operation's outcome, and merged with other alerts over the same act (fold).
//!
//! Input: the steps the correlation passes ([`crate::passes`]) found; output: drafts and, after
//! tuning ([`crate::tune`]) and ranking, the alerts of a report. It reads the detector's
//! retained events only through the steps it is given and the precursor list.

use super::*;

impl Detector<'_> {
    /// One act, one alert. The pack's rules overlap on purpose (attach, attach as root, root
    /// swap see the same AttachVolume from different sides), so an alert is merged into a
    /// higher-ranked alert of the same suppression state when they share a revert step *and* a
    /// resource: its evidence and entities join the host, its title is named in the host's
    /// reasons, and the host's id is derived again from the joined evidence. Sharing a step
    /// alone is not enough: a call on three instances makes three alerts over the same events.
    /// `alerts` must be sorted best first.
    pub(crate) fn fold(&mut self, alerts: Vec<Alert>) -> Vec<Alert> {
        let steps = |a: &Alert| -> HashSet<String> {
            a.evidence
                .iter()
                .filter(|e| e.role == EvidenceRole::Revert)
                .map(|e| e.act.clone())
                .collect()
        };
        let mut kept: Vec<(Alert, HashSet<String>)> = Vec::new();
        // Kept alerts by (suppression state, cloud, account, revert act): the only candidates
        // for a host, so merging costs what the shared acts hold, not a scan of every alert
        // kept (quadratic: 40,000 stop/start pairs took 40 s; issue 13 item 8).
        type ActKey = (bool, Cloud, String, String);
        let mut by_act: HashMap<ActKey, Vec<usize>> = HashMap::new();
        let key = |a: &Alert, act: &str| {
            (
                a.suppressed.is_none(),
                a.cloud,
                a.account.clone(),
                act.to_owned(),
            )
        };
        for a in alerts {
            let mine = steps(&a);
            let mut candidates: Vec<usize> = mine
                .iter()
                .filter_map(|act| by_act.get(&key(&a, act)))
                .flatten()
                .copied()
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            // The first kept alert (best ranked) that shares a resource too.
            let host = candidates.into_iter().find(|&j| {
                let k = &kept[j].0;
                a.entities
                    .iter()
                    .any(|e| k.entities.iter().any(|x| x.id == e.id))
            });
            match host.map(|j| (j, &mut kept[j])) {
                Some((j, (k, theirs))) => {
                    self.stats.folded += 1;
                    k.risk_reasons.push(format!(
                        "also matched {} ({}, risk {}), merged into this alert",
                        a.title,
                        a.rule_name.as_deref().unwrap_or(&a.rule_id),
                        a.risk_score
                    ));
                    for t in a.attack {
                        if !k.attack.contains(&t) {
                            k.attack.push(t);
                        }
                    }
                    for t in a.tactics {
                        if !k.tactics.contains(&t) {
                            k.tactics.push(t);
                        }
                    }
                    for e in a.entities {
                        if !k.entities.contains(&e) {
                            k.entities.push(e);
                        }
                    }
                    for ev in a.evidence {
                        if ev.role == EvidenceRole::Revert && theirs.insert(ev.act.clone()) {
                            by_act.entry(key(k, &ev.act)).or_default().push(j);
                        }
                        Evidence::merge_into(&mut k.evidence, ev);
                    }
                    k.confirmed &= a.confirmed;
                    k.evidence.sort_by(Evidence::order);
                    for p in a.principals {
                        if !k.principals.contains(&p) {
                            k.principals.push(p);
                        }
                    }
                    if a.first_instant < k.first_instant {
                        k.first_instant = a.first_instant;
                        k.first_seen = a.first_seen;
                    }
                    if a.last_instant > k.last_instant {
                        k.last_instant = a.last_instant;
                        k.last_seen = a.last_seen;
                    }
                    k.alert_id = Alert::compute_id(&k.rule_id, &k.group_key, &k.evidence);
                }
                None => {
                    for act in &mine {
                        by_act.entry(key(&a, act)).or_default().push(kept.len());
                    }
                    kept.push((a, mine));
                }
            }
        }
        kept.into_iter().map(|(a, _)| a).collect()
    }

    /// Mark whether the completing call is known to have succeeded. Under the pack's policy an
    /// accepted call whose success record the input lacks still alerts, 10 lower and saying
    /// so; a standalone rule's score does not depend on the outcome.
    pub(crate) fn confirm(alert: &mut Alert, confirmed: bool, policy: OutcomePolicy) {
        alert.confirmed = confirmed;
        if !confirmed && policy == OutcomePolicy::Succeeded {
            let risk = alert.risk_score.saturating_sub(10);
            alert.set_risk(risk);
            alert.risk_reasons.push(
                "-10: unconfirmed: the input has the call's Started/Accepted record but not \
                 its success record"
                    .into(),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn draft(
        &self,
        rule_ref: RuleRef,
        rule_id: &str,
        rule_name: Option<String>,
        title: &str,
        description: &str,
        tags: &[String],
        meta: &snapback_rules::Meta,
        mut steps: Vec<Step>,
    ) -> Draft {
        steps.sort_by(|a, b| {
            a.m.event
                .time
                .instant
                .cmp(&b.m.event.time.instant)
                .then_with(|| a.m.event.provenance.cmp(&b.m.event.provenance))
        });
        let (first_m, last_m) = (steps[0].m.clone(), steps[steps.len() - 1].m.clone());
        let (first, last) = (&first_m.event, &last_m.event);
        let (attack, tactics) = alert::attack_from_tags(tags);
        let mut evidence = Vec::new();
        let mut entities: Vec<Entity> = Vec::new();
        let mut principals: Vec<String> = Vec::new();
        let mut source_ips: Vec<String> = Vec::new();
        let mut last_instant = last.time.instant;
        for s in &steps {
            let rid = self.rule_id(s.rule);
            Evidence::merge_into(
                &mut evidence,
                Evidence::from_event(&s.m.event, EvidenceRole::Revert, &rid),
            );
        }
        for s in &steps {
            // Records of the same operation that confirm an accepted step.
            if let Some(op) = self.operations.get(&(s.m.event.cloud, s.m.event.act())) {
                for other in &op.evidence {
                    let mut confirmation = other.clone();
                    confirmation.rule_id = self.rule_id(s.rule);
                    if Evidence::merge_into(&mut evidence, confirmation) {
                        last_instant = last_instant.max(other.instant);
                    }
                }
            }
        }
        for s in &steps {
            for en in alert::entities_of(&s.m.event) {
                if !entities.contains(&en) {
                    entities.push(en);
                }
            }
            let p = s.m.event.actor.display().to_owned();
            if !p.is_empty() && !principals.contains(&p) {
                principals.push(p);
            }
            if let Some(ip) = &s.m.event.source_ip {
                if !source_ips.contains(ip) {
                    source_ips.push(ip.clone());
                }
            }
        }
        evidence.sort_by(Evidence::order);
        let mut risk = meta.risk;
        let mut risk_reasons = vec![format!("{}: {}", meta.risk, meta.risk_reason)];
        if let Some(over) = self.tuning.risk_override(rule_id, rule_name.as_deref()) {
            risk = over;
            risk_reasons.push(format!("={over}: risk override from the config file"));
        }
        let alert = Alert {
            alert_id: String::new(),
            rule_id: rule_id.to_owned(),
            rule_name,
            title: title.to_owned(),
            alert_type: if meta.alert_type.is_empty() {
                "Revert Cloud Instance".to_owned()
            } else {
                meta.alert_type.clone()
            },
            severity: Severity::from_risk(risk),
            risk_score: risk.min(100),
            risk_reasons,
            attack,
            tactics,
            cloud: first.cloud,
            account: first.account.clone(),
            region: first.region.clone(),
            actor: last.actor.display().to_owned(),
            entities,
            first_seen: first.time.instant.to_string(),
            last_seen: last_instant.to_string(),
            escalated: false,
            confirmed: true,
            evidence,
            guide: Guide {
                check: meta.guide.check.clone(),
                respond: meta.guide.respond.clone(),
            },
            description: description.trim().to_owned(),
            suppressed: None,
            first_instant: first.time.instant,
            last_instant,
            principals,
            source_ips,
            base_risk: risk.min(100),
            group_key: String::new(),
        };
        Draft {
            alert,
            rule_ref,
            steps,
            key: String::new(),
        }
    }

    pub(crate) fn rule_id(&self, r: usize) -> String {
        self.rules.detections[r].id.clone()
    }

    /// Precursor events, in time order, with the rule that made them precursors.
    pub(crate) fn precursors(&self) -> Vec<Step> {
        let mut out = Vec::new();
        // One precursor per operation: the Start, Accept and Success records of one Azure call
        // are one act.
        let mut seen: HashSet<(Cloud, String, usize)> = HashSet::new();
        for m in &self.matched {
            let op = m.event.act();
            for &r in &m.rules {
                let meta = &self.rules.detections[r].meta;
                if meta.role == Role::Precursor
                    && self.counts(meta.outcome, &m.event)
                    && self.not_voided(m, r)
                    && seen.insert((m.event.cloud, op.clone(), r))
                {
                    out.push(Step {
                        m: m.clone(),
                        rule: r,
                    });
                }
            }
        }
        out
    }

    pub(crate) fn escalate(&self, d: &mut Draft, precursors: &[Step]) {
        let a = &mut d.alert;
        let from = a.first_instant - self.options.precursor_window;
        // A record already in the evidence (a step, or a record of a step's operation) is not
        // also its own precursor.
        let evidence_ids: HashSet<String> = a.evidence.iter().map(|e| e.event_id.clone()).collect();
        let mut found: Vec<&Step> = Vec::new();
        for p in precursors {
            let t = p.m.event.time.instant;
            if t < from || t > a.last_instant {
                continue;
            }
            if p.m.event.cloud != a.cloud || p.m.event.account != a.account {
                continue;
            }
            if evidence_ids.contains(&p.m.event.event_id) {
                continue;
            }
            let shares_entity = alert::entities_of(&p.m.event)
                .iter()
                .any(|en| a.entities.iter().any(|x| x.id == en.id));
            let principal = p.m.event.actor.display();
            let same_principal =
                !principal.is_empty() && a.principals.iter().any(|x| x == principal);
            if shares_entity || same_principal {
                found.push(p);
            }
        }
        if found.is_empty() {
            return;
        }
        let mut seen = HashSet::new();
        for p in found {
            if !seen.insert((p.m.event.event_id.clone(), p.rule)) {
                continue;
            }
            let det = &self.rules.detections[p.rule];
            let via = if alert::entities_of(&p.m.event)
                .iter()
                .any(|en| a.entities.iter().any(|x| x.id == en.id))
            {
                "the same resource"
            } else {
                "the same principal"
            };
            a.risk_reasons.push(format!(
                "kill chain: {} at {} by {} ({via})",
                det.title,
                p.m.event.time.instant,
                p.m.event.actor.display()
            ));
            Evidence::merge_into(
                &mut a.evidence,
                Evidence::from_event(&p.m.event, EvidenceRole::Precursor, &det.id),
            );
            let (techniques, tactics) = alert::attack_from_tags(&det.tags);
            for t in techniques {
                if !a.attack.contains(&t) {
                    a.attack.push(t);
                }
            }
            for t in tactics {
                if !a.tactics.contains(&t) {
                    a.tactics.push(t);
                }
            }
        }
        a.evidence.sort_by(Evidence::order);
        a.escalated = true;
        let risk = a.risk_score.saturating_add(20).max(90);
        a.risk_reasons.push(format!(
            "→{}: escalated to critical by the kill chain (precursor within {} before the revert)",
            risk.min(100),
            "24h"
        ));
        a.set_risk(risk);
    }
}
