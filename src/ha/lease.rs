//! The replica's etcd lease, and until when this process may act on it.
//!
//! Owns [`LeaseState`] (the lease id and the local deadline) and the
//! keepalive task that extends it. The deadline is computed from when a
//! keepalive was **sent**, never from when its answer arrived: a process
//! paused (SIGSTOP, a long GC-like stall, a VM migration) after etcd
//! answered but before it read the answer would otherwise extend its
//! deadline past the moment etcd expired the lease. Must not campaign or
//! apply; [`super::leader`] and [`super::fence`] read the deadline.

use super::etcd::Client;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The part of a granted TTL this process relies on: etcd measures the
/// TTL from when it received the keepalive, which is later than when we
/// sent it; the tenth kept back covers clock-rate differences.
pub fn deadline(sent_at: Instant, granted: Duration) -> Instant {
    sent_at + granted.mul_f64(0.9)
}

/// A lease as this process sees it. Shared by the keepalive task, the
/// campaign and the fenced provider.
#[derive(Debug)]
pub struct LeaseState {
    /// The etcd lease id.
    pub id: i64,
    /// The TTL asked for.
    pub ttl: Duration,
    valid_until: Mutex<Instant>,
    lost: AtomicBool,
}

impl LeaseState {
    /// A lease granted with a request sent at `sent_at`, for `granted`.
    pub fn new(id: i64, ttl: Duration, sent_at: Instant, granted: Duration) -> Self {
        LeaseState {
            id,
            ttl,
            valid_until: Mutex::new(deadline(sent_at, granted)),
            lost: AtomicBool::new(false),
        }
    }

    /// Until when this process may act on the lease.
    pub fn valid_until(&self) -> Instant {
        *self.valid_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True while the lease is not known lost and its deadline is ahead.
    pub fn valid_at(&self, now: Instant) -> bool {
        !self.is_lost() && now < self.valid_until()
    }

    /// A keepalive sent at `sent_at` was answered with `granted` left.
    /// Never moves the deadline back.
    pub fn renewed(&self, sent_at: Instant, granted: Duration) {
        let mut g = self.valid_until.lock().unwrap_or_else(|p| p.into_inner());
        let d = deadline(sent_at, granted);
        if d > *g {
            *g = d;
        }
    }

    /// Marks the lease lost for good (expired at etcd, or given up).
    pub fn lose(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }

    /// True once [`LeaseState::lose`] was called.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

/// Keeps `lease` alive every third of its TTL until it is lost: etcd
/// answers that it expired, or no keepalive was answered before the local
/// deadline passed. Then marks it lost and returns.
pub async fn keep_alive(mut client: Client, lease: std::sync::Arc<LeaseState>) {
    let period = lease.ttl / 3;
    let mut stream = None;
    loop {
        if lease.is_lost() {
            return;
        }
        let sent = Instant::now();
        if sent >= lease.valid_until() {
            tracing::warn!(
                lease = lease.id,
                "the lease could not be renewed in time: acting as if it expired"
            );
            lease.lose();
            return;
        }
        let answer = tokio::time::timeout(period.max(Duration::from_millis(100)), async {
            // Opening the stream sends a renewal; otherwise send one. Each
            // renewal gets exactly one answer, so the answer read here is
            // this renewal's, and `sent` is when it left.
            match stream.as_mut() {
                None => stream = Some(client.lease_keep_alive(lease.id).await?),
                Some((keeper, _)) => keeper.keep_alive().await?,
            }
            let (_, answers) = stream.as_mut().expect("set above");
            answers.message().await
        })
        .await;
        match answer {
            Ok(Ok(Some(r))) if r.ttl() > 0 => {
                lease.renewed(sent, Duration::from_secs(r.ttl() as u64));
            }
            Ok(Ok(Some(_))) => {
                tracing::warn!(lease = lease.id, "etcd says the lease expired");
                lease.lose();
                return;
            }
            Ok(Ok(None)) => stream = None,
            Ok(Err(e)) => {
                tracing::debug!(lease = lease.id, error = %e, "keepalive failed; retrying");
                stream = None;
            }
            Err(_) => {
                tracing::debug!(lease = lease.id, "keepalive unanswered; retrying");
                stream = None;
            }
        }
        tokio::time::sleep_until((sent + period).into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_counts_from_the_send_and_never_moves_back() {
        let t0 = Instant::now();
        let l = LeaseState::new(7, Duration::from_secs(10), t0, Duration::from_secs(10));
        assert_eq!(l.valid_until(), t0 + Duration::from_secs(9));
        assert!(l.valid_at(t0 + Duration::from_secs(8)));
        assert!(!l.valid_at(t0 + Duration::from_secs(9)));
        // An answer read late (the process was paused) to a keepalive sent
        // before the pause extends nothing past what etcd granted then.
        l.renewed(t0 + Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(l.valid_until(), t0 + Duration::from_secs(10));
        l.renewed(t0, Duration::from_secs(2));
        assert_eq!(l.valid_until(), t0 + Duration::from_secs(10));
        l.lose();
        assert!(!l.valid_at(t0));
    }
}
