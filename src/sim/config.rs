//! How a simulation behaves: its seed, timings and faults.
//!
//! Owns [`SimConfig`] and [`DelayRange`], plain settings a simulation is
//! built from and saved with. Must not hold behaviour beyond defaults.

use super::faults::FaultSchedule;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A closed range of delays, drawn uniformly (to the millisecond) from the
/// simulator's seeded stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayRange {
    /// Shortest delay.
    pub min: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl DelayRange {
    /// A range from `min` to `max` seconds.
    pub fn secs(min: u64, max: u64) -> Self {
        DelayRange {
            min: Duration::from_secs(min),
            max: Duration::from_secs(max),
        }
    }
}

/// How a simulation behaves: seed, timings and faults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Seed of every random draw (delays, retry phases, injected errors).
    pub seed: u64,
    /// How long a connected member takes to learn a new configuration
    /// (default 30 s to 120 s).
    pub propagation: DelayRange,
    /// How often a member retries (default 60 s); each member has its own
    /// seeded phase within the interval.
    pub retry_interval: Duration,
    /// How long a store failover takes once accepted (default 60 s to 180 s).
    pub store_failover: DelayRange,
    /// How long replication takes after the store changes or its pool comes
    /// back (default 60 s to 300 s).
    pub replication_lag: DelayRange,
    /// Faults to fire at their virtual times.
    pub faults: FaultSchedule,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            propagation: DelayRange::secs(30, 120),
            retry_interval: Duration::from_secs(60),
            store_failover: DelayRange::secs(60, 180),
            replication_lag: DelayRange::secs(60, 300),
            faults: FaultSchedule::default(),
        }
    }
}

impl SimConfig {
    /// The defaults with `seed`.
    pub fn seeded(seed: u64) -> Self {
        SimConfig {
            seed,
            ..Default::default()
        }
    }

    /// These settings with `faults`.
    pub fn with_faults(mut self, faults: FaultSchedule) -> Self {
        self.faults = faults;
        self
    }
}
