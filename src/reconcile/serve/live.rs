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
//! Also owns [`Live::status`], the pure rule that lays the pass in progress
//! over the last recorded [`Status`], so `/status`, `/readyz`, `/metrics`
//! and the page show the revision being applied, its members in flight and
//! its counts from the moment it is planned, not only once it is recorded.
//! Reads the wall clock (for "since"); must not observe, plan or apply.

use super::status::{BlockedView, CurrentPass, InFlight, PassFacts, Status, decide};
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
    /// The number (from 1) of the pass running, or of the last one that ran.
    pub pass: u64,
    /// The number of the pass that made `summary` (0: none yet).
    pub planned_pass: u64,
    /// The summary of its plan.
    pub summary: Option<Summary>,
    /// Its blocked members, all of them (the page shows [`LIST_CAP`]).
    pub blocked: Vec<BlockedView>,
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
    /// The number of the pass that `tally` counts (the last that applied).
    pub wave_pass: u64,
    /// The moves its plan made.
    pub wave_moves: u64,
    /// Members whose chain failed in that pass, with the provider's words
    /// (at most [`LIST_CAP`]).
    pub failed: Vec<(Name, String)>,
    /// The time between passes, before jitter.
    pub interval: Option<Duration>,
    /// The last pass's rollout, with `policy.rollout`.
    pub rollout: Option<super::rollout_view::RolloutView>,
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
        let blocked: Vec<BlockedView> = plan.blocked.iter().map(BlockedView::from).collect();
        self.update(|l| {
            l.planned_pass = l.pass;
            l.summary = Some(plan.summary.clone());
            l.blocked = blocked;
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

    /// The pass starts applying: the tally starts again, credited to it.
    pub fn applying(&self) {
        self.update(|l| {
            l.phase = Phase::Applying;
            l.wave_pass = l.pass;
            l.wave_moves = l.summary.as_ref().map_or(0, |p| p.moves);
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

impl Live {
    /// `recorded` (the status as the last finished pass left it) as it
    /// stands now, with the pass in progress laid over it. Pure.
    ///
    /// - While a pass runs, `current` says which, where it is and how far
    ///   its wave got.
    /// - Once it has planned (and until it is recorded): `ready`, its
    ///   blocked list, members in a bridge (its live table with each
    ///   member's stage, and those a previous pass left in a bridge that
    ///   this one has not settled), the counts, and the sync status its
    ///   facts mean so far ([`decide`]; applying is `Progressing`). The
    ///   revision, a refusal and suspension are the driver's, published
    ///   before the pass starts.
    /// - A member's `since` is the earliest known: when the executor wrote
    ///   its bridge, not when the pass that wrote it was recorded.
    pub fn status(&self, s: Status) -> Status {
        let mut s = self.status_of_pass(s);
        super::overlay::rollout(&mut s, self.rollout.as_ref());
        s
    }

    /// [`Live::status`] without the rollout.
    fn status_of_pass(&self, mut s: Status) -> Status {
        let unrecorded = self.pass > s.passes;
        for f in &mut s.in_flight {
            if let Some(m) = self.in_flight.get(&f.name)
                && m.since < f.since
            {
                f.since.clone_from(&m.since);
            }
        }
        let this_wave = self.wave_pass == self.pass;
        let t = if this_wave {
            self.tally
        } else {
            Tally::default()
        };
        let planned = unrecorded && self.planned_pass == self.pass;
        if unrecorded && self.phase != Phase::Idle {
            s.current = Some(CurrentPass {
                pass: self.pass,
                phase: match self.phase {
                    Phase::Applying => "applying",
                    _ => "planning",
                },
                moves: self.summary.as_ref().filter(|_| planned).map(|p| p.moves),
                done: t.pruned + t.changed,
                bridged: t.bridged,
                acknowledged: t.acknowledged,
                pending: t.pending,
                failed: t.failed,
            });
        }
        if !planned {
            return s;
        }
        s.ready = true;
        s.blocked.clone_from(&self.blocked);
        // Members in a bridge: this pass's table, and those the last record
        // lists that this pass has not settled (still pending, as the page
        // shows them).
        let mut rows: BTreeMap<&Name, (&str, bool)> = s
            .in_flight
            .iter()
            .filter(|f| !self.settled.contains(&f.name))
            .map(|f| (&f.name, (f.since.as_str(), true)))
            .collect();
        for (n, m) in &self.in_flight {
            let since = match rows.get(n) {
                Some((old, _)) => (*old).min(m.since.as_str()),
                None => m.since.as_str(),
            };
            rows.insert(n, (since, m.stage == Stage::Pending));
        }
        let in_flight: Vec<InFlight> = rows
            .iter()
            .map(|(n, (since, _))| InFlight {
                name: (*n).clone(),
                since: (*since).to_string(),
            })
            .collect();
        let pending = rows.values().filter(|(_, p)| *p).count() as u64;
        s.in_flight = in_flight;
        s.members.bridged = s.in_flight.len() as u64;
        s.members.pending = pending;
        s.members.blocked = self.blocked.len() as u64;
        let applying = u64::from(this_wave && self.phase == Phase::Applying);
        s.sync = Some(decide(&PassFacts {
            changes: self.summary.as_ref().map_or(0, |p| p.changes),
            blocked: self.blocked.len() as u64,
            progressed: applying + t.bridged + t.acknowledged + t.pruned + t.changed,
            in_bridge: s.members.bridged,
            failed: t.failed,
            stranded: s.members.stranded,
            suspended: s.suspended,
            error: s.refused.is_some(),
            converged: false,
            complete: false,
        }));
        s.sync_revision = s.revision.as_ref().map(|r| r.id.clone());
        s
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
            // A skipped write after the acknowledgement is the prune: its
            // parents already held, so the member has left its bridge. A
            // skipped bridge write leaves it where it is.
            ProgressEvent::Skipped(n) => {
                if l.in_flight.get(n).map(|m| m.stage) == Some(Stage::Acknowledged) {
                    l.in_flight.remove(n);
                    l.settled.insert(n.clone());
                    l.moved.insert(n.clone());
                }
            }
            ProgressEvent::Waiting(_) | ProgressEvent::PassFinished { .. } => {}
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

    /// A live state applying, its progress sink, and two members.
    fn applying_two() -> (LiveHandle, LiveProgress, Name, Name) {
        let live = LiveHandle::default();
        live.applying();
        let p = live.progress();
        (
            live,
            p,
            name("web01.contoso.local"),
            name("app01.contoso.local"),
        )
    }

    #[test]
    fn a_skipped_prune_takes_the_member_out_of_flight_and_a_skipped_bridge_does_not() {
        let (live, mut p, web, app) = applying_two();
        p.event(&ProgressEvent::Bridged(web.clone()));
        p.event(&ProgressEvent::Acknowledged(web.clone()));
        p.event(&ProgressEvent::Skipped(web.clone()));
        p.event(&ProgressEvent::Bridged(app.clone()));
        p.event(&ProgressEvent::Skipped(app.clone()));
        live.read(|l| {
            assert!(!l.in_flight.contains_key(&web), "its prune already held");
            assert!(l.settled.contains(&web));
            assert_eq!(l.in_flight[&app].stage, Stage::Bridged);
        });
    }

    #[test]
    fn members_move_through_the_stages_and_leave_when_pruned() {
        let (live, mut p, web, app) = applying_two();
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

    /// The replace-gateway example's plan and observation.
    fn example_plan() -> (Plan, Observed) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/topologies/replace-gateway");
        let d = crate::load::topology(&[dir.join("desired.yaml")]).unwrap();
        let o = crate::load::observed(&dir.join("observed.yaml")).unwrap();
        (crate::plan::plan(&d, &o), o)
    }

    #[test]
    fn before_the_first_plan_the_status_is_not_ready_but_names_the_pass() {
        let live = LiveHandle::default();
        live.planning(1);
        let s = live.read(|l| l.status(Status::default()));
        assert!(!s.ready);
        assert_eq!(s.sync, None);
        let c = s.current.unwrap();
        assert_eq!((c.pass, c.phase, c.moves), (1, "planning", None));
        let (plan, o) = example_plan();
        live.planned(&plan, &o);
        let s = live.read(|l| l.status(Status::default()));
        assert!(
            s.ready,
            "ready after the first observation, not after the first record"
        );
        assert_eq!(s.current.unwrap().moves, Some(plan.summary.moves));
    }

    #[test]
    fn the_pass_in_progress_shows_through_the_recorded_status() {
        use crate::reconcile::serve::status::{RevisionView, SyncStatus};
        // Pass 1 was recorded Synced at revision r1, leaving web09 in a
        // bridge; the driver has published r2 for pass 2.
        let recorded = Status {
            revision: Some(RevisionView {
                id: "r2".into(),
                short: "r2".into(),
                since: "2026-11-26T12:00:00Z".into(),
            }),
            sync: Some(SyncStatus::Synced),
            sync_revision: Some("r1".into()),
            ready: true,
            passes: 1,
            in_flight: vec![InFlight {
                name: name("web09.dmz.contoso.local"),
                since: "2026-11-26T11:00:00Z".into(),
            }],
            ..Status::default()
        };
        let live = LiveHandle::default();
        live.planning(2);
        let s = live.read(|l| l.status(recorded.clone()));
        assert_eq!(s.sync, Some(SyncStatus::Synced), "not planned yet");
        assert_eq!(s.sync_revision.as_deref(), Some("r1"));

        let (plan, o) = example_plan();
        live.planned(&plan, &o);
        live.follow(&plan, &o);
        live.applying();
        let s = live.read(|l| l.status(recorded.clone()));
        assert_eq!(s.sync, Some(SyncStatus::Progressing), "{s:?}");
        assert_eq!(s.sync_revision.as_deref(), Some("r2"));
        assert_eq!(s.current.as_ref().unwrap().phase, "applying");

        let mut p = live.progress();
        let web01 = name("web01.dmz.contoso.local");
        p.event(&ProgressEvent::Bridged(web01.clone()));
        p.event(&ProgressEvent::Pending(name("web02.dmz.contoso.local")));
        let s = live.read(|l| l.status(recorded.clone()));
        let names: Vec<&str> = s.in_flight.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "web01.dmz.contoso.local",
                "web02.dmz.contoso.local",
                "web09.dmz.contoso.local"
            ]
        );
        assert_eq!(s.members.bridged, 3);
        // web02 timed out; web09 is one the last pass left.
        assert_eq!(s.members.pending, 2);
        assert_eq!(s.in_flight[2].since, "2026-11-26T11:00:00Z");

        p.event(&ProgressEvent::Acknowledged(web01.clone()));
        p.event(&ProgressEvent::Pruned(web01));
        p.event(&ProgressEvent::Pruned(name("web09.dmz.contoso.local")));
        let s = live.read(|l| l.status(recorded.clone()));
        assert_eq!(s.members.bridged, 1);
        let c = s.current.unwrap();
        assert_eq!((c.done, c.bridged, c.acknowledged, c.pending), (2, 1, 1, 1));

        // Once the pass is recorded, the record speaks.
        live.idle();
        let mut after = recorded.clone();
        after.passes = 2;
        after.in_flight.clear();
        let s = live.read(|l| l.status(after.clone()));
        assert_eq!(s, after);
    }

    #[test]
    fn a_wave_is_credited_to_the_pass_that_ran_it() {
        let live = LiveHandle::default();
        let (plan, o) = example_plan();
        live.planning(2);
        live.planned(&plan, &o);
        live.applying();
        live.progress()
            .event(&ProgressEvent::Changed(name("web01.dmz.contoso.local")));
        live.idle();
        live.planning(3);
        live.idle();
        let html = live.read(|l| {
            crate::reconcile::serve::page::main(
                &l.status(Status::default()),
                l,
                SystemTime::UNIX_EPOCH,
            )
        });
        assert!(html.contains(" moves done in pass #2:"), "{html}");
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
