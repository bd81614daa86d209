//! The rehearsal / reconcile cycle: observe everything, plan with a
//! strategy, apply the plan with [`apply_plan`], and repeat until the plan
//! is empty, or until nothing progresses any more (waiting first for the
//! target's scheduled events, such as the simulator's faults).
//!
//! Owns the stop rule, the bound on passes, and the final verdict
//! (converged, stranded, pending, blocked) of docs/spec.md section 5. Must not plan
//! (the strategy is a parameter) and must not print.

use super::classify::{Classification, classify};
use super::engine::apply_plan;
use super::meter::Meter;
use super::options::EngineOptions;
use super::progress::{Progress, ProgressEvent};
use super::retry::{self, Calls};
use crate::model::{Observed, Topology};
use crate::name::Name;
use crate::plan::Plan;
use crate::provider::{Clock, Inspect, Provider, ProviderError, Schedule, Scope};
use crate::verdict::Verdict;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;
use tracing::Instrument;

/// How a rehearsal or reconcile cycle runs.
#[derive(Clone, Debug)]
pub struct ConvergeOptions {
    /// How each pass applies its plan.
    pub exec: EngineOptions,
    /// Passes at most.
    pub max_passes: u32,
    /// How long the observed state must stay unchanged, with nothing
    /// applied, before the cycle decides nothing can progress.
    pub settle: Duration,
}

impl Default for ConvergeOptions {
    fn default() -> Self {
        ConvergeOptions {
            exec: EngineOptions::default(),
            max_passes: 1000,
            settle: Duration::from_secs(300),
        }
    }
}

/// Why the cycle stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "stop", content = "detail", rename_all = "snake_case")]
pub enum StopReason {
    /// The plan was empty and the estate converged.
    Converged,
    /// Nothing was applied and nothing changed for the settle time, and no
    /// event was scheduled.
    NoProgress,
    /// The pass bound was reached.
    PassLimit,
    /// The cancel flag was set.
    Cancelled,
    /// The target could not be observed.
    ProviderError(String),
}

/// What a rehearsal (or a reconcile cycle) ended with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RehearsalReport {
    /// docs/spec.md section 5: every managed member has exactly its desired parents
    /// and talks to its desired primary unless that is down; nothing is
    /// pending, blocked or stranded; the store, if managed, is in its pool.
    pub converged: bool,
    /// Members no configuration can reach any more (from the target).
    pub stranded: Vec<Name>,
    /// Members that were stranded at any instant of the run, even if
    /// something healed them later (a superset of `stranded`; from the
    /// target). Any entry is a safety violation: exit 4.
    pub stranded_ever: Vec<Name>,
    /// Members left in a bridge, waiting for acknowledgment, and members
    /// that could not start because a change they wait for did not finish
    /// (safe, not done).
    pub pending: Vec<Name>,
    /// The part of `pending` that never started: it waits for another
    /// member's change that timed out or failed.
    pub waiting: Vec<Name>,
    /// Members (and the store, by its desired pool) whose change the last
    /// plan blocked, one entry each.
    pub blocked: Vec<Name>,
    /// Members whose chain stopped on a provider error in some pass.
    pub failed: Vec<Name>,
    /// Members, agents and gateways, whose configured parents were changed.
    pub moved: u64,
    /// The most members in a bridge at once, measured from what was written
    /// to the provider (independently of the executor's window).
    pub max_in_flight: usize,
    /// The most members the executor held in its window at once.
    pub executor_max_in_flight: usize,
    /// Operations performed, over all passes.
    pub steps_applied: u64,
    /// Provider `apply` calls, retries included.
    pub provider_calls: u64,
    /// Provider `observe` calls, retries included.
    pub observe_calls: u64,
    /// Seconds on the target's clock from start to verdict.
    pub virtual_seconds: f64,
    /// Passes run.
    pub passes: u32,
    /// Why the cycle stopped.
    pub stop: StopReason,
    /// What the last observation showed against the desired topology
    /// (`None` when the target could not be observed), so a report can
    /// say why the estate has not converged.
    pub last: Option<Classification>,
}

/// The object `simulate --format json` prints, keys in the order of docs/spec.md section 5.
#[derive(Clone, Debug, Serialize)]
pub struct SimulateSummary<'a> {
    /// `make-before-break` or `direct`.
    pub strategy: &'a str,
    /// See [`RehearsalReport::converged`].
    pub converged: bool,
    /// See [`RehearsalReport::stranded`].
    pub stranded: &'a [Name],
    /// See [`RehearsalReport::pending`].
    pub pending: &'a [Name],
    /// See [`RehearsalReport::blocked`].
    pub blocked: &'a [Name],
    /// See [`RehearsalReport::moved`].
    pub moved: u64,
    /// See [`RehearsalReport::max_in_flight`].
    pub max_in_flight: usize,
    /// See [`RehearsalReport::steps_applied`].
    pub steps_applied: u64,
    /// See [`RehearsalReport::provider_calls`].
    pub provider_calls: u64,
    /// See [`RehearsalReport::virtual_seconds`].
    pub virtual_seconds: f64,
    /// See [`RehearsalReport::stranded_ever`] (an extra field, after the
    /// contract.s keys in docs/spec.md section 5).
    pub stranded_ever: &'a [Name],
}

impl RehearsalReport {
    /// The docs/spec.md section 5 object for `simulate --format json`.
    pub fn summary<'a>(&'a self, strategy: &'a str) -> SimulateSummary<'a> {
        SimulateSummary {
            strategy,
            converged: self.converged,
            stranded: &self.stranded,
            pending: &self.pending,
            blocked: &self.blocked,
            moved: self.moved,
            max_in_flight: self.max_in_flight,
            steps_applied: self.steps_applied,
            provider_calls: self.provider_calls,
            virtual_seconds: self.virtual_seconds,
            stranded_ever: &self.stranded_ever,
        }
    }

    /// How the rehearsal ended: stranded when a member is stranded, or was
    /// at any instant of the run; converged; otherwise not converged
    /// (pending, blocked or failed; all safe).
    pub fn verdict(&self) -> Verdict {
        if !self.stranded.is_empty() || !self.stranded_ever.is_empty() {
            Verdict::Stranded
        } else if self.converged {
            Verdict::Converged
        } else {
            Verdict::NotConverged
        }
    }

    /// The exit code of [`Self::verdict`] (docs/spec.md section 5).
    pub fn exit_code(&self) -> u8 {
        self.verdict().exit_code()
    }
}

/// How a cycle plans each pass: a plain planner function
/// (`fn(&Topology, &Observed) -> Plan`, such as [`crate::plan::plan`]), or
/// one that keeps state between passes and reads the target's clock (a
/// progressive rollout, `crate::run::rollout`).
pub trait Planner {
    /// The plan for this pass; `clock` is the target's clock.
    fn plan(&mut self, desired: &Topology, observed: &Observed, clock: Duration) -> Plan;

    /// When (on the target's clock) the planner will want to start
    /// something without the estate changing first (a soak that ends), so
    /// the cycle waits for it instead of stopping for lack of progress.
    fn wake_at(&self) -> Option<Duration> {
        None
    }
}

impl<F: Fn(&Topology, &Observed) -> Plan> Planner for F {
    fn plan(&mut self, desired: &Topology, observed: &Observed, _clock: Duration) -> Plan {
        self(desired, observed)
    }
}

/// Runs level-triggered passes until the estate converges or nothing can
/// progress.
///
/// Each pass observes the whole estate, plans with `strategy`, and applies
/// the plan. The cycle stops when the plan is empty and the estate has
/// converged with no event scheduled; or when, for `opts.settle`, no pass
/// applied anything, the plan stayed the same and the observed state did
/// not change, and no event is scheduled (a scheduled event is waited for
/// instead); or after `opts.max_passes` passes; or on cancellation. Between
/// passes that applied nothing it sleeps one poll interval on the target's
/// clock, so the estate can move. The verdict is taken from one last full
/// observation.
pub async fn converge<T, F>(
    target: &mut T,
    desired: &Topology,
    strategy: F,
    opts: &ConvergeOptions,
    progress: &mut dyn Progress,
) -> RehearsalReport
where
    T: Provider + Clock + Schedule + Inspect,
    F: Planner,
{
    let span = tracing::info_span!("rehearsal", max_passes = opts.max_passes);
    cycle(target, desired, strategy, opts, progress)
        .instrument(span)
        .await
}

/// One observation of the whole estate, retried as the engine retries.
async fn observe_all<T: Provider + Clock>(
    target: &mut T,
    opts: &ConvergeOptions,
    rng: &mut ChaCha8Rng,
    calls: &mut Calls,
) -> Result<Observed, ProviderError> {
    retry::observe(target, &Scope::All, &opts.exec.retry, rng, calls).await
}

async fn cycle<T, F>(
    target: &mut T,
    desired: &Topology,
    mut strategy: F,
    opts: &ConvergeOptions,
    progress: &mut dyn Progress,
) -> RehearsalReport
where
    T: Provider + Clock + Schedule + Inspect,
    F: Planner,
{
    let t0 = target.now();
    let mut meter = Meter::new(target);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.exec.seed ^ 0x5eed_0b5e);
    let mut calls = Calls::default();
    let mut prev_plan: Option<Plan> = None;
    let mut prev_obs: Option<Observed> = None;
    let mut last_change = t0;
    let mut blocked: Vec<Name> = Vec::new();
    let mut pending: Vec<Name> = Vec::new();
    let mut waiting: Vec<Name> = Vec::new();
    let mut failed: BTreeSet<Name> = BTreeSet::new();
    let mut steps_applied = 0;
    let mut executor_max = 0;
    let mut pass = 0;
    let stop = loop {
        if opts.exec.cancel.is_cancelled() {
            break StopReason::Cancelled;
        }
        if pass >= opts.max_passes {
            break StopReason::PassLimit;
        }
        pass += 1;
        tracing::debug!(pass, "pass starts");
        // A scheduled event (a fault) that fires while this pass waits
        // changes the estate after this pass's observation: that is
        // progress too, or the cycle could stop right after the last fault
        // without looking at what it did.
        let scheduled_before = meter.inner.next_scheduled();
        let obs = match observe_all(&mut meter, opts, &mut rng, &mut calls).await {
            Ok(o) => o,
            Err(e) => break StopReason::ProviderError(e.to_string()),
        };
        if pass == 1 {
            meter.start(desired, &obs);
        }
        let plan = strategy.plan(desired, &obs, meter.now());
        blocked = plan.blocked.iter().map(|b| b.name.clone()).collect();
        blocked.sort();
        blocked.dedup();
        if plan.steps.is_empty() {
            pending.clear();
            waiting.clear();
            let looks_converged = classify(desired, &obs).converged()
                && plan.blocked.is_empty()
                && meter.inner.stranded().is_empty();
            if looks_converged && meter.inner.settling() {
                // Members are still learning or reconnecting on their own:
                // let them (up to the settle time) before observing and
                // planning the whole estate again.
                let until = meter.now() + opts.settle;
                while meter.inner.settling() && meter.now() < until {
                    meter.sleep(opts.exec.poll_interval).await;
                }
                last_change = meter.now();
                prev_obs = Some(obs);
                prev_plan = Some(plan);
                continue;
            }
            if looks_converged {
                if wait_for_event(&mut meter, strategy.wake_at()).await {
                    prev_obs = Some(obs);
                    prev_plan = Some(plan);
                    last_change = meter.now();
                    continue;
                }
                break StopReason::Converged;
            }
        }
        let mut applied = 0;
        if !plan.steps.is_empty() {
            progress.event(&ProgressEvent::PassStarted {
                pass,
                steps: plan.steps.len(),
            });
            let mut eo = opts.exec.clone();
            eo.seed = opts.exec.seed.wrapping_add(u64::from(pass));
            let r = apply_plan(&mut meter, &plan, &eo, &obs, progress).await;
            applied = r.steps_applied;
            steps_applied += r.steps_applied;
            executor_max = executor_max.max(r.max_in_flight);
            pending = r.pending.clone();
            waiting = r.waiting.clone();
            failed.extend(r.failed.iter().cloned());
            progress.event(&ProgressEvent::PassFinished {
                pass,
                applied: r.steps_applied,
                pending: r.pending.len(),
                failed: r.failed.len(),
                clock_seconds: meter.now().saturating_sub(t0).as_secs_f64(),
            });
            if r.cancelled {
                break StopReason::Cancelled;
            }
        }
        let fired = meter.inner.next_scheduled() != scheduled_before;
        let progressed = applied > 0
            || fired
            || prev_obs.as_ref() != Some(&obs)
            || prev_plan.as_ref() != Some(&plan);
        let now = meter.now();
        if progressed {
            last_change = now;
        }
        prev_obs = Some(obs);
        prev_plan = Some(plan);
        if !progressed && now.saturating_sub(last_change) >= opts.settle {
            if wait_for_event(&mut meter, strategy.wake_at()).await {
                last_change = meter.now();
                continue;
            }
            break StopReason::NoProgress;
        }
        if applied == 0 {
            meter.sleep(opts.exec.poll_interval).await;
        }
    };
    let last = match observe_all(&mut meter, opts, &mut rng, &mut calls).await {
        Ok(o) => Some(o),
        Err(_) => prev_obs,
    };
    let stranded = meter.inner.stranded();
    let mut stranded_ever = meter.inner.stranded_ever();
    stranded_ever.extend(stranded.iter().cloned());
    stranded_ever.sort();
    stranded_ever.dedup();
    let verdict = last.as_ref().map(|o| classify(desired, o));
    let mut pend: BTreeSet<Name> = pending.into_iter().chain(waiting.iter().cloned()).collect();
    if let Some(v) = &verdict {
        pend.extend(v.in_bridge.iter().cloned());
    }
    // One entry per member (docs/spec.md section 5): stranded wins, then blocked
    // (a member found in a bridge whose new primary is down is blocked,
    // with the reason, not also pending).
    for s in stranded.iter().chain(&blocked) {
        pend.remove(s);
    }
    blocked.retain(|b| !stranded.contains(b));
    let pending: Vec<Name> = pend.into_iter().collect();
    let waiting: Vec<Name> = waiting
        .into_iter()
        .filter(|w| pending.contains(w))
        .collect();
    let converged = verdict.as_ref().is_some_and(Classification::converged)
        && stranded.is_empty()
        && pending.is_empty()
        && blocked.is_empty();
    RehearsalReport {
        converged,
        stranded,
        stranded_ever,
        pending,
        waiting,
        blocked,
        failed: failed.into_iter().collect(),
        moved: meter.moved.len() as u64,
        max_in_flight: meter.max_bridged,
        executor_max_in_flight: executor_max,
        steps_applied,
        provider_calls: meter.apply_calls,
        observe_calls: meter.observe_calls,
        virtual_seconds: meter.now().saturating_sub(t0).as_secs_f64(),
        passes: pass,
        stop,
        last: verdict,
    }
}

/// Sleeps until the target's next scheduled event or the planner's
/// `wake` (a soak that ends), whichever is first, if there is one.
async fn wait_for_event<T: Clock + Schedule>(
    meter: &mut Meter<'_, T>,
    wake: Option<Duration>,
) -> bool {
    let wake = wake.filter(|w| *w > meter.now());
    let Some(at) = [meter.inner.next_scheduled(), wake]
        .into_iter()
        .flatten()
        .min()
    else {
        return false;
    };
    let d = at.saturating_sub(meter.now()).max(Duration::from_millis(1));
    tracing::debug!(
        seconds = d.as_secs_f64(),
        "waiting for the next scheduled event"
    );
    meter.sleep(d).await;
    true
}
