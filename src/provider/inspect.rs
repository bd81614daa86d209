//! What a target can tell besides an observation: events planned for its
//! future ([`Schedule`]) and members stranded ([`Inspect`]).
//!
//! Owns the two traits, beside [`super::Provider`] and [`super::Clock`],
//! so a target implements every seam it offers from one place and the
//! executor reads them without the provider layer importing it. The
//! simulator implements both; real targets keep the defaults. Must not
//! know about plans.

use crate::name::Name;
use std::time::Duration;

/// A target that knows about events planned for its future (the
/// simulator's faults). Real targets keep the default: none.
pub trait Schedule {
    /// The clock time (since the clock's origin) of the next event that has
    /// not happened yet, if any.
    fn next_scheduled(&self) -> Option<Duration> {
        None
    }
}

/// A target that can tell what an observation cannot: which members are
/// stranded. The simulator knows; a real target keeps the default (none
/// known), and a real stranding shows only as a member that never
/// acknowledges.
pub trait Inspect {
    /// Members that are online, disconnected, and that no configuration can
    /// reach any more, sorted.
    fn stranded(&self) -> Vec<Name> {
        Vec::new()
    }

    /// Members that were stranded at any instant since the target was
    /// built (or loaded), even if something healed them later, sorted; it
    /// includes [`Inspect::stranded`]. The simulator judges this after
    /// every event; a real target keeps the default (none known).
    fn stranded_ever(&self) -> Vec<Name> {
        self.stranded()
    }

    /// True while members are known to be still moving on their own
    /// (learning a configuration, reconnecting after an outage), so the
    /// estate must not be called converged yet even if one observation
    /// looks it. The simulator knows from its event queue; a real target
    /// keeps the default (false), and its next cycle sees the rest.
    fn settling(&self) -> bool {
        false
    }
}
