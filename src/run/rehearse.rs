//! `handover simulate` as a use case: rehearse a migration in the embedded
//! simulator, in virtual time, with the rollout and the gates a reconcile
//! pass would apply, and forecast the first plan against the real estate.
//!
//! Owns [`prepare`] (the simulator with its faults, the gates from the
//! start instant and the approvals, the first plan and its forecast) and
//! [`Prepared::run`] (the converge cycle with the strategy's planner: a
//! progressive rollout and the gates composed as a reconcile pass composes
//! them, [`Composed`]), returning a [`Rehearsed`] the CLI renders with
//! [`crate::report::simulate`]. Must not read flags or print: progress goes
//! to the caller's [`Progress`], and the caller prints the result.

use super::gates::parse_instant;
use super::gates::rehearse::{Clocked, DEFAULT_START, GateEvent, Rehearsal};
use super::rollout::{RolloutPlanner, RolloutReport};
use crate::execute::{self, ConvergeOptions, EngineOptions, Planner, Progress, RehearsalReport};
use crate::model::{Cost, Observed, Topology};
use crate::plan::Plan;
use crate::plan::forecast::Forecast;
use crate::sim::{FaultSchedule, Fired, Sim, SimConfig};
use std::path::PathBuf;
use std::time::Duration;

/// How members are moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Bridge, wait for the new primary, then prune (safe).
    MakeBeforeBreak,
    /// Write the desired parents in one step, as the console does (shows
    /// the hazard; no rollout and no gates).
    Direct,
}

impl Strategy {
    /// The strategy's name, as the flag spells it.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::MakeBeforeBreak => "make-before-break",
            Strategy::Direct => "direct",
        }
    }

    /// The planner of one pass.
    fn planner(self) -> fn(&Topology, &Observed) -> Plan {
        match self {
            Strategy::MakeBeforeBreak => crate::plan::plan,
            Strategy::Direct => crate::plan::direct::plan,
        }
    }
}

/// What a rehearsal is asked to do besides the two states.
#[derive(Clone, Debug)]
pub struct Options {
    /// How members are moved.
    pub strategy: Strategy,
    /// Seed of every random choice.
    pub seed: u64,
    /// Faults to inject (docs/spec.md section 6).
    pub faults: Option<PathBuf>,
    /// The instant the rehearsal starts at (RFC 3339), for
    /// `policy.windows`; `None`: [`DEFAULT_START`].
    pub start: Option<String>,
    /// Digests approved when a plan above `policy.approval` waits.
    pub approve: Vec<String>,
    /// Approve every plan above `policy.approval` as soon as it waits.
    pub auto_approve: bool,
    /// The forecast's figures: `policy.cost` with `--cost` over it.
    pub cost: Cost,
}

/// A rehearsal ready to run: what the CLI shows before it starts.
pub struct Prepared {
    /// The desired topology.
    pub desired: Topology,
    /// The observed state it starts from.
    pub observed: Observed,
    /// The first plan, against `observed` (the rehearsal plans again from
    /// the simulator's own observation).
    pub first: Plan,
    /// How long `first` is forecast to take against the real estate.
    pub forecast: Forecast,
    strategy: Strategy,
    sim: Sim,
    gates: Rehearsal,
    opts: ConvergeOptions,
}

/// The gates of a rehearsal from its start instant and approvals, or the
/// message to print.
fn gates(o: &Options) -> Result<Rehearsal, String> {
    let start = o.start.as_deref().unwrap_or(DEFAULT_START);
    let start = parse_instant(start).map_err(|e| format!("error: --start {start:?} {e}"))?;
    for d in &o.approve {
        if !crate::plan::approval::is_digest(d) {
            return Err(format!(
                "error: --approve {d:?} is not an approval digest; expected fnv1a64: and 16 hex digits, as `handover plan` prints it"
            ));
        }
    }
    Ok(Rehearsal::new(start, o.approve.clone(), o.auto_approve))
}

/// Builds the simulator, refusing faults that name hosts it does not know.
fn simulator(observed: &Observed, o: &Options) -> Result<Sim, String> {
    let faults = match &o.faults {
        Some(path) => FaultSchedule::load(path).map_err(|d| d.to_string())?,
        None => FaultSchedule::default(),
    };
    Sim::try_new(observed, SimConfig::seeded(o.seed).with_faults(faults)).map_err(|d| d.to_string())
}

/// Everything a rehearsal needs before it runs, or the message to print
/// (a `--start` or `--approve` that does not parse, a faults file that
/// does not load or names unknown hosts).
pub fn prepare(desired: Topology, observed: Observed, o: &Options) -> Result<Prepared, String> {
    let gates = gates(o)?;
    let sim = simulator(&observed, o)?;
    let opts = ConvergeOptions {
        exec: EngineOptions {
            seed: o.seed,
            ..EngineOptions::from_policy(&desired.policy)
        },
        ..ConvergeOptions::default()
    };
    let first = (o.strategy.planner())(&desired, &observed);
    let forecast = crate::plan::forecast::forecast(&first, &desired.policy, &o.cost);
    Ok(Prepared {
        desired,
        observed,
        first,
        forecast,
        strategy: o.strategy,
        sim,
        gates,
        opts,
    })
}

impl Prepared {
    /// The strategy rehearsed.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// How many members may be in a bridge at once: `policy.maxInFlight`,
    /// or, for `direct` (which has no window), all its changes in one wave.
    pub fn window(&self) -> u32 {
        match self.strategy {
            Strategy::MakeBeforeBreak => self.desired.policy.max_in_flight,
            Strategy::Direct => u32::try_from(self.first.summary.moves)
                .unwrap_or(u32::MAX)
                .max(1),
        }
    }

    /// Runs the rehearsal to its verdict; every executor event goes to
    /// `progress`. Make-before-break runs under the topology's rollout and
    /// gates together ([`Composed`]); `direct` shows the hazard of the
    /// console's way, with neither.
    pub fn run(self, progress: &mut dyn Progress) -> Result<Rehearsed, String> {
        let Prepared {
            desired,
            observed,
            first,
            forecast,
            strategy,
            mut sim,
            gates,
            opts,
        } = self;
        let runtime = super::runtime()?;
        let plan = strategy.planner();
        let mut rollout = (strategy == Strategy::MakeBeforeBreak
            && desired.policy.rollout.is_some())
        .then(|| RolloutPlanner::new("rehearsal"));
        let mut target = Clocked {
            inner: &mut sim,
            gates: &gates,
        };
        let report = match (strategy, rollout.as_mut()) {
            (Strategy::Direct, _) => runtime.block_on(execute::converge(
                &mut target,
                &desired,
                plan,
                &opts,
                progress,
            )),
            (Strategy::MakeBeforeBreak, Some(r)) => runtime.block_on(execute::converge(
                &mut target,
                &desired,
                Composed {
                    rollout: r,
                    gates: &gates,
                },
                &opts,
                progress,
            )),
            (Strategy::MakeBeforeBreak, None) => runtime.block_on(execute::converge(
                &mut target,
                &desired,
                |d: &Topology, o: &Observed| gates.plan(d, o, plan),
                &opts,
                progress,
            )),
        };
        Ok(Rehearsed {
            gate_events: gates.events(),
            faults: sim.faults_fired(),
            desired,
            observed,
            first,
            forecast,
            strategy,
            sim,
            report,
            rollout,
        })
    }
}

/// A rehearsal's planner under `policy.rollout` and the gates together, as
/// a reconcile pass plans (`run::pass`, [`super::gates::plan_pass_narrowed`]):
/// the rollout decides its step (its rollback written in), the gates judge
/// that whole revision, and a member starts only when the step, the
/// windows and the approval all admit it.
pub struct Composed<'a> {
    /// The rollout, its memory kept between passes.
    pub rollout: &'a mut RolloutPlanner,
    /// The gates, on the rehearsal's virtual clock.
    pub gates: &'a Rehearsal,
}

impl Planner for Composed<'_> {
    fn plan(&mut self, desired: &Topology, observed: &Observed, clock: Duration) -> Plan {
        let Ok((assignment, _)) = crate::assign::resolve_lenient(desired, observed) else {
            return crate::plan::plan(desired, observed);
        };
        match self.rollout.admit(desired, observed, &assignment, clock) {
            Some((dec, d, a)) => self
                .gates
                .plan_narrowed(&d, observed, &a, &|s| dec.admits(s)),
            None => self.gates.plan(desired, observed, crate::plan::plan),
        }
    }

    fn wake_at(&self) -> Option<Duration> {
        self.rollout.wake_at()
    }
}

/// What a rehearsal did, for the CLI to render.
pub struct Rehearsed {
    /// The desired topology.
    pub desired: Topology,
    /// The observed state it started from.
    pub observed: Observed,
    /// The first plan.
    pub first: Plan,
    /// The first plan's forecast against the real estate.
    pub forecast: Forecast,
    /// The strategy rehearsed.
    pub strategy: Strategy,
    /// The simulator, as the rehearsal left it.
    pub sim: Sim,
    /// The cycle's report and verdict.
    pub report: RehearsalReport,
    /// The faults injected, in order.
    pub faults: Vec<Fired>,
    /// What the change windows and the approval gate did, in order.
    pub gate_events: Vec<GateEvent>,
    rollout: Option<RolloutPlanner>,
}

impl Rehearsed {
    /// `policy.rollout`'s steps, timeline and outcome, when it ran.
    pub fn rollout(&self) -> Option<RolloutReport<'_>> {
        self.desired
            .policy
            .rollout
            .as_ref()
            .zip(self.rollout.as_ref())
            .map(|(policy, r)| r.report(policy))
    }

    /// The estate as the rehearsal left it.
    pub fn now(&self) -> Observed {
        self.sim.snapshot(&crate::provider::Scope::All)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::Silent;

    const OBSERVED: &str = "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1.contoso.local, up: true}, {name: ms2.contoso.local, up: true}]
agents:
  - {name: a1.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a2.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a3.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
";

    /// Everyone to ms2, with `policy` (YAML lines under `policy:`).
    fn states(policy: &str) -> (Topology, Observed) {
        let desired = format!(
            "apiVersion: handover/v1
kind: Topology
managementServers: [{{name: ms1.contoso.local}}, {{name: ms2.contoso.local}}]
agentRules:
  - {{match: \"*.contoso.local\", primary: ms2.contoso.local, failover: []}}
policy:
{policy}"
        );
        (
            crate::load::topology_str(&desired, "desired.yaml").unwrap(),
            crate::load::observed_str(OBSERVED, "observed.yaml").unwrap(),
        )
    }

    fn options() -> Options {
        Options {
            strategy: Strategy::MakeBeforeBreak,
            seed: 0,
            faults: None,
            start: None,
            approve: Vec::new(),
            auto_approve: false,
            cost: Cost::default(),
        }
    }

    #[test]
    fn a_bad_start_or_digest_is_refused_before_anything_runs() {
        let (d, o) = states("  maxInFlight: 2\n");
        let e = prepare(
            d.clone(),
            o.clone(),
            &Options {
                start: Some("tomorrow".into()),
                ..options()
            },
        )
        .err()
        .unwrap();
        assert!(
            e.starts_with("error: --start \"tomorrow\" is not an RFC 3339 time"),
            "{e}"
        );
        let e = prepare(
            d,
            o,
            &Options {
                approve: vec!["abc".into()],
                ..options()
            },
        )
        .err()
        .unwrap();
        assert!(
            e.contains("--approve \"abc\" is not an approval digest"),
            "{e}"
        );
    }

    #[test]
    fn a_rehearsal_converges_and_direct_has_one_wave() {
        let (d, o) = states("  maxInFlight: 2\n");
        let p = prepare(d.clone(), o.clone(), &options()).unwrap();
        assert_eq!((p.window(), p.first.summary.moves), (2, 3));
        let r = p.run(&mut Silent).unwrap();
        assert_eq!(r.report.exit_code(), crate::verdict::exit::OK);
        assert!(r.rollout().is_none() && r.gate_events.is_empty());
        let direct = Options {
            strategy: Strategy::Direct,
            ..options()
        };
        assert_eq!(prepare(d, o, &direct).unwrap().window(), 3);
    }

    #[test]
    fn a_rollout_under_a_closed_window_starts_nothing_until_it_opens() {
        // Saturday noon in Berlin: the weeknight window is closed until
        // Monday 22:00 (21:00 UTC).
        let (d, o) = states(
            "  windows:
    - {kind: allow, schedule: \"0 22 * * 1-5\", duration: 4h, timeZone: Europe/Berlin}
  rollout:
    steps:
      - {members: 1}
      - {percent: 100}
",
        );
        let p = prepare(
            d,
            o,
            &Options {
                start: Some("2026-12-12T12:00:00+01:00".into()),
                ..options()
            },
        )
        .unwrap();
        let r = p.run(&mut Silent).unwrap();
        assert_eq!(r.report.exit_code(), crate::verdict::exit::OK);
        let closed = &r.gate_events[0];
        assert_eq!((closed.event, closed.members), ("window_closed", 3));
        assert_eq!(closed.until.as_deref(), Some("2026-12-14T21:00:00Z"));
        let opened = &r.gate_events[1];
        assert_eq!(opened.event, "window_open");
        // Everyone moved, through the rollout, after the window opened.
        assert_eq!(r.report.moved, 3);
        assert!(r.report.virtual_seconds >= opened.at_seconds as f64);
        assert!(r.rollout().is_some());
    }
}
