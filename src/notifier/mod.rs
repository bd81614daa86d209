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
use crate::notification::{Notification, Snapshot, judge, render};
use crate::reconcile::serve::metrics::Metrics;
use crate::reconcile::serve::status::Status;
use lane::{Job, Lane};
use retry::Delivery;
use std::collections::{HashMap, HashSet};
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
    /// (receiver, variable) pairs already warned about as unset.
    warned: Mutex<HashSet<(String, String)>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("cfg", &self.0.cfg)
            .finish_non_exhaustive()
    }
}

impl crate::reconcile::driver::AfterPass for Notifier {
    fn after_pass(&self, status: &Status, receivers: &[Receiver]) {
        Notifier::after_pass(self, status, receivers);
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
            warned: Mutex::new(HashSet::new()),
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
        self.queue(judge(&prev, &next, &now_rfc3339()), receivers);
    }

    /// Queues each of `notes` for each receiver that wants its event,
    /// warning first about unset variables. Never waits on a receiver; must
    /// be called inside the tokio runtime. `after_pass` uses it with the
    /// loop's judgement, `apply` with the events of its one run
    /// ([`crate::run::apply::notify`]).
    pub fn queue(&self, notes: Vec<Notification>, receivers: &[Receiver]) {
        if receivers.is_empty() {
            return;
        }
        self.warn_unset(receivers, |k| {
            std::env::var_os(k).is_some_and(|v| !v.is_empty())
        });
        for n in notes {
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

    /// Warns, once per receiver and variable, about a variable a receiver
    /// reads that is not set: at the first pass, not days later when the
    /// first notification fails. Returns the pairs newly warned about.
    fn warn_unset(
        &self,
        receivers: &[Receiver],
        set: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        let mut warned = self.0.warned.lock().unwrap_or_else(|p| p.into_inner());
        let mut new = Vec::new();
        for r in receivers {
            for v in r.variables() {
                if !set(v) && warned.insert((r.name.clone(), v.to_string())) {
                    tracing::warn!(
                        receiver = %r.name,
                        variable = v,
                        "notification receiver {} reads the environment variable {v}, which is not set here: its notifications will fail until it is",
                        r.name
                    );
                    new.push((r.name.clone(), v.to_string()));
                }
            }
        }
        new
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
    /// [`Delivery::grace`] to go out, then says (a warning, and the
    /// returned receiver names with how many were left) how many did not.
    pub async fn finish(&self) -> Vec<(String, usize)> {
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
        let mut undelivered = Vec::new();
        for l in &lanes {
            let left = l.waiting() + usize::from(l.sending());
            if left > 0 {
                tracing::warn!(
                    receiver = %l.name(),
                    left,
                    "notifications not delivered before the run ended"
                );
                undelivered.push((l.name().to_string(), left));
            }
        }
        undelivered.sort();
        undelivered
    }
}

/// Now, RFC 3339 UTC to the second: the `at` of a notification.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::notify::{Event, Format, UrlSource};

    #[test]
    fn an_unset_variable_is_warned_about_once() {
        let n = Notifier::new(Delivery::default(), Arc::new(Metrics::new()));
        let r = Receiver {
            name: "ops-teams".into(),
            url: UrlSource::Env("TEAMS_URL".into()),
            format: Format::Teams,
            on: Event::ALL.to_vec(),
            secret_env: Some("TOKEN".into()),
            headers: Vec::new(),
        };
        let set = |k: &str| k == "TOKEN";
        assert_eq!(
            n.warn_unset(std::slice::from_ref(&r), set),
            [("ops-teams".to_string(), "TEAMS_URL".to_string())]
        );
        assert!(n.warn_unset(std::slice::from_ref(&r), set).is_empty());
    }
}
