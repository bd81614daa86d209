//! Progress bars for `apply` (indicatif, on stderr, hidden when stderr is
//! not a terminal): members bridged, acknowledged and pruned, with an ETA,
//! and a status line with the current blockers.
//!
//! Fed by the executor's `ProgressEvent`s; must never write to stdout.

use handover::execute::{Progress, ProgressEvent};
use handover::plan::{Action, Plan};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The bars of one apply.
pub struct Bars {
    multi: MultiProgress,
    bridged: ProgressBar,
    acknowledged: ProgressBar,
    pruned: ProgressBar,
    changed: Option<ProgressBar>,
    status: ProgressBar,
    blocked: usize,
    pending: usize,
    failed: usize,
    last_failure: Option<String>,
}

fn bar(multi: &MultiProgress, len: u64, prefix: &str, eta: bool) -> ProgressBar {
    let template = if eta {
        "{prefix:>13} [{bar:32}] {pos:>6}/{len:<6} {elapsed_precise} ETA {eta}"
    } else {
        "{prefix:>13} [{bar:32}] {pos:>6}/{len:<6}"
    };
    let style = ProgressStyle::with_template(template)
        .expect("the template is valid")
        .progress_chars("=> ");
    let b = multi.add(ProgressBar::new(len).with_style(style));
    b.set_prefix(prefix.to_string());
    b
}

impl Bars {
    /// Bars sized from the plan: bridges it writes, members it waits for,
    /// prunes, and direct changes.
    pub fn new(plan: &Plan) -> Bars {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let (mut bridges, mut awaits, mut prunes, mut direct) = (0u64, 0u64, 0u64, 0u64);
        let mut bridged_members = std::collections::HashSet::new();
        for s in &plan.steps {
            match &s.action {
                Action::SetParents { bridge: true, .. } => bridges += 1,
                Action::AwaitConnected { name, .. } => {
                    awaits += 1;
                    bridged_members.insert(name.clone());
                }
                Action::AwaitReady { .. } => awaits += 1,
                _ => {}
            }
        }
        for s in &plan.steps {
            if let Action::SetParents {
                bridge: false,
                name,
                ..
            } = &s.action
            {
                if bridged_members.contains(name) {
                    prunes += 1;
                } else {
                    direct += 1;
                }
            }
        }
        let bridged = bar(&multi, bridges, "bridged", false);
        let acknowledged = bar(&multi, awaits, "acknowledged", false);
        let pruned = bar(&multi, prunes, "pruned", true);
        let changed = (direct > 0).then(|| bar(&multi, direct, "set directly", false));
        let status = multi.add(ProgressBar::new_spinner());
        status.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid"));
        status.enable_steady_tick(Duration::from_millis(200));
        let mut b = Bars {
            multi,
            bridged,
            acknowledged,
            pruned,
            changed,
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
        for b in [&self.bridged, &self.acknowledged, &self.pruned] {
            b.abandon();
        }
        if let Some(c) = &self.changed {
            c.abandon();
        }
        self.status.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Progress for Bars {
    fn event(&mut self, e: &ProgressEvent) {
        match e {
            ProgressEvent::Bridged(_) => self.bridged.inc(1),
            ProgressEvent::Acknowledged(_) => self.acknowledged.inc(1),
            ProgressEvent::Pruned(_) => self.pruned.inc(1),
            ProgressEvent::Changed(_) => {
                if let Some(c) = &self.changed {
                    c.inc(1)
                }
            }
            ProgressEvent::Pending(_) => {
                self.pending += 1;
                self.update_status();
            }
            ProgressEvent::Failed { name, reason } => {
                self.failed += 1;
                self.last_failure = Some(format!("{name}: {reason}"));
                self.update_status();
            }
            ProgressEvent::PassStarted { .. } | ProgressEvent::PassFinished { .. } => {}
        }
    }
}
