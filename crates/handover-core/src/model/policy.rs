//! Policy: the knobs of a migration (window, timeouts, capacity, retirement).
//!
//! Owns `policy:` of docs/spec.md section 2 (plus `storeTimeout`); its
//! durations are [`Seconds`] (`model::seconds`). Plain data; must not touch
//! I/O or the clock.

pub use super::seconds::{DurationError, Seconds};
use super::{approval, cost, notify, rollout, window};
use serde::{Deserialize, Serialize};

/// Recommended agent counts per parent (DOMAIN.md: 2,000 per gateway,
/// 3,000 per management server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Capacity {
    /// Agents per gateway.
    pub gateway: u32,
    /// Agents plus gateways per management server.
    pub management_server: u32,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            gateway: 2000,
            management_server: 3000,
        }
    }
}

/// How a migration may proceed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Policy {
    /// Members in a bridge state at once (a sliding window), at least 1.
    pub max_in_flight: u32,
    /// How long to wait for a member to reach its new primary.
    pub ack_timeout: Seconds,
    /// How long a Central Management Store operation may take: the
    /// `store_failover` call itself (a provider is given this long before
    /// it is stopped), and each store await (replication complete, the
    /// store active in its new pool). Default 30 minutes.
    pub store_timeout: Seconds,
    /// Retire observed gateways absent from the topology.
    pub retire_gateways: bool,
    /// Agents per parent.
    pub capacity: Capacity,
    /// Observe and report, but apply nothing (reconcile honours it).
    pub suspend: bool,
    /// How often members in flight are observed.
    pub poll: Poll,
    /// Progressive steps with analysis (docs/rollouts.md); `None` moves
    /// every member as soon as the window allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Box<rollout::Rollout>>,
    /// Webhooks told about transitions (`policy.notifications`: reconcile,
    /// and apply --desired for its one run; docs/notifications.md). Empty: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<notify::Receiver>,
    /// Change windows (`policy.windows`, docs/gates.md); empty: always open.
    pub windows: Vec<window::Window>,
    /// Approval gate (`policy.approval`, docs/gates.md); `None`: no gate.
    pub approval: Option<approval::Approval>,
    /// What the forecast of `plan` and `simulate` assumes a provider
    /// start, request, operation and a member's propagation cost (boxed:
    /// a topology stays small beside an observed state).
    pub cost: Box<cost::Cost>,
}

/// `policy.poll`: the interval between two observations of the members in
/// flight starts at `interval`, doubles after each poll that saw no change
/// up to `max`, and drops back to `interval` after one that did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Poll {
    /// The first (and shortest) interval; default 15 s.
    pub interval: Seconds,
    /// The longest interval; default 30 s; never below `interval`
    /// (docs/performance.md, "The poll backoff", says why).
    pub max: Seconds,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            interval: Seconds(15),
            max: Seconds(30),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_in_flight: 100,
            ack_timeout: Seconds(30 * 60),
            store_timeout: Seconds(30 * 60),
            retire_gateways: false,
            capacity: Capacity::default(),
            suspend: false,
            poll: Poll::default(),
            rollout: None,
            notifications: Vec::new(),
            windows: Vec::new(),
            approval: None,
            cost: Box::default(),
        }
    }
}
