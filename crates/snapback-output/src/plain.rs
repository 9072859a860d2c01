//! The two formats of the command line itself: JSON lines (one alert per line, the `Alert`
//! serialised; `--format jsonl`, `watch --out`) and the terminal table (`--format table`),
//! every attacker-written field escaped for the terminal ([`crate::text::terminal`]).

use std::io::{self, Write};

use snapback_model::Alert;

/// One alert per line, as JSON.
pub fn write_jsonl(out: &mut impl Write, alerts: &[&Alert]) -> io::Result<()> {
    for a in alerts {
        serde_json::to_writer(&mut *out, a)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The terminal table: a block per alert, its evidence, why it scored, what to check next.
/// One alert revision as a JSON line (without the newline): the alert as `write_jsonl`
/// writes it, with `"revision"` first when it is above 1 (revision 1 is written as `scan`
/// writes the alert), and `"changed"`: the event ids of the evidence that revision adds.
pub fn revision_json(alert: &Alert, revision: u32, changed: &[String]) -> io::Result<String> {
    let json = serde_json::to_string(alert).map_err(io::Error::other)?;
    if revision <= 1 {
        return Ok(json);
    }
    let changed = serde_json::Value::from(changed.to_vec());
    Ok(format!(
        "{{\"revision\":{revision},\"changed\":{changed},{}",
        &json[1..]
    ))
}

/// The JSON line (without the newline) that retracts an alert: it was merged into a
/// higher-ranked alert, or is no longer found, before it was final.
pub fn retraction_json(alert_id: &str, revision: u32) -> String {
    format!(
        "{{\"revision\":{revision},\"alert_id\":{},\"retracted\":true}}",
        serde_json::Value::from(alert_id)
    )
}

pub fn write_table(out: &mut impl Write, alerts: &[&Alert]) -> io::Result<()> {
    if alerts.is_empty() {
        return writeln!(out, "No alerts.");
    }
    for a in alerts {
        let t = |s: &str| crate::text::terminal(s);
        let status = match &a.suppressed {
            Some(s) => format!("  [SUPPRESSED by {}: {}]", t(&s.by), t(&s.reason)),
            None => String::new(),
        };
        writeln!(
            out,
            "{:>3} {:<13} {}{}",
            a.risk_score,
            a.severity.as_str().to_uppercase(),
            t(&a.title),
            status
        )?;
        writeln!(
            out,
            "    {} {} {}  actor {}  {} → {}  id {}",
            a.cloud,
            t(&a.account),
            t(&a.region),
            t(&a.actor),
            a.first_seen,
            a.last_seen,
            a.alert_id
        )?;
        let entities: Vec<String> = a
            .entities
            .iter()
            .map(|e| format!("{}:{}", e.kind.as_str(), t(&e.id)))
            .collect();
        writeln!(out, "    entities: {}", entities.join(" "))?;
        for ev in &a.evidence {
            writeln!(
                out,
                "    {:<12} {}  {:<40} {:<10} {}@{}",
                format!("{:?}", ev.role).to_lowercase(),
                ev.time,
                t(&ev.operation),
                ev.outcome.label(),
                t(&ev.file),
                ev.offset
            )?;
        }
        for r in &a.risk_reasons {
            writeln!(out, "    why: {}", t(r))?;
        }
        if let Some(first) = a.guide.check.first() {
            writeln!(out, "    next: {}", t(first))?;
        }
        writeln!(out)?;
    }
    Ok(())
}
