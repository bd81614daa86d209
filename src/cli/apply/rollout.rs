//! What `apply` shows of a progressive rollout (docs/rollouts.md, "In one
//! apply"): a line on stderr per transition, the soak countdown bar
//! ("step 2 of 3: soaking, 12m 30s left; analysis passing"), and at the
//! end the rollout's timeline, where it stopped and the exact commands to
//! go on.
//!
//! Owns the words and the bar only; must not decide anything, and the bar
//! must never write to stdout (hidden when stderr is not a terminal).

use handover::diag::count;
use handover::plan::rollout::{Event, Status};
use handover::report::rehearsal::duration;
use handover::run::rollout::RolloutReport;
use handover::run::rollout::blocking::RolloutRun;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

/// The line a transition prints on stderr as it happens; `soak_left` is
/// the soak still to run after the pass that saw it.
pub fn event_line(steps: usize, e: &Event, soak_left: Option<Duration>) -> String {
    match e {
        Event::StepStarted { step, target } => format!(
            "Rollout step {step} of {steps}: moving members, {} of this revision in all.",
            count(*target, "member", "members")
        ),
        Event::SoakStarted { step, .. } => match soak_left.filter(|d| !d.is_zero()) {
            Some(d) => format!(
                "Rollout step {step} of {steps}: its members moved; soaking for {} while the analysis watches them.",
                duration(d.as_secs_f64())
            ),
            None => format!("Rollout step {step} of {steps}: its members moved (no soak)."),
        },
        Event::Paused { step } => {
            format!("Rollout step {step} of {steps} is a manual pause.")
        }
        Event::AnalysisFailed { step, reasons } => format!(
            "Rollout step {step} of {steps}: the analysis failed: {}",
            reasons.join("; ")
        ),
        Event::RollbackStarted { members, .. } => format!(
            "Rolling back {} to the parents they had before the rollout, make before break.",
            count(members.len() as u64, "member", "members")
        ),
        Event::RolledBack { .. } => {
            "Rolled back: every rolled-back member has its parents from before the rollout again."
                .to_string()
        }
        Event::Complete => {
            "Every step passed its analysis; the rest of the revision moves.".to_string()
        }
    }
}

/// The soak countdown: a spinner line on stderr, hidden when stderr is not
/// a terminal.
pub fn soak_bar() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_draw_target(if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    bar.enable_steady_tick(Duration::from_secs(1));
    bar
}

/// Points the countdown at `status`'s soak, `left` to run: it counts
/// down by itself between two polls.
pub fn set_soak(bar: &ProgressBar, status: &Status, left: Duration) {
    let end = Instant::now() + left;
    let head = format!("step {} of {}: soaking, ", status.step, status.steps);
    let tail = format!(" left; analysis {}", status.analysis.verdict.as_str());
    let style = ProgressStyle::with_template("{spinner} {prefix}{left}{msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "left",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let rest = end.saturating_duration_since(Instant::now());
                let _ = write!(w, "{}", duration(rest.as_secs_f64()));
            },
        );
    bar.set_style(style);
    bar.set_prefix(head);
    bar.set_message(tail);
}

/// The end of a rollout's apply: its timeline (seconds since the apply
/// began), where it stopped, and the commands to go on for `target`
/// (with `--state-dir` when one was given).
pub fn ended(r: &RolloutRun, target: &str, state_dir: Option<&Path>) -> String {
    let report = RolloutReport {
        last: None,
        ..r.report()
    };
    let resume = match state_dir {
        Some(d) => format!(
            "handover resume --state-dir {}",
            quote(&d.display().to_string())
        ),
        None => format!("handover resume --target {}", quote(target)),
    };
    format!(
        "\n{}{}",
        handover::report::rollout::timeline(&report),
        r.outcome(&resume, "run the same handover apply")
    )
}

/// `s`, single-quoted for a POSIX shell when it holds anything but plain
/// characters.
fn quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_with_spaces_are_quoted_for_the_shell() {
        assert_eq!(quote("sim:estate.yaml"), "sim:estate.yaml");
        assert_eq!(quote("exec:./p --x"), "'exec:./p --x'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
