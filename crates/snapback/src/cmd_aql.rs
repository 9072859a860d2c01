//! `snapback aql`: run and lint IBM QRadar AQL searches offline, over the same audit logs that
//! `snapback scan` reads. The language, the QRadar view of an event and every decision the
//! engine takes are in `docs/aql.md` and the `snapback-aql` crate.

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use snapback_aql::{
    lint_query, parse, LintOptions, NowSource, Precedence, PropertyMap, ResultSet, RunOptions,
    Runner, Severity, Value,
};
use snapback_ingest::{read_inputs, IngestOptions};
use snapback_output::text;

use crate::inputs::WindowArgs;
use crate::spill_args::SpillArgs;
use crate::table_out::TableOut;

#[derive(Subcommand)]
pub enum AqlCommand {
    /// Run an AQL search over audit logs and print its rows.
    Run(RunArgs),
    /// Check an AQL search: syntax errors and findings (ambiguous AND/OR, unmapped
    /// properties, NULL traps), each with its line and column.
    Lint(LintArgs),
    /// Print an AQL search for each single-event detection of the built-in rule pack, with the
    /// custom event properties they need (see docs/aql.md).
    Export(ExportArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One commented block per rule, the search on one line.
    Aql,
    /// One JSON object per rule (search, or the reason it was skipped; properties).
    Jsonl,
    /// The `--properties` file that `snapback aql run` needs for the exported searches.
    Toml,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Aql)]
    pub format: ExportFormat,
    /// Print only this rule's search (by name or id), without comments, ready for
    /// `snapback aql run --query -`.
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,
    /// Time clause appended to every search, or `none`.
    #[arg(long, value_name = "CLAUSE", default_value = "LAST 24 HOURS")]
    pub time: String,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct QuerySource {
    /// Read the query from FILE (`-` for stdin).
    #[arg(long = "query", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The query itself.
    #[arg(short = 'e', long = "expr", value_name = "AQL")]
    pub text: Option<String>,
}

impl QuerySource {
    fn read(&self) -> anyhow::Result<String> {
        match (&self.file, &self.text) {
            (_, Some(t)) => Ok(t.clone()),
            (Some(p), None) if p.as_os_str() == "-" => {
                let mut s = String::new();
                io::stdin()
                    .read_to_string(&mut s)
                    .context("reading the query from stdin")?;
                Ok(s)
            }
            (Some(p), None) => std::fs::read_to_string(p)
                .with_context(|| format!("reading the query from {}", p.display())),
            (None, None) => bail!("give the query with --query FILE or -e 'AQL'"),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PrecedenceArg {
    /// AND binds tighter than OR (as in SQL): `a OR b AND c` = `a OR (b AND c)`.
    Sql,
    /// AND and OR bind equally, left to right: `a OR b AND c` = `(a OR b) AND c`.
    LeftToRight,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RowFormat {
    Table,
    Jsonl,
    Csv,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub query: QuerySource,
    /// Files or directories to read (`-` for stdin), or store URLs (`s3://`, `az://`,
    /// `gs://`). Directories are walked recursively; `.gz` and `.zip` are opened by their
    /// content.
    #[arg(required = true, value_name = "PATH|URL")]
    pub paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RowFormat::Table)]
    pub format: RowFormat,
    /// "Now" for LAST n …, NOW() and PARSEDATETIME (RFC 3339). Default: the newest event time
    /// in the input.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// How AND and OR without parentheses are read (IBM does not document it).
    #[arg(long, value_enum, default_value_t = PrecedenceArg::Sql)]
    pub precedence: PrecedenceArg,
    /// The QRadar console's time zone (IANA name): DATEFORMAT output and START/STOP literals.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    /// Custom event properties: a TOML or JSON file mapping property names to JSON paths in
    /// the raw record, laid over the built-in mapping (see docs/aql.md).
    #[arg(long, value_name = "FILE")]
    pub properties: Option<PathBuf>,
    /// Window for a query without a time clause: `5m` (QRadar's UI default), `60s` (the REST
    /// API's), any `<n>s|m|h|d`, or `all`.
    #[arg(long, value_name = "WINDOW", default_value = "5m")]
    pub default_window: String,
    /// Run as a stock QRadar would: without snapback's built-in custom properties
    /// (Operation, ResourceType, ResourceGroup, SubscriptionId, ResultType), which are then
    /// NULL; properties from --properties (the ones you created) are kept.
    #[arg(long)]
    pub stock: bool,
    /// Do not print lint findings and input diagnostics.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub spill: SpillArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    /// The `--properties` file for the query's custom properties, with the expression QRadar
    /// needs for each (the counterpart of `aql export --format toml`).
    Toml,
}

#[derive(Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub query: QuerySource,
    /// Custom event properties the query will run with (TOML or JSON), laid over the built-in
    /// mapping; properties outside it are reported as unmapped.
    #[arg(long, value_name = "FILE")]
    pub properties: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// Exit non-zero on warnings too, not only on errors.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(cmd: AqlCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AqlCommand::Run(args) => run_query(args),
        AqlCommand::Lint(args) => lint(args),
        AqlCommand::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let time = args.time.trim();
    let options = snapback_aql::ExportOptions {
        time_clause: (!time.eq_ignore_ascii_case("none") && !time.is_empty())
            .then(|| time.to_string()),
    };
    let rules = snapback_rules::RuleSet::builtin();
    let export = snapback_aql::export(&rules, &options);
    let out = if let Some(name) = &args.rule {
        let r = export
            .rules
            .iter()
            .find(|r| &r.id == name || r.name.as_deref() == Some(name.as_str()))
            .ok_or_else(|| anyhow!("no detection `{name}` in the built-in pack"))?;
        match (args.format, &r.aql, &r.skipped) {
            (ExportFormat::Jsonl, _, _) => format!("{}\n", serde_json::to_string(r)?),
            (ExportFormat::Toml, _, _) => export.properties_toml(),
            (ExportFormat::Aql, Some(aql), _) => format!("{aql}\n"),
            (ExportFormat::Aql, None, reason) => bail!(
                "`{name}` is not exported: {}",
                reason.as_deref().unwrap_or("no reason")
            ),
        }
    } else {
        match args.format {
            ExportFormat::Aql => export.render_aql(),
            ExportFormat::Jsonl => export.render_jsonl(),
            ExportFormat::Toml => export.properties_toml(),
        }
    };
    let mut stdout = io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The built-in mapping (none with `stock`), with the file laid over it.
fn load_properties(path: Option<&PathBuf>, stock: bool) -> anyhow::Result<PropertyMap> {
    let mut props = if stock {
        PropertyMap::empty()
    } else {
        PropertyMap::default()
    };
    if let Some(p) = path {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("reading properties file {}", p.display()))?;
        props
            .merge_file_text(&text)
            .map_err(|e| anyhow!("properties file {}: {e}", p.display()))?;
    }
    Ok(props)
}

fn parse_window(s: &str) -> anyhow::Result<Option<i64>> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow!("--default-window `{s}`: expected <n>s|m|h|d or all"))?;
    let ms = match unit {
        "s" => 1_000,
        "m" | "" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("--default-window `{s}`: expected <n>s|m|h|d or all"),
    };
    Ok(Some(n.saturating_mul(ms)))
}

fn run_query(args: RunArgs) -> anyhow::Result<ExitCode> {
    let text = args.query.read()?;
    let query = match parse(&text) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("snapback: the query does not parse:\n{e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Err(e) = snapback_aql::check_runnable(&query) {
        eprintln!("snapback: the query cannot run offline:\n{e}");
        return Ok(ExitCode::from(2));
    }
    let properties = load_properties(args.properties.as_ref(), args.stock)?;
    let tz = jiff::tz::TimeZone::get(&args.tz).map_err(|e| anyhow!("--tz `{}`: {e}", args.tz))?;
    let now =
        match &args.now {
            Some(s) => Some(s.parse::<jiff::Timestamp>().map_err(|e| {
                anyhow!("--now `{s}`: {e} (give RFC 3339, e.g. 2026-11-20T12:00:00Z)")
            })?),
            None => None,
        };
    let precedence = match args.precedence {
        PrecedenceArg::Sql => Precedence::Sql,
        PrecedenceArg::LeftToRight => Precedence::LeftToRight,
    };
    if !args.quiet {
        let findings = lint_query(
            &query,
            &LintOptions {
                properties: properties.clone(),
            },
        );
        for d in findings.iter().filter(|d| d.severity >= Severity::Warning) {
            let first_line = d.message.lines().next().unwrap_or("");
            eprintln!(
                "snapback: {}:{}: {}[{}]: {first_line}",
                d.line, d.column, d.severity, d.code
            );
        }
        if findings.iter().any(|d| d.severity >= Severity::Warning) {
            eprintln!("snapback: (`snapback aql lint` shows each finding in full)");
        }
    }
    let options = RunOptions {
        precedence,
        now,
        tz,
        properties,
        default_window_ms: parse_window(&args.default_window)?,
    };
    let spill = args.spill.options();
    let mut runner = Runner::new(&query, options).with_spill(spill.clone());
    let window = args.window.window()?;
    let inputs = crate::inputs::parse(&args.paths, window)?;
    let quiet = args.quiet;
    let summary = read_inputs(
        &inputs,
        &IngestOptions {
            window,
            ..IngestOptions::default()
        },
        &mut |e| runner.push(e),
        &mut |d| {
            if !quiet {
                crate::terminal::diagnostic(d);
            }
        },
    );
    print_run(
        &args,
        runner,
        snapback_aql::column_names(&query),
        spill,
        &summary,
    )
}

/// Finish the run, printing its rows and its account.
fn print_run(
    args: &RunArgs,
    runner: Runner<'_>,
    columns: Vec<String>,
    spill: snapback_aql::SpillOptions,
    summary: &snapback_ingest::Summary,
) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failure: Option<io::Error> = None;
    let mut keep = |r: io::Result<()>| match r {
        Ok(()) => true,
        Err(e) => {
            failure = Some(e);
            false
        }
    };
    // A table needs every row for its widths: the rows wait (spooled beyond --sort-buffer)
    // and the run's account is printed first, as always. JSON lines and CSV rows leave as
    // they are made, and the account follows them.
    let mut table = None;
    let result = match args.format {
        RowFormat::Table => {
            let header = columns.iter().map(|c| text::terminal(c)).collect();
            let t = table.insert(TableOut::new(header, spill));
            runner.finish_with(&mut |row| {
                let cells = row.iter().map(|v| text::terminal(&cell_text(v))).collect();
                keep(t.row(cells).map_err(io::Error::other))
            })
        }
        RowFormat::Jsonl => {
            runner.finish_with(&mut |row| keep(write_jsonl_row(&mut out, &columns, &row)))
        }
        RowFormat::Csv => {
            let header: Vec<String> = columns.iter().map(|c| text::csv(c, true)).collect();
            keep(writeln!(out, "{}", header.join(",")));
            runner.finish_with(&mut |row| keep(write_csv_row(&mut out, &row)))
        }
    };
    if table.is_none() {
        if let Err(e) = out.flush() {
            failure.get_or_insert(e);
        }
    }
    report_run(args, summary, &result);
    if let Some(e) = &result.error {
        anyhow::bail!("aql run: {e} (set --temp-dir to a directory with room)");
    }
    let written = match table {
        Some(t) if failure.is_none() => t.write(&mut out).and_then(|_| out.flush()),
        _ => failure.map_or(Ok(()), Err),
    };
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}

/// The run's account on stderr: input summary, how the rows were obtained, --stock, values
/// that hit a limit.
fn report_run(args: &RunArgs, summary: &snapback_ingest::Summary, result: &ResultSet) {
    crate::terminal::summary(
        summary,
        IngestOptions::default().max_diagnostics_per_reason,
        false,
    );
    eprintln!("snapback: {}", describe_run(result));
    if args.stock {
        eprintln!(
            "snapback: --stock: run as a stock QRadar would, without snapback's built-in custom properties (NULL){}",
            if args.properties.is_some() {
                "; those of --properties kept"
            } else {
                ""
            }
        );
    }
    // Values that hit a limit became NULL: said even with --quiet, since rows are missing
    // something.
    for d in &result.diagnostics {
        eprintln!("snapback: {}", text::terminal(&d.to_string()));
    }
}

/// One line on how the rows were obtained: now and where it came from, the window, the
/// precedence, the counts.
fn describe_run(r: &ResultSet) -> String {
    let now_from = match r.now_source {
        NowSource::Given => "given with --now",
        NowSource::NewestEvent => "the newest event in the input; set --now to change it",
        NowSource::WallClock => "the clock: the input has no events",
    };
    let window = match r.window {
        Some((lo, hi)) => format!("starttime {} .. {} (inclusive)", ms_text(lo), ms_text(hi)),
        None => "no time window".to_string(),
    };
    let precedence = match r.precedence {
        Precedence::Sql => "sql (AND before OR)",
        Precedence::LeftToRight => "left-to-right",
    };
    format!(
        "now = {} ({now_from}); window {window}; precedence {precedence}; {} events read, {} matched, {} rows",
        r.now,
        r.events_read,
        r.events_matched,
        r.row_count
    )
}

fn ms_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One JSON object per row, keys in SELECT order.
fn write_jsonl_row(out: &mut impl Write, columns: &[String], row: &[Value]) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (name, v)) in columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, name)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, &v.to_json())?;
    }
    out.write_all(b"}\n")
}

/// RFC 4180 CSV (the header row is written first), each cell escaped by `text::csv` (log
/// fields are attacker-controlled: no control character, no formula).
fn write_csv_row(out: &mut impl Write, row: &[Value]) -> io::Result<()> {
    let cells: Vec<String> = row
        .iter()
        .map(|v| text::csv(&cell_text(v), matches!(v, Value::Str(_))))
        .collect();
    writeln!(out, "{}", cells.join(","))
}

fn lint(args: LintArgs) -> anyhow::Result<ExitCode> {
    let text = args.query.read()?;
    let properties = load_properties(args.properties.as_ref(), false)?;
    if let LintFormat::Toml = args.format {
        return lint_toml(&text, &properties);
    }
    let findings = snapback_aql::lint(&text, &LintOptions { properties });
    match args.format {
        LintFormat::Json => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            for d in &findings {
                serde_json::to_writer(&mut out, d)?;
                writeln!(out)?;
            }
        }
        LintFormat::Toml => {}
        LintFormat::Text => {
            for d in &findings {
                println!("{d}\n");
            }
            let count = |s: Severity| findings.iter().filter(|d| d.severity == s).count();
            eprintln!(
                "snapback: {} errors, {} warnings, {} notes",
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Note)
            );
        }
    }
    let worst = findings.iter().map(|d| d.severity).max();
    let failed = match worst {
        Some(Severity::Error) => true,
        Some(Severity::Warning) => args.strict,
        _ => false,
    };
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `aql lint --format toml`: the properties file of the query (exit 1 when it does not parse).
fn lint_toml(text: &str, properties: &PropertyMap) -> anyhow::Result<ExitCode> {
    let query = match parse(text) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("snapback: the query does not parse:\n{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let mut stdout = io::stdout().lock();
    stdout.write_all(snapback_aql::custom::properties_toml(&query, properties).as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window("5m").ok(), Some(Some(300_000)));
        assert_eq!(parse_window("60s").ok(), Some(Some(60_000)));
        assert_eq!(parse_window("all").ok(), Some(None));
        assert!(parse_window("5 weeks").is_err());
    }
}
