//! The reconcile controller (`handover reconcile`), but for the pass itself.
//!
//! Owns what a long-running reconcile loop needs around the planner and the
//! executor: where the desired topology comes from and which revision is in
//! use ([`source`], [`desired`], [`revision`]), noticing edits ([`watch`]),
//! when the next pass runs ([`schedule`], [`backoff`], [`pause`]), what the
//! loop reports ([`status`], [`record`], [`metrics`], [`logs`], the live
//! progress of a pass in [`live`]) and serves over HTTP ([`listen`], the
//! status page in [`page`]), how it stops ([`signals`]), the loop itself
//! ([`driver`]), which takes the pass (observe, plan, apply) as a closure,
//! and what a client waiting on the loop makes of its status ([`wait`]).
//!
//! Must not plan, apply or talk to targets: the CLI supplies the pass. The
//! pure parts ([`revision`], [`schedule`], [`backoff`], the sync-status
//! decision in [`status`], [`wait`]) do no I/O and read no clock.

pub mod backoff;
pub mod desired;
pub mod driver;
mod git;
pub mod listen;
pub mod live;
pub mod logs;
pub mod metrics;
pub mod page;
pub mod pause;
pub mod record;
pub mod revision;
pub mod schedule;
pub mod signals;
pub mod source;
pub mod status;
pub mod wait;
pub mod watch;

pub use backoff::{Backoff, Jitter};
pub use desired::{Desired, Polled, poll};
pub use driver::{DriverConfig, PassContext, PassResult, drive};
pub use listen::{Endpoints, ListenError, bind, check_listen_addr, parse_listen_addr, serve};
pub use live::LiveHandle;
pub use logs::{LogFormat, pass_span};
pub use metrics::Metrics;
pub use pause::{between_passes, is_suspended};
pub use record::{PassRecord, record_pass};
pub use revision::{Offer, Refusal, RevisionTracker};
pub use schedule::{PassOutcome, Trigger, Wait, next_wait};
pub use signals::Shutdown;
pub use source::{Fetcher, Revision, Source, SourceError};
pub use status::{
    CurrentPass, ErrorKind, MemberCounts, PassFacts, Status, StatusHandle, SyncStatus, decide,
};
pub use watch::{Debounce, Watch};
