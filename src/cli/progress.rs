//! Progress bars for `apply` (indicatif, on stderr, hidden when stderr is
//! not a terminal): members bridged, acknowledged, pruned and set
//! directly, with an ETA, and a status line with the current blockers.
//!
//! Fed by the executor's `ProgressEvent`s through [`Tally`], the pure count
//! behind the bars: every bar counts members (never steps), a member that
//! reaches a later stage counts for the earlier ones it skipped (they
//! already held), so does a write the executor skipped, and a member that
//! ends pending, failed or waiting (a change it waits for did not finish)
//! leaves the stages it will not reach, so every bar ends at its end.
//! Must never write to stdout.

use handover::execute::{Progress, ProgressEvent};
use handover::name::Name;
use handover::plan::{Action, Plan};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

/// The stages a member passes, in order; each is one bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Got its bridge.
    Bridged = 0,
    /// Connected to its new primary (or, a gateway, ready).
    Acknowledged = 1,
    /// Got its exact desired parents after the bridge.
    Pruned = 2,
    /// Parents written once, without a bridge.
    SetDirectly = 3,
}

const STAGES: [Stage; 4] = [
    Stage::Bridged,
    Stage::Acknowledged,
    Stage::Pruned,
    Stage::SetDirectly,
];

/// Position and length of each bar, in members.
#[derive(Debug, Default)]
pub struct Tally {
    /// Per member, the stages the plan takes it through, in plan order.
    route: HashMap<Name, Vec<Stage>>,
    /// Per member, how many stages of its route it has passed.
    passed: HashMap<Name, usize>,
    /// Members that ended early (pending or failed).
    ended: HashSet<Name>,
    /// Per stage: (position, length).
    bars: [(u64, u64); 4],
}

impl Tally {
    /// The routes of `plan`'s members: bridge, acknowledge and prune for a
    /// member moved through a bridge (acknowledge and prune for one found
    /// already in a bridge; acknowledge for a gateway that must be ready),
    /// one direct write otherwise.
    pub fn new(plan: &Plan) -> Tally {
        let mut route: HashMap<Name, Vec<Stage>> = HashMap::new();
        let mut bridged: HashSet<&Name> = HashSet::new();
        for s in &plan.steps {
            if let Action::AwaitConnected { name, .. } = &s.action {
                bridged.insert(name);
            }
        }
        for s in &plan.steps {
            let (name, stage) = match &s.action {
                Action::SetParents {
                    name, bridge: true, ..
                } => (name, Stage::Bridged),
                Action::AwaitConnected { name, .. } | Action::AwaitReady { name, .. } => {
                    (name, Stage::Acknowledged)
                }
                Action::SetParents { name, .. } if bridged.contains(name) => (name, Stage::Pruned),
                Action::SetParents { name, .. } => (name, Stage::SetDirectly),
                _ => continue,
            };
            let r = route.entry(name.clone()).or_default();
            if !r.contains(&stage) {
                r.push(stage);
            }
        }
        let mut t = Tally {
            route,
            ..Tally::default()
        };
        for r in t.route.values() {
            for s in r {
                t.bars[*s as usize].1 += 1;
            }
        }
        t
    }

    /// (position, length) of `stage`'s bar.
    pub fn bar(&self, stage: Stage) -> (u64, u64) {
        self.bars[stage as usize]
    }

    /// Counts one event; returns true when a bar moved or changed length.
    pub fn event(&mut self, e: &ProgressEvent) -> bool {
        match e {
            ProgressEvent::Bridged(n) => self.reach(n, Stage::Bridged),
            ProgressEvent::Acknowledged(n) => self.reach(n, Stage::Acknowledged),
            ProgressEvent::Pruned(n) => self.reach(n, Stage::Pruned),
            ProgressEvent::Changed(n) => self.reach(n, Stage::SetDirectly),
            ProgressEvent::Skipped(n) => self.skip(n),
            ProgressEvent::Pending(n)
            | ProgressEvent::Failed { name: n, .. }
            | ProgressEvent::Waiting(n) => self.end(n),
            ProgressEvent::PassStarted { .. } | ProgressEvent::PassFinished { .. } => false,
        }
    }

    /// `name` reached `stage`: it passes every stage of its route up to it.
    fn reach(&mut self, name: &Name, stage: Stage) -> bool {
        let Some(route) = self.route.get(name) else {
            return false;
        };
        let Some(upto) = route.iter().position(|s| *s == stage) else {
            return false;
        };
        let passed = self.passed.entry(name.clone()).or_default();
        let mut moved = false;
        while *passed <= upto {
            self.bars[route[*passed] as usize].0 += 1;
            *passed += 1;
            moved = true;
        }
        moved
    }

    /// A write to `name` was skipped (its effect held): it passes its next
    /// stage, as if written.
    fn skip(&mut self, name: &Name) -> bool {
        let Some(route) = self.route.get(name) else {
            return false;
        };
        let passed = self.passed.get(name).copied().unwrap_or(0);
        match route.get(passed) {
            Some(&stage) => self.reach(&name.clone(), stage),
            None => false,
        }
    }

    /// `name` stops where it is (pending in its bridge, or failed): the
    /// stages it has not passed leave their bars' lengths.
    fn end(&mut self, name: &Name) -> bool {
        let Some(route) = self.route.get(name) else {
            return false;
        };
        if !self.ended.insert(name.clone()) {
            return false;
        }
        let passed = self.passed.get(name).copied().unwrap_or(0);
        for s in &route[passed..] {
            self.bars[*s as usize].1 -= 1;
        }
        passed < route.len()
    }
}

/// The bars of one apply.
pub struct Bars {
    multi: MultiProgress,
    /// One bar per [`Stage`], in [`STAGES`] order; `None` for a stage no
    /// member of the plan passes (set directly, in a plan of bridges only).
    bars: Vec<Option<ProgressBar>>,
    tally: Tally,
    status: ProgressBar,
    blocked: usize,
    pending: usize,
    failed: usize,
    last_failure: Option<String>,
}

fn bar(multi: &MultiProgress, len: u64, prefix: &str, eta: bool) -> ProgressBar {
    let template = if eta {
        "{prefix:>13} [{bar:32}] {human_pos:>7}/{human_len:<7} {elapsed_precise} ETA {eta}"
    } else {
        "{prefix:>13} [{bar:32}] {human_pos:>7}/{human_len:<7}"
    };
    let style = ProgressStyle::with_template(template)
        .expect("the template is valid")
        .progress_chars("=> ");
    let b = multi.add(ProgressBar::new(len).with_style(style));
    b.set_prefix(prefix.to_string());
    b
}

impl Bars {
    /// Bars sized from the plan's members ([`Tally::new`]).
    pub fn new(plan: &Plan) -> Bars {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let tally = Tally::new(plan);
        let bars = STAGES
            .iter()
            .map(|&stage| {
                let (_, len) = tally.bar(stage);
                let (prefix, eta) = match stage {
                    Stage::Bridged => ("bridged", false),
                    Stage::Acknowledged => ("acknowledged", false),
                    Stage::Pruned => ("pruned", true),
                    Stage::SetDirectly => ("set directly", false),
                };
                (stage != Stage::SetDirectly || len > 0).then(|| bar(&multi, len, prefix, eta))
            })
            .collect();
        let status = multi.add(ProgressBar::new_spinner());
        status.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid"));
        status.enable_steady_tick(Duration::from_millis(200));
        let mut b = Bars {
            multi,
            bars,
            tally,
            status,
            blocked: plan.blocked.len(),
            pending: 0,
            failed: 0,
            last_failure: None,
        };
        b.update_status();
        b
    }

    fn update_status(&mut self) {
        let mut msg = format!(
            "blockers: {} blocked by the plan, {} pending (in their bridge), {} failed",
            self.blocked, self.pending, self.failed
        );
        if let Some(f) = &self.last_failure {
            msg.push_str(&format!("; latest failure: {f}"));
        }
        msg.push_str("  (Ctrl-C stops safely)");
        self.status.set_message(msg);
    }

    /// Clears the bars (the summary follows on stdout).
    pub fn finish(&self) {
        for b in self.bars.iter().flatten() {
            b.abandon();
        }
        self.status.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Progress for Bars {
    fn event(&mut self, e: &ProgressEvent) {
        if self.tally.event(e) {
            for (stage, b) in STAGES.iter().zip(&self.bars) {
                if let Some(b) = b {
                    let (pos, len) = self.tally.bar(*stage);
                    b.set_length(len);
                    b.set_position(pos);
                }
            }
        }
        match e {
            ProgressEvent::Pending(_) => {
                self.pending += 1;
                self.update_status();
            }
            ProgressEvent::Failed { name, reason } => {
                self.failed += 1;
                self.last_failure = Some(format!("{name}: {reason}"));
                self.update_status();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(example: &str) -> Plan {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/topologies")
            .join(example);
        let d = handover::load::topology(&[dir.join("desired.yaml")]).unwrap();
        let o = handover::load::observed(&dir.join("observed.yaml")).unwrap();
        handover::plan::plan(&d, &o)
    }

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn at_end(t: &Tally) -> bool {
        STAGES.iter().all(|s| {
            let (pos, len) = t.bar(*s);
            pos == len
        })
    }

    #[test]
    fn bars_count_members_of_the_plan() {
        let t = Tally::new(&plan("replace-gateway"));
        assert_eq!(t.bar(Stage::Bridged), (0, 14));
        assert_eq!(t.bar(Stage::Acknowledged), (0, 14));
        assert_eq!(t.bar(Stage::Pruned), (0, 14));
        assert_eq!(t.bar(Stage::SetDirectly), (0, 2));
    }

    #[test]
    fn a_pending_or_failed_member_does_not_hold_the_bars_short_of_their_end() {
        let p = plan("replace-gateway");
        let mut t = Tally::new(&p);
        let web = |i: u32| n(&format!("web{i:02}.dmz.contoso.local"));
        let bridged: Vec<Name> = (1..=12)
            .map(web)
            .chain([n("sql03.dmz.contoso.local"), n("sql04.dmz.contoso.local")])
            .collect();
        for m in &bridged {
            t.event(&ProgressEvent::Bridged(m.clone()));
        }
        // web05 never connects (pending), web06 fails at its prune.
        for m in bridged.iter().filter(|m| **m != web(5)) {
            t.event(&ProgressEvent::Acknowledged(m.clone()));
        }
        t.event(&ProgressEvent::Pending(web(5)));
        for m in bridged.iter().filter(|m| **m != web(5) && **m != web(6)) {
            t.event(&ProgressEvent::Pruned(m.clone()));
        }
        t.event(&ProgressEvent::Failed {
            name: web(6),
            reason: "provider error: no".into(),
        });
        for m in ["sql01.dmz.contoso.local", "sql02.dmz.contoso.local"] {
            t.event(&ProgressEvent::Changed(n(m)));
        }
        assert_eq!(t.bar(Stage::Acknowledged), (13, 13));
        assert_eq!(t.bar(Stage::Pruned), (12, 12));
        assert!(at_end(&t));
        // Told twice, a member does not leave twice.
        assert!(!t.event(&ProgressEvent::Pending(web(5))));
        assert_eq!(t.bar(Stage::Pruned), (12, 12));
    }

    #[test]
    fn a_member_whose_bridge_already_held_still_counts_as_bridged() {
        let p = plan("replace-gateway");
        let mut t = Tally::new(&p);
        // web01's bridge was skipped (it held already): the executor says
        // only that it was acknowledged, then pruned.
        t.event(&ProgressEvent::Acknowledged(n("web01.dmz.contoso.local")));
        t.event(&ProgressEvent::Pruned(n("web01.dmz.contoso.local")));
        assert_eq!(t.bar(Stage::Bridged).0, 1);
        assert_eq!(t.bar(Stage::Acknowledged).0, 1);
        assert_eq!(t.bar(Stage::Pruned).0, 1);
        // A prune (or a direct write) that already held is skipped, and
        // counts all the same.
        t.event(&ProgressEvent::Bridged(n("web02.dmz.contoso.local")));
        t.event(&ProgressEvent::Acknowledged(n("web02.dmz.contoso.local")));
        t.event(&ProgressEvent::Skipped(n("web02.dmz.contoso.local")));
        t.event(&ProgressEvent::Skipped(n("sql01.dmz.contoso.local")));
        assert_eq!(t.bar(Stage::Pruned).0, 2);
        assert_eq!(t.bar(Stage::SetDirectly).0, 1);
        // A member that waits for a change that did not finish leaves
        // every bar it had not reached.
        t.event(&ProgressEvent::Waiting(n("web03.dmz.contoso.local")));
        assert_eq!(t.bar(Stage::Bridged).1, 13);
        assert_eq!(t.bar(Stage::Pruned).1, 13);
        // Events about names outside the plan move nothing.
        assert!(!t.event(&ProgressEvent::Pruned(n("stranger.contoso.local"))));
    }
}
