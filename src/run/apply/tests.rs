use super::*;
use crate::execute::Silent;
use crate::sim::{Sim, SimConfig};
use crate::state::journal;
use std::path::Path;

fn example(name: &str) -> (Topology, Observed) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name);
    (
        crate::load::topology(&[dir.join("desired.yaml")]).unwrap(),
        crate::load::observed(&dir.join("observed.yaml")).unwrap(),
    )
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn info() -> RunInfo {
    RunInfo {
        run: "r1".into(),
        command: "apply".into(),
        target: "sim:estate.yaml".into(),
        revision: "rev".into(),
        user: "operator".into(),
        commit: String::new(),
    }
}

#[test]
fn a_run_journals_start_every_operation_awaits_and_the_end() {
    let (desired, observed) = example("replace-gateway");
    let mut sim = Sim::from_observed(&observed, SimConfig::seeded(1));
    let plan = crate::plan::plan(&desired, &observed);
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(dir.path()).unwrap();
    let opts = EngineOptions::from_policy(&desired.policy);
    let info = info();
    let job = Job {
        plan: &plan,
        start: &observed,
        desired: Some(&desired),
        opts: &opts,
        info: &info,
    };
    let r = block_on(run(&mut sim, job, Some(&mut j), &mut Silent));
    assert_eq!(r.outcome, Verdict::Converged);
    assert_eq!(r.outcome.exit_code(), 0);
    assert!(r.journal_error.is_none());
    let records = journal::read(dir.path()).unwrap();
    assert!(
        matches!(&records[0], Record::RunStarted { run, revision, .. } if run == "r1" && revision == "rev")
    );
    let applied = records
        .iter()
        .filter(|r| matches!(r, Record::Step { outcome, .. } if outcome == "applied"))
        .count() as u64;
    assert_eq!(applied, r.report.steps_applied);
    // Every operation record names its plan step.
    for rec in &records {
        if let Record::Step { step, outcome, .. } = rec {
            assert!(*step > 0, "{rec:?}");
            assert!(["applied", "satisfied", "skipped"].contains(&outcome.as_str()));
        }
    }
    let satisfied = records
        .iter()
        .filter(|r| matches!(r, Record::Step { outcome, .. } if outcome == "satisfied"))
        .count() as u64;
    assert_eq!(satisfied, r.report.awaits_satisfied);
    assert!(matches!(
        records.last().unwrap(),
        Record::RunFinished { outcome, applied: a, .. } if outcome == "converged" && *a == applied
    ));
}

#[test]
fn a_cancelled_run_is_interrupted_exit_3_and_nobody_is_stranded() {
    let (desired, observed) = example("replace-gateway");
    let mut sim = Sim::from_observed(&observed, SimConfig::seeded(1));
    let plan = crate::plan::plan(&desired, &observed);
    let opts = EngineOptions::from_policy(&desired.policy);
    opts.cancel.cancel();
    let info = info();
    let job = Job {
        plan: &plan,
        start: &observed,
        desired: Some(&desired),
        opts: &opts,
        info: &info,
    };
    let r = block_on(run(&mut sim, job, None, &mut Silent));
    assert_eq!(r.outcome, Verdict::Interrupted);
    assert_eq!(r.outcome.exit_code(), 3);
    assert!(r.stranded.is_empty());
}

#[test]
fn a_never_acknowledging_member_is_pending_exit_3() {
    let (mut desired, observed) = example("replace-gateway");
    desired.policy.ack_timeout = crate::model::Seconds(300);
    let faults = crate::sim::FaultSchedule::parse(
        "faults:\n  - neverAck: web01.dmz.contoso.local\n",
        "faults.yaml",
    )
    .unwrap();
    let mut sim = Sim::try_new(&observed, SimConfig::seeded(1).with_faults(faults)).unwrap();
    let plan = crate::plan::plan(&desired, &observed);
    let opts = EngineOptions::from_policy(&desired.policy);
    let info = info();
    let job = Job {
        plan: &plan,
        start: &observed,
        desired: Some(&desired),
        opts: &opts,
        info: &info,
    };
    let r = block_on(run(&mut sim, job, None, &mut Silent));
    assert_eq!(r.outcome, Verdict::NotConverged);
    // web01 stays in its bridge; gw1's retirement waits for it.
    let pending: Vec<&str> = r.report.pending.iter().map(|n| n.as_str()).collect();
    assert_eq!(pending, ["web01.dmz.contoso.local"]);
    let waiting: Vec<&str> = r.report.waiting.iter().map(|n| n.as_str()).collect();
    assert_eq!(waiting, ["gw1.dmz.contoso.local"]);
    assert!(r.stranded.is_empty());
}

mod stale_plans {
    use super::*;
    use crate::run::apply::stale;

    #[test]
    fn an_unchanged_estate_passes_and_a_changed_one_names_the_member() {
        let (desired, observed) = example("replace-gateway");
        let plan = crate::plan::plan(&desired, &observed);
        assert!(stale::check(&plan, &observed).is_ok());
        let mut moved = observed.clone();
        let web01 = moved
            .agents
            .iter_mut()
            .find(|a| a.name.as_str() == "web01.dmz.contoso.local")
            .unwrap();
        web01.parents.primary = crate::name::Name::parse("gw3.dmz.contoso.local").unwrap();
        let err = stale::check(&plan, &moved).unwrap_err();
        assert_eq!(err.total, 1, "{err}");
        assert!(
            err.to_string().contains("web01.dmz.contoso.local now has"),
            "{err}"
        );
        // A member the plan does not mention does not make it stale.
        let mut other = observed.clone();
        other
            .agents
            .retain(|a| a.name.as_str() != "sql01.dmz.contoso.local");
        let p2 = crate::plan::plan(&desired, &observed);
        let touched = p2
            .steps
            .iter()
            .any(|s| s.action.subject().as_str() == "sql01.dmz.contoso.local");
        assert_eq!(stale::check(&p2, &other).is_ok(), !touched);
    }

    #[test]
    fn a_down_gateway_and_a_vanished_member_are_named() {
        let (desired, observed) = example("replace-gateway");
        let plan = crate::plan::plan(&desired, &observed);
        let mut changed = observed.clone();
        for g in &mut changed.gateways {
            if g.name.as_str() == "gw2.dmz.contoso.local" {
                g.up = false;
            }
        }
        changed
            .agents
            .retain(|a| a.name.as_str() != "web02.dmz.contoso.local");
        let err = stale::check(&plan, &changed).unwrap_err().to_string();
        assert!(
            err.contains("gateway gw2.dmz.contoso.local is down"),
            "{err}"
        );
        assert!(
            err.contains("agent web02.dmz.contoso.local is no longer observed"),
            "{err}"
        );
    }

    #[test]
    fn a_plan_without_a_digest_is_applied_as_it_is_only_with_force() {
        let (desired, observed) = example("replace-gateway");
        let mut plan = crate::plan::plan(&desired, &observed);
        plan.observed_digest = None;
        let mut changed = observed.clone();
        changed.agents.clear();
        assert!(stale::check(&plan, &changed).is_ok());
        // ...but only with --force: without it, refused naming the field.
        let e = stale::require_digest(&plan, "plan.json", false).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("plan.json: the plan has no observed_digest"),
            "{e}"
        );
        assert!(e.to_string().contains("--force"), "{e}");
        assert!(stale::require_digest(&plan, "plan.json", true).is_ok());
        let planned = crate::plan::plan(&desired, &observed);
        assert!(stale::require_digest(&planned, "plan.json", false).is_ok());
    }
}

/// A member whose new primary is already one of its failovers changes in
/// one step (nothing it talks to is dropped) and reaches the new primary on
/// its own, after learning its configuration. The run waits for the
/// simulator to settle before its final check, so it converges (exit 0)
/// instead of reporting the member as not yet on its primary.
#[test]
fn a_one_step_primary_swap_converges_once_the_member_has_moved_over() {
    let observed = crate::load::observed_str(
        "apiVersion: handover/v1
kind: Observed
managementServers:
  - {name: ms1, up: true}
gateways:
  - {name: gw1, primary: ms1, connected: ms1}
  - {name: gw2, primary: ms1, connected: ms1}
agents:
  - {name: web01, primary: gw1, failover: [gw2], connected: gw1}
",
        "o.yaml",
    )
    .unwrap();
    let desired = crate::load::topology_str(
        "apiVersion: handover/v1
kind: Topology
managementServers: [{name: ms1}]
gateways:
  - {name: gw1, primary: ms1}
  - {name: gw2, primary: ms1}
agents:
  - {name: web01, primary: gw2, failover: [gw1]}
",
        "d.yaml",
    )
    .unwrap();
    let plan = crate::plan::plan(&desired, &observed);
    assert_eq!(plan.steps.len(), 1, "a swap is one step: {plan:?}");
    let mut sim = Sim::from_observed(&observed, SimConfig::seeded(3));
    let opts = EngineOptions::from_policy(&desired.policy);
    let info = info();
    let job = Job {
        plan: &plan,
        start: &observed,
        desired: Some(&desired),
        opts: &opts,
        info: &info,
    };
    let r = block_on(run(&mut sim, job, None, &mut Silent));
    assert_eq!(r.outcome, Verdict::Converged, "{r:?}");
    let web01 = crate::name::Name::parse("web01").unwrap();
    assert_eq!(
        sim.member(&web01).unwrap().connected,
        Some(crate::name::Name::parse("gw2").unwrap())
    );
}
