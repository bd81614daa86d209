//! The election of one management group: a lease-backed leader key.
//!
//! Owns the campaign task: grant a lease (kept alive by [`super::lease`]),
//! register `<group>/replicas/<id>` with it, and, when the leader key is
//! free, campaign: at once if this replica is the group's [`preferred`]
//! one among those registered (a rendezvous hash of group and replica, so
//! the groups of an estate spread over the hosts rather than all going to
//! whichever replica started first), otherwise after half a TTL if the key
//! is still free. Campaigning is creating `<group>/leader` with the lease in
//! a transaction that succeeds only if the key does not exist
//! (`create_revision == 0`), and then either
//! hold leadership (checking every quarter TTL that the lease is valid and
//! the key still ours, publishing `/status`) or watch the holder as a
//! standby (polling every quarter TTL, reading the leader's status). The
//! revision that created the key is the [`Term`]: the fencing token every
//! write is checked against. Losing the lease, the key, or etcd ends the
//! term; the task then revokes the lease (best effort, so the key goes at
//! once) and campaigns again. Must not apply or plan.

use super::etcd::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp, TxnOpResponse};
use super::keys::Keys;
use super::lease::{self, LeaseState};
use super::node::Node;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The replica that should lead `group` when nobody does, among the
/// `replicas` present (their ids as registered): the highest rendezvous
/// weight of (group, replica), ties broken by id. Every replica computes
/// the same answer from the same list; each group's answer is independent
/// of the others', so the leaders of many groups spread evenly over the
/// hosts. Pure.
pub fn preferred<'a>(group: &str, replicas: &'a [String]) -> Option<&'a str> {
    let g = crate::assign::hash::bytes_hash(group.bytes());
    replicas
        .iter()
        .max_by_key(|r| {
            let w = crate::assign::hash::pair_weight(g, crate::assign::hash::bytes_hash(r.bytes()));
            (w, r.as_str())
        })
        .map(String::as_str)
}

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
    /// The write times of the leaders before this term, read once from
    /// the shared journal by the term's first pass that needs them
    /// (`crate::run::lead`): they cannot change while this term lasts.
    pub earlier_writes: OnceLock<crate::provider::evidence::Writes>,
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
    pub fn start(ha: &Node, group: &str) -> Election {
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
    ha: Node,
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
    async fn round(&mut self) -> Result<(), super::etcd::Error> {
        let ttl = self.ha.config.ttl;
        let sent = Instant::now();
        let g = self.client.lease_grant(ttl.as_secs().max(1) as i64).await?;
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

    async fn with_lease(&mut self, lease: &Arc<LeaseState>) -> Result<(), super::etcd::Error> {
        let tick = self.ha.config.ttl / 4;
        let key = self.keys.leader();
        let id = self.ha.config.id.clone();
        // Present while the lease lives: the others count this replica
        // when they work out who should lead.
        self.client
            .put(
                self.keys.replica(&id),
                "",
                Some(PutOptions::new().with_lease(lease.id)),
            )
            .await?;
        // One tick for replicas started at the same time to register too,
        // so the first to start does not take every group.
        if self.pause(tick).await {
            return Ok(());
        }
        let mut free_since: Option<Instant> = None;
        while !self.is_stopped() && lease.valid_at(Instant::now()) {
            if let Some(holder) = self.holder().await? {
                free_since = None;
                self.set_role(Role::Standby {
                    leader: Some(holder),
                });
                self.read_leader_status().await;
                if self.pause(tick).await {
                    break;
                }
                continue;
            }
            let since = *free_since.get_or_insert_with(Instant::now);
            if !self.may_campaign(&id, since).await? {
                self.set_role(Role::Standby { leader: None });
                if self.pause(tick).await {
                    break;
                }
                continue;
            }
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
                    earlier_writes: OnceLock::new(),
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
            if self.pause(tick).await {
                break;
            }
        }
        Ok(())
    }

    /// Sleeps `d`, or less if stopped; true when stopped.
    async fn pause(&self, d: Duration) -> bool {
        let mut stopped = self.stopped.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
        self.is_stopped()
    }

    /// The leader key's value (the leader's id), or `None` when free.
    async fn holder(&mut self) -> Result<Option<String>, super::etcd::Error> {
        let r = self.client.get(self.keys.leader(), None).await?;
        self.etcd_error(None);
        Ok(r.kvs()
            .first()
            .map(|kv| String::from_utf8_lossy(kv.value()).into_owned()))
    }

    /// Whether to campaign now for a leader key free since `since`: at
    /// once when this replica is the preferred one among those present (or
    /// none is registered), otherwise once the key has stayed free for
    /// half a TTL (the preferred one is slow or gone).
    async fn may_campaign(&mut self, id: &str, since: Instant) -> Result<bool, super::etcd::Error> {
        if since.elapsed() >= self.ha.config.ttl / 2 {
            return Ok(true);
        }
        let prefix = self.keys.replicas_prefix();
        let r = self
            .client
            .get(
                prefix.clone(),
                Some(GetOptions::new().with_prefix().with_keys_only()),
            )
            .await?;
        let present: Vec<String> = r
            .kvs()
            .iter()
            .filter_map(|kv| {
                let k = String::from_utf8_lossy(kv.key());
                k.strip_prefix(&prefix).map(str::to_string)
            })
            .collect();
        let me = super::keys::safe(id);
        Ok(preferred(&self.group, &present).is_none_or(|p| p == me))
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

#[cfg(test)]
mod tests {
    use super::preferred;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_replica_agrees_whatever_order_it_lists_them_in() {
        let a = ids(&["hq1", "hq2", "hq3"]);
        let b = ids(&["hq3", "hq1", "hq2"]);
        assert_eq!(preferred("contoso-prod", &a), preferred("contoso-prod", &b));
        assert_eq!(preferred("contoso-prod", &[]), None);
        assert_eq!(preferred("g", &ids(&["only"])), Some("only"));
    }

    #[test]
    fn the_groups_of_an_estate_spread_over_the_hosts() {
        let hosts = ids(&[
            "hq1.contoso.local",
            "hq2.contoso.local",
            "dr1.contoso.local",
        ]);
        let mut led = [0usize; 3];
        for g in 0..300 {
            let p = preferred(&format!("group-{g:03}"), &hosts).unwrap();
            led[hosts.iter().position(|h| h == p).unwrap()] += 1;
        }
        for n in led {
            assert!((70..=130).contains(&n), "{led:?}");
        }
        // A host going away moves only the groups it was preferred for.
        let two = ids(&["hq1.contoso.local", "hq2.contoso.local"]);
        for g in 0..300 {
            let group = format!("group-{g:03}");
            let before = preferred(&group, &hosts).unwrap();
            if before != "dr1.contoso.local" {
                assert_eq!(preferred(&group, &two), Some(before), "{group}");
            }
        }
    }
}
