//! Crash safety of `apply` on a `sim:FILE` target, at library level: for
//! every k, a run "crashes" right after its k-th operation (nothing after it
//! reaches the target or its files, and nothing is saved), the target is
//! re-opened from its files (snapshot + call log), and apply runs again
//! (observe, plan, apply, until the plan is empty) to completion.
//!
//! What must hold, for every k:
//! - **nothing applied twice**: across both runs, each distinct write (a
//!   member's bridge, its prune, a direct change, a retirement) reaches the
//!   provider at most once. The executor skips a step whose effect holds and
//!   the planner recognises a member in a bridge, so after a crash neither a
//!   bridge nor a prune is repeated; with no faults, no re-plan ever needs to
//!   write the same parents twice;
//! - **nothing stranded**: not after the crash, not at the end;
//! - **converged** at the end: the plan is empty and every member is on its
//!   desired parents.
//!
//! The journal is not used: correctness must not depend on it.

use handover::execute::{self, Cancel, EngineOptions, Silent};
use handover::model::{Observed, Topology};
use handover::name::Name;
use handover::provider::{Clock, Operation, Provider, ProviderError, Scope};
use handover::run::apply::{self, Job, RunInfo};
use handover::sim::file::SimFile;
use handover::verdict::Verdict;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// Counts every write that reaches the target, and crashes after `limit`.
struct Crashy<'a> {
    inner: &'a mut SimFile,
    limit: Option<usize>,
    done: usize,
    crashed: bool,
    cancel: Cancel,
    writes: &'a mut HashMap<String, u32>,
}

fn key(op: &Operation) -> String {
    serde_json::to_string(op).unwrap().to_ascii_lowercase()
}

impl Provider for Crashy<'_> {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        if self.crashed {
            return Err(ProviderError::Transient("crashed".into()));
        }
        self.inner.observe(scope).await
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        if self.crashed {
            return Err(ProviderError::Permanent("crashed".into()));
        }
        let r = self.inner.apply(op).await;
        *self.writes.entry(key(op)).or_default() += 1;
        self.done += 1;
        if self.limit == Some(self.done) {
            // The process dies right after this call returned.
            self.crashed = true;
            self.cancel.cancel();
        }
        r
    }
}

impl Clock for Crashy<'_> {
    fn now(&self) -> Duration {
        self.inner.now()
    }

    async fn sleep(&mut self, d: Duration) {
        if !self.crashed {
            self.inner.sleep(d).await
        }
    }
}

impl execute::Inspect for Crashy<'_> {
    fn stranded(&self) -> Vec<Name> {
        self.inner.sim().stranded()
    }
}

/// One `apply --desired` run: observe, plan, apply once.
fn apply_once(target: &mut Crashy<'_>, desired: &Topology) -> (usize, Verdict) {
    let start = block_on(target.observe(&Scope::All)).unwrap();
    let plan = handover::plan::plan(desired, &start);
    if plan.steps.is_empty() {
        return (0, Verdict::Converged);
    }
    let opts = EngineOptions {
        cancel: target.cancel.clone(),
        ..EngineOptions::from_policy(&desired.policy)
    };
    let info = RunInfo {
        run: "test".into(),
        command: "apply".into(),
        target: "sim:test".into(),
        revision: "r".into(),
        user: String::new(),
        commit: String::new(),
    };
    let job = Job {
        plan: &plan,
        start: &start,
        desired: Some(desired),
        opts: &opts,
        info: &info,
    };
    let r = block_on(apply::run(target, job, None, &mut Silent));
    (plan.steps.len(), r.outcome)
}

struct Case {
    _dir: tempfile::TempDir,
    file: PathBuf,
    desired: Topology,
    /// The pristine target files, copied before each k.
    observed_text: String,
}

fn case(observed: &str, desired: Topology) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("estate.yaml");
    Case {
        file,
        desired,
        observed_text: observed.to_string(),
        _dir: dir,
    }
}

fn reset(c: &Case) {
    for p in [
        c.file.clone(),
        handover::sim::file::snapshot_path(&c.file),
        handover::sim::file::log_path(&c.file),
    ] {
        let _ = std::fs::remove_file(p);
    }
    std::fs::write(&c.file, &c.observed_text).unwrap();
}

/// Runs apply to completion without a crash; returns the writes it made.
fn total_writes(c: &Case) -> usize {
    reset(c);
    let (mut sf, _) = SimFile::open(&c.file, 0).unwrap();
    let mut writes = HashMap::new();
    let mut t = Crashy {
        inner: &mut sf,
        limit: None,
        done: 0,
        crashed: false,
        cancel: Cancel::new(),
        writes: &mut writes,
    };
    let (_, outcome) = apply_once(&mut t, &c.desired);
    assert_eq!(outcome, Verdict::Converged);
    t.done
}

/// Crash after write `k`, re-open from the files, finish; check the rules.
fn crash_at(c: &Case, k: usize) {
    reset(c);
    let mut writes = HashMap::new();
    {
        let (mut sf, _) = SimFile::open(&c.file, 0).unwrap();
        let mut t = Crashy {
            inner: &mut sf,
            limit: Some(k),
            done: 0,
            crashed: false,
            cancel: Cancel::new(),
            writes: &mut writes,
        };
        apply_once(&mut t, &c.desired);
        assert!(t.crashed, "k={k}: the run did not reach write {k}");
        // Dropped without save: what is on disk is what a kill -9 leaves.
    }
    let (mut sf, _) = SimFile::open(&c.file, 0).unwrap();
    assert!(
        sf.sim().stranded().is_empty(),
        "k={k}: stranded after the crash: {:?}",
        sf.sim().stranded()
    );
    let mut passes = 0;
    loop {
        let mut t = Crashy {
            inner: &mut sf,
            limit: None,
            done: 0,
            crashed: false,
            cancel: Cancel::new(),
            writes: &mut writes,
        };
        let (steps, outcome) = apply_once(&mut t, &c.desired);
        assert_ne!(outcome, Verdict::Stranded, "k={k}");
        if steps == 0 {
            break;
        }
        passes += 1;
        assert!(
            passes <= 3,
            "k={k}: no convergence after {passes} resumed runs"
        );
    }
    let twice: Vec<_> = writes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "k={k}: applied more than once: {twice:?}");
    assert!(sf.sim().stranded().is_empty(), "k={k}: stranded at the end");
    let end = sf.sim().snapshot(&Scope::All);
    assert!(
        execute::classify(&c.desired, &end).converged(),
        "k={k}: not converged"
    );
}

fn example(name: &str) -> Case {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name);
    let text = std::fs::read_to_string(dir.join("observed.yaml")).unwrap();
    let desired = handover::load::topology(&[dir.join("desired.yaml")]).unwrap();
    case(&text, desired)
}

fn fleet(agents: usize, max_in_flight: u32) -> Case {
    // Four gateways, so that 30 % of the agents move (the synthetic fleet
    // moves agents only between more than two gateways).
    let spec = handover::synth::Spec {
        management_servers: 2,
        gateways: 4,
        ..handover::synth::Spec::fleet(agents)
    };
    let e = handover::synth::generate(&spec);
    let mut desired = e.desired;
    desired.policy.max_in_flight = max_in_flight;
    case(&handover::export::observed_yaml(&e.observed), desired)
}

#[test]
fn every_crash_point_of_the_replace_gateway_example() {
    let c = example("replace-gateway");
    let n = total_writes(&c);
    assert!(n >= 20, "{n} writes");
    for k in 1..=n {
        crash_at(&c, k);
    }
}

#[test]
fn every_crash_point_of_a_100_member_fleet() {
    let c = fleet(100, 10);
    let n = total_writes(&c);
    assert!(n >= 40, "{n} writes");
    for k in 1..=n {
        crash_at(&c, k);
    }
}

/// Crash points of a 1,000-member plan (about 600 writes). Every k takes
/// about 4 minutes in a debug build on a busy 2-core machine, so by default
/// every 20th k is run (plus the last); `HANDOVER_CRASH_STRIDE=1 cargo test
/// --test apply_crash` runs every k.
#[test]
fn every_crash_point_of_a_1000_member_fleet() {
    let c = fleet(1000, 50);
    let n = total_writes(&c);
    assert!(n >= 400, "{n} writes");
    let stride: usize = std::env::var("HANDOVER_CRASH_STRIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(1);
    let mut ks: Vec<usize> = (1..=n).step_by(stride).collect();
    ks.push(n);
    ks.dedup();
    for k in ks {
        crash_at(&c, k);
    }
}
