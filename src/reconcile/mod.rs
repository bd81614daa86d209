//! The reconcile controller (`handover reconcile`), but for the pass itself.
//!
//! Three concerns, three places:
//! - [`source`]: where the desired topology comes from and which revision
//!   is in use (a path or git, the revision tracker, the watcher, and the
//!   per-pass look at the source in [`source::desired`]);
//! - [`serve`](mod@serve): what the loop shows (status, metrics, the live pass, the
//!   status page) and the HTTP listener that serves it;
//! - the loop itself, here: when the next pass runs ([`schedule`],
//!   [`backoff`], [`pause`]), what each pass leaves behind ([`record`],
//!   [`logs`]), how it stops ([`signals`]), the [`driver`], which takes the
//!   pass (observe, plan, apply) as a closure, and what a client waiting on
//!   the loop makes of its status ([`wait`]).
//!
//! Must not plan, apply or talk to targets: [`crate::run::pass`] supplies the
//! pass. The pure parts ([`source::revision`], [`schedule`], [`backoff`], the
//! sync-status decision in [`serve::status`], [`wait`]) do no I/O and read no
//! clock.

pub mod backoff;
pub mod driver;
pub mod logs;
pub mod pause;
pub mod record;
pub mod schedule;
pub mod serve;
pub mod signals;
pub mod source;
pub mod wait;

pub use backoff::{Backoff, Jitter};
pub use driver::{DriverConfig, PassContext, PassResult, drive};
pub use logs::{LogFormat, pass_span};
pub use pause::{between_passes, is_suspended};
pub use record::{PassRecord, record_pass};
pub use schedule::{PassOutcome, Trigger, Wait, next_wait};
pub use serve::listen::{
    Endpoints, ListenError, bind, check_listen_addr, parse_listen_addr, serve,
};
pub use serve::live::LiveHandle;
pub use serve::metrics::Metrics;
pub use serve::status::{
    CurrentPass, ErrorKind, MemberCounts, PassFacts, Status, StatusHandle, SyncStatus, decide,
};
pub use signals::Shutdown;
pub use source::desired::{Desired, Polled, poll};
pub use source::revision::{Offer, Refusal, RevisionTracker};
pub use source::watch::{Debounce, Watch};
pub use source::{Fetcher, Revision, Source, SourceError};
