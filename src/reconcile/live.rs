//! What the status page shows while a pass runs: the plan's blocked list,
//! the topology graph, and the in-flight table the executor's progress
//! events keep current.
//!
//! Owns [`Live`], the lock-protected [`LiveHandle`] the pass writes and the
//! listener reads, and [`LiveProgress`], the [`Progress`] hook that turns
//! executor events (bridged → acknowledged → pruned) into table rows. A
//! member leaves the table when it is pruned, changed without a bridge or
//! fails. Everything shown is bounded: lists are cut at [`LIST_CAP`] rows
//! and keep their totals, so a 100,000-member estate stays a small page.
//! The graph follows the wave: members pruned or changed are drawn at
//! their new primary when the page asks ([`LiveHandle::refresh_graph`]),
//! at most every [`GRAPH_EVERY`], outside the lock.
//! Reads the wall clock (for "since"); must not observe, plan or apply.

use super::status::BlockedView;
use crate::execute::{Progress, ProgressEvent};
use crate::graph;
use crate::model::Observed;
use crate::name::Name;
use crate::plan::{Plan, Summary};
use crate::state::rfc3339;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The most rows any list on the page shows; the rest are counted.
pub const LIST_CAP: usize = 50;

/// The graph is redrawn at most this often while members move (a 100,000
/// member graph takes tens of milliseconds to draw).
pub const GRAPH_EVERY: Duration = Duration::from_secs(2);

/// The plan the graph is drawn from and the observation it was made from,
/// kept while a pass applies it, to redraw the graph as members move.
#[derive(Debug)]
pub struct GraphSource {
    /// The plan.
    pub plan: Plan,
    /// Its observation.
    pub observed: Observed,
}

/// Where a member in flight is in its make-before-break change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Its bridge is written: new primary, old parents kept as failovers.
    Bridged,
    /// It reports to its new primary; the old parents can go.
    Acknowledged,
    /// It did not acknowledge in time and stays in its bridge.
    Pending,
}

impl Stage {
    /// The word the page shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Bridged => "bridged",
            Stage::Acknowledged => "acknowledged",
            Stage::Pending => "pending",
        }
    }
}

/// A member in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moving {
    /// Its stage.
    pub stage: Stage,
    /// When it entered its bridge, RFC 3339.
    pub since: String,
}

/// Where the pass is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Between passes.
    #[default]
    Idle,
    /// Observing and planning.
    Planning,
    /// Applying a plan.
    Applying,
}

impl Phase {
    /// The word the page shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "waiting for the next pass",
            Phase::Planning => "observing and planning",
            Phase::Applying => "applying",
        }
    }
}

/// What happened to members in the pass being applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Bridges written.
    pub bridged: u64,
    /// Members seen on their new primary.
    pub acknowledged: u64,
    /// Bridges pruned to the exact desired parents.
    pub pruned: u64,
    /// Members whose parents were written without a bridge.
    pub changed: u64,
    /// Members left pending.
    pub pending: u64,
    /// Members whose chain failed.
    pub failed: u64,
}

/// The live part of the page.
#[derive(Clone, Debug, Default)]
pub struct Live {
    /// Where the pass is.
    pub phase: Phase,
    /// The pass number (from 1) that last planned.
    pub pass: u64,
    /// The summary of its plan.
    pub summary: Option<Summary>,
    /// Its blocked members, at most [`LIST_CAP`].
    pub blocked: Vec<BlockedView>,
    /// How many are blocked in all.
    pub blocked_total: u64,
    /// The topology graph of that plan over its observation, as SVG.
    pub graph_svg: Option<String>,
    /// What the graph is drawn from, while a pass applies its plan.
    pub graph_source: Option<Arc<GraphSource>>,
    /// Members pruned or changed since that plan was made.
    pub moved: BTreeSet<Name>,
    /// How many of them the graph shows moved, and when it was drawn.
    pub graph_moved: usize,
    /// When the graph was last drawn.
    pub graph_at: Option<Instant>,
    /// Members in flight, by name.
    pub in_flight: BTreeMap<Name, Moving>,
    /// Members that left their bridge (pruned, changed or failed) in the
    /// pass being applied: `/status` may still list them from the pass
    /// before.
    pub settled: BTreeSet<Name>,
    /// What happened in the pass being applied (or the last one applied).
    pub tally: Tally,
    /// Members whose chain failed in that pass, with the provider's words
    /// (at most [`LIST_CAP`]).
    pub failed: Vec<(Name, String)>,
    /// The time between passes, before jitter.
    pub interval: Option<Duration>,
}

/// The shared live state: the pass writes, the listener reads. Clones share.
#[derive(Clone, Debug, Default)]
pub struct LiveHandle(Arc<Mutex<Live>>);

impl LiveHandle {
    /// Changes the live state under the lock (keep `f` short).
    pub fn update<R>(&self, f: impl FnOnce(&mut Live) -> R) -> R {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// Reads the live state under the lock (keep `f` short).
    pub fn read<R>(&self, f: impl FnOnce(&Live) -> R) -> R {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&g)
    }

    /// A pass starts observing.
    pub fn planning(&self, pass: u64) {
        self.update(|l| {
            l.phase = Phase::Planning;
            l.pass = pass;
        });
    }

    /// A pass made `plan` from `observed` for `desired`: publishes its
    /// blocked list and redraws the graph (agents counted per parent,
    /// planned moves highlighted). The graph is drawn outside the lock.
    pub fn planned(&self, plan: &Plan, observed: &Observed) {
        let g = graph::change(plan, observed, &graph::Options::default());
        let svg = graph::svg::render(&g);
        let blocked: Vec<BlockedView> = plan
            .blocked
            .iter()
            .take(LIST_CAP)
            .map(BlockedView::from)
            .collect();
        self.update(|l| {
            l.summary = Some(plan.summary.clone());
            l.blocked = blocked;
            l.blocked_total = plan.blocked.len() as u64;
            l.graph_svg = Some(svg);
            l.graph_source = None;
            l.moved.clear();
            l.graph_moved = 0;
            l.graph_at = Some(Instant::now());
        });
    }

    /// The pass is about to apply `plan`, made from `observed`: keeps both
    /// so the graph can follow the wave. Only a pass that applies copies
    /// them (not a standby's, a suspended or a converged one).
    pub fn follow(&self, plan: &Plan, observed: &Observed) {
        if plan.steps.is_empty() {
            return;
        }
        let source = Arc::new(GraphSource {
            plan: plan.clone(),
            observed: observed.clone(),
        });
        self.update(|l| l.graph_source = Some(source));
    }

    /// Redraws the graph when members moved since it was drawn and it is
    /// older than `min_age` ([`GRAPH_EVERY`] for the page), so its counts
    /// follow the wave. Draws outside the lock; the pass is never held up.
    pub fn refresh_graph(&self, min_age: Duration) {
        let Some((source, moved)) = self.read(|l| {
            let source = l.graph_source.clone()?;
            let fresh = l.graph_at.is_some_and(|t| t.elapsed() < min_age);
            (l.moved.len() != l.graph_moved && !fresh).then(|| (source, l.moved.clone()))
        }) else {
            return;
        };
        let g = graph::change_done(
            &source.plan,
            &source.observed,
            &|n: &Name| moved.contains(n),
            &graph::Options::default(),
        );
        let svg = graph::svg::render(&g);
        self.update(|l| {
            // Unless a new plan replaced the one drawn from meanwhile.
            if l.graph_source
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(s, &source))
            {
                l.graph_svg = Some(svg);
                l.graph_moved = moved.len();
                l.graph_at = Some(Instant::now());
            }
        });
    }

    /// The pass starts applying: the tally starts again.
    pub fn applying(&self) {
        self.update(|l| {
            l.phase = Phase::Applying;
            l.tally = Tally::default();
            l.failed.clear();
            l.settled.clear();
        });
    }

    /// The pass is over. Members still in a bridge stay in the table.
    pub fn idle(&self) {
        self.update(|l| l.phase = Phase::Idle);
    }

    /// A [`Progress`] hook writing into this handle.
    pub fn progress(&self) -> LiveProgress {
        LiveProgress(self.clone())
    }
}

/// Records executor events in a [`LiveHandle`].
#[derive(Clone, Debug)]
pub struct LiveProgress(LiveHandle);

impl Progress for LiveProgress {
    fn event(&mut self, event: &ProgressEvent) {
        let now = || rfc3339(SystemTime::now());
        self.0.update(|l| match event {
            ProgressEvent::PassStarted { .. } => l.phase = Phase::Applying,
            ProgressEvent::Bridged(n) => {
                l.tally.bridged += 1;
                l.in_flight.insert(
                    n.clone(),
                    Moving {
                        stage: Stage::Bridged,
                        since: now(),
                    },
                );
            }
            ProgressEvent::Acknowledged(n) => {
                l.tally.acknowledged += 1;
                if let Some(m) = l.in_flight.get_mut(n) {
                    m.stage = Stage::Acknowledged;
                }
            }
            ProgressEvent::Pruned(n) => {
                l.tally.pruned += 1;
                l.in_flight.remove(n);
                l.settled.insert(n.clone());
                l.moved.insert(n.clone());
            }
            ProgressEvent::Changed(n) => {
                l.tally.changed += 1;
                l.in_flight.remove(n);
                l.settled.insert(n.clone());
                l.moved.insert(n.clone());
            }
            ProgressEvent::Pending(n) => {
                l.tally.pending += 1;
                l.in_flight
                    .entry(n.clone())
                    .or_insert_with(|| Moving {
                        stage: Stage::Pending,
                        since: now(),
                    })
                    .stage = Stage::Pending;
            }
            ProgressEvent::Failed { name, reason } => {
                l.tally.failed += 1;
                l.in_flight.remove(name);
                l.settled.insert(name.clone());
                if l.failed.len() < LIST_CAP {
                    l.failed.push((name.clone(), reason.clone()));
                }
            }
            ProgressEvent::PassFinished { .. } => {}
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn the_graph_follows_the_wave() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/topologies/replace-gateway");
        let d = crate::load::topology(&[dir.join("desired.yaml")]).unwrap();
        let o = crate::load::observed(&dir.join("observed.yaml")).unwrap();
        let plan = crate::plan::plan(&d, &o);
        let live = LiveHandle::default();
        live.planned(&plan, &o);
        let svg = || live.read(|l| l.graph_svg.clone().unwrap());
        assert!(svg().contains("14 agents moving"));
        live.read(|l| assert!(l.graph_source.is_none(), "nothing copied before applying"));
        live.follow(&plan, &o);
        live.applying();
        let mut p = live.progress();
        for i in 1..=5 {
            let n = name(&format!("web{i:02}.dmz.contoso.local"));
            p.event(&ProgressEvent::Bridged(n.clone()));
            p.event(&ProgressEvent::Pruned(n));
        }
        // Drawn just now: not redrawn before the minimum age.
        live.refresh_graph(Duration::from_secs(3600));
        assert!(svg().contains("14 agents moving"));
        live.refresh_graph(Duration::ZERO);
        assert!(svg().contains("9 agents moving"), "{}", svg());
        live.read(|l| assert_eq!(l.graph_moved, 5));
        // A new plan starts the count again and drops the copy; a plan
        // with nothing to apply is never copied.
        live.planned(&plan, &o);
        live.read(|l| assert!(l.moved.is_empty() && l.graph_source.is_none()));
        let mut done = plan.clone();
        done.steps.clear();
        live.follow(&done, &o);
        live.read(|l| assert!(l.graph_source.is_none()));
    }

    #[test]
    fn members_move_through_the_stages_and_leave_when_pruned() {
        let live = LiveHandle::default();
        live.applying();
        let mut p = live.progress();
        let web = name("web01.contoso.local");
        let app = name("app01.contoso.local");
        p.event(&ProgressEvent::Bridged(web.clone()));
        p.event(&ProgressEvent::Bridged(app.clone()));
        p.event(&ProgressEvent::Acknowledged(web.clone()));
        live.read(|l| {
            assert_eq!(l.in_flight[&web].stage, Stage::Acknowledged);
            assert_eq!(l.in_flight[&app].stage, Stage::Bridged);
        });
        p.event(&ProgressEvent::Pruned(web.clone()));
        p.event(&ProgressEvent::Pending(app.clone()));
        live.read(|l| {
            assert!(!l.in_flight.contains_key(&web));
            assert!(l.settled.contains(&web));
            assert_eq!(l.in_flight[&app].stage, Stage::Pending);
            assert_eq!(
                l.tally,
                Tally {
                    bridged: 2,
                    acknowledged: 1,
                    pruned: 1,
                    pending: 1,
                    ..Tally::default()
                }
            );
        });
        live.applying();
        live.read(|l| {
            assert_eq!(l.tally, Tally::default());
            assert!(l.in_flight.contains_key(&app), "still in its bridge");
        });
    }

    #[test]
    fn failures_are_capped() {
        let live = LiveHandle::default();
        let mut p = live.progress();
        for i in 0..LIST_CAP + 10 {
            p.event(&ProgressEvent::Failed {
                name: name(&format!("web{i:03}.contoso.local")),
                reason: "access denied".into(),
            });
        }
        live.read(|l| {
            assert_eq!(l.failed.len(), LIST_CAP);
            assert_eq!(l.tally.failed, (LIST_CAP + 10) as u64);
        });
    }
}
