//! `snapback consume`: detection as a member of a Kafka consumer group, exactly once for
//! `read_committed` readers of the alerts topic.
//!
//! The flags, the topics (the inputs must exist, the alerts topic too; the changelog is
//! created if missing), the transactional id, the status line, `--metrics` and the summary.
//! The loop is [`crate::consume_group`]: a `snapback_pipeline::partitioned::Partitioned`
//! (a stream per input partition) fed by a group consumer, committed once a second in one
//! Kafka transaction holding the alert revisions, the changelog rows and the consumed offsets.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use jiff::SignedDuration;
use serde::Serialize;
use snapback_kafka::{create_topic, partition_count, Settings, TopicCreated, TopicSpec};

use crate::cmd_scan::{load_rules, load_tuning};
use crate::consume_group::{Group, GroupSetup};

#[derive(Args)]
pub struct ConsumeArgs {
    /// The Kafka cluster to read from and write to.
    #[arg(long, required = true, value_name = "HOST:PORT[,HOST:PORT...]")]
    pub brokers: String,
    /// A topic of audit records to read (repeatable); it must exist. Producers should key
    /// messages by account (`snapback replay` does): correlation never crosses a partition.
    #[arg(long = "topic", required = true, value_name = "NAME")]
    pub topics: Vec<String>,
    /// The consumer group: processes with the same group share the partitions.
    #[arg(long, required = true, value_name = "ID")]
    pub group: String,
    /// The topic alert revisions go to, keyed by alert id; it must exist. Without it,
    /// revisions are written to stdout (at least once: an aborted transaction's revisions
    /// are written again).
    #[arg(long, value_name = "NAME")]
    pub alerts_topic: Option<String>,
    /// The format of each alert message (`jsonl`: snapback's JSON, with `revision` and
    /// retractions, as `watch` writes; the others carry no retractions).
    #[arg(long, value_enum, default_value_t = AlertsFormat::Jsonl)]
    pub alerts_format: AlertsFormat,
    /// The compacted topic that keeps each partition's state for its next owner (default
    /// `<group>.snapback-changelog`; created if missing, with as many partitions as the
    /// largest input topic).
    #[arg(long, value_name = "NAME")]
    pub changelog_topic: Option<String>,
    /// Keep this process's identity here (created if missing), so that a restart fences its
    /// predecessor's open transaction at once instead of after `transaction.timeout.ms`.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// How late an event may arrive and still be put in order (e.g. 15m, 1h, 30s).
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub lateness: SignedDuration,
    /// How often to commit a transaction (alerts, changelog, offsets).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub commit_interval: SignedDuration,
    /// Load Sigma rules from this directory too.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rule pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Tuning: allowlists, maintenance windows, risk overrides, state caps (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A librdkafka setting, `KEY=VALUE` (repeatable), given to the consumer, the producer and
    /// the partition reader: SASL, TLS, timeouts, e.g. `--kafka security.protocol=SASL_SSL`.
    #[arg(long = "kafka", value_name = "KEY=VALUE")]
    pub kafka: Vec<String>,
    /// Write the running figures as JSON to this file about once a second.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Exit 0 once every owned partition has been read to its end and nothing arrived for
    /// this long: the input of those partitions is ended (every window flushed) and
    /// committed first.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub exit_when_idle: Option<SignedDuration>,
    /// Do not print per-record diagnostics or warnings (the summary still counts them).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum AlertsFormat {
    /// One snapback alert per message, as JSON (`revision` when above 1; retractions).
    Jsonl,
    /// One OCSF Detection Finding per message.
    Ocsf,
    /// LEEF 2.0 for QRadar (its Kafka log source protocol reads a topic).
    Leef,
    /// ArcSight CEF.
    Cef,
}

fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = s
        .parse()
        .map_err(|e| format!("{s:?} is not a duration like 15m, 2s or 1h30m: {e}"))?;
    if d.is_negative() {
        return Err(format!("{s:?} is negative"));
    }
    Ok(d)
}

/// The running figures: the status line and `--metrics`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsumeFigures {
    pub partitions: usize,
    /// Messages not read yet in the owned partitions (end offset less the next to read).
    pub lag: i64,
    pub messages: u64,
    pub events: u64,
    pub events_per_second: f64,
    /// The oldest watermark of the owned partitions.
    pub watermark: Option<String>,
    pub open_sequences: u64,
    /// Events behind what was already correlated of their account: counted, not correlated.
    pub late_events: u64,
    /// Records skipped with a located diagnostic (not JSON, empty message, too large, ...).
    pub skipped_records: u64,
    /// Records of no audit layout snapback reads (valid JSON of an unknown layout).
    pub not_audit_records: u64,
    pub rebalances: u64,
    /// Alert revisions (and retractions) in committed transactions.
    pub alerts_emitted: u64,
    pub key_mismatches: u64,
    pub transactions: u64,
    pub aborted_transactions: u64,
    /// Partitions whose state was rebuilt (taken over, or after an abort).
    pub rebuilds: u64,
    /// Messages read again to rebuild, all rebuilds.
    pub rebuild_messages: u64,
    /// The last rebuild of one partition: changelog read, input read again.
    pub last_rebuild_seconds: Option<f64>,
    /// The longest rebuild of one partition.
    pub longest_rebuild_seconds: Option<f64>,
}

/// Librdkafka settings snapback sets unless the user did.
fn with_defaults(settings: &Settings, defaults: &[(&str, &str)]) -> Settings {
    let mut s = settings.clone();
    for (k, v) in defaults {
        if s.get(k).is_none() {
            s.set(k, v);
        }
    }
    s
}

/// A stable id for this process kept in `dir`, or a fresh one.
fn instance_id(state: Option<&Path>) -> anyhow::Result<String> {
    let fresh = || {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{:x}-{:x}", nanos, std::process::id())
    };
    let Some(dir) = state else {
        return Ok(fresh());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating --state {}", dir.display()))?;
    let path = dir.join("instance-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        _ => {
            let id = fresh();
            let tmp = dir.join("instance-id.tmp");
            std::fs::write(&tmp, &id)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(id)
        }
    }
}

const WAIT: Duration = Duration::from_secs(30);

/// Check the inputs and the alerts topic, create the changelog if missing; the changelog's
/// name.
fn topics(args: &ConsumeArgs, settings: &Settings) -> anyhow::Result<String> {
    let mut widest = 0;
    for t in &args.topics {
        let n = partition_count(&args.brokers, settings, t, WAIT)
            .with_context(|| format!("snapback consume: input topic {t} on {}", args.brokers))?;
        widest = widest.max(n);
    }
    if let Some(t) = &args.alerts_topic {
        partition_count(&args.brokers, settings, t, WAIT).with_context(|| {
            format!(
                "snapback consume: --alerts-topic {t} on {} (create it first)",
                args.brokers
            )
        })?;
    }
    let changelog = args
        .changelog_topic
        .clone()
        .unwrap_or_else(|| format!("{}.snapback-changelog", args.group));
    let spec = TopicSpec {
        name: &changelog,
        partitions: i32::try_from(widest).unwrap_or(i32::MAX),
        // The broker's default.replication.factor.
        replication: -1,
        // Hourly segments: compaction can drop superseded rows within the hour.
        config: vec![("cleanup.policy", "compact"), ("segment.ms", "3600000")],
    };
    let created = create_topic(&args.brokers, settings, &spec, WAIT)?;
    if created == TopicCreated::Existed {
        let n = partition_count(&args.brokers, settings, &changelog, WAIT)?;
        if n < widest {
            bail!(
                "snapback consume: the changelog topic {changelog} has {n} partitions, fewer than \
                 the input's {widest}: add partitions to it, or name another with --changelog-topic"
            );
        }
    }
    Ok(changelog)
}

pub fn run(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::parse(&args.kafka)?;
    let rules = load_rules(!args.no_builtin, &args.rules);
    let tuning = load_tuning(args.config.as_deref())?;
    let changelog = topics(&args, &settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let instance = instance_id(args.state.as_deref())?;
    // Cooperative rebalancing: a partition that stays with its consumer keeps its state.
    let consumer = match settings.get("group.protocol") {
        Some("consumer") => settings.clone(),
        _ => with_defaults(
            &settings,
            &[("partition.assignment.strategy", "cooperative-sticky")],
        ),
    };
    // A killed consumer's open transaction (without --state, nothing fences it) is aborted by
    // the broker after this; its partitions' next owner waits for that.
    let producer = with_defaults(&settings, &[("transaction.timeout.ms", "10000")]);
    let setup = GroupSetup {
        brokers: &args.brokers,
        topics: &args.topics,
        group: &args.group,
        alerts_topic: args.alerts_topic.as_deref(),
        alerts_format: args.alerts_format,
        changelog_topic: &changelog,
        transactional_id: format!("snapback-{}-{instance}", args.group),
        consumer,
        producer,
        reader: settings,
        lateness: args.lateness,
        commit_every: Duration::try_from(args.commit_interval).unwrap_or(Duration::from_secs(1)),
        exit_when_idle: args.exit_when_idle.and_then(|d| Duration::try_from(d).ok()),
        quiet: args.quiet,
    };
    let mut status = Status {
        terminal: io::stderr().is_terminal() && !args.quiet,
        metrics: args.metrics.clone(),
    };
    let mut group = Group::new(&setup, &rules, &tuning)?;
    let result = group.run(&stop, &mut |f| status.show(f));
    if status.terminal {
        eprintln!();
    }
    let figures = group.figures();
    status.show(&figures);
    summarise(&group, &figures);
    result?;
    Ok(ExitCode::SUCCESS)
}

struct Status {
    terminal: bool,
    metrics: Option<PathBuf>,
}

impl Status {
    fn show(&mut self, f: &ConsumeFigures) {
        if let Some(path) = &self.metrics {
            let tmp = path.with_extension("tmp");
            let written = serde_json::to_vec_pretty(f)
                .map_err(io::Error::other)
                .and_then(|json| std::fs::write(&tmp, json))
                .and_then(|_| std::fs::rename(&tmp, path));
            if let Err(e) = written {
                eprintln!(
                    "snapback consume: warning: writing --metrics {}: {e}",
                    path.display()
                );
            }
        }
        if self.terminal {
            eprint!(
                "\r\x1b[2Ksnapback consume: {} partitions, lag {}, {} events ({}/s), watermark {}, {} open sequences, {} rebalances, {} alerts, {} key mismatches",
                f.partitions,
                f.lag,
                f.events,
                f.events_per_second,
                f.watermark.as_deref().unwrap_or("-"),
                f.open_sequences,
                f.rebalances,
                f.alerts_emitted,
                f.key_mismatches
            );
        }
    }
}

/// What the run read and committed, on stderr.
fn summarise(group: &Group<'_>, f: &ConsumeFigures) {
    crate::terminal::summary(
        &group.summary(),
        snapback_ingest::DEFAULT_DIAGNOSTICS_PER_REASON,
        false,
    );
    let rebuild = f
        .longest_rebuild_seconds
        .map(|s| format!(" (the longest in {s:.2} s)"))
        .unwrap_or_default();
    eprintln!(
        "snapback consume: {} messages, {} events; {} alert revisions committed in {} transactions ({} aborted); {} rebalances, {} partitions rebuilt{rebuild} from {} messages read again",
        f.messages,
        f.events,
        f.alerts_emitted,
        f.transactions,
        f.aborted_transactions,
        f.rebalances,
        f.rebuilds,
        f.rebuild_messages,
    );
    if f.key_mismatches > 0 {
        eprintln!(
            "snapback consume: {} records were in a message not keyed by their account: a sequence whose records are in other partitions is not linked (README, \"Partitioning\")",
            f.key_mismatches
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_id_is_kept_in_the_state_dir_and_fresh_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let first = instance_id(Some(&state)).unwrap();
        assert_eq!(instance_id(Some(&state)).unwrap(), first);
        assert_eq!(
            std::fs::read_to_string(state.join("instance-id")).unwrap(),
            first
        );
        let a = instance_id(None).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        assert_ne!(a, instance_id(None).unwrap());
    }

    #[test]
    fn snapback_defaults_yield_to_the_users_settings() {
        let user = Settings::parse(["transaction.timeout.ms=30000"]).unwrap();
        let s = with_defaults(
            &user,
            &[("transaction.timeout.ms", "10000"), ("linger.ms", "5")],
        );
        assert_eq!(s.get("transaction.timeout.ms"), Some("30000"));
        assert_eq!(s.get("linger.ms"), Some("5"));
    }
}
