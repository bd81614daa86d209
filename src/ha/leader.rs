//! The election of one management group: a lease-backed leader key.
//!
//! Owns the campaign task: grant a lease (kept alive by [`super::lease`]),
//! try to create `<group>/leader` with it in a transaction that succeeds
//! only if the key does not exist (`create_revision == 0`), and then either
//! hold leadership (checking every quarter TTL that the lease is valid and
//! the key still ours, publishing `/status`) or watch the holder as a
//! standby (polling every quarter TTL, reading the leader's status). The
//! revision that created the key is the [`Term`]: the fencing token every
//! write is checked against. Losing the lease, the key, or etcd ends the
//! term; the task then revokes the lease (best effort, so the key goes at
//! once) and campaigns again. Must not apply or plan.

use super::lease::{self, LeaseState};
use super::{Ha, Keys};
use etcd_client::{Client, Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One leadership term of this replica.
#[derive(Debug)]
pub struct Term {
    /// The management group.
    pub group: String,
    /// The group's keys.
    pub keys: Keys,
    /// This replica's id (the leader key's value).
    pub id: String,
    /// The revision that created the leader key: the fencing token.
    pub revision: i64,
    /// The lease the key is attached to.
    pub lease: Arc<LeaseState>,
    ended: AtomicBool,
}

impl Term {
    /// True while the term has not ended and the lease's local deadline is
    /// ahead of `now`.
    pub fn valid_at(&self, now: Instant) -> bool {
        !self.ended.load(Ordering::SeqCst) && self.lease.valid_at(now)
    }

    /// Ends the term (a fenced write found the key gone or taken).
    pub fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
    }

    /// True once the term was ended.
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }
}

/// What this replica is in its group.
#[derive(Clone, Debug)]
pub enum Role {
    /// Not known yet: etcd not reached, or the first campaign not done.
    Unknown,
    /// Another replica leads (or nobody, for an instant).
    Standby {
        /// The leader's id, when known.
        leader: Option<String>,
    },
    /// This replica leads, in this term.
    Leader(Arc<Term>),
}

/// A running campaign for one group.
#[derive(Debug)]
pub struct Election {
    /// The group.
    pub group: String,
    role: Arc<Mutex<Role>>,
    lease: Arc<Mutex<Option<i64>>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Election {
    /// Starts campaigning for `group` on the etcd runtime.
    pub fn start(ha: &Ha, group: &str) -> Election {
        let role = Arc::new(Mutex::new(Role::Unknown));
        let lease = Arc::new(Mutex::new(None));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let c = Campaign {
            ha: ha.clone(),
            client: ha.client(),
            keys: Keys::new(&ha.config.url.prefix, group),
            group: group.to_string(),
            role: role.clone(),
            lease: lease.clone(),
            stopped,
        };
        ha.update_view(|v| v.group = Some(group.to_string()));
        ha.runtime.spawn(c.run());
        Election {
            group: group.to_string(),
            role,
            lease,
            stop,
        }
    }

    /// The role now.
    pub fn role(&self) -> Role {
        self.role.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops campaigning; ends a term in progress. Returns the lease to
    /// revoke, if any.
    pub fn stop(self) -> Option<i64> {
        let _ = self.stop.send(true);
        if let Role::Leader(t) = self.role() {
            t.end();
        }
        *self.lease.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Campaign {
    ha: Ha,
    client: Client,
    keys: Keys,
    group: String,
    role: Arc<Mutex<Role>>,
    lease: Arc<Mutex<Option<i64>>>,
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl Campaign {
    fn set_role(&self, role: Role) {
        let (name, leader, term) = match &role {
            Role::Unknown => ("unknown", None, None),
            Role::Standby { leader } => ("standby", leader.clone(), None),
            Role::Leader(t) => ("leader", Some(t.id.clone()), Some(t.revision)),
        };
        let mut changed = false;
        self.ha.update_view(|v| {
            changed = v.role != name || v.term != term;
            v.role = name.into();
            v.leader = leader;
            v.term = term;
            if name == "leader" {
                v.leader_status = None;
            }
        });
        *self.role.lock().unwrap_or_else(|p| p.into_inner()) = role;
        if changed {
            self.ha.wake.notify_one();
        }
    }

    fn etcd_error(&self, e: Option<String>) {
        if self.ha.view().etcd_error != e {
            self.ha.update_view(|v| v.etcd_error = e);
        }
    }

    fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    async fn run(mut self) {
        let ttl = self.ha.config.ttl;
        let mut backoff = Duration::from_millis(200);
        while !self.is_stopped() {
            match self.round().await {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(e) => {
                    tracing::warn!(group = %self.group, error = %e, "etcd: cannot campaign; retrying");
                    self.etcd_error(Some(e.to_string()));
                    if !matches!(self.role(), Role::Standby { .. }) {
                        self.set_role(Role::Unknown);
                    }
                    let mut stopped = self.stopped.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stopped.wait_for(|s| *s) => {}
                    }
                    backoff = (backoff * 2).min(ttl);
                }
            }
        }
    }

    fn role(&self) -> Role {
        self.role.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// One lease: campaign with it until it (or leadership) is lost.
    async fn round(&mut self) -> Result<(), etcd_client::Error> {
        let ttl = self.ha.config.ttl;
        let sent = Instant::now();
        let g = self
            .client
            .lease_grant(ttl.as_secs().max(1) as i64, None)
            .await?;
        let lease = Arc::new(LeaseState::new(
            g.id(),
            ttl,
            sent,
            Duration::from_secs(g.ttl().max(0) as u64),
        ));
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(lease.id);
        let keeper = tokio::spawn(lease::keep_alive(self.client.clone(), lease.clone()));
        let r = self.with_lease(&lease).await;
        keeper.abort();
        lease.lose();
        // Best effort: a revoked lease deletes the leader key at once.
        let mut c = self.client.clone();
        let _ = tokio::time::timeout(Duration::from_secs(1), c.lease_revoke(lease.id)).await;
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = None;
        r
    }

    async fn with_lease(&mut self, lease: &Arc<LeaseState>) -> Result<(), etcd_client::Error> {
        let tick = self.ha.config.ttl / 4;
        let key = self.keys.leader();
        let id = self.ha.config.id.clone();
        while !self.is_stopped() && lease.valid_at(Instant::now()) {
            let txn = Txn::new()
                .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(
                    key.clone(),
                    id.clone(),
                    Some(PutOptions::new().with_lease(lease.id)),
                )])
                .or_else([TxnOp::get(key.clone(), None)]);
            let r = self.client.txn(txn).await?;
            self.etcd_error(None);
            if r.succeeded() {
                let revision = r.header().map_or(0, |h| h.revision());
                let term = Arc::new(Term {
                    group: self.group.clone(),
                    keys: self.keys.clone(),
                    id: id.clone(),
                    revision,
                    lease: lease.clone(),
                    ended: AtomicBool::new(false),
                });
                tracing::info!(group = %self.group, term = revision, replica = %id, "won leadership");
                self.set_role(Role::Leader(term.clone()));
                self.hold(&term).await;
                term.end();
                tracing::warn!(group = %self.group, term = revision, "leadership ended: back to standby");
                self.set_role(Role::Standby { leader: None });
                return Ok(());
            }
            let holder = r.op_responses().into_iter().find_map(|o| match o {
                TxnOpResponse::Get(g) => g
                    .kvs()
                    .first()
                    .map(|kv| String::from_utf8_lossy(kv.value()).into_owned()),
                _ => None,
            });
            if holder.as_deref() == Some(id.as_str()) {
                // Our own key from a lease we gave up: it goes when that
                // lease is revoked or expires.
                tracing::debug!(group = %self.group, "the leader key is still ours from an earlier lease");
            }
            self.set_role(Role::Standby { leader: holder });
            self.read_leader_status().await;
            let mut stopped = self.stopped.clone();
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        }
        Ok(())
    }

    /// Holds leadership while the lease is valid and the key is ours;
    /// publishes `/status` every tick.
    async fn hold(&mut self, term: &Arc<Term>) {
        let tick = self.ha.config.ttl / 4;
        let key = self.keys.leader();
        loop {
            let mut stopped = self.stopped.clone();
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            if !term.valid_at(Instant::now()) {
                return;
            }
            // Publish our status, fenced like every write.
            let status = serde_json::to_string(&self.ha.published()).unwrap_or_default();
            let txn = Txn::new()
                .when([Compare::create_revision(
                    key.clone(),
                    CompareOp::Equal,
                    term.revision,
                )])
                .and_then([TxnOp::put(self.keys.status(), status, None)]);
            match self.client.txn(txn).await {
                Ok(r) if r.succeeded() => self.etcd_error(None),
                Ok(_) => {
                    tracing::warn!(group = %self.group, term = term.revision, "the leader key is gone or taken");
                    return;
                }
                Err(e) => {
                    // The lease's deadline decides; etcd may come back.
                    self.etcd_error(Some(e.to_string()));
                    tracing::warn!(group = %self.group, error = %e, "etcd: cannot confirm leadership");
                }
            }
        }
    }

    async fn read_leader_status(&mut self) {
        if let Ok(r) = self.client.get(self.keys.status(), None).await {
            let s = r
                .kvs()
                .first()
                .and_then(|kv| serde_json::from_slice(kv.value()).ok());
            self.ha.update_view(|v| v.leader_status = s);
        }
    }
}
