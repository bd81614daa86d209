//! The topology model: plain data the planner, simulator and executor share.
//!
//! Owns the shapes of docs/spec.md section 2: the desired [`Topology`], the
//! [`Observed`] state and the [`Policy`]. Everything here is plain data with
//! no I/O, no clock and no async; loading fills it in (with source positions
//! for error messages), validation checks it, planning reads it.

pub mod approval;
pub mod cost;
pub mod desired;
pub mod health;
pub mod member;
pub mod notify;
pub mod observed;
pub mod policy;
pub mod rollout;
pub mod seconds;
pub mod server;
pub mod window;

pub use approval::Approval;
pub use cost::{Cost, CostError, Millis};
pub use desired::{
    AgentRule, DisasterRecovery, MemberDef, RuleAssign, ServerDef, StoreSpec, Topology,
};
pub use health::{Health, HealthState};
pub use member::{API_VERSION, MemberKind, Parents};
pub use observed::{
    Evidence, Heartbeat, Learned, Observed, ObservedMember, ObservedPool, ObservedServer,
    ObservedStore, Stamp,
};
pub use policy::{Capacity, Policy, Poll};
pub use rollout::{Analysis, OnFailure, Rollout, Step, StepTarget};
pub use seconds::Seconds;
pub use server::ServerKind;
pub use window::{Window, WindowKind};
