//! One receiver's queue and the task that sends from it.
//!
//! Owns [`Lane`]: a bounded queue (full: the oldest is dropped and
//! counted), the sending task (secrets read from the environment at send
//! time, retries by [`super::retry::next`], a log line per failure that
//! names the receiver and never its URL) and the counters. Must not judge
//! events or render payloads.

use super::retry::{Delivery, Next, next};
use super::send::{Request, post};
use crate::model::notify::{Event, Receiver, UrlSource};
use crate::reconcile::serve::metrics::Metrics;
use hyper::body::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One notification for one receiver.
#[derive(Clone, Debug)]
pub struct Job {
    /// The receiver, as the revision in use gives it.
    pub receiver: Receiver,
    /// The event, for logs.
    pub event: Event,
    /// The rendered body.
    pub body: Bytes,
}

/// A receiver's queue and its sending task's state.
#[derive(Debug)]
pub struct Lane {
    /// The receiver's name.
    name: String,
    /// Timeouts, retries, queue size.
    cfg: Delivery,
    /// Notifications waiting, oldest first.
    queue: Mutex<VecDeque<Job>>,
    /// Wakes the task when a job arrives.
    wake: tokio::sync::Notify,
    /// True while the task is sending (or waiting to retry) a job.
    busy: AtomicBool,
}

impl Lane {
    /// A lane for receiver `name` with its sending task started.
    pub fn start(name: &str, cfg: Delivery, metrics: Arc<Metrics>) -> Arc<Lane> {
        let lane = Arc::new(Lane {
            name: name.to_string(),
            cfg,
            queue: Mutex::new(VecDeque::new()),
            wake: tokio::sync::Notify::new(),
            busy: AtomicBool::new(false),
        });
        tokio::spawn(run(lane.clone(), metrics));
        lane
    }

    /// The receiver's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues `job`; when the queue is full, drops (and counts) the oldest.
    pub fn push(&self, job: Job, metrics: &Metrics) {
        let dropped = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let dropped = if q.len() >= self.cfg.queue.max(1) {
                q.pop_front()
            } else {
                None
            };
            q.push_back(job);
            dropped
        };
        if let Some(old) = dropped {
            metrics.notification(&self.name, "dropped");
            tracing::warn!(
                receiver = %self.name,
                event = %old.event,
                queue = self.cfg.queue,
                "notification queue full: the oldest notification was dropped (the receiver is slow or failing)"
            );
        }
        self.wake.notify_one();
    }

    /// Notifications waiting.
    pub fn waiting(&self) -> usize {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True while a notification is being sent (or waits to be retried).
    pub fn sending(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }

    /// True when nothing waits and nothing is being sent.
    pub fn is_idle(&self) -> bool {
        !self.busy.load(Ordering::SeqCst) && self.waiting() == 0
    }

    /// The next job, marking the lane busy in the same step.
    fn take(&self) -> Option<Job> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let job = q.pop_front();
        self.busy.store(job.is_some(), Ordering::SeqCst);
        job
    }
}

/// The sending task: one job at a time, in order, until the runtime ends.
async fn run(lane: Arc<Lane>, metrics: Arc<Metrics>) {
    loop {
        match lane.take() {
            Some(job) => {
                let result = deliver(&lane, &job, &metrics).await;
                metrics.notification(&lane.name, result);
                lane.busy.store(false, Ordering::SeqCst);
            }
            None => lane.wake.notified().await,
        }
    }
}

/// Sends one job with retries; `sent` or `failed`.
async fn deliver(lane: &Lane, job: &Job, metrics: &Metrics) -> &'static str {
    let request = match request(&job.receiver, job.body.clone(), |k| std::env::var(k).ok()) {
        Ok(r) => r,
        Err(missing) => {
            tracing::error!(
                receiver = %lane.name,
                event = %job.event,
                "notification not sent: the environment variable {missing} is not set where reconcile runs; set it (the topology names the variable, never the secret)"
            );
            return "failed";
        }
    };
    let mut attempt = 1;
    loop {
        let outcome = post(&request, lane.cfg.timeout).await;
        match next(&outcome, attempt, &lane.cfg, rand::random::<f64>()) {
            Next::Sent => {
                tracing::debug!(receiver = %lane.name, event = %job.event, attempt, "notification sent");
                return "sent";
            }
            Next::Retry(delay) => {
                metrics.notification(&lane.name, "retried");
                tracing::warn!(
                    receiver = %lane.name,
                    event = %job.event,
                    attempt,
                    outcome = ?outcome_label(&outcome),
                    retry_in_ms = delay.as_millis() as u64,
                    "notification not delivered; trying again"
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Next::Failed(why) => {
                tracing::error!(
                    receiver = %lane.name,
                    event = %job.event,
                    attempt,
                    "notification failed: {why}"
                );
                return "failed";
            }
        }
    }
}

/// What an outcome was, for a log line (no URL in it).
fn outcome_label(o: &super::retry::Outcome) -> String {
    match o {
        super::retry::Outcome::Answered { code, .. } => format!("HTTP {code}"),
        super::retry::Outcome::Timeout => "timeout".into(),
        super::retry::Outcome::Unreachable(e) => e.clone(),
    }
}

/// The request for `receiver`, its URL and secrets read through `env`;
/// `Err` names the first variable that is not set.
pub fn request(
    receiver: &Receiver,
    body: Bytes,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Request, String> {
    let var = |k: &str| {
        env(k)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| k.to_string())
    };
    let url = match &receiver.url {
        UrlSource::Literal(u) => u.clone(),
        UrlSource::Env(k) => var(k)?,
    };
    let mut headers = Vec::new();
    if let Some(k) = &receiver.secret_env {
        headers.push(("Authorization".to_string(), format!("Bearer {}", var(k)?)));
    }
    for h in &receiver.headers {
        headers.push((h.name.clone(), var(&h.env)?));
    }
    Ok(Request { url, body, headers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::notify::{EnvHeader, Format};

    fn receiver() -> Receiver {
        Receiver {
            name: "ops".into(),
            url: UrlSource::Env("OPS_URL".into()),
            format: Format::Json,
            on: Event::ALL.to_vec(),
            secret_env: Some("OPS_TOKEN".into()),
            headers: vec![EnvHeader {
                name: "X-Api-Key".into(),
                env: "OPS_KEY".into(),
            }],
        }
    }

    #[test]
    fn secrets_come_from_the_environment_and_a_missing_one_is_named() {
        let env = |k: &str| match k {
            "OPS_URL" => Some("https://hooks.contoso.local/x".to_string()),
            "OPS_TOKEN" => Some("t0k".to_string()),
            "OPS_KEY" => Some("k3y".to_string()),
            _ => None,
        };
        let r = request(&receiver(), Bytes::new(), env).unwrap();
        assert_eq!(r.url, "https://hooks.contoso.local/x");
        assert_eq!(
            r.headers,
            [
                ("Authorization".to_string(), "Bearer t0k".to_string()),
                ("X-Api-Key".to_string(), "k3y".to_string())
            ]
        );
        let partial = |k: &str| (k == "OPS_URL").then(|| "https://x/".to_string());
        assert_eq!(
            request(&receiver(), Bytes::new(), partial).unwrap_err(),
            "OPS_TOKEN"
        );
        let empty = |_: &str| Some(String::new());
        assert_eq!(
            request(&receiver(), Bytes::new(), empty).unwrap_err(),
            "OPS_URL"
        );
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_oldest_and_counts_it() {
        let metrics = Arc::new(Metrics::new());
        let cfg = Delivery {
            queue: 2,
            ..Delivery::default()
        };
        // A lane whose task is not started: nothing is taken off the queue.
        let lane = Lane {
            name: "ops".into(),
            cfg,
            queue: Mutex::new(VecDeque::new()),
            wake: tokio::sync::Notify::new(),
            busy: AtomicBool::new(false),
        };
        let job = |e| Job {
            receiver: receiver(),
            event: e,
            body: Bytes::new(),
        };
        lane.push(job(Event::Progressing), &metrics);
        lane.push(job(Event::Degraded), &metrics);
        lane.push(job(Event::Synced), &metrics);
        assert_eq!(lane.waiting(), 2);
        assert_eq!(lane.take().unwrap().event, Event::Degraded);
        let text = metrics.encode(&Default::default());
        assert!(
            text.contains("handover_notifications_total{receiver=\"ops\",result=\"dropped\"} 1"),
            "{text}"
        );
    }
}
