//! `apply --report FILE`: what a run did, step by step, with times and
//! outcomes, as JSON or Markdown (by the file's extension). The seeds'
//! `-Report`.
//!
//! Owns the run metadata around the executor's [`ExecReport`] and its
//! Markdown rendering. Pure; the CLI writes the file.

use crate::execute::{ExecReport, StepOutcome};
use serde::Serialize;
use std::fmt::Write;

/// A whole run: who, what, when, and the executor's report.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The run's id (as in the journal and `handover history`).
    pub run: String,
    /// `apply`.
    pub command: String,
    /// The target, as given.
    pub target: String,
    /// The desired revision (a digest of the desired files, or of the plan).
    pub revision: String,
    /// When the run started, RFC 3339.
    pub started: String,
    /// When it finished, RFC 3339.
    pub finished: String,
    /// `converged`, `not_converged`, `interrupted`, `stranded`.
    pub outcome: String,
    /// The exit code.
    pub exit_code: u8,
    /// Changes the plan could not start, with the reason.
    pub blocked: Vec<String>,
    /// Members stranded at the end (the target's own account; always empty
    /// unless something is badly wrong).
    pub stranded: Vec<String>,
    /// The executor's report: one record per step, then the counts.
    pub execution: ExecReport,
}

/// The report as pretty JSON, ending with a newline.
pub fn json(r: &RunReport) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("a report always serialises");
    s.push('\n');
    s
}

fn outcome_text(o: &StepOutcome) -> (&'static str, String) {
    match o {
        StepOutcome::Applied => ("applied", String::new()),
        StepOutcome::Satisfied => ("satisfied", String::new()),
        StepOutcome::Skipped => ("skipped", "already held".into()),
        StepOutcome::Failed { reason } => ("**failed**", reason.clone()),
        StepOutcome::TimedOut => ("timed out", "stays in its bridge (pending)".into()),
        StepOutcome::NotStarted { reason } => ("not started", reason.clone()),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn secs(t: Option<f64>) -> String {
    t.map(|t| format!("{t:.1}")).unwrap_or_default()
}

/// The report as Markdown: a summary table, then one row per step.
pub fn markdown(r: &RunReport) -> String {
    let e = &r.execution;
    let mut out = String::new();
    let _ = writeln!(out, "# handover apply: {}\n", r.outcome.replace('_', " "));
    let _ = writeln!(out, "| | |\n|---|---|");
    for (k, v) in [
        ("Run", r.run.clone()),
        ("Target", format!("`{}`", r.target)),
        ("Revision", format!("`{}`", r.revision)),
        ("Started", r.started.clone()),
        ("Finished", r.finished.clone()),
        ("Exit code", r.exit_code.to_string()),
        ("Operations applied", e.steps_applied.to_string()),
        (
            "Bridged / acknowledged / pruned",
            format!("{} / {} / {}", e.bridged, e.acknowledged, e.pruned),
        ),
        ("Skipped (already held)", e.skipped.to_string()),
        (
            "Pending (in their bridge, safe)",
            e.pending.len().to_string(),
        ),
        ("Failed", e.failed.len().to_string()),
        ("Blocked", r.blocked.len().to_string()),
        ("Stranded", r.stranded.len().to_string()),
        (
            "Most members in a bridge at once",
            e.max_in_flight.to_string(),
        ),
        (
            "Provider calls (apply / observe / retries)",
            format!("{} / {} / {}", e.provider_calls, e.observe_calls, e.retries),
        ),
        (
            "Provider processes started / session restarts",
            format!("{} / {}", e.process_starts, e.session_restarts),
        ),
        ("Target clock, seconds", format!("{:.1}", e.clock_seconds)),
        (
            "Interrupted",
            if e.cancelled {
                "yes".into()
            } else {
                "no".into()
            },
        ),
    ] {
        let _ = writeln!(out, "| {k} | {} |", cell(&v));
    }
    for (title, list) in [
        (
            "Pending",
            e.pending.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        ),
        ("Failed", e.failed.iter().map(|n| n.to_string()).collect()),
        ("Blocked", r.blocked.clone()),
        ("Stranded", r.stranded.clone()),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "\n## {title}\n");
            for l in list {
                let _ = writeln!(out, "- {}", cell(&l));
            }
        }
    }
    let _ = writeln!(
        out,
        "\n## Steps\n\nTimes are seconds on the target's clock (virtual time for a `sim:` target).\n"
    );
    let _ = writeln!(
        out,
        "| Step | Action | Member | Outcome | Started | Finished | Attempts | Note |"
    );
    let _ = writeln!(out, "|---:|---|---|---|---:|---:|---:|---|");
    for s in &e.steps {
        let (o, note) = outcome_text(&s.outcome);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {o} | {} | {} | {} | {} |",
            s.id,
            s.action,
            s.name,
            secs(s.started),
            secs(s.finished),
            s.attempts,
            cell(&note)
        );
    }
    out
}
