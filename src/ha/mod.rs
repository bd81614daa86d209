//! High availability on etcd (`reconcile --ha etcd://...`): one leader per
//! management group, fenced writes, shared history.
//!
//! Owns everything that talks to etcd: handover's own thin etcd v3 client
//! ([`etcd`], generated code checked in, no protoc), the address ([`url`]), the
//! replica's lease and its local deadline ([`lease`]), the election per
//! management group ([`leader`]), the fenced provider that refuses to
//! apply once leadership is lost ([`fence`]), the shared journal and
//! status ([`journal`]), and the rollout's memory, resumes and approvals
//! ([`shared`]). The keys are in [`keys`]. The etcd client lives on a
//! runtime of its own, on its own thread ([`node`]), so keepalives go on
//! while a pass runs
//! code that does not yield (the simulator). Must not plan, decide what a
//! pass applies, or open targets: the CLI does, and gives a standby no
//! fenced provider at all, so a standby cannot apply.
//!
//! Keys, under the address's prefix (default `/handover`), per management
//! group (the desired topology's `metadata.name`):
//!
//! - `<prefix>/groups/<group>/leader`: the leader's replica id, attached to
//!   its lease, created only if absent (`create_revision == 0`); the
//!   revision that created it is the leadership *term* and fencing token;
//! - `<prefix>/groups/<group>/status`: the leader's last `/status`;
//! - `<prefix>/groups/<group>/journal/<run>/<seq>`: the shared journal;
//! - `<prefix>/groups/<group>/rollout/state` and `.../rollout/resume`: the
//!   progressive rollout's memory (written fenced) and the last resume;
//! - `<prefix>/groups/<group>/approvals/<digest>`: approvals, bounded.
//!
//! The files lean one way: this module names its children, none of them
//! names it ([`node`] is what the others take, not [`Ha`]).

pub mod etcd;
pub mod fence;
pub mod journal;
pub mod keys;
pub mod leader;
pub mod lease;
pub mod node;
pub mod secure;
pub mod shared;
pub mod url;

pub use fence::{Fenced, LostLeadership};
pub use keys::Keys;
pub use leader::{Role, Term};
pub use node::{HaConfig, HaError, HaView, Hooks, Node};
pub use url::{HaUrl, UrlError};

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The default replica id: `hostname:pid`.
pub fn default_id() -> String {
    format!(
        "{}:{}",
        gethostname::gethostname().to_string_lossy(),
        std::process::id()
    )
}

/// A running HA node: a [`Node`] (the etcd client on its own runtime, what
/// `/status` shows) and the election of the current group. Derefs to its
/// node, so `ha.call(...)`, `ha.client()` and `ha.config` read as before.
#[derive(Clone, Debug)]
pub struct Ha {
    node: Node,
    election: Arc<Mutex<Option<leader::Election>>>,
}

impl std::ops::Deref for Ha {
    type Target = Node;

    fn deref(&self) -> &Node {
        &self.node
    }
}

impl Ha {
    /// Starts the etcd thread and its client ([`Node::start`]); no group is
    /// joined yet.
    pub fn start(config: HaConfig, hooks: Hooks) -> Result<Ha, HaError> {
        Ok(Ha {
            node: Node::start(config, hooks)?,
            election: Arc::new(Mutex::new(None)),
        })
    }

    /// Takes part in the election of `group`, from now on; a replica whose
    /// topology was renamed resigns the old group first.
    pub fn join(&self, group: &str) {
        let mut e = self.election.lock().unwrap_or_else(|p| p.into_inner());
        if e.as_ref().is_some_and(|e| e.group == group) {
            return;
        }
        if let Some(old) = e.take() {
            old.stop();
        }
        *e = Some(leader::Election::start(&self.node, group));
    }

    /// This replica's role in the current group.
    pub fn role(&self) -> Role {
        self.election
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(Role::Unknown, |e| e.role())
    }

    /// Resigns: gives up leadership at once (the lease is revoked, so a
    /// standby need not wait for the TTL). Called on shutdown.
    pub async fn resign(&self) {
        let e = self
            .election
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(e) = e {
            let lease = e.stop();
            if let Some(id) = lease {
                let mut c = self.client();
                let _ = self
                    .call(async move {
                        tokio::time::timeout(Duration::from_secs(1), c.lease_revoke(id)).await
                    })
                    .await;
            }
        }
    }
}
