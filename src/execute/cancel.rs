//! Cooperative cancellation of a pass or a rehearsal.
//!
//! Owns only the shared flag; the executor checks it before starting each
//! step. Must not touch signals: the CLI sets it from its Ctrl-C handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag shared between whoever wants to stop and the executor. Clones
/// share the flag. When set, no new step starts; the step in progress
/// finishes; bridged members stay bridged (which is safe).
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the executor to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once [`Cancel::cancel`] was called on this flag or a clone.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
