//! `handover validate PATH...`: check desired-topology and observed-state
//! files without planning or applying anything.
//!
//! Each PATH is a file or a directory. A directory's `*.yaml`/`*.yml`
//! Topology documents merge into one topology; its Observed documents are
//! checked each on its own; its subdirectories are walked, each its own
//! unit. Topology files named directly on the command line merge into one
//! topology. Prints one `ok:` line per unit to stdout (a bare summary when
//! there is only one), or every problem to stderr as `file:line:column:
//! message`; exits 0 or 1. Warnings (an agent rule that an earlier rule
//! covers, so it never matches) go to stderr as `file:line:column:
//! warning: message` and do not change the exit code. With `--format json`
//! the same verdict is one JSON object on stdout and nothing on stderr
//! (docs/spec.md section 5).

use super::exit;
use clap::{Args as ClapArgs, ValueEnum};
use handover::diag::count;
use handover::diag::{Diagnostic, Diagnostics, Warning};
use handover::load;
use handover::model::{Observed, Topology};
use std::path::PathBuf;

/// Flags of `handover validate`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Topology or Observed files, or directories of `*.yaml`/`*.yml`
    /// (walked recursively; each directory is checked as one topology).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// `text` for people; `json` for scripts: one object on stdout (the
    /// units checked with their counts, every problem and warning with its
    /// file, line and column), nothing on stderr, the same exit code.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Output format of `validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `ok:` lines on stdout, problems on stderr.
    Text,
    /// One JSON object on stdout.
    Json,
}

/// What `validate --format json` prints: the verdict, each unit that
/// loaded with its counts, and every problem and warning.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    /// True when there is no problem (exit 0); warnings do not count.
    valid: bool,
    /// The units that loaded without a problem.
    units: &'a [UnitReport],
    /// Every problem, in the order the text output gives them.
    problems: Vec<JsonDiagnostic<'a>>,
    /// Every warning.
    warnings: Vec<JsonDiagnostic<'a>>,
}

/// One unit that loaded, for `--format json`.
#[derive(serde::Serialize)]
struct UnitReport {
    /// The directory, or the files named directly.
    path: String,
    /// The merged topology's counts, when the unit has topology files.
    #[serde(skip_serializing_if = "Option::is_none")]
    topology: Option<Counts>,
    /// Each observed-state file's counts.
    observed: Vec<Counts>,
}

/// How many of each thing a file or topology holds.
#[derive(serde::Serialize)]
struct Counts {
    /// The file (observed states only).
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    management_servers: usize,
    gateways: usize,
    agents: usize,
    /// Agent rules (topologies only).
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<usize>,
    /// Store pools (observed states with a store only).
    #[serde(skip_serializing_if = "Option::is_none")]
    store_pools: Option<usize>,
}

/// A problem or warning as JSON: its place (null for a whole path), what
/// is wrong, and what to do.
#[derive(serde::Serialize)]
struct JsonDiagnostic<'a> {
    file: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    message: &'a str,
    hint: Option<&'a str>,
}

impl<'a> From<&'a Diagnostic> for JsonDiagnostic<'a> {
    fn from(d: &'a Diagnostic) -> Self {
        JsonDiagnostic {
            file: d.pos.as_ref().map(|p| &*p.file),
            line: d.pos.as_ref().map(|p| p.line),
            column: d.pos.as_ref().map(|p| p.column),
            message: &d.message,
            hint: d.hint.as_deref(),
        }
    }
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    let (units, mut problems) = handover::run::units::units(&args.paths);
    let single = units.len() == 1;
    let mut lines = Vec::new();
    let mut reports = Vec::new();
    let mut warnings: Vec<Diagnostic> = Vec::new();
    for u in &units {
        let mut parts = Vec::new();
        let mut ok = true;
        let mut report = UnitReport {
            path: u.label.clone(),
            topology: None,
            observed: Vec::new(),
        };
        if !u.topology_files.is_empty() {
            match load::topology(&u.topology_files) {
                Ok(t) => {
                    warnings.extend(handover::validate::shadowed_rules(&t));
                    parts.push(topology_summary(
                        &t,
                        !single || !u.observed_files.is_empty(),
                    ));
                    report.topology = Some(Counts {
                        file: None,
                        management_servers: t.management_servers.len(),
                        gateways: t.gateways.len(),
                        agents: t.agents.len(),
                        rules: Some(t.agent_rules.len()),
                        store_pools: None,
                    });
                }
                Err(d) => {
                    ok = false;
                    problems.extend(d.0);
                }
            }
        }
        for f in &u.observed_files {
            match load::observed(f) {
                Ok(o) => {
                    let prefix = if u.observed_files.len() > 1 {
                        format!(
                            "observed {}",
                            f.file_name().unwrap_or_default().to_string_lossy()
                        )
                    } else {
                        "observed".to_string()
                    };
                    parts.push(format!("{prefix} {}", observed_summary(&o)));
                    report.observed.push(Counts {
                        file: Some(f.display().to_string()),
                        management_servers: o.management_servers.len(),
                        gateways: o.gateways.len(),
                        agents: o.agents.len(),
                        rules: None,
                        store_pools: o.management_store.as_ref().map(|s| s.pools.len()),
                    });
                }
                Err(d) => {
                    ok = false;
                    problems.extend(d.0);
                }
            }
        }
        if ok && !parts.is_empty() {
            reports.push(report);
            if single {
                lines.push(format!("ok: {}", parts.join("; ")));
            } else {
                lines.push(format!("ok: {}: {}", u.label, parts.join("; ")));
            }
        }
    }
    if units.is_empty() && problems.is_empty() {
        problems.push(Diagnostic::general(format!(
            "{}: no *.yaml or *.yml files found",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if args.format == Format::Json {
        let report = JsonReport {
            valid: problems.is_empty(),
            units: &reports,
            problems: problems.iter().map(JsonDiagnostic::from).collect(),
            warnings: warnings.iter().map(JsonDiagnostic::from).collect(),
        };
        let text = serde_json::to_string_pretty(&report).expect("plain data serialises");
        if !super::write_stdout(&format!("{text}\n")) {
            return exit::ERROR;
        }
        return if problems.is_empty() {
            exit::OK
        } else {
            exit::ERROR
        };
    }
    for w in &warnings {
        eprintln!("{}", Warning(w));
    }
    for l in &lines {
        println!("{l}");
    }
    if problems.is_empty() {
        exit::OK
    } else {
        eprintln!("{}", Diagnostics(problems));
        exit::ERROR
    }
}

/// `N management servers, N gateways, N agents`: the members every file
/// kind counts.
fn members(servers: usize, gateways: usize, agents: usize) -> String {
    format!(
        "{}, {}, {}",
        count(servers, "management server", "management servers"),
        count(gateways, "gateway", "gateways"),
        count(agents, "agent", "agents"),
    )
}

/// A topology's counts, with `topology ` before them when `labelled`.
fn topology_summary(t: &Topology, labelled: bool) -> String {
    let s = format!(
        "{}, {}",
        members(t.management_servers.len(), t.gateways.len(), t.agents.len()),
        count(t.agent_rules.len(), "rule", "rules"),
    );
    if labelled { format!("topology {s}") } else { s }
}

/// An observed state's counts, with its store pools when it has a store.
fn observed_summary(o: &Observed) -> String {
    let mut s = members(o.management_servers.len(), o.gateways.len(), o.agents.len());
    if let Some(store) = &o.management_store {
        s.push_str(&format!(
            ", {}",
            count(store.pools.len(), "store pool", "store pools")
        ));
    }
    s
}
