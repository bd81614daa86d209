//! Notifications about the reconcile loop's transitions, judged and
//! rendered without I/O (docs/notifications.md).
//!
//! Owns the plain [`Snapshot`] of what the loop reports after a pass (the
//! part of `/status` notifications are judged from), [`judge`]: which
//! events two successive snapshots mean, and the payloads ([`payload`]):
//! handover's own JSON document, a Microsoft Teams message with an
//! Adaptive Card, and a Slack message. Must not send, read the clock or
//! the environment: the runtime's `notifier` does, at the edge.

pub mod judge;
pub mod payload;
pub mod snapshot;

pub use crate::model::notify::{Event, Format};
pub use judge::judge;
pub use payload::{MAX_MEMBERS, Member, Notification, render};
pub use snapshot::{RolloutPhase, Snapshot, SyncState};
