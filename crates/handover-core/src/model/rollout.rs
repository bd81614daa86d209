//! `policy.rollout`: progressive steps, the analysis thresholds judged
//! during each step's soak, and what happens when the analysis fails.
//!
//! Owns the plain data of docs/rollouts.md and docs/spec.md ("Progressive
//! rollouts"). Must not decide anything (that is `plan::rollout`) and must
//! not touch I/O or the clock.

use super::health::HealthState;
use super::seconds::Seconds;
use serde::{Deserialize, Serialize};

/// `policy.rollout`: steps, analysis, and what to do when it fails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rollout {
    /// The steps, in order; at least one.
    pub steps: Vec<Step>,
    /// The thresholds the soak judges.
    #[serde(default)]
    pub analysis: Analysis,
    /// What a failed analysis does.
    #[serde(default)]
    pub on_failure: OnFailure,
}

/// One step: how far the rollout goes (cumulative over the members the
/// revision moves), and how long it soaks before the next; or a manual
/// pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// How far this step goes.
    pub target: StepTarget,
    /// How long to hold and analyse after the step's members have moved.
    #[serde(default)]
    pub soak: Seconds,
}

/// How far a step goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepTarget {
    /// This many members of the revision in all (at most all of them).
    Members(u64),
    /// This share of the revision's members in all, rounded up (1 to 100).
    Percent(u32),
    /// Wait for `handover resume` (Argo Rollouts' indefinite pause).
    Pause,
}

impl Step {
    /// How many of `total` members the rollout has started once this step
    /// has started all of its own; `None` for a manual pause.
    pub fn cumulative(&self, total: u64) -> Option<u64> {
        match self.target {
            StepTarget::Members(n) => Some(n.min(total)),
            StepTarget::Percent(p) => Some((total * u64::from(p)).div_ceil(100).min(total)),
            StepTarget::Pause => None,
        }
    }
}

/// The thresholds of the analysis during a soak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Analysis {
    /// Moved members allowed off their new primary (on a failover, or
    /// disconnected) before the analysis fails; default 0.
    pub max_failures: u64,
    /// The same as a share of the step's moved members, in percent; when
    /// both are given the larger allowance counts.
    pub max_failure_percent: Option<u32>,
    /// A new parent whose reported health state is this or worse
    /// (`warning`: warning or critical; `critical`: critical) fails the
    /// analysis. `None`: health states are not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on_health: Option<HealthState>,
    /// A new parent that reports a send queue larger than this fails the
    /// analysis. `None`: send queues are not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_send_queue_size: Option<u64>,
}

impl Analysis {
    /// True when the analysis judges the new parents' reported health.
    pub fn judges_health(&self) -> bool {
        self.fail_on_health.is_some() || self.max_send_queue_size.is_some()
    }
}

/// What a failed analysis does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnFailure {
    /// Stop starting changes until `handover resume` or a new revision.
    #[default]
    Pause,
    /// Move the failed step's members back to their parents before the
    /// rollout, make before break, then stay paused.
    Rollback,
}

impl OnFailure {
    /// As written in policy.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Pause => "pause",
            OnFailure::Rollback => "rollback",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_targets_round_up_and_cap() {
        let s = |t| Step {
            target: t,
            soak: Seconds(0),
        };
        assert_eq!(s(StepTarget::Members(20)).cumulative(100), Some(20));
        assert_eq!(s(StepTarget::Members(20)).cumulative(7), Some(7));
        assert_eq!(s(StepTarget::Percent(25)).cumulative(10), Some(3));
        assert_eq!(s(StepTarget::Percent(100)).cumulative(10), Some(10));
        assert_eq!(s(StepTarget::Percent(1)).cumulative(0), Some(0));
        assert_eq!(s(StepTarget::Pause).cumulative(10), None);
    }
}
