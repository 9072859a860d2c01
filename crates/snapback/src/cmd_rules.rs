//! `snapback rules list | lint`: what rules are loaded, and what is wrong with a rule folder.

use std::path::PathBuf;
use std::process::ExitCode;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use snapback_rules::{LoadProblem, RuleSet};

#[derive(clap::Subcommand)]
pub enum RulesCommand {
    /// List the built-in rules and those of `--rules` folders: id, kind, role, level, risk,
    /// title and origin; then every rule that did not load, with its reason.
    List {
        /// Folder (or file) of additional Sigma rules; may be repeated.
        #[arg(long, value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Check a folder of Sigma rules (default: the built-in pack) and report, for each
    /// broken rule, the file, the line and what is wrong. Exits 1 when anything is wrong.
    Lint {
        /// Folder or file to check; the built-in pack is loaded too, so rules may reference it.
        dir: Option<PathBuf>,
    },
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::List { rules } => list(&rules),
        RulesCommand::Lint { dir } => lint(dir),
    }
}

fn list(dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let set = RuleSet::load(true, dirs);
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(["id", "kind", "role", "level", "risk", "title", "origin"]);
    for d in &set.detections {
        table.add_row([
            d.id.clone(),
            "detection".into(),
            d.meta.role.as_str().into(),
            d.level.as_str().into(),
            d.meta.risk.to_string(),
            d.title.clone(),
            d.origin.clone(),
        ]);
    }
    for c in &set.correlations {
        table.add_row([
            c.id.clone(),
            format!("correlation ({})", c.kind.as_str()),
            c.meta.role.as_str().into(),
            c.level.as_str().into(),
            c.meta.risk.to_string(),
            c.title.clone(),
            c.origin.clone(),
        ]);
    }
    for f in &set.filters {
        table.add_row([
            f.id.clone(),
            "filter".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            f.title.clone(),
            f.origin.clone(),
        ]);
    }
    println!("{table}");
    println!(
        "{} detections, {} correlations, {} filters loaded; {} problems",
        set.detections.len(),
        set.correlations.len(),
        set.filters.len(),
        set.problems.len()
    );
    print_problems(&set.problems);
    Ok(ExitCode::SUCCESS)
}

fn lint(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    if let Some(d) = &dir {
        anyhow::ensure!(d.exists(), "{} does not exist", d.display());
    }
    let problems = RuleSet::lint(dir.as_deref());
    let what = dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "the built-in pack".into());
    if problems.is_empty() {
        println!("{what}: no problems");
        return Ok(ExitCode::SUCCESS);
    }
    print_problems(&problems);
    eprintln!("{what}: {} problem(s)", problems.len());
    Ok(ExitCode::from(crate::exit::PROBLEMS))
}

fn print_problems(problems: &[LoadProblem]) {
    // `file:line [rule]: message`, the shape editors and CI annotations understand.
    for p in problems {
        println!("{}", snapback_output::text::terminal(&p.to_string()));
    }
}
