//! `apply --report FILE`: what a run did, step by step, with times and
//! outcomes, as JSON or Markdown (by the file's extension). The seeds'
//! `-Report`.
//!
//! Owns the run metadata around the executor's [`EngineReport`], its
//! Markdown rendering, the closing lines `apply` prints ([`summary`]), and
//! the closing line on the forecast against what the run took
//! ([`forecast_line`]; the comparison is [`crate::execute::compare`]).
//! Pure; the CLI writes the file and prints.

use crate::diag::{count, thousands};
use crate::execute::{EngineReport, StepOutcome};
use crate::plan::{Counts, Plan};
use crate::render::forecast::Comparison;
use crate::run::apply::{RunInfo, RunResult};
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
    /// What the plan asked for, in the words of [`Counts`] (members to
    /// change, operations and waits), to read `execution`'s counts against.
    pub planned: Counts,
    /// The executor's report: one record per step, then the counts.
    pub execution: EngineReport,
    /// The forecast made before the run and what the run took (set by
    /// the caller with [`crate::execute::compare`]); absent when none was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Comparison>,
}

impl RunReport {
    /// The report of a run `info` that started at `started` and finished
    /// at `finished` (RFC 3339), applying `plan`, with `result`.
    pub fn new(
        info: &RunInfo,
        started: String,
        finished: String,
        plan: &Plan,
        result: &RunResult,
    ) -> RunReport {
        RunReport {
            run: info.run.clone(),
            command: info.command.clone(),
            target: info.target.clone(),
            revision: info.revision.clone(),
            started,
            finished,
            outcome: result.outcome.as_str().to_string(),
            exit_code: result.outcome.exit_code(),
            blocked: plan
                .blocked
                .iter()
                .map(|b| format!("{} {}: {}", kind_word(b.kind), b.name, b.reason))
                .collect(),
            stranded: result.stranded.iter().map(|n| n.to_string()).collect(),
            planned: Counts::of(plan),
            execution: result.report.clone(),
            forecast: None,
        }
    }
}

/// The closing line on the forecast, for stdout after [`summary`]; empty
/// when the report has no forecast.
pub fn forecast_line(r: &RunReport) -> String {
    r.forecast
        .as_ref()
        .map(crate::render::forecast::comparison)
        .unwrap_or_default()
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
        (
            "Members to change / operations / waits planned",
            format!(
                "{} / {} / {}",
                thousands(r.planned.members),
                thousands(r.planned.operations),
                thousands(r.planned.waits)
            ),
        ),
        ("Operations applied", thousands(e.steps_applied)),
        (
            "Bridges / prunes / set directly",
            format!(
                "{} / {} / {}",
                thousands(e.bridged),
                thousands(e.pruned),
                thousands(e.set_directly)
            ),
        ),
        ("Members acknowledged", thousands(e.acknowledged)),
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
    if let Some(c) = &r.forecast {
        let (f, a) = (&c.forecast, &c.actual);
        let d = crate::render::forecast::duration;
        for (k, actual, forecast) in [
            ("Wall time", d(a.wall_seconds), d(f.wall_seconds)),
            (
                "Apply requests",
                a.apply_calls.to_string(),
                f.apply_calls.to_string(),
            ),
            (
                "Observe requests",
                a.observe_calls.to_string(),
                f.observe_calls.to_string(),
            ),
            (
                "Provider processes started",
                a.process_starts.to_string(),
                f.process_starts.to_string(),
            ),
        ] {
            let _ = writeln!(out, "| {k}: taken / forecast | {actual} / {forecast} |");
        }
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

fn kind_word(k: crate::plan::BlockedKind) -> &'static str {
    match k {
        crate::plan::BlockedKind::Gateway => "gateway",
        crate::plan::BlockedKind::Agent => "agent",
        crate::plan::BlockedKind::Store => "Central Management Store in pool",
    }
}

/// The question `apply` asks before it changes anything, in the words of
/// the plan's summary line.
pub fn question(plan: &Plan, target: &str) -> String {
    let c = Counts::of(plan);
    format!(
        "\nApply this plan to {target}: {}, in {} ({}, {})?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
        count(c.members, "member to change", "members to change"),
        count(c.steps, "step", "steps"),
        count(c.operations, "operation", "operations"),
        count(c.waits, "wait", "waits"),
    )
}

/// Operations applied of a kind (`retire_gateway`, `store_failover`).
fn applied(e: &EngineReport, action: &str) -> u64 {
    e.steps
        .iter()
        .filter(|s| matches!(s.outcome, StepOutcome::Applied) && s.action == action)
        .count() as u64
}

/// The line that says what was applied, in the plan's words, adding up:
/// operations applied = bridges + prunes + set directly + retirements +
/// failovers.
pub fn applied_line(r: &RunReport) -> String {
    let e = &r.execution;
    let p = &r.planned;
    let mut line = format!(
        "Applied {} of {} {}: {} {}, {} {}, {} set directly",
        thousands(e.steps_applied),
        thousands(p.operations),
        if p.operations == 1 {
            "operation"
        } else {
            "operations"
        },
        thousands(e.bridged),
        if e.bridged == 1 { "bridge" } else { "bridges" },
        thousands(e.pruned),
        if e.pruned == 1 { "prune" } else { "prunes" },
        thousands(e.set_directly),
    );
    let retired = applied(e, "retire_gateway");
    if p.retirements > 0 {
        let _ = write!(line, ", {} retired", count(retired, "gateway", "gateways"));
    }
    let failovers = applied(e, "store_failover");
    if p.failovers > 0 {
        let _ = write!(
            line,
            ", {}",
            count(failovers, "store failover", "store failovers")
        );
    }
    let _ = write!(line, "; {} skipped (already held).", thousands(e.skipped));
    line
}

/// The closing lines on stdout. `report` is the `--report` file, when one
/// was written (failures are explained on stderr, see [`super::failures`]).
pub fn summary(r: &RunReport, still_differs: usize, report: Option<&str>) -> String {
    use std::fmt::Write as _;
    let e = &r.execution;
    let mut out = String::new();
    let verdict = match r.outcome.as_str() {
        "converged" => "Converged: the target equals the desired topology.",
        "interrupted" => {
            "Interrupted: stopped before the end; every member is safe. Run the same apply again to carry on."
        }
        "stranded" => "SAFETY VIOLATION: members are stranded (see below).",
        _ => "Finished without converging; every member is safe.",
    };
    let _ = writeln!(out, "\n{verdict}");
    let _ = writeln!(out, "{}", applied_line(r));
    let _ = writeln!(
        out,
        "Waited for {} of {} ({} acknowledged); {} s on the target's clock.",
        thousands(e.awaits_satisfied),
        count(r.planned.waits, "wait", "waits"),
        count(e.acknowledged, "member", "members"),
        thousands(e.clock_seconds.max(0.0).round() as u64)
    );
    if e.session_restarts > 0 {
        let _ = writeln!(
            out,
            "The provider's session was killed and restarted {} after a hang, garbage or an exit; handover observed again before going on.",
            count(e.session_restarts, "time", "times")
        );
    }
    let list = |out: &mut String, what: &str, names: &[String]| {
        if names.is_empty() {
            return;
        }
        let shown: Vec<&str> = names.iter().take(10).map(|s| s.as_str()).collect();
        let more = if names.len() > 10 {
            format!(" and {} more", thousands(names.len() - 10))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{what} ({}): {}{more}",
            thousands(names.len()),
            shown.join(", ")
        );
    };
    let names = |v: &[crate::name::Name]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    list(
        &mut out,
        "Pending, in their bridge (run apply again later)",
        &names(&e.pending),
    );
    list(
        &mut out,
        "Waiting (did not start: a change they wait for did not finish)",
        &names(&e.waiting),
    );
    let failed_what = match report {
        Some(path) => format!("Failed (why: above on stderr, and in the report {path})"),
        None => "Failed (why: above on stderr)".to_string(),
    };
    list(&mut out, &failed_what, &names(&e.failed));
    list(&mut out, "Blocked", &r.blocked);
    list(&mut out, "Stranded", &r.stranded);
    if still_differs > 0
        && e.pending.is_empty()
        && e.waiting.is_empty()
        && e.failed.is_empty()
        && r.blocked.is_empty()
    {
        let _ = writeln!(
            out,
            "{} still differ from the desired topology; run apply again.",
            count(still_differs, "member", "members")
        );
    }
    out
}
