//! What a pass did: one record per step, and the counts a person or a
//! script reads afterwards (`apply --report FILE`), and the forecast
//! beside what a run took ([`compare`]).

use crate::name::Name;
use crate::plan::forecast::Forecast;
use crate::provider::ProviderCounters;
use crate::render::forecast::{Actual, Comparison};
use serde::Serialize;

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    /// The operation was performed.
    Applied,
    /// The await's condition was observed.
    Satisfied,
    /// The effect already held in the latest observation; nothing was done.
    Skipped,
    /// The provider refused (a permanent error, or retries exhausted); the
    /// member's chain stopped here.
    Failed {
        /// What the provider said.
        reason: String,
    },
    /// The await's condition was not observed within the ack timeout; the
    /// member stays in its bridge and is pending.
    TimedOut,
    /// The step never started.
    NotStarted {
        /// Why: cancelled, a step it depends on did not finish, the window.
        reason: String,
    },
}

impl StepOutcome {
    /// True when later steps may rely on this one.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            StepOutcome::Applied | StepOutcome::Satisfied | StepOutcome::Skipped
        )
    }
}

/// One step's outcome, with times on the target's clock (virtual in the
/// simulator, wall time for real targets).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepRecord {
    /// The plan step's id.
    pub id: u32,
    /// Its action (`set_parents`, `await_connected`, ...).
    pub action: &'static str,
    /// The member or pool it is about.
    pub name: Name,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: StepOutcome,
    /// Seconds on the target's clock when it started.
    pub started: Option<f64>,
    /// Seconds on the target's clock when it ended.
    pub finished: Option<f64>,
    /// Provider calls it took (retries included); 0 for awaits and skips.
    pub attempts: u32,
}

/// What one pass over a plan did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EngineReport {
    /// One record per plan step, in plan order.
    pub steps: Vec<StepRecord>,
    /// Members (or pools) whose await timed out, sorted: they stay in their
    /// bridge, safe, and a later pass picks them up.
    pub pending: Vec<Name>,
    /// Members (or pools) that did not start because a change they wait for
    /// (another member's) timed out or failed, sorted: safe, not done.
    #[serde(default)]
    pub waiting: Vec<Name>,
    /// Members (or pools) whose chain stopped on a provider error, sorted.
    pub failed: Vec<Name>,
    /// Members this pass left in a bridge (pending, or interrupted by
    /// cancellation), sorted.
    pub in_bridge: Vec<Name>,
    /// True when the pass was cancelled before it finished.
    pub cancelled: bool,
    /// Members found already in a bridge when the pass started.
    pub found_in_flight: usize,
    /// The most members the executor held in its window at once.
    pub max_in_flight: usize,
    /// Operations performed (set_parents, retire_gateway, store_failover);
    /// awaits and skips not counted.
    pub steps_applied: u64,
    /// Awaits whose condition was observed.
    pub awaits_satisfied: u64,
    /// Steps skipped because their effect already held.
    pub skipped: u64,
    /// Provider `apply` calls, retries included.
    pub provider_calls: u64,
    /// Provider `observe` calls, retries included.
    pub observe_calls: u64,
    /// Calls repeated after a transient error.
    pub retries: u64,
    /// Provider processes started during the pass (an `exec:` target: one
    /// per call in protocol version 1, one per session in version 2).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub process_starts: u64,
    /// Version 2 provider sessions killed after a fault (a hang, garbage,
    /// an exit mid-session) and started again during the pass.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub session_restarts: u64,
    /// Members that got a bridge.
    pub bridged: u64,
    /// Members observed on their new primary (or gateways ready).
    pub acknowledged: u64,
    /// Bridged members that got their exact desired parents.
    pub pruned: u64,
    /// Members whose parents were written once, without a bridge.
    #[serde(default)]
    pub set_directly: u64,
    /// Seconds the pass took on the target's clock.
    pub clock_seconds: f64,
}

impl EngineReport {
    /// Steps with the given outcome kind, for summaries.
    pub fn count(&self, f: impl Fn(&StepOutcome) -> bool) -> usize {
        self.steps.iter().filter(|s| f(&s.outcome)).count()
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The forecast beside what the run took: `wall_seconds` measured by the
/// caller (the first observation and the run), the requests counted by
/// the executor plus the two whole observations around the pass, the
/// processes the provider started in the whole run.
pub fn compare(
    forecast: Forecast,
    wall_seconds: f64,
    e: &EngineReport,
    counters: ProviderCounters,
) -> Comparison {
    Comparison {
        forecast,
        actual: Actual {
            wall_seconds,
            clock_seconds: e.clock_seconds,
            apply_calls: e.provider_calls,
            observe_calls: e.observe_calls + 2,
            process_starts: counters.process_starts,
        },
    }
}
