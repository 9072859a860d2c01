//! `snapback replay`: audit logs from files into a Kafka topic, one message per audit record
//! (its raw JSON), keyed so that what one sequence can link lands in one partition
//! (`snapback_kafka::KeyBy`), in event-time order unless `--order input`
//! ([`crate::replay_order`]). For tests, benchmarks and back-fills of `consume`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use snapback_ingest::{read_inputs, IngestOptions, Input, Summary, DEFAULT_DIAGNOSTICS_PER_REASON};
use snapback_kafka::{partition_count, Deliveries, KafkaError, KeyBy, Producer, Settings};
use snapback_output::text;
use snapback_spill::Sorter;

use crate::replay_order::{Queued, QueuedOrder};
use crate::spill_args::SpillArgs;

#[derive(Args)]
pub struct ReplayArgs {
    /// Files or directories to read (`-` for stdin), in any layout `scan` reads; `.gz` and
    /// `.zip` are opened by their content.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// The Kafka cluster to send to.
    #[arg(long, required = true, value_name = "HOST:PORT[,HOST:PORT...]")]
    pub brokers: String,
    /// The topic to send to; it must exist.
    #[arg(long, required = true, value_name = "NAME")]
    pub topic: String,
    /// What each message is keyed by: `account` (`CLOUD:ACCOUNT`, e.g. `aws:111122223333`;
    /// every record a sequence can link shares it) or `resource` (`CLOUD:ACCOUNT/ID`, the
    /// machine the record names, else its target: spreads an account, but sequences that
    /// link other resources may straddle partitions).
    #[arg(long, value_enum, default_value_t = KeyArg::Account)]
    pub key: KeyArg,
    /// A librdkafka setting, `KEY=VALUE` (repeatable): SASL, TLS, timeouts, e.g.
    /// `--kafka security.protocol=SASL_SSL --kafka sasl.mechanism=PLAIN`.
    #[arg(long = "kafka", value_name = "KEY=VALUE")]
    pub kafka: Vec<String>,
    /// How long to wait for the broker to acknowledge the last messages.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub flush_timeout: u64,
    /// Exit 1 if any input was skipped or repaired.
    #[arg(long)]
    pub strict: bool,
    /// Skip records larger than this many bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    pub max_record_bytes: usize,
    /// Do not print diagnostics for bad input (the summary still counts them).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print at most this many diagnostics of each reason; the summary counts the others.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_DIAGNOSTICS_PER_REASON)]
    pub max_diagnostics: usize,
    /// The order records are sent in: `time` (event time, as the clouds deliver them live;
    /// sorted in bounded memory, see --sort-buffer) or `input` (as the files hold them:
    /// a delivery tree goes back in time at each region, which `consume` counts as late).
    #[arg(long, value_enum, default_value_t = OrderArg::Time)]
    pub order: OrderArg,
    #[command(flatten)]
    pub spill: SpillArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OrderArg {
    Time,
    Input,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum KeyArg {
    Account,
    Resource,
}

/// Records that could not be queued, by reason, and the first few in words.
#[derive(Default)]
struct NotSent {
    by_reason: BTreeMap<String, u64>,
    shown: usize,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::parse(&args.kafka)?;
    // Said before any input is read: the cluster is reachable and the topic is there.
    let partitions = partition_count(
        &args.brokers,
        &settings,
        &args.topic,
        Duration::from_secs(30),
    )
    .with_context(|| {
        format!(
            "snapback replay: topic {} on {} (create it first, with as many partitions as \
             consumers will share it)",
            args.topic, args.brokers
        )
    })?;
    let producer = Producer::new(&args.brokers, &settings)?;
    let key_by = match args.key {
        KeyArg::Account => KeyBy::Account,
        KeyArg::Resource => KeyBy::Resource,
    };
    let options = IngestOptions {
        max_record_bytes: args.max_record_bytes,
        max_diagnostics_per_reason: args.max_diagnostics,
        ..IngestOptions::default()
    };
    let inputs: Vec<Input> = args.paths.iter().map(|p| Input::parse(p)).collect();
    let mut not_sent = NotSent::default();
    let mut fatal: Option<KafkaError> = None;
    let quiet = args.quiet;
    let mut sorter = (args.order == OrderArg::Time)
        .then(|| Sorter::new(args.spill.options(), Queued::order as QueuedOrder));
    let mut spill_failed = None;
    let mut seq = 0;
    let summary = read_inputs(
        &inputs,
        &options,
        &mut |e| {
            let queued = match Queued::new(&e, key_by, seq) {
                Ok(q) => q,
                Err(err) => {
                    return not_sent.count(
                        &e.provenance.to_string(),
                        "unserialisable",
                        &err.to_string(),
                    )
                }
            };
            seq += 1;
            match &mut sorter {
                Some(s) if spill_failed.is_none() => {
                    if let Err(err) = s.push(queued) {
                        spill_failed = Some(err);
                    }
                }
                Some(_) => {}
                None if fatal.is_none() => {
                    send(&producer, &args.topic, queued, &mut not_sent, &mut fatal)
                }
                None => {}
            }
        },
        &mut |d| {
            if !quiet {
                crate::terminal::diagnostic(d);
            }
        },
    );
    if let Some(e) = spill_failed {
        anyhow::bail!("snapback replay: putting records in time order: {e} (set --temp-dir, or a larger --sort-buffer, or --order input)");
    }
    if let Some(s) = sorter {
        s.drain(&mut |q| {
            send(&producer, &args.topic, q, &mut not_sent, &mut fatal);
            fatal.is_none()
        })
        .context("snapback replay: reading back the records put in time order")?;
    }
    if let Some(e) = fatal {
        return Err(e).context("snapback replay: the producer stopped");
    }
    let deliveries = producer.flush(Duration::from_secs(args.flush_timeout))?;
    for e in producer.take_errors() {
        eprintln!("snapback replay: warning: {}", text::terminal(&e));
    }
    report(&args, partitions, &deliveries, &not_sent, &summary);
    crate::terminal::summary(&summary, args.max_diagnostics, true);
    if deliveries.failed_total() > 0 || !not_sent.by_reason.is_empty() {
        return Ok(ExitCode::from(crate::exit::UNDELIVERED));
    }
    if args.strict && summary.has_problems() {
        return Ok(ExitCode::from(crate::exit::PROBLEMS));
    }
    Ok(ExitCode::SUCCESS)
}

/// Queue one record; what cannot be queued is said with the record's place.
fn send(
    producer: &Producer,
    topic: &str,
    q: Queued,
    not_sent: &mut NotSent,
    fatal: &mut Option<KafkaError>,
) {
    match producer.send(topic, q.key.as_bytes(), &q.payload) {
        Ok(()) => {}
        Err(e @ KafkaError::Fatal { .. }) => *fatal = Some(e),
        Err(e) => not_sent.count(&q.place(), "refused", &e.to_string()),
    }
}

impl NotSent {
    const SHOWN: usize = 20;

    fn count(&mut self, place: &str, reason: &str, detail: &str) {
        *self.by_reason.entry(reason.to_owned()).or_default() += 1;
        if self.shown < Self::SHOWN {
            self.shown += 1;
            eprintln!(
                "error: {}: not sent: {}",
                text::terminal(place),
                text::terminal(detail)
            );
        }
    }
}

/// What was sent where, on stdout.
fn report(
    args: &ReplayArgs,
    partitions: usize,
    deliveries: &Deliveries,
    not_sent: &NotSent,
    summary: &Summary,
) {
    let key = match args.key {
        KeyArg::Account => "account",
        KeyArg::Resource => "resource",
    };
    println!(
        "snapback replay: {} of {} records sent to topic {} ({partitions} partitions), keyed by {key}",
        deliveries.acked_total(),
        summary.events,
        text::terminal(&args.topic),
    );
    for ((_, partition), n) in &deliveries.acked {
        println!("  partition {partition}: {n}");
    }
    for (reason, n) in &deliveries.failed {
        println!("  not delivered ({}): {n}", text::terminal(reason));
    }
    for f in &deliveries.failures {
        eprintln!("error: not delivered: {}", text::terminal(f));
    }
    for (reason, n) in &not_sent.by_reason {
        println!("  not sent ({reason}): {n}");
    }
}
