//! Output flags of `scan` (and `demo`): SIEM forwarding and the HTML report. Glue only; the
//! formats live in `snapback-output`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::ValueEnum;
use snapback_correlate::Alert;
use snapback_output::forward::Framing;
use snapback_output::{
    report, ForwardOptions, ForwardStats, Forwarder, LeefVersion, LineFormat, Scope, SiemFormat,
    SyslogFormat, Target, Transport,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForwardFormat {
    Leef,
    Cef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LeefVersionArg {
    #[value(name = "1")]
    V1,
    #[value(name = "2")]
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyslogFormatArg {
    Rfc5424,
    Rfc3164,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FramingArg {
    /// RFC 6587 octet counting: `LEN SP MSG` (rsyslog, syslog-ng).
    OctetCounting,
    /// One message per line, LF-terminated (what QRadar documents).
    Lf,
}

/// Where alerts go besides the terminal.
#[derive(clap::Args, Clone, Debug)]
pub struct OutputArgs {
    /// Forward each alert to a syslog receiver (QRadar, rsyslog, syslog-ng):
    /// syslog+tcp://HOST:PORT, syslog+udp://HOST:PORT or syslog+tls://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub forward: Option<String>,
    /// Format of forwarded alerts.
    #[arg(long, value_enum, default_value_t = ForwardFormat::Leef)]
    pub forward_format: ForwardFormat,
    /// CA certificates (PEM) to trust for syslog+tls:// (default: the system bundle).
    #[arg(long, value_name = "FILE")]
    pub forward_ca: Option<PathBuf>,
    /// How messages are delimited on TCP/TLS.
    #[arg(long, value_enum, default_value_t = FramingArg::OctetCounting)]
    pub forward_framing: FramingArg,
    /// Alerts kept in memory while the receiver is unreachable; when full, snapback stops with
    /// an error instead of dropping alerts.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub forward_buffer: usize,
    /// How long to keep retrying an unreachable receiver before failing, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub forward_retry_secs: u64,
    /// Exit 3 when the delivery of any forwarded alert is not confirmed (its connection was
    /// reset after the receiver's TCP acknowledged it, or the receiver did not close the stream
    /// when asked; over UDP, always). Without it, only a certain loss exits 3.
    #[arg(long)]
    pub forward_strict: bool,
    /// LEEF version for --format leef and --forward-format leef.
    #[arg(long, value_enum, default_value_t = LeefVersionArg::V2)]
    pub leef_version: LeefVersionArg,
    /// Syslog header of forwarded alerts.
    #[arg(long, value_enum, default_value_t = SyslogFormatArg::Rfc5424)]
    pub syslog_format: SyslogFormatArg,
    /// Write a self-contained HTML report (no network access needed to open it).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Pause after each forwarded alert, in milliseconds (for tests of receiver restarts).
    #[arg(long, hide = true, default_value_t = 0)]
    pub forward_pace_ms: u64,
}

impl OutputArgs {
    fn leef(&self) -> LeefVersion {
        match self.leef_version {
            LeefVersionArg::V1 => LeefVersion::V1,
            LeefVersionArg::V2 => LeefVersion::V2,
        }
    }
}

/// Write the HTML report of `--report`, if asked for.
pub fn write_report(args: &OutputArgs, alerts: &[&Alert], scope: &Scope) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        let page = report::render(alerts, scope);
        std::fs::write(path, page)
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    Ok(())
}

/// Forward the alerts, end the stream and say what became of them ([`finish_forward`]).
pub fn forward(f: &mut Forwarder, args: &OutputArgs, alerts: &[&Alert]) -> anyhow::Result<bool> {
    for a in alerts {
        f.send(a)?;
        if args.forward_pace_ms > 0 {
            std::thread::sleep(Duration::from_millis(args.forward_pace_ms));
        }
    }
    finish_forward(f, args, alerts.len() as u64)
}

/// End the stream of `f`, after `n` alerts, and say what the receiver can have got. An alert
/// that was not delivered is an error, never a silent drop; otherwise whether the outcome
/// fails the run: a certain loss (a refused UDP datagram), or with `--forward-strict` an
/// unconfirmed delivery (the caller exits `exit::UNDELIVERED`).
pub fn finish_forward(f: &mut Forwarder, args: &OutputArgs, n: u64) -> anyhow::Result<bool> {
    let stats = f.finish()?;
    say_delivery(f.target(), n, &stats, args.forward_strict);
    Ok(stats.certainly_lost() > 0 || (args.forward_strict && stats.unconfirmed > 0))
}

/// One line on what the receiver can have got, and what may be lost.
fn say_delivery(target: &Target, n: u64, s: &ForwardStats, strict: bool) {
    let resent = match (s.resent, s.resent_after_reset) {
        (0, _) => String::new(),
        (r, 0) => format!("; {r} written again after their connection died"),
        (r, d) => format!(
            "; {r} written again after their connection died ({d} after a reset, which the receiver may have read before it: they may arrive twice)"
        ),
    };
    if target.transport == Transport::Udp {
        let refused = match s.refused {
            0 => "no datagram refused".to_owned(),
            r => format!("{r} refused by the receiver's host (ICMP port unreachable): lost"),
        };
        eprintln!(
            "snapback: forwarded {n} alert(s) to {target}: UDP has no acknowledgement, so none is confirmed; {refused}"
        );
    } else {
        eprintln!(
            "snapback: forwarded {n} alert(s) to {target} over {} connection(s): {} confirmed read by the receiver, {} may be lost (acknowledged by its TCP, then the connection was reset or not closed){resent}",
            s.connects, s.confirmed, s.unconfirmed
        );
    }
    if s.unconfirmed > 0 && !strict && s.certainly_lost() == 0 {
        eprintln!("snapback: with --forward-strict, an unconfirmed delivery fails the run");
    }
}

/// The syslog forwarder `--forward` asks for, if any.
pub fn forwarder(args: &OutputArgs) -> anyhow::Result<Option<Forwarder>> {
    if let Some(url) = &args.forward {
        let target = Target::parse(url, args.forward_ca.clone())?;
        let opts = ForwardOptions {
            format: match args.forward_format {
                ForwardFormat::Leef => SiemFormat::Leef(args.leef()),
                ForwardFormat::Cef => SiemFormat::Cef,
            },
            syslog: match args.syslog_format {
                SyslogFormatArg::Rfc5424 => SyslogFormat::Rfc5424,
                SyslogFormatArg::Rfc3164 => SyslogFormat::Rfc3164,
            },
            framing: match args.forward_framing {
                FramingArg::OctetCounting => Framing::OctetCounting,
                FramingArg::Lf => Framing::Lf,
            },
            capacity: args.forward_buffer.max(1),
            retry_for: Duration::from_secs(args.forward_retry_secs),
            ..ForwardOptions::default()
        };
        return Ok(Some(Forwarder::new(target, opts)?));
    }
    Ok(None)
}

/// Write one `ocsf`, `leef` (LEEF 2.0), `leef1` or `cef` line per alert.
pub fn write_format(format: &str, alerts: &[&Alert], out: &mut dyn Write) -> anyhow::Result<()> {
    let Some(f) = LineFormat::parse(format) else {
        bail!("unknown output format {format:?}: expected ocsf, leef, leef1 or cef");
    };
    snapback_output::write_lines(f, alerts, out).context("writing alerts")
}

/// Like [`write_format`], honouring `--leef-version`.
pub fn write_format_with(
    args: &OutputArgs,
    format: &str,
    alerts: &[&Alert],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match (LineFormat::parse(format), args.leef_version) {
        (Some(LineFormat::Siem(SiemFormat::Leef(_))), v) => {
            let v = match v {
                LeefVersionArg::V1 => LeefVersion::V1,
                LeefVersionArg::V2 => LeefVersion::V2,
            };
            snapback_output::write_lines(LineFormat::Siem(SiemFormat::Leef(v)), alerts, out)
                .context("writing alerts")
        }
        _ => write_format(format, alerts, out),
    }
}
