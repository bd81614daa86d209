//! Lost answers (issue 16, section 5): a provider call that times out may
//! still have been applied. The REAL planner and the REAL executor's
//! converge loop run against the REAL simulator with
//! `providerLostAnswerRate` in force (every lost answer is a change that
//! was made and reported as a transient failure), watched from outside by
//! a wrapper that reads the management group's configuration back from
//! the simulator after every wait, and on the smaller estates after every
//! write too:
//! - nobody is ever stranded (a stranded member cannot heal without a
//!   write, so looking after every wait misses none that a write leaves);
//! - with lost answers alone, the rehearsal converges, no member is
//!   reported failed for a change that was made, and the window holds
//!   exactly: never more than `maxInFlight` members in a bridge we opened;
//! - at 10,000 members with 20 % lost answers and 10 % of the agents hung
//!   (`neverAck`), nobody is stranded, every hung member that was to move
//!   is reported pending in its bridge, and every other member converges.

use handover::execute::{self, ConvergeOptions, EngineOptions, Inspect, RehearsalReport, Schedule};
use handover::model::{Observed, Parents, Topology};
use handover::name::Name;
use handover::provider::{Clock, Operation, Provider, ProviderError, Scope};
use handover::sim::{FaultSchedule, Sim, SimConfig};
use handover::synth;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

/// The simulator, watched after every write (the window, when asked) and
/// every wait (stranding).
struct Watched {
    sim: Sim,
    /// Desired parents of the members whose bridges are counted.
    want: BTreeMap<Name, Parents>,
    /// Their parents at the start.
    start: BTreeMap<Name, Parents>,
    /// Count bridges after every write (O(members) a write: small estates).
    count_bridges: bool,
    /// Most members at once in a bridge we opened.
    max_bridged: usize,
    ever_stranded: BTreeSet<Name>,
}

fn strict_superset(configured: &Parents, desired: &Parents) -> bool {
    let c: HashSet<&Name> = configured.iter().collect();
    let d: HashSet<&Name> = desired.iter().collect();
    c.len() > d.len() && d.is_subset(&c)
}

impl Watched {
    fn new(sim: Sim, desired: &Topology, count_bridges: bool) -> Self {
        let want: BTreeMap<Name, Parents> = desired
            .gateways
            .iter()
            .chain(&desired.agents)
            .map(|m| (m.name.clone(), m.parents.clone()))
            .collect();
        let start = want
            .keys()
            .filter_map(|k| sim.member(k).map(|m| (k.clone(), m.configured)))
            .collect();
        Watched {
            sim,
            want,
            start,
            count_bridges,
            max_bridged: 0,
            ever_stranded: BTreeSet::new(),
        }
    }

    fn bridges(&mut self) {
        let mut bridged = 0;
        for (name, d) in &self.want {
            if let Some(m) = self.sim.member(name)
                && strict_superset(&m.configured, d)
                && self.start.get(name) != Some(&m.configured)
            {
                bridged += 1;
            }
        }
        self.max_bridged = self.max_bridged.max(bridged);
    }
}

impl Provider for Watched {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        self.sim.observe(scope).await
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        let r = self.sim.apply(op).await;
        if self.count_bridges {
            self.bridges();
            self.ever_stranded.extend(self.sim.stranded());
        }
        r
    }
}

impl Clock for Watched {
    fn now(&self) -> Duration {
        self.sim.now()
    }

    async fn sleep(&mut self, d: Duration) {
        self.sim.sleep(d).await;
        self.ever_stranded.extend(self.sim.stranded());
    }
}

impl Schedule for Watched {
    fn next_scheduled(&self) -> Option<Duration> {
        Schedule::next_scheduled(&self.sim)
    }
}

impl Inspect for Watched {
    fn stranded(&self) -> Vec<Name> {
        Inspect::stranded(&self.sim)
    }

    fn settling(&self) -> bool {
        Inspect::settling(&self.sim)
    }
}

/// Runs the make-before-break rehearsal of `desired` from `observed` under
/// `faults`.
fn rehearse(
    desired: &Topology,
    observed: &Observed,
    faults: &str,
    seed: u64,
    count_bridges: bool,
) -> (RehearsalReport, Watched) {
    let faults = FaultSchedule::parse(faults, "faults.yaml").unwrap();
    let sim = Sim::try_new(observed, SimConfig::seeded(seed).with_faults(faults)).unwrap();
    let mut watched = Watched::new(sim, desired, count_bridges);
    let opts = ConvergeOptions {
        exec: EngineOptions {
            seed,
            ..EngineOptions::from_policy(&desired.policy)
        },
        ..ConvergeOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let report = rt.block_on(execute::converge(
        &mut watched,
        desired,
        handover::plan::plan,
        &opts,
        &mut |_: &execute::ProgressEvent| {},
    ));
    (report, watched)
}

/// Every member of `desired` not in `except` has its desired parents and
/// is connected to its desired primary.
fn assert_members_converged(w: &Watched, except: &BTreeSet<Name>) {
    for (name, d) in &w.want {
        if except.contains(name) {
            continue;
        }
        let m = w.sim.member(name).unwrap();
        assert_eq!(&m.configured, d, "{name}");
        assert_eq!(m.connected.as_ref(), Some(&d.primary), "{name}: {m:?}");
    }
}

/// Half the answers lost: many calls lose the answer of every attempt, so
/// the executor must find out, not guess, whether the change was made.
#[test]
fn lost_answers_alone_converge_within_the_window() {
    for seed in [1, 2, 3] {
        let mut spec = synth::Spec::fleet(400);
        spec.gateways = 4;
        spec.seed = seed;
        let mut e = synth::generate(&spec);
        e.desired.policy.max_in_flight = 7;
        let faults = "faults:\n  - providerLostAnswerRate: 0.5\n";
        let (r, w) = rehearse(&e.desired, &e.observed, faults, seed, true);
        let ctx = format!("seed {seed}: {r:?}");
        assert!(w.sim.calls().transient_failures > 50, "{:?}", w.sim.calls());
        assert!(w.ever_stranded.is_empty(), "{:?} {ctx}", w.ever_stranded);
        assert!(r.converged, "{ctx}");
        assert_eq!(r.exit_code(), 0, "{ctx}");
        assert!(r.failed.is_empty(), "{ctx}");
        assert!(r.moved > 50, "{ctx}");
        assert!(
            w.max_bridged <= 7,
            "{} members in a bridge at once, window 7; {ctx}",
            w.max_bridged
        );
        assert_members_converged(&w, &BTreeSet::new());
    }
}

/// Issue 16: 20 % lost answers and 10 % hung members at 10,000 members
/// strand nobody.
#[test]
fn lost_answers_and_hung_members_at_ten_thousand_strand_nobody() {
    let e = synth::generate(&synth::Spec::fleet(10_000));
    assert_eq!(e.observed.agents.len(), 10_000);
    let hung: BTreeSet<Name> = e
        .observed
        .agents
        .iter()
        .step_by(10)
        .map(|a| a.name.clone())
        .collect();
    let list: Vec<&str> = hung.iter().map(Name::as_str).collect();
    let faults = format!(
        "faults:\n  - providerLostAnswerRate: 0.2\n  - neverAck: [{}]\n",
        list.join(", ")
    );
    let (r, w) = rehearse(&e.desired, &e.observed, &faults, 16, false);
    let ctx = format!(
        "pending {}, failed {:?}, blocked {:?}, stop {:?}, passes {}, moved {}",
        r.pending.len(),
        r.failed,
        r.blocked,
        r.stop,
        r.passes,
        r.moved
    );
    println!("{ctx}; {:?}", w.sim.calls());
    assert!(
        w.sim.calls().transient_failures > 100,
        "{:?}",
        w.sim.calls()
    );
    assert!(
        w.ever_stranded.is_empty(),
        "{} stranded, such as {:?}; {ctx}",
        w.ever_stranded.len(),
        w.ever_stranded.first()
    );
    assert!(r.stranded.is_empty(), "{ctx}");
    assert_eq!(r.exit_code(), 3, "hung members are pending; {ctx}");
    // Every hung member that was to move is reported pending (in its
    // bridge, safe); no other member is left behind.
    let moving: BTreeSet<Name> = e
        .observed
        .agents
        .iter()
        .filter(|a| w.want.get(&a.name) != Some(&a.parents))
        .map(|a| a.name.clone())
        .collect();
    let hung_moving: BTreeSet<&Name> = hung.intersection(&moving).collect();
    assert!(hung_moving.len() > 100, "{}", hung_moving.len());
    let pending: BTreeSet<&Name> = r.pending.iter().collect();
    assert_eq!(pending, hung_moving, "{ctx}");
    for name in &hung_moving {
        let m = w.sim.member(name).unwrap();
        assert!(
            strict_superset(&m.configured, &w.want[*name]),
            "{name} is pending but not in a bridge: {m:?}"
        );
    }
    assert!(r.failed.is_empty(), "{ctx}");
    assert_members_converged(&w, &hung);
}
