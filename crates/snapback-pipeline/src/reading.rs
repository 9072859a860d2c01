//! How a run reads: the prefilter, the key contract and the framer's fast path.

use snapback_correlate::{Detector, Prepared};
use snapback_ingest::{decode, HitSearch, ParallelOptions, RecordFilter};
use snapback_model::{Event, KeyList, KeySpec};
use snapback_rules::{Prefilter, RuleSet};

/// Whether records that no rule can match may be skipped unparsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefilterMode {
    /// Skip them, unless `SNAPBACK_NO_PREFILTER` is set in the environment.
    Auto,
    /// Read every record: a sink or a flag needs them all (`--report` states the events read
    /// and their span; `--strict` counts every problem).
    Off,
}

impl PrefilterMode {
    /// The mode a run needs: off when every problem must count (`strict`) or a sink needs every
    /// record (a report states the events read and their span); on otherwise.
    pub fn for_run(strict: bool, a_sink_needs_every_record: bool) -> Self {
        match strict || a_sink_needs_every_record {
            true => PrefilterMode::Off,
            false => PrefilterMode::Auto,
        }
    }
}

/// What a run's readers are given: built once from the rules, lent to every reading call.
pub struct ReadPlan {
    prefilter: Option<Prefilter>,
    keys: KeySpec,
    fast_framer: bool,
    /// Frame only around the prefilter's hits ([`ReadPlan::by_hits`]).
    hits: bool,
}

impl ReadPlan {
    /// The plan for `rules`. The prefilter is built from them (and dropped when it would let
    /// everything through: some rule pins nothing); the framer is told the keys the
    /// prefilter and the decoders need (`framer_lists_every_key_the_prefilter_and_decoders_need`
    /// in `snapback-rules/tests/key_contract.rs` holds the contract).
    pub fn new(rules: &RuleSet, mode: PrefilterMode) -> ReadPlan {
        let on = mode == PrefilterMode::Auto && std::env::var_os("SNAPBACK_NO_PREFILTER").is_none();
        let prefilter = on
            .then(|| Prefilter::for_rules(rules, decode::marker_keys()))
            .filter(|p| !p.is_off())
            .map(|p| match std::env::var_os("SNAPBACK_NO_HIT_KERNEL") {
                Some(_) => p.without_hit_kernel(),
                None => p,
            });
        let keys = prefilter.as_ref().map_or(KeySpec::Nothing, |p| {
            p.keys()
                .union(KeySpec::names(decode::marker_keys().iter().copied()))
        });
        ReadPlan {
            prefilter,
            keys,
            fast_framer: std::env::var_os("SNAPBACK_NO_FAST_FRAMER").is_none(),
            hits: false,
        }
    }

    /// Read by hits (`snapback_ingest`'s `hits.rs`): the prefilter's literals searched over
    /// the raw bytes first, only the records around a hit framed, the others skipped unframed
    /// and uncounted, events cited by byte offset with no record index. For a run whose
    /// output needs no record index (`scan`); on only when the prefilter is and can stand
    /// for itself over many records ([`Prefilter::searches_hits`]: no keyword, no rule of two
    /// clauses), unless `SNAPBACK_NO_HIT_SEARCH` is set in the environment.
    pub fn by_hits(mut self) -> Self {
        self.hits = std::env::var_os("SNAPBACK_NO_HIT_SEARCH").is_none()
            && self
                .prefilter
                .as_ref()
                .is_some_and(Prefilter::searches_hits);
        self
    }

    /// Whether records are read by hits.
    pub fn reads_by_hits(&self) -> bool {
        self.hits
    }

    /// Whether records are prefiltered.
    pub fn prefilters(&self) -> bool {
        self.prefilter.is_some()
    }

    /// The keys the framer lists for the prefilter.
    pub fn keys(&self) -> &KeySpec {
        &self.keys
    }

    /// Run `f` with the reader's options of this plan.
    pub fn with_parallel<R>(&self, f: impl FnOnce(&ParallelOptions<'_>) -> R) -> R {
        let may_match = |record: &[u8], keys: Option<KeyList<'_>>| {
            self.prefilter
                .as_ref()
                .is_none_or(|p| p.may_match_keys(record, keys))
        };
        let next_hit =
            |buf: &[u8], from: usize| self.prefilter.as_ref().and_then(|p| p.next_hit(buf, from));
        let parallel = ParallelOptions {
            filter: self.prefilter.as_ref().map(|_| &may_match as &RecordFilter),
            keys: &self.keys,
            fast_framer: self.fast_framer,
            hits: self.hits.then_some(&next_hit as &HitSearch),
            ..ParallelOptions::default()
        };
        f(&parallel)
    }
}

/// Matching, and what correlation needs from the raw record, on the reading threads: `None`
/// for an event the detector keeps nothing of, else the event made slim and its preparation.
pub fn prepare(rules: &RuleSet) -> impl Fn(&mut Event) -> Option<Prepared> + Sync + '_ {
    move |e| {
        let matched = rules.matches(e);
        Detector::keeps(e, &matched).then(|| Detector::prepare(rules, e, matched))
    }
}
