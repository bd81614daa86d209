//! The progress hook: how the executor tells a caller (the CLI's progress
//! bar or wave lines) what happens, without printing anything itself.

use crate::name::Name;

/// Something that happened during a pass or a rehearsal.
#[derive(Clone, Debug, PartialEq)]
pub enum ProgressEvent {
    /// A pass starts applying a plan of `steps` steps.
    PassStarted {
        /// 1-based pass number (always 1 for a single `apply`).
        pass: u32,
        /// Steps in the plan.
        steps: usize,
    },
    /// A member got its bridge (new primary, old parents kept as failovers).
    Bridged(Name),
    /// A member was observed connected to its new primary (or a gateway
    /// ready).
    Acknowledged(Name),
    /// A bridged member got its exact desired parents.
    Pruned(Name),
    /// A member's parents were written without a bridge.
    Changed(Name),
    /// A member did not acknowledge in time; it stays in its bridge.
    Pending(Name),
    /// A write to a member (or pool) was not sent: its effect already held.
    Skipped(Name),
    /// A member (or pool) will not start this pass: a change it waits for
    /// (another member's) failed or timed out. It is untouched and safe.
    Waiting(Name),
    /// A member's chain stopped on a provider error.
    Failed {
        /// The member (or pool).
        name: Name,
        /// What the provider said.
        reason: String,
    },
    /// A pass finished.
    PassFinished {
        /// 1-based pass number.
        pass: u32,
        /// Operations applied in this pass.
        applied: u64,
        /// Members pending after this pass.
        pending: usize,
        /// Members whose chain failed in this pass.
        failed: usize,
        /// The target's clock when the pass finished, in seconds.
        clock_seconds: f64,
    },
}

/// Receives [`ProgressEvent`]s. Closures `FnMut(&ProgressEvent)` implement it.
pub trait Progress {
    /// Called once per event, in order.
    fn event(&mut self, event: &ProgressEvent);
}

impl<F: FnMut(&ProgressEvent)> Progress for F {
    fn event(&mut self, event: &ProgressEvent) {
        self(event)
    }
}

/// Ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn event(&mut self, _: &ProgressEvent) {}
}
