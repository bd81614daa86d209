//! `reconcile`'s notifications at the edge: after each pass, judge what
//! changed and hand the notifications to the receivers of
//! `policy.notifications` without ever holding up the loop
//! (docs/notifications.md).
//!
//! Owns the [`Notifier`]: the previous snapshot (so events fire once per
//! transition), one bounded queue and one sending task per receiver
//! ([`lane`]: a failing or slow receiver delays only itself; when its
//! queue is full the oldest notification is dropped and counted), the
//! environment look-up of secrets at send time, and the counters in
//! `/metrics`. The judgement and the payloads are the core's
//! ([`crate::notification`]); the conversion from `/status` is
//! [`snapshot`]; the retry rules are [`retry`]; one request is [`send`].
//! Must not plan, apply, journal a secret or log a URL or header value.

pub mod lane;
pub mod retry;
pub mod send;
pub mod snapshot;

use crate::model::notify::Receiver;
use crate::notification::{Snapshot, judge, render};
use crate::reconcile::serve::metrics::Metrics;
use crate::reconcile::serve::status::Status;
use lane::{Job, Lane};
use retry::Delivery;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Sends notifications about the loop's transitions. Clones share.
#[derive(Clone)]
pub struct Notifier(Arc<Inner>);

/// The shared state of a [`Notifier`].
struct Inner {
    /// Timeouts, retries, queue size.
    cfg: Delivery,
    /// Where sent, failed and dropped are counted.
    metrics: Arc<Metrics>,
    /// One lane per receiver name, made on first use.
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    /// What the loop reported after the previous pass.
    prev: Mutex<Snapshot>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("cfg", &self.0.cfg)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier counting into `metrics`.
    pub fn new(cfg: Delivery, metrics: Arc<Metrics>) -> Notifier {
        Notifier(Arc::new(Inner {
            cfg,
            metrics,
            lanes: Mutex::new(HashMap::new()),
            prev: Mutex::new(Snapshot::default()),
        }))
    }

    /// After a pass: judges `status` against the previous pass's and
    /// queues a notification for each receiver that wants an event. Never
    /// waits on a receiver. Must be called inside the tokio runtime (it
    /// starts a receiver's sending task on first use). With `--ha`, only
    /// the leader sends (a standby's passes only keep the snapshot).
    pub fn after_pass(&self, status: &Status, receivers: &[Receiver]) {
        let next = snapshot::from_status(status);
        let prev = std::mem::replace(
            &mut *self.0.prev.lock().unwrap_or_else(|p| p.into_inner()),
            next.clone(),
        );
        let leader = status.ha.as_ref().is_none_or(|h| h.role == "leader");
        if receivers.is_empty() || !leader {
            return;
        }
        let at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        for n in judge(&prev, &next, &at) {
            tracing::info!(event = %n.event, message = %n.message, "notification");
            for r in receivers.iter().filter(|r| r.wants(n.event)) {
                let body = render(&n, r.format).to_string();
                self.lane(&r.name).push(
                    Job {
                        receiver: r.clone(),
                        event: n.event,
                        body: body.into(),
                    },
                    &self.0.metrics,
                );
            }
        }
    }

    /// The lane of receiver `name`, started on first use.
    fn lane(&self, name: &str) -> Arc<Lane> {
        let mut lanes = self.0.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes
            .entry(name.to_string())
            .or_insert_with(|| Lane::start(name, self.0.cfg, self.0.metrics.clone()))
            .clone()
    }

    /// At the end of a run: gives queued notifications up to
    /// [`Delivery::grace`] to go out, then says how many did not.
    pub async fn finish(&self) {
        let lanes: Vec<Arc<Lane>> = self
            .0
            .lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let deadline = tokio::time::Instant::now() + self.0.cfg.grace;
        while lanes.iter().any(|l| !l.is_idle()) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for l in &lanes {
            let left = l.waiting();
            if left > 0 || !l.is_idle() {
                tracing::warn!(
                    receiver = %l.name(),
                    left,
                    "notifications not delivered before the run ended"
                );
            }
        }
    }
}
