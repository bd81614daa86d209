//! Text for people about a progressive rollout in a rehearsal: one line
//! per transition with its virtual time, then where the rollout ended, in
//! the administrators' words (docs/rollouts.md shows an example).
//!
//! Owns the words only; must not decide anything it reports and must not
//! print.

use super::rehearsal::duration;
use crate::diag::count;
use crate::model::{Step, StepTarget};
use crate::plan::rollout::{Event, Phase, Status};
use crate::run::rollout::RolloutReport;

/// How a step reads: `20 members`, `25%`, `a manual pause`.
fn step_words(s: &Step) -> String {
    match s.target {
        StepTarget::Members(n) => count(n, "member", "members"),
        StepTarget::Percent(p) => format!("{p}%"),
        StepTarget::Pause => "a manual pause".to_string(),
    }
}

/// The rollout's timeline and outcome; empty when there was no rollout.
pub fn timeline(r: &RolloutReport<'_>) -> String {
    let steps = r.steps.len();
    let mut out = format!(
        "Rollout: {} ({}); on a failed analysis: {}.\n",
        count(steps as u64, "step", "steps"),
        r.steps
            .iter()
            .map(|s| {
                let soak = if s.soak.0 > 0 {
                    format!(", soak {}", s.soak)
                } else {
                    String::new()
                };
                format!("{}{soak}", step_words(s))
            })
            .collect::<Vec<_>>()
            .join("; "),
        r.on_failure
    );
    for t in r.timeline {
        let line = match &t.event {
            Event::StepStarted { step, target } => format!(
                "step {} of {steps} starts: {} of this revision in all",
                step,
                count(*target, "member", "members")
            ),
            Event::SoakStarted { step, until } => format!(
                "step {} moved its members; soaking until {}",
                step,
                duration(*until as f64)
            ),
            Event::Paused { step } => format!(
                "step {} of {steps} is a manual pause: waiting for handover resume",
                step
            ),
            Event::AnalysisFailed { step, reasons } => format!(
                "analysis failed during step {}: {}",
                step,
                reasons.join("; ")
            ),
            Event::RollbackStarted { members, .. } => format!(
                "rolling back {} to the parents they had before the rollout, make before break",
                count(members.len() as u64, "member", "members")
            ),
            Event::RolledBack { .. } => {
                "rolled back: every rolled-back member has its parents from before the rollout again"
                    .to_string()
            }
            Event::Complete => "every step passed; the rest of the revision moves".to_string(),
        };
        out.push_str(&format!("  {:>8}  {line}\n", duration(t.at as f64)));
    }
    if let Some(s) = r.last {
        out.push_str(&outcome(s));
    }
    out
}

/// The last line: where the rollout ended and what to do.
fn outcome(s: &Status) -> String {
    let at = format!("step {} of {}", s.step, s.steps);
    match s.phase {
        Phase::Complete => "Rollout complete: every step passed its analysis.\n".to_string(),
        Phase::Moving | Phase::Soaking => format!(
            "Rollout stopped at {at} ({}): the rehearsal ended before the rollout did.\n",
            s.phase.as_str()
        ),
        Phase::Paused => format!(
            "Rollout paused at {at}, a manual pause; nothing new starts until handover resume.\n"
        ),
        Phase::AnalysisFailed => format!(
            "Rollout paused at {at}: the analysis failed. Nothing new starts until handover resume or a new revision; members already moved stay where they are.\n"
        ),
        Phase::RollingBack => format!(
            "Rollout rolling back at {at}: the rehearsal ended before every rolled-back member was on its old parents.\n"
        ),
        Phase::RolledBack => format!(
            "Rollout rolled back at {at}: the analysis failed, and every rolled-back member is on its parents from before the rollout again. Nothing new starts until handover resume or a new revision.\n"
        ),
    }
}
