//! When the loop's next pass runs, and why.
//!
//! Pure: the decision takes what happened (the pass's outcome, events that
//! arrived meanwhile) and the jittered interval, and returns how long to
//! wait and the trigger the next pass will carry in its span. Must not
//! sleep or read a clock; the loop does the waiting.

use super::backoff::Backoff;
use serde::Serialize;
use std::time::Duration;

/// What started a pass (the `trigger` field of each pass's span and of
/// `/status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The first pass after start.
    Startup,
    /// The interval elapsed.
    Interval,
    /// A retry after an error, once the backoff elapsed.
    Retry,
    /// With `--ha`: this replica won or lost leadership of its group.
    Leadership,
    /// The desired file or directory was edited (`--desired`).
    FileChanged,
    /// A fetch found a new commit (`--git`).
    NewRevision,
}

impl Trigger {
    /// The snake_case name used in logs, metrics labels and `/status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Interval => "interval",
            Trigger::Retry => "retry",
            Trigger::Leadership => "leadership",
            Trigger::FileChanged => "file_changed",
            Trigger::NewRevision => "new_revision",
        }
    }

    /// True for events that cut a wait short: a new desired topology is
    /// planned at once (but never interrupts a step in flight: events are
    /// only looked at between passes).
    pub fn interrupts_wait(self) -> bool {
        matches!(self, Trigger::FileChanged | Trigger::NewRevision)
    }

    /// Of two triggers that arrived together, the one to report: new
    /// content first, then the file, then a retry, then the interval.
    pub fn stronger(self, other: Trigger) -> Trigger {
        self.max(other)
    }
}

/// How a pass ended, as far as scheduling cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassOutcome {
    /// Observed (and planned and applied, unless suspended) without error;
    /// pending or blocked members are not errors.
    Succeeded,
    /// Observation, fetching, loading or the target failed.
    Failed,
}

/// The wait before the next pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// How long to wait (unless an event that [`Trigger::interrupts_wait`]
    /// arrives first).
    pub delay: Duration,
    /// The trigger the next pass carries if the wait runs out.
    pub trigger: Trigger,
}

/// Decides the wait after a pass: at once for an event that arrived during
/// the pass; the backoff's delay after an error; the (jittered) interval
/// after a success, which also resets the backoff.
pub fn next_wait(
    outcome: PassOutcome,
    jittered_interval: Duration,
    backoff: &mut Backoff,
    arrived_during_pass: Option<Trigger>,
) -> Wait {
    match outcome {
        PassOutcome::Succeeded => backoff.on_success(),
        PassOutcome::Failed => {
            backoff.on_error();
        }
    }
    if let Some(t) = arrived_during_pass.filter(|t| t.interrupts_wait()) {
        return Wait {
            delay: Duration::ZERO,
            trigger: t,
        };
    }
    match outcome {
        PassOutcome::Succeeded => Wait {
            delay: jittered_interval,
            trigger: Trigger::Interval,
        },
        PassOutcome::Failed => Wait {
            delay: backoff.delay(),
            trigger: Trigger::Retry,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn success_waits_the_interval_and_resets_the_backoff() {
        let mut b = Backoff::new(S(5), S(300));
        b.on_error();
        b.on_error();
        let w = next_wait(PassOutcome::Succeeded, S(180), &mut b, None);
        assert_eq!(
            w,
            Wait {
                delay: S(180),
                trigger: Trigger::Interval
            }
        );
        assert_eq!(b.failures(), 0);
    }

    #[test]
    fn errors_back_off_exponentially() {
        let mut b = Backoff::new(S(5), S(300));
        let delays: Vec<_> = (0..4)
            .map(|_| next_wait(PassOutcome::Failed, S(180), &mut b, None))
            .collect();
        assert!(delays.iter().all(|w| w.trigger == Trigger::Retry));
        let d: Vec<_> = delays.iter().map(|w| w.delay).collect();
        assert_eq!(d, [S(5), S(10), S(20), S(40)]);
    }

    #[test]
    fn a_new_revision_during_a_pass_runs_the_next_pass_at_once() {
        let mut b = Backoff::default();
        for outcome in [PassOutcome::Succeeded, PassOutcome::Failed] {
            for t in [Trigger::FileChanged, Trigger::NewRevision] {
                let w = next_wait(outcome, S(180), &mut b, Some(t));
                assert_eq!(
                    w,
                    Wait {
                        delay: Duration::ZERO,
                        trigger: t
                    }
                );
            }
        }
        // The interval itself does not cut a wait short.
        let w = next_wait(
            PassOutcome::Succeeded,
            S(180),
            &mut b,
            Some(Trigger::Interval),
        );
        assert_eq!(w.delay, S(180));
    }

    #[test]
    fn triggers_have_stable_names_and_an_order() {
        assert_eq!(Trigger::NewRevision.as_str(), "new_revision");
        assert_eq!(Trigger::FileChanged.as_str(), "file_changed");
        assert_eq!(
            Trigger::Interval.stronger(Trigger::FileChanged),
            Trigger::FileChanged
        );
        assert_eq!(
            Trigger::NewRevision.stronger(Trigger::Retry),
            Trigger::NewRevision
        );
        assert!(!Trigger::Retry.interrupts_wait());
    }
}
