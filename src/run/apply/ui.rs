//! The [`Ui`] of an apply: what the apply use case needs from the person
//! running it (the terminal in the binary, a script in tests).
//!
//! Owns the trait only, so the use case (`interactive`), its rollout run
//! and its notices all depend on it without depending on each other. Must
//! not print or decide anything.

use crate::execute::{Cancel, Progress};
use crate::model::{Observed, Policy};
use crate::plan::Plan;

/// What a person sees and answers during an apply: the terminal in the
/// binary, a script in tests. Also the run's [`Progress`].
pub trait Ui: Progress {
    /// A note or warning for the person (the binary: a line on stderr).
    fn note(&mut self, line: &str);
    /// Shows the plan, before anything is asked or applied.
    fn show_plan(&mut self, plan: &Plan, start: &Observed, policy: &Policy);
    /// Asks whether to apply `plan` to `target`; only true applies.
    fn confirm(&mut self, plan: &Plan, target: &str) -> bool;
    /// Arranges for `cancel` to be set when the person interrupts.
    fn watch_interrupt(&mut self, cancel: Cancel);
    /// The run starts: progress for `plan` follows.
    fn run_started(&mut self, plan: &Plan);
    /// The run ended: no more progress.
    fn run_finished(&mut self);
    /// Under `policy.rollout`, after each pass: where the rollout is, its
    /// transitions in that pass, and the time left in a soak. A rollout's
    /// run calls [`Ui::run_started`] and [`Ui::run_finished`] once per
    /// pass that applies something.
    fn rollout(
        &mut self,
        _status: &crate::plan::rollout::Status,
        _events: &[crate::plan::rollout::Event],
        _soak_left: Option<std::time::Duration>,
    ) {
    }
}
