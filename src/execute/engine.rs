//! One pass over a plan: the step scheduler, the window, awaits, timeouts,
//! retries and cancellation (docs/executor.md describes the algorithm).
//!
//! A single task: it performs one provider call at a time, in plan order
//! among the steps that are ready, polls the awaits that are waiting with a
//! scoped observation, and otherwise sleeps on the target's clock. Under a
//! virtual clock the pass is deterministic for a seed. Must not plan, print
//! or spawn tasks.

use super::classify::removal_hazard;
use super::options::EngineOptions;
use super::progress::{Progress, ProgressEvent};
use super::report::{EngineReport, StepOutcome, StepRecord};
use super::retry::{self, Calls};
use super::view::View;
use crate::hash::FastMap as HashMap;
use crate::model::{MemberKind, Observed};
use crate::name::Name;
use crate::plan::{Action, Plan};
use crate::provider::{Clock, Operation, Provider, Scope};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tracing::Instrument;

/// Whose steps a step belongs to: a member's chain, or the store's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Chain {
    Member(MemberKind, Name),
    Store,
}

fn chain_of(a: &Action) -> Chain {
    match a {
        Action::SetParents { kind, name, .. }
        | Action::AwaitConnected { kind, name, .. }
        | Action::AwaitReady { kind, name }
        | Action::RetireGateway { kind, name } => Chain::Member(*kind, name.clone()),
        Action::AwaitReplication { .. }
        | Action::StoreFailover { .. }
        | Action::AwaitStoreActive { .. } => Chain::Store,
    }
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::SetParents { .. } => "set_parents",
        Action::AwaitConnected { .. } => "await_connected",
        Action::AwaitReady { .. } => "await_ready",
        Action::RetireGateway { .. } => "retire_gateway",
        Action::AwaitReplication { .. } => "await_replication",
        Action::StoreFailover { .. } => "store_failover",
        Action::AwaitStoreActive { .. } => "await_store_active",
    }
}

fn is_await(a: &Action) -> bool {
    matches!(
        a,
        Action::AwaitConnected { .. }
            | Action::AwaitReady { .. }
            | Action::AwaitReplication { .. }
            | Action::AwaitStoreActive { .. }
    )
}

fn is_bridge(a: &Action) -> bool {
    matches!(a, Action::SetParents { bridge: true, .. })
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Applies `plan` to `target`, starting from `start` (the observation the
/// plan was made from), and reports what each step did.
///
/// Steps start in plan order as soon as every step in their `after` has
/// finished successfully (applied, satisfied or skipped). A bridging
/// `set_parents` also needs a place in the window of `opts.max_in_flight`
/// members; a member whose chain starts with `await_connected` is already in
/// a bridge and takes its place when the pass starts. A member leaves the
/// window when it is pruned, when its await times out (it is then pending,
/// in its bridge), or when its chain stops. Before acting, a step checks the
/// latest observation and is skipped when its effect already holds.
/// Transient provider errors are retried with backoff on the target's clock;
/// a permanent error stops only that member's chain, and the steps that
/// depend on it. The pass never fails as a whole: everything is in the
/// report.
pub async fn apply_plan<T: Provider + Clock>(
    target: &mut T,
    plan: &Plan,
    opts: &EngineOptions,
    start: &Observed,
    progress: &mut dyn Progress,
) -> EngineReport {
    let span = tracing::info_span!(
        "apply_pass",
        steps = plan.steps.len(),
        max_in_flight = opts.max_in_flight
    );
    let exec = Exec::new(target, plan, opts, start, progress);
    exec.run().instrument(span).await
}

struct Exec<'a, T> {
    target: &'a mut T,
    plan: &'a Plan,
    opts: &'a EngineOptions,
    progress: &'a mut dyn Progress,
    view: View,
    /// Step id to position in the plan.
    pos: HashMap<u32, usize>,
    rng: ChaCha8Rng,
    calls: Calls,
    /// Per step: steps that list it in `after`.
    dependents: Vec<Vec<usize>>,
    /// Per step: `after` entries not yet finished successfully.
    missing: Vec<usize>,
    outcome: Vec<Option<StepOutcome>>,
    started: Vec<Option<f64>>,
    finished: Vec<Option<f64>>,
    attempts: Vec<u32>,
    chain: Vec<Chain>,
    chain_steps: HashMap<Chain, Vec<usize>>,
    remaining: HashMap<Chain, usize>,
    ready_ops: BTreeSet<usize>,
    ready_bridges: BTreeSet<usize>,
    /// Awaits being polled, with the clock time they started; also
    /// `store_failover` steps whose answer was lost (see `confirming`).
    polling: BTreeMap<usize, Duration>,
    /// `store_failover` steps whose call ended in a transient error (a
    /// timeout, a lost answer): it may have run. Never re-invoked: the
    /// store is observed until it is active in the pool (the failover
    /// happened) or `store_timeout` has passed (pending).
    confirming: BTreeSet<usize>,
    window: BTreeSet<Chain>,
    in_bridge: BTreeSet<Name>,
    pending: BTreeSet<Name>,
    /// Members another chain's timeout or failure kept from starting.
    waiting: BTreeSet<Name>,
    failed: BTreeSet<Name>,
    report: EngineReport,
    /// The target's counters when the pass started.
    counters: crate::provider::ProviderCounters,
}

impl<'a, T: Provider + Clock> Exec<'a, T> {
    fn new(
        target: &'a mut T,
        plan: &'a Plan,
        opts: &'a EngineOptions,
        start: &Observed,
        progress: &'a mut dyn Progress,
    ) -> Self {
        let n = plan.steps.len();
        let pos: HashMap<u32, usize> = plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let mut dependents = vec![Vec::new(); n];
        let mut missing = vec![0; n];
        let mut unknown = Vec::new();
        for (i, s) in plan.steps.iter().enumerate() {
            for a in &s.after {
                match pos.get(a) {
                    Some(&j) => {
                        dependents[j].push(i);
                        missing[i] += 1;
                    }
                    None => unknown.push((i, *a)),
                }
            }
        }
        let chain: Vec<Chain> = plan.steps.iter().map(|s| chain_of(&s.action)).collect();
        let mut chain_steps: HashMap<Chain, Vec<usize>> = HashMap::default();
        for (i, c) in chain.iter().enumerate() {
            chain_steps.entry(c.clone()).or_default().push(i);
        }
        let remaining = chain_steps
            .iter()
            .map(|(c, v)| (c.clone(), v.len()))
            .collect();
        let mut e = Exec {
            target,
            plan,
            opts,
            progress,
            view: View::new(start),
            pos,
            rng: ChaCha8Rng::seed_from_u64(opts.seed),
            calls: Calls::default(),
            dependents,
            missing,
            outcome: vec![None; n],
            started: vec![None; n],
            finished: vec![None; n],
            attempts: vec![0; n],
            chain,
            chain_steps,
            remaining,
            ready_ops: BTreeSet::new(),
            ready_bridges: BTreeSet::new(),
            polling: BTreeMap::new(),
            confirming: BTreeSet::new(),
            window: BTreeSet::new(),
            in_bridge: BTreeSet::new(),
            pending: BTreeSet::new(),
            waiting: BTreeSet::new(),
            failed: BTreeSet::new(),
            report: EngineReport::default(),
            counters: Default::default(),
        };
        e.counters = e.target.counters();
        // Members already in a bridge take their places first.
        let mut found: Vec<Chain> = e
            .chain_steps
            .iter()
            .filter(|(c, steps)| {
                matches!(c, Chain::Member(..))
                    && matches!(plan.steps[steps[0]].action, Action::AwaitConnected { .. })
            })
            .map(|(c, _)| c.clone())
            .collect();
        found.sort();
        for c in found {
            if let Chain::Member(_, name) = &c {
                e.in_bridge.insert(name.clone());
            }
            e.window.insert(c);
        }
        e.report.found_in_flight = e.window.len();
        e.report.max_in_flight = e.window.len();
        for (i, a) in unknown {
            let reason = format!("depends on step {a}, which is not in the plan");
            e.finish(i, StepOutcome::NotStarted { reason });
        }
        for i in 0..n {
            if e.outcome[i].is_none() && e.missing[i] == 0 {
                e.enqueue(i);
            }
        }
        e
    }

    fn enqueue(&mut self, i: usize) {
        if is_bridge(&self.plan.steps[i].action) {
            self.ready_bridges.insert(i);
        } else {
            self.ready_ops.insert(i);
        }
    }

    fn now(&self) -> Duration {
        self.target.now()
    }

    fn subject(&self, i: usize) -> &Name {
        self.plan.steps[i].action.subject()
    }

    /// Records an outcome and propagates it: successes release dependents;
    /// anything else means dependents never start, and a failure also stops
    /// the rest of the member's chain. A chain with nothing left leaves the
    /// window.
    fn finish(&mut self, first: usize, first_outcome: StepOutcome) {
        let at = Some(secs(self.now()));
        let mut work = vec![(first, first_outcome)];
        while let Some((i, outcome)) = work.pop() {
            if self.outcome[i].is_some() {
                continue;
            }
            self.ready_ops.remove(&i);
            self.ready_bridges.remove(&i);
            self.polling.remove(&i);
            if !matches!(outcome, StepOutcome::NotStarted { .. }) {
                self.finished[i] = at;
            }
            let id = self.plan.steps[i].id;
            if outcome.is_success() {
                for d in self.dependents[i].clone() {
                    self.missing[d] -= 1;
                    if self.missing[d] == 0 && self.outcome[d].is_none() {
                        self.enqueue(d);
                    }
                }
            } else {
                let why = match &outcome {
                    StepOutcome::Failed { .. } => "failed",
                    StepOutcome::TimedOut => "timed out",
                    _ => "did not run",
                };
                for &d in &self.dependents[i] {
                    let reason = format!("waits for step {id}, which {why}");
                    // Another member's chain now cannot start this pass: it
                    // is safe where it is, but not done, so it is reported
                    // as waiting (a member whose own chain stopped is
                    // reported already).
                    if self.chain[d] != self.chain[i] && self.outcome[d].is_none() {
                        let n = self.subject(d).clone();
                        if self.waiting.insert(n.clone()) {
                            self.progress.event(&ProgressEvent::Waiting(n));
                        }
                    }
                    work.push((d, StepOutcome::NotStarted { reason }));
                }
                if matches!(outcome, StepOutcome::Failed { .. }) {
                    for &s in &self.chain_steps[&self.chain[i]] {
                        if s != i && self.outcome[s].is_none() {
                            let reason = format!("the member's chain stopped at step {id}");
                            work.push((s, StepOutcome::NotStarted { reason }));
                        }
                    }
                }
            }
            self.outcome[i] = Some(outcome);
            let c = self.chain[i].clone();
            let left = self.remaining.get_mut(&c).expect("every step has a chain");
            *left -= 1;
            if *left == 0 && self.window.remove(&c) {
                tracing::debug!(member = %self.subject(i), "leaves the window: chain finished");
            }
        }
    }

    async fn run(mut self) -> EngineReport {
        let t0 = self.now();
        let mut cancelled = false;
        let mut interval = self.opts.poll_interval;
        loop {
            if self.opts.cancel.is_cancelled() {
                cancelled = true;
                break;
            }
            let (did, stop) = self.start_ready().await;
            if stop {
                cancelled = true;
                break;
            }
            let polled = self.poll().await;
            if polled > 0 || did > 0 {
                // Something moved: poll at the shortest interval again.
                interval = self.opts.poll_interval;
            }
            if polled > 0 {
                continue;
            }
            if !self.polling.is_empty() {
                self.target.sleep(interval).await;
                // Nothing settled: back off, up to poll.max.
                interval = (interval * 2).min(self.opts.poll_max.max(self.opts.poll_interval));
                continue;
            }
            if did == 0 {
                break;
            }
        }
        self.finalize(cancelled, t0)
    }

    /// Starts every step that is ready, ops first, then bridges while the
    /// window has room. Returns the steps finished and whether it stopped
    /// on cancellation.
    async fn start_ready(&mut self) -> (usize, bool) {
        let mut did = 0;
        loop {
            // A target learns whether it takes batches with its first call
            // (an exec provider asks `capabilities` then): switch at once.
            let batch = self.target.max_batch();
            if batch > 1 {
                let (d, stop) = self.start_ready_batched(batch).await;
                return (did + d, stop);
            }
            let mut changed = false;
            while let Some(&i) = self.ready_ops.first() {
                if self.opts.cancel.is_cancelled() {
                    return (did, true);
                }
                self.ready_ops.remove(&i);
                changed = true;
                if is_await(&self.plan.steps[i].action) {
                    self.started[i] = Some(secs(self.now()));
                    let now = self.now();
                    self.polling.insert(i, now);
                } else {
                    self.perform(i).await;
                    did += 1;
                    if self.target.max_batch() > 1 {
                        break;
                    }
                }
            }
            let max = self.opts.max_in_flight.max(1) as usize;
            while let Some(&i) = self.ready_bridges.first() {
                if self.target.max_batch() > 1 {
                    break;
                }
                let c = self.chain[i].clone();
                if !self.window.contains(&c) && self.window.len() >= max {
                    break;
                }
                if self.opts.cancel.is_cancelled() {
                    return (did, true);
                }
                self.ready_bridges.remove(&i);
                changed = true;
                self.perform(i).await;
                did += 1;
            }
            if !changed {
                return (did, false);
            }
        }
    }

    /// [`start_ready`](Self::start_ready) for a target that takes
    /// batches: ready operations go out up to `batch` at a time (a
    /// `store_failover` alone), then ready bridges while the window has
    /// room, also `batch` at a time.
    async fn start_ready_batched(&mut self, batch: usize) -> (usize, bool) {
        let mut did = 0;
        let max = self.opts.max_in_flight.max(1) as usize;
        loop {
            if self.opts.cancel.is_cancelled() {
                return (did, true);
            }
            let mut steps = Vec::new();
            let mut store = None;
            while steps.len() < batch
                && let Some(&i) = self.ready_ops.first()
            {
                self.ready_ops.remove(&i);
                match &self.plan.steps[i].action {
                    a if is_await(a) => {
                        let now = self.now();
                        self.started[i] = Some(secs(now));
                        self.polling.insert(i, now);
                    }
                    Action::StoreFailover { .. } => {
                        store = Some(i);
                        break;
                    }
                    _ => steps.push(i),
                }
            }
            let mut room = max.saturating_sub(self.window.len());
            let mut taken = Vec::new();
            for &i in &self.ready_bridges {
                if steps.len() + taken.len() >= batch || store.is_some() {
                    break;
                }
                if !self.window.contains(&self.chain[i]) {
                    if room == 0 {
                        break;
                    }
                    room -= 1;
                }
                taken.push(i);
            }
            for i in &taken {
                self.ready_bridges.remove(i);
            }
            steps.extend(taken);
            if steps.is_empty() && store.is_none() {
                // Awaits moved to polling count as progress of the loop,
                // not as steps done.
                if self.ready_ops.is_empty() {
                    return (did, false);
                }
                continue;
            }
            did += steps.len();
            self.perform_batch(steps).await;
            if let Some(i) = store {
                did += 1;
                self.perform(i).await;
            }
        }
    }

    /// Performs one operation step (not an await).
    async fn perform(&mut self, i: usize) {
        let Some(op) = self.prepare(i) else { return };
        let store = matches!(op, Operation::StoreFailover { .. });
        let (attempts, result) = if store {
            // Never retried blind: a failover whose answer is lost may have
            // run (or be running). The store is observed first.
            self.calls.apply += 1;
            (1, self.target.apply(&op).await)
        } else {
            retry::apply(
                self.target,
                &op,
                &self.opts.retry,
                &mut self.rng,
                &mut self.calls,
            )
            .await
        };
        self.complete(i, &op, attempts, result);
    }

    /// Performs several ready operation steps (no store failover) as one
    /// batch: each is prepared (skipped, or held by the re-check, as
    /// alone), the rest go out together, and each gets its own result.
    async fn perform_batch(&mut self, steps: Vec<usize>) {
        let mut sent = Vec::with_capacity(steps.len());
        let mut ops = Vec::with_capacity(steps.len());
        for i in steps {
            if let Some(op) = self.prepare(i) {
                sent.push(i);
                ops.push(op);
            }
        }
        if ops.is_empty() {
            return;
        }
        tracing::debug!(operations = ops.len(), "sending a batch");
        let results = retry::apply_batch(
            self.target,
            &ops,
            &self.opts.retry,
            &mut self.rng,
            &mut self.calls,
        )
        .await;
        for ((i, op), (attempts, r)) in sent.into_iter().zip(&ops).zip(results) {
            self.complete(i, op, attempts, r);
        }
    }

    /// Starts operation step `i`: returns the operation to send, or None
    /// when the step finished without a call (its effect already holds, or
    /// the re-check kept it back).
    fn prepare(&mut self, i: usize) -> Option<Operation> {
        let step = &self.plan.steps[i];
        let id = step.id;
        self.started[i] = Some(secs(self.now()));
        let (op, already) = match (&step.action, step.action.parents()) {
            (
                Action::SetParents {
                    kind, name, bridge, ..
                },
                Some(parents),
            ) => {
                if *bridge {
                    self.window.insert(self.chain[i].clone());
                    self.report.max_in_flight = self.report.max_in_flight.max(self.window.len());
                }
                let already = self.view.holds(*kind, name, &parents);
                let op = Operation::SetParents {
                    kind: *kind,
                    name: name.clone(),
                    parents,
                };
                (op, already)
            }
            (Action::RetireGateway { name, .. }, _) => (
                Operation::RetireGateway { name: name.clone() },
                !self.view.has_gateway(name),
            ),
            (
                Action::StoreFailover {
                    pool,
                    mode,
                    backup_sql_server,
                    backup_sql_instance,
                    backup_mirror_sql_server,
                    backup_mirror_sql_instance,
                    restore,
                },
                _,
            ) => (
                Operation::StoreFailover {
                    pool: pool.clone(),
                    mode: *mode,
                    backup_sql_server: backup_sql_server.clone(),
                    backup_sql_instance: backup_sql_instance.clone(),
                    backup_mirror_sql_server: backup_mirror_sql_server.clone(),
                    backup_mirror_sql_instance: backup_mirror_sql_instance.clone(),
                    restore: *restore,
                },
                self.view.active_only_in(pool),
            ),
            _ => unreachable!("awaits are polled, not performed"),
        };
        let name = step.action.subject().clone();
        if already {
            tracing::debug!(member = %name, step = id, "effect already holds; skipped");
            self.report.skipped += 1;
            self.progress.event(&ProgressEvent::Skipped(name.clone()));
            self.after_success(i, &op, false);
            self.finish(i, StepOutcome::Skipped);
            return None;
        }
        if let Some((reason, fatal)) = self.recheck(&op) {
            tracing::debug!(member = %name, step = id, %reason, "re-check: not sent");
            if fatal {
                self.failed.insert(name.clone());
                self.progress.event(&ProgressEvent::Failed {
                    name,
                    reason: reason.clone(),
                });
                self.finish(i, StepOutcome::Failed { reason });
            } else {
                self.hold(i, name, reason);
            }
            return None;
        }
        Some(op)
    }

    /// Records what sending step `i`'s operation came to.
    fn complete(
        &mut self,
        i: usize,
        op: &Operation,
        attempts: u32,
        result: Result<(), crate::provider::ProviderError>,
    ) {
        let store = matches!(op, Operation::StoreFailover { .. });
        let id = self.plan.steps[i].id;
        let name = self.plan.steps[i].action.subject().clone();
        self.attempts[i] = attempts;
        match result {
            Ok(()) => {
                self.report.steps_applied += 1;
                self.after_success(i, op, true);
                self.finish(i, StepOutcome::Applied);
            }
            Err(e) if store && e.is_transient() => {
                tracing::warn!(pool = %name, step = id, error = %e, "the failover's answer was lost; observing the store before anything else");
                let since = self.started_at(i);
                self.confirming.insert(i);
                self.polling.insert(i, since);
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::debug!(member = %name, step = id, %reason, "chain stopped");
                self.failed.insert(name.clone());
                self.progress.event(&ProgressEvent::Failed {
                    name,
                    reason: reason.clone(),
                });
                self.finish(i, StepOutcome::Failed { reason });
            }
        }
    }

    /// The re-check before a write (defence in depth, independent of the
    /// planner): a `set_parents` that removes a server the member may still
    /// be talking to, by the latest observation, and a `store_failover`
    /// while the store is active in no pool or in several, or a disaster
    /// failover while the active pool is not observed down. Returns why
    /// the operation must not be sent, and whether that fails the chain
    /// (true) or leaves it pending (false). Plans of the `direct` strategy
    /// are not re-checked: they exist to show the hazard.
    fn recheck(&self, op: &Operation) -> Option<(String, bool)> {
        match op {
            Operation::SetParents {
                kind,
                name,
                parents,
            } if !self.plan.direct => removal_hazard(name, self.view.latest(*kind, name), parents)
                .map(|h| (h.to_string(), false)),
            Operation::StoreFailover { pool, mode, .. } => self.view.store_hazard(pool, *mode),
            _ => None,
        }
    }

    /// A step the re-check kept back: not sent, the member (or store)
    /// stays as it is and is reported pending with the reason; the steps
    /// after it do not start.
    fn hold(&mut self, i: usize, name: Name, reason: String) {
        self.pending.insert(name.clone());
        self.progress.event(&ProgressEvent::Pending(name));
        self.finish(i, StepOutcome::NotStarted { reason });
    }

    /// When step `i` started, on the target's clock.
    fn started_at(&self, i: usize) -> Duration {
        Duration::from_secs_f64(self.started[i].unwrap_or_default())
    }

    /// A `store_failover` whose answer was lost, against the latest
    /// observation: applied once the store is active in its pool alone;
    /// failed when it is active in several; pending (timed out, never
    /// re-invoked) after `store_timeout`; otherwise it keeps waiting
    /// (mid-failover, or not started yet). Returns true when it settled.
    fn confirm(&mut self, i: usize, since: Duration, now: Duration) -> bool {
        let Action::StoreFailover { pool, .. } = &self.plan.steps[i].action else {
            return false;
        };
        let pool = pool.clone();
        let id = self.plan.steps[i].id;
        if let Some(reason) = self
            .view
            .broken(&Action::AwaitStoreActive { pool: pool.clone() })
        {
            self.confirming.remove(&i);
            self.failed.insert(pool.clone());
            self.progress.event(&ProgressEvent::Failed {
                name: pool,
                reason: reason.clone(),
            });
            self.finish(i, StepOutcome::Failed { reason });
            true
        } else if self.view.active_only_in(&pool) {
            tracing::info!(pool = %pool, step = id, "the failover happened although its answer was lost; not invoked again");
            self.confirming.remove(&i);
            self.report.steps_applied += 1;
            self.finish(i, StepOutcome::Applied);
            true
        } else if now.saturating_sub(since) >= self.opts.store_timeout {
            tracing::warn!(pool = %pool, step = id, "the failover's answer was lost and the store is not active in its pool after the store timeout; not invoked again: pending");
            self.confirming.remove(&i);
            self.pending.insert(pool.clone());
            self.progress.event(&ProgressEvent::Pending(pool));
            self.finish(i, StepOutcome::TimedOut);
            true
        } else {
            false
        }
    }

    /// Updates the view, the bridge bookkeeping and the counters after an
    /// operation was applied (or found to hold already).
    fn after_success(&mut self, i: usize, op: &Operation, applied: bool) {
        let step = &self.plan.steps[i];
        match (op, &step.action) {
            (
                Operation::SetParents {
                    kind,
                    name,
                    parents,
                },
                Action::SetParents { bridge, .. },
            ) => {
                self.view.wrote(*kind, name, parents);
                if *bridge {
                    self.in_bridge.insert(name.clone());
                    if applied {
                        self.report.bridged += 1;
                        tracing::debug!(member = %name, step = step.id, "bridged");
                        self.progress.event(&ProgressEvent::Bridged(name.clone()));
                    }
                } else {
                    let was_bridged = self.in_bridge.remove(name);
                    let c = self.chain[i].clone();
                    let in_window = self.window.remove(&c);
                    if applied {
                        if was_bridged || in_window {
                            self.report.pruned += 1;
                            tracing::debug!(member = %name, step = step.id, "pruned");
                            self.progress.event(&ProgressEvent::Pruned(name.clone()));
                        } else {
                            self.report.set_directly += 1;
                            tracing::debug!(member = %name, step = step.id, "parents set");
                            self.progress.event(&ProgressEvent::Changed(name.clone()));
                        }
                    }
                }
            }
            (Operation::RetireGateway { name }, _) => self.view.retired(name),
            _ => {}
        }
    }

    /// Observes the members whose awaits are waiting and settles every await
    /// that is met or has timed out. Returns how many settled.
    async fn poll(&mut self) -> usize {
        if self.polling.is_empty() {
            return 0;
        }
        let names: BTreeSet<Name> = self
            .polling
            .keys()
            .filter_map(|&i| match &self.plan.steps[i].action {
                Action::AwaitConnected { name, .. } | Action::AwaitReady { name, .. } => {
                    Some(name.clone())
                }
                _ => None,
            })
            .collect();
        let scope = Scope::Members(names.into_iter().collect());
        match retry::observe(
            self.target,
            &scope,
            &self.opts.retry,
            &mut self.rng,
            &mut self.calls,
        )
        .await
        {
            Ok(o) => self.view.update(&o),
            Err(e) => tracing::warn!(error = %e, "poll failed; awaits keep waiting"),
        }
        let now = self.now();
        let mut settled = 0;
        let waiting: Vec<(usize, Duration)> = self.polling.iter().map(|(&i, &t)| (i, t)).collect();
        for (i, since) in waiting {
            if self.confirming.contains(&i) {
                if self.confirm(i, since, now) {
                    settled += 1;
                }
                continue;
            }
            let action = &self.plan.steps[i].action;
            let name = action.subject().clone();
            let member = matches!(
                action,
                Action::AwaitConnected { .. } | Action::AwaitReady { .. }
            );
            // Store awaits have their own timeout (`policy.storeTimeout`).
            let limit = if member {
                self.opts.ack_timeout
            } else {
                self.opts.store_timeout
            };
            if let Some(reason) = self.view.broken(action) {
                settled += 1;
                tracing::debug!(member = %name, step = self.plan.steps[i].id, %reason, "await cannot be met");
                self.failed.insert(name.clone());
                self.progress.event(&ProgressEvent::Failed {
                    name,
                    reason: reason.clone(),
                });
                self.finish(i, StepOutcome::Failed { reason });
            } else if self.view.met(action) {
                settled += 1;
                self.report.awaits_satisfied += 1;
                if member {
                    self.report.acknowledged += 1;
                    tracing::debug!(member = %name, step = self.plan.steps[i].id, "acknowledged");
                    self.progress.event(&ProgressEvent::Acknowledged(name));
                }
                self.finish(i, StepOutcome::Satisfied);
            } else if now.saturating_sub(since) >= limit {
                settled += 1;
                tracing::debug!(member = %name, step = self.plan.steps[i].id, "timed out; pending");
                self.pending.insert(name.clone());
                self.progress.event(&ProgressEvent::Pending(name));
                self.finish(i, StepOutcome::TimedOut);
            }
        }
        settled
    }

    fn finalize(mut self, cancelled: bool, t0: Duration) -> EngineReport {
        let n = self.plan.steps.len();
        for i in 0..n {
            if self.outcome[i].is_some() {
                continue;
            }
            let reason = if cancelled {
                if self.confirming.contains(&i) {
                    "cancelled while observing the store after a lost answer; the failover may have run: the next pass observes the store first".to_string()
                } else if self.polling.contains_key(&i) {
                    "cancelled while waiting; the member stays in its bridge".to_string()
                } else {
                    "cancelled".to_string()
                }
            } else if self.ready_bridges.contains(&i) {
                "no place in the window".to_string()
            } else {
                let waits: Vec<String> = self.plan.steps[i]
                    .after
                    .iter()
                    .filter(|a| {
                        self.pos.get(a).is_some_and(|&j| {
                            !self.outcome[j].as_ref().is_some_and(|o| o.is_success())
                        })
                    })
                    .map(|a| a.to_string())
                    .collect();
                format!("waits for step {}, which did not finish", waits.join(", "))
            };
            // Record without propagating: everything left gets its own reason.
            self.outcome[i] = Some(StepOutcome::NotStarted { reason });
        }
        let mut r = std::mem::take(&mut self.report);
        r.steps = (0..n)
            .map(|i| {
                let s = &self.plan.steps[i];
                StepRecord {
                    id: s.id,
                    action: action_name(&s.action),
                    name: s.action.subject().clone(),
                    outcome: self.outcome[i].clone().expect("every step has an outcome"),
                    started: self.started[i],
                    finished: self.finished[i],
                    attempts: self.attempts[i],
                }
            })
            .collect();
        r.pending = self.pending.into_iter().collect();
        r.waiting = self
            .waiting
            .into_iter()
            .filter(|m| !r.pending.contains(m))
            .collect();
        r.failed = self.failed.into_iter().collect();
        r.in_bridge = self.in_bridge.into_iter().collect();
        r.cancelled = cancelled;
        r.provider_calls = self.calls.apply;
        r.observe_calls = self.calls.observe;
        r.retries = self.calls.retries;
        let c = self.target.counters();
        r.process_starts = c
            .process_starts
            .saturating_sub(self.counters.process_starts);
        r.session_restarts = c.restarts.saturating_sub(self.counters.restarts);
        r.clock_seconds = secs(self.target.now().saturating_sub(t0));
        r
    }
}
