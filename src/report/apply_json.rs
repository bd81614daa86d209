//! `apply --format json`: the one JSON document `apply` prints on stdout
//! when it ends, for scripts (its schema is in docs/spec.md section 5).
//!
//! Owns the document's shape ([`ApplyDoc`]) and how an apply's outcome
//! fills it: the verdict and exit code, the plan's counts, what was
//! applied, the members by outcome, each failure with its kind and
//! reason, session restarts, the revision and digest, and how long it took.
//! Pure; must not print.

use super::failures::{self, Failure};
use super::run::RunReport;
use crate::execute::StepOutcome;
use crate::plan::{Counts, Plan};
use serde::Serialize;

/// The version of [`ApplyDoc`]'s shape; raised when a field changes
/// meaning or goes away (new fields do not raise it).
pub const FORMAT: u32 = 1;

/// The document.
#[derive(Clone, Debug, Serialize)]
pub struct ApplyDoc {
    /// [`FORMAT`].
    pub format: u32,
    /// `converged`, `not_converged`, `interrupted`, `stranded`, `declined`
    /// (the question was answered with something other than `yes`) or
    /// `error` (stopped before anything was applied; see `error`).
    pub verdict: String,
    /// The exit code `apply` exits with.
    pub exit_code: u8,
    /// Why it stopped, for `verdict: error`; otherwise absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The target as given.
    pub target: String,
    /// The run's id in the journal and `handover history`; null when
    /// nothing was applied.
    pub run: Option<String>,
    /// The desired revision (`files:…` or `plan:…`); null on an error
    /// before the plan.
    pub revision: Option<String>,
    /// The observed digest the plan was made from (or checked against).
    pub observed_digest: Option<String>,
    /// The git commit of the desired files, when known.
    pub commit: Option<String>,
    /// Wall-clock seconds from taking the lock to the end.
    pub duration_seconds: f64,
    /// Seconds on the target's clock the run took (virtual for `sim:`).
    pub target_clock_seconds: f64,
    /// What the plan asked for, in the words of the plan's summary line.
    pub plan: Counts,
    /// What was applied, adding up: `operations = bridges + prunes +
    /// set_directly + retirements + failovers`.
    pub applied: Applied,
    /// How many members ended in each outcome.
    pub counts: OutcomeCounts,
    /// The members (or pools) by outcome, sorted.
    pub members: Members,
    /// Each failed member, in plan order, with what kind of failure it was
    /// (`refused`, `timed_out`, `provider_error`, `stopped`) and the
    /// provider's (or the check's) words.
    pub failures: Vec<Failure>,
    /// Provider calls, retries included.
    pub provider_calls: u64,
    /// Provider processes started (`exec:`).
    pub process_starts: u64,
    /// Provider sessions killed after a fault and started again.
    pub session_restarts: u64,
    /// Members still differing from the desired topology at the end,
    /// although nothing was left behind (run apply again).
    pub still_differ: u64,
    /// Errors after the run (the target or the report could not be
    /// written); they make the exit code 1.
    pub errors: Vec<String>,
    /// Under `policy.rollout`, what the rollout did in this run: the
    /// shape of `simulate --format json`'s `rollout` (steps, onFailure,
    /// timeline, last), times in seconds since the apply began
    /// (docs/rollouts.md). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<serde_json::Value>,
}

/// What was applied.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Applied {
    /// Operations performed.
    pub operations: u64,
    /// Bridges written.
    pub bridges: u64,
    /// Prunes written.
    pub prunes: u64,
    /// Members whose parents were written once, without a bridge.
    pub set_directly: u64,
    /// Gateways retired.
    pub retirements: u64,
    /// Central Management Store failovers.
    pub failovers: u64,
    /// Operations not sent because their effect already held.
    pub skipped: u64,
    /// Waits whose condition was observed.
    pub waits_met: u64,
    /// Members observed on their new primary (or gateways ready).
    pub acknowledged: u64,
}

/// Members by outcome, counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OutcomeCounts {
    /// Timed out waiting to connect; safe in their bridge.
    pub pending: u64,
    /// Not started: a change they wait for did not finish.
    pub waiting: u64,
    /// Their chain stopped on a failure.
    pub failed: u64,
    /// Blocked by the plan.
    pub blocked: u64,
    /// Stranded (a safety violation).
    pub stranded: u64,
}

/// Members by outcome, named.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Members {
    /// See [`OutcomeCounts::pending`].
    pub pending: Vec<String>,
    /// See [`OutcomeCounts::waiting`].
    pub waiting: Vec<String>,
    /// See [`OutcomeCounts::failed`].
    pub failed: Vec<String>,
    /// Blocked changes, each with its reason.
    pub blocked: Vec<String>,
    /// See [`OutcomeCounts::stranded`].
    pub stranded: Vec<String>,
}

/// How an apply ended, as far as the document needs to know.
#[derive(Clone, Copy, Debug)]
pub enum End<'a> {
    /// It ran: its report, and members still differing.
    Ran(&'a RunReport, usize),
    /// The plan had no step.
    NothingToApply,
    /// The person did not approve.
    Declined,
    /// A change window or the approval gate refused it (docs/gates.md).
    Gated,
}

/// The document of an apply of `plan` to `target` that ended as `end`
/// with exit code `code`.
pub struct Input<'a> {
    /// The target as given.
    pub target: &'a str,
    /// The plan shown (and applied).
    pub plan: &'a Plan,
    /// The desired revision.
    pub revision: &'a str,
    /// How it ended.
    pub end: End<'a>,
    /// The exit code.
    pub code: u8,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Errors after the run.
    pub errors: Vec<String>,
    /// The git commit of the desired files, when known.
    pub commit: Option<String>,
    /// The rollout's object, under `policy.rollout`.
    pub rollout: Option<serde_json::Value>,
}

/// The document of an apply that stopped before the plan, with `message`.
pub fn error(target: &str, message: &str, code: u8) -> ApplyDoc {
    ApplyDoc {
        format: FORMAT,
        verdict: "error".into(),
        exit_code: code,
        error: Some(message.trim_start_matches("error: ").to_string()),
        target: target.to_string(),
        run: None,
        revision: None,
        observed_digest: None,
        commit: None,
        duration_seconds: 0.0,
        target_clock_seconds: 0.0,
        plan: Counts::default(),
        applied: Applied::default(),
        counts: OutcomeCounts::default(),
        members: Members::default(),
        failures: Vec::new(),
        provider_calls: 0,
        process_starts: 0,
        session_restarts: 0,
        still_differ: 0,
        errors: Vec::new(),
        rollout: None,
    }
}

/// The document of an apply that got as far as a plan.
pub fn document(i: Input<'_>) -> ApplyDoc {
    let blocked: Vec<String> = i
        .plan
        .blocked
        .iter()
        .map(|b| format!("{}: {}", b.name, b.reason))
        .collect();
    let mut doc = ApplyDoc {
        format: FORMAT,
        verdict: String::new(),
        exit_code: i.code,
        error: None,
        target: i.target.to_string(),
        run: None,
        revision: Some(i.revision.to_string()),
        observed_digest: i.plan.observed_digest.clone(),
        commit: i.commit.filter(|c| !c.is_empty()),
        duration_seconds: i.seconds,
        target_clock_seconds: 0.0,
        plan: Counts::of(i.plan),
        applied: Applied::default(),
        counts: OutcomeCounts {
            blocked: blocked.len() as u64,
            ..Default::default()
        },
        members: Members {
            blocked,
            ..Default::default()
        },
        failures: Vec::new(),
        provider_calls: 0,
        process_starts: 0,
        session_restarts: 0,
        still_differ: 0,
        errors: i.errors,
        rollout: i.rollout,
    };
    match i.end {
        End::NothingToApply => {
            doc.verdict = if i.plan.blocked.is_empty() {
                "converged"
            } else {
                "not_converged"
            }
            .into();
        }
        End::Declined => doc.verdict = "declined".into(),
        End::Gated => doc.verdict = "gated".into(),
        End::Ran(r, still_differ) => {
            let e = &r.execution;
            let applied_of = |action: &str| {
                e.steps
                    .iter()
                    .filter(|s| matches!(s.outcome, StepOutcome::Applied) && s.action == action)
                    .count() as u64
            };
            let names = |v: &[crate::name::Name]| v.iter().map(|n| n.to_string()).collect();
            doc.verdict = r.outcome.clone();
            doc.run = Some(r.run.clone());
            doc.target_clock_seconds = e.clock_seconds;
            doc.applied = Applied {
                operations: e.steps_applied,
                bridges: e.bridged,
                prunes: e.pruned,
                set_directly: e.set_directly,
                retirements: applied_of("retire_gateway"),
                failovers: applied_of("store_failover"),
                skipped: e.skipped,
                waits_met: e.awaits_satisfied,
                acknowledged: e.acknowledged,
            };
            doc.members.pending = names(&e.pending);
            doc.members.waiting = names(&e.waiting);
            doc.members.failed = names(&e.failed);
            doc.members.stranded = r.stranded.clone();
            doc.counts.pending = e.pending.len() as u64;
            doc.counts.waiting = e.waiting.len() as u64;
            doc.counts.failed = e.failed.len() as u64;
            doc.counts.stranded = r.stranded.len() as u64;
            doc.failures = failures::failures(e);
            doc.provider_calls = e.provider_calls;
            doc.process_starts = e.process_starts;
            doc.session_restarts = e.session_restarts;
            doc.still_differ = still_differ as u64;
        }
    }
    doc
}

/// The document as one line of JSON and a newline.
pub fn to_json(doc: &ApplyDoc) -> String {
    let mut s = serde_json::to_string(doc).expect("the document always serialises");
    s.push('\n');
    s
}
