//! The `apply` use case ([`handover::run::apply::interactive`]) driven
//! without a terminal: a scripted [`Ui`] answers the question and records
//! what a person would have seen, on a `sim:FILE` target made from an
//! example.

use handover::execute::{Cancel, Progress, ProgressEvent};
use handover::model::{Observed, Policy};
use handover::plan::Plan;
use handover::run::apply::interactive::{self, Ended, Request, Ui};
use handover::run::target::{self, OpenOptions};
use std::path::{Path, PathBuf};

/// A person who answers `approve` and remembers what was shown.
#[derive(Default)]
struct Script {
    approve: bool,
    notes: Vec<String>,
    plans_shown: usize,
    asked: usize,
    events: usize,
    started: bool,
    finished: bool,
}

impl Progress for Script {
    fn event(&mut self, _: &ProgressEvent) {
        self.events += 1;
    }
}

impl Ui for Script {
    fn note(&mut self, line: &str) {
        self.notes.push(line.to_string());
    }
    fn show_plan(&mut self, _: &Plan, _: &Observed, _: &Policy) {
        self.plans_shown += 1;
    }
    fn confirm(&mut self, _: &Plan, _: &str) -> bool {
        self.asked += 1;
        self.approve
    }
    fn watch_interrupt(&mut self, _: Cancel) {}
    fn run_started(&mut self, _: &Plan) {
        self.started = true;
    }
    fn run_finished(&mut self) {
        self.finished = true;
    }
}

fn setup(example: &str) -> (tempfile::TempDir, Request) {
    let tmp = tempfile::tempdir().unwrap();
    let ex = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(example);
    std::fs::copy(ex.join("observed.yaml"), tmp.path().join("estate.yaml")).unwrap();
    std::fs::copy(ex.join("desired.yaml"), tmp.path().join("desired.yaml")).unwrap();
    let name = format!("sim:{}", tmp.path().join("estate.yaml").display());
    let req = Request {
        spec: target::spec(&name, &[]).unwrap(),
        target_name: name,
        open: OpenOptions::default(),
        desired: vec![tmp.path().join("desired.yaml")],
        planfile: None,
        force: false,
        max_in_flight: None,
        ack_timeout: None,
        seed: 0,
        state_dir: Some(tmp.path().join("state")),
        auto_approve: false,
        ignore_windows: false,
    };
    (tmp, req)
}

fn estate(tmp: &Path) -> Vec<u8> {
    std::fs::read(PathBuf::from(tmp).join("estate.yaml")).unwrap()
}

#[test]
fn declining_changes_nothing_and_exits_1() {
    let (_tmp, req) = setup("replace-gateway");
    let mut ui = Script::default();
    let out = interactive::apply(&req, &mut ui).unwrap();
    assert!(matches!(out.ended, Ended::Declined));
    assert_eq!(out.code, 1);
    assert_eq!((ui.plans_shown, ui.asked, ui.events), (1, 1, 0));
    assert!(!ui.started);
    assert!(
        ui.notes
            .iter()
            .any(|n| n == "Apply cancelled: nothing was changed."),
        "{:?}",
        ui.notes
    );
    // Nothing was applied: asked again, the same plan comes back.
    let again = interactive::apply(&req, &mut Script::default()).unwrap();
    assert_eq!(
        serde_json::to_string(&again.plan).unwrap(),
        serde_json::to_string(&out.plan).unwrap()
    );
    assert!(!out.plan.steps.is_empty());
}

#[test]
fn approving_applies_the_plan_and_reports_the_run() {
    let (tmp, req) = setup("replace-gateway");
    let before = estate(tmp.path());
    let mut ui = Script {
        approve: true,
        ..Default::default()
    };
    let out = interactive::apply(&req, &mut ui).unwrap();
    assert_eq!(out.code, 0, "{:?}", ui.notes);
    let Ended::Ran(ran) = &out.ended else {
        panic!("not run: {:?}", out.ended)
    };
    assert_eq!(ran.result.outcome.as_str(), "converged");
    assert!(ran.result.report.steps_applied > 0);
    assert!(ui.started && ui.finished && ui.events > 0);
    assert_ne!(estate(tmp.path()), before, "the sim: target was saved");
    // Applying again finds nothing to do and asks nothing.
    let mut again = Script::default();
    let out = interactive::apply(&req, &mut again).unwrap();
    assert!(matches!(out.ended, Ended::NothingToApply));
    assert_eq!((out.code, again.asked), (0, 0));
}

#[test]
fn auto_approve_does_not_ask() {
    let (_tmp, mut req) = setup("replace-gateway");
    req.auto_approve = true;
    let mut ui = Script::default();
    let out = interactive::apply(&req, &mut ui).unwrap();
    assert_eq!((out.code, ui.asked), (0, 0));
}

#[test]
fn force_without_a_planfile_is_refused_before_anything_is_opened() {
    let (tmp, mut req) = setup("replace-gateway");
    req.force = true;
    let before = estate(tmp.path());
    let mut ui = Script::default();
    let err = interactive::apply(&req, &mut ui).unwrap_err();
    assert!(err.contains("--force applies to a PLANFILE"), "{err}");
    assert_eq!(ui.plans_shown, 0);
    assert_eq!(estate(tmp.path()), before);
}
