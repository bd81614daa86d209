//! The forecast: how long a plan takes against the real estate, and where
//! the time goes (issue 19, "A migration's real duration").
//!
//! Owns [`forecast`], a pure function of the plan, the policy (window,
//! ack timeout, poll backoff) and a [`Cost`] model, and the [`Forecast`]
//! it returns. Must not read a clock, do I/O, or know any provider.
//!
//! The model follows the executor (docs/executor.md) in stages and waves.
//! A *stage* is the members whose bridge waits for the same number of
//! acknowledgements before it (a gateway that moves, then its agents).
//! Within a stage the window (`maxInFlight`) cuts the members into
//! *waves*. Each wave costs its bridge requests, then the wait until the
//! members have learned their new parents (`propagation`) and a poll has
//! seen it (the poll backoff of `policy.poll`, each poll costing
//! `observe`), then its prunes; the next wave's bridges go out once the
//! prunes have freed the window, as the executor sends them. A request carries up
//! to `batch × parallel` operations, split over the sessions as the
//! `exec:` provider splits it. Waves follow each other: the real sliding
//! window overlaps them a little when acknowledgements come at different
//! times, so the forecast errs long. Built this way it is monotone: more
//! members never forecast less, a larger batch never more requests
//! (property-tested).

pub use super::estimate::{Breakdown, Forecast};
use super::types::{Action, Plan};
use crate::model::{Cost, Policy};

/// Forecasts `plan` under `policy` (its window, ack timeout and poll
/// backoff) and `cost`.
pub fn forecast(plan: &Plan, policy: &Policy, cost: &Cost) -> Forecast {
    let stages = stages(plan);
    let window = u64::from(policy.max_in_flight.max(1));
    let timeout = policy.ack_timeout.0 * 1_000;
    let timed_out_wait = cost.propagation.0 >= timeout;
    let wait = poll_wait(policy, cost, timed_out_wait.then_some(timeout));
    let per_request = if cost.sessions {
        u64::from(cost.batch.max(1)).saturating_mul(u64::from(cost.parallel.max(1)))
    } else {
        1
    };
    let mut t = Tally::default();
    let mut floor_ms = 0u64;
    for st in &stages {
        let members = st.bridges + st.found;
        let waves = members.div_ceil(window);
        t.waves += waves;
        floor_ms += waves * cost.propagation.0;
        // The stage's own writes go with the first wave's bridges; a
        // wave's prunes go out alone (the window frees its places only
        // when they are done), then the next wave's bridges.
        let mut bridges_left = st.bridges;
        let mut after_left = if timed_out_wait { 0 } else { st.after };
        let mut first = st.before;
        for _ in 0..waves {
            let b = bridges_left.min(window);
            bridges_left -= b;
            t.request(first + b, per_request, cost);
            first = 0;
            t.polls += wait.polls;
            t.waiting_ms += wait.slept_ms;
            let a = after_left.min(window);
            after_left -= a;
            t.request(a, per_request, cost);
        }
        t.request(first + after_left, per_request, cost);
        if timed_out_wait {
            t.timed_out += members;
            // Nothing that waits for these acknowledgements starts.
            break;
        }
    }
    let observe_calls = t.polls + 2;
    let observe_ms = observe_calls * cost.observe.0;
    let (starts, startup_ms) = if !cost.sessions {
        // One per request, plus the `capabilities` question.
        let n = t.apply_calls + observe_calls + 1;
        (n, n * cost.startup.0)
    } else if t.apply_calls > 0 {
        // `capabilities` and the first observation start one each; the
        // sessions start together with the first `apply`.
        (2 + t.max_lanes, 3 * cost.startup.0)
    } else {
        (2, 2 * cost.startup.0)
    };
    let par = if cost.sessions {
        u64::from(cost.parallel.max(1))
    } else {
        1
    };
    floor_ms += t.operations * cost.per_operation.0 / par;
    // A rollout holds after each step for its soak: nothing moves then,
    // however fast the provider (docs/rollouts.md).
    let soak_ms: u64 = if t.operations == 0 {
        0
    } else {
        policy.rollout.as_ref().map_or(0, |r| {
            r.steps.iter().map(|s| s.soak.0.saturating_mul(1_000)).sum()
        })
    };
    floor_ms += soak_ms;
    let s = |ms: u64| ms as f64 / 1_000.0;
    Forecast {
        cost: *cost,
        wall_seconds: s(t.waiting_ms + t.apply_ms + observe_ms + startup_ms + soak_ms),
        breakdown: Breakdown {
            propagation: s(t.waiting_ms),
            apply: s(t.apply_ms),
            observe: s(observe_ms),
            startup: s(startup_ms),
            soak: s(soak_ms),
        },
        operations: t.operations,
        apply_calls: t.apply_calls,
        observe_calls,
        process_starts: starts,
        waves: t.waves,
        timed_out: t.timed_out,
        floor_seconds: s(floor_ms),
    }
}

/// The operations of one stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Stage {
    /// Bridging `set_parents`: members entering the window.
    bridges: u64,
    /// Members found in their bridge (an await with no write before it).
    found: u64,
    /// Other writes that wait for no acknowledgement of this stage.
    before: u64,
    /// Writes after an acknowledgement of this stage (prunes).
    after: u64,
}

/// The plan's writes by stage: a step's stage is the number of awaits on
/// its longest chain of `after`; a write right after an await belongs to
/// that await's stage. `after` ids that name no step are ignored, and a
/// dependency listed after its dependant is not counted.
fn stages(plan: &Plan) -> Vec<Stage> {
    let pos: crate::hash::FastMap<u32, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i))
        .collect();
    // Awaits up to each step (inclusive), and whether it follows one. The
    // planner lists a step after those it waits for; in a hand-made plan
    // that does not, a dependency listed later counts as stage 0.
    let mut level = vec![0u64; plan.steps.len()];
    let mut after_await = vec![false; plan.steps.len()];
    for (i, step) in plan.steps.iter().enumerate() {
        let mut l = 0;
        for &j in step.after.iter().filter_map(|id| pos.get(id)) {
            if j < i {
                l = l.max(level[j]);
                after_await[i] |= is_await(&plan.steps[j].action);
            }
        }
        level[i] = l + u64::from(is_await(&step.action));
    }
    let mut out: Vec<Stage> = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let l = level[i];
        let (stage, slot): (u64, fn(&mut Stage) -> &mut u64) = match &step.action {
            Action::SetParents { bridge: true, .. } => (l, |s| &mut s.bridges),
            a if is_await(a) => {
                // An await whose member was bridged before this run.
                let found = !step.after.iter().any(|id| pos.contains_key(id));
                if !found || !matches!(a, Action::AwaitConnected { .. }) {
                    continue;
                }
                (l.saturating_sub(1), |s| &mut s.found)
            }
            _ if after_await[i] => (l.saturating_sub(1), |s| &mut s.after),
            _ => (l, |s| &mut s.before),
        };
        let stage = usize::try_from(stage)
            .unwrap_or(usize::MAX)
            .min(plan.steps.len());
        if out.len() <= stage {
            out.resize(stage + 1, Stage::default());
        }
        *slot(&mut out[stage]) += 1;
    }
    out
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

/// What waiting for one wave costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Wait {
    /// Polls until one sees the acknowledgements.
    polls: u64,
    /// Sleep between them.
    slept_ms: u64,
}

/// The executor's poll loop after a wave's bridges: a poll at once, then
/// after `interval`, doubling up to `max` while nothing settles; each poll
/// takes `observe`. The first poll that starts at least `propagation`
/// after the bridges (or `until`, the ack timeout) sees them.
fn poll_wait(policy: &Policy, cost: &Cost, until: Option<u64>) -> Wait {
    let due = until.unwrap_or(cost.propagation.0);
    let first = policy.poll.interval.0.max(1) * 1_000;
    let max = policy.poll.max.0.max(policy.poll.interval.0).max(1) * 1_000;
    let (mut t, mut interval) = (0u64, first);
    let mut w = Wait {
        polls: 0,
        slept_ms: 0,
    };
    loop {
        w.polls += 1;
        if t >= due {
            return w;
        }
        t += cost.observe.0 + interval;
        w.slept_ms += interval;
        interval = (interval * 2).min(max);
    }
}

/// The work counted so far.
#[derive(Default)]
struct Tally {
    waiting_ms: u64,
    apply_ms: u64,
    operations: u64,
    apply_calls: u64,
    polls: u64,
    waves: u64,
    timed_out: u64,
    max_lanes: u64,
}

impl Tally {
    /// One round of `k` operations, in requests of up to `per_request`.
    fn request(&mut self, k: u64, per_request: u64, cost: &Cost) {
        let mut left = k;
        while left > 0 {
            let n = left.min(per_request);
            left -= n;
            self.send(n, cost);
        }
    }

    /// One `apply` request of `k` operations: in chunks of at most `batch`,
    /// as even as `parallel` allows, lane `j` of `lanes` sessions taking
    /// chunks `j`, `j + lanes`, ... (as the `exec:` provider sends them);
    /// the request lasts as long as lane 0, which has the most. Without
    /// sessions a request is one operation in a process of its own (its
    /// start-up is counted under start-ups).
    fn send(&mut self, k: u64, c: &Cost) {
        self.operations += k;
        self.apply_calls += 1;
        if !c.sessions {
            self.apply_ms += c.per_call.0 + k * c.per_operation.0;
            self.max_lanes = self.max_lanes.max(1);
            return;
        }
        let par = u64::from(c.parallel.max(1));
        let size = u64::from(c.batch.max(1)).min(k.div_ceil(par)).max(1);
        let chunks = k.div_ceil(size);
        let lanes = chunks.min(par).max(1);
        let lane0_chunks = chunks.div_ceil(lanes);
        let short = k % size;
        let holds_last = chunks > 0 && (chunks - 1) % lanes == 0;
        let lane0_ops = lane0_chunks * size
            - if holds_last && short > 0 {
                size - short
            } else {
                0
            };
        self.max_lanes = self.max_lanes.max(lanes);
        self.apply_ms += lane0_chunks * c.per_call.0 + lane0_ops * c.per_operation.0;
    }
}

#[cfg(test)]
#[path = "forecast_tests.rs"]
mod tests;
