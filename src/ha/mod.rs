//! High availability on etcd (`reconcile --ha etcd://...`): one leader per
//! management group, fenced writes, shared history.
//!
//! Owns everything that talks to etcd: handover's own thin etcd v3 client
//! ([`etcd`], generated code checked in, no protoc), the address ([`url`]), the
//! replica's lease and its local deadline ([`lease`]), the election per
//! management group ([`leader`]), the fenced provider that refuses to
//! apply once leadership is lost ([`fence`]), and the shared journal and
//! status ([`journal`]). The etcd client lives on a runtime of its own, on
//! its own thread ([`Ha::start`]), so keepalives go on while a pass runs
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
//! - `<prefix>/groups/<group>/journal/<run>/<seq>`: the shared journal.

pub mod etcd;
pub mod fence;
pub mod journal;
pub mod leader;
pub mod lease;
pub mod secure;
pub mod url;

pub use fence::{Fenced, LostLeadership};
pub use leader::{Role, Term};
pub use url::{HaUrl, UrlError};

use etcd::{Client, ConnectOptions};
use serde::Serialize;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a replica takes part.
#[derive(Clone, Debug)]
pub struct HaConfig {
    /// Where etcd is, and the key prefix.
    pub url: HaUrl,
    /// The lease TTL: how long a leader that stopped answering keeps its
    /// leadership, at most, before a standby takes over.
    pub ttl: Duration,
    /// This replica's identity (`--ha-id`; default `hostname:pid`).
    pub id: String,
    /// TLS and user settings for etcd.
    pub security: secure::Security,
}

/// The keys of one management group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    base: String,
}

impl Keys {
    /// The keys of `group` under `prefix`. Characters that would change a
    /// key's shape (`/`, spaces, control characters) are replaced by `_`.
    pub fn new(prefix: &str, group: &str) -> Keys {
        Keys {
            base: format!("{prefix}/groups/{}", safe(group)),
        }
    }

    /// The leader key.
    pub fn leader(&self) -> String {
        format!("{}/leader", self.base)
    }

    /// The leader's published status.
    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    /// Every replica's presence key in the group starts with this.
    pub fn replicas_prefix(&self) -> String {
        format!("{}/replicas/", self.base)
    }

    /// The presence key of replica `id` (attached to its lease).
    pub fn replica(&self, id: &str) -> String {
        format!("{}{}", self.replicas_prefix(), safe(id))
    }

    /// Every journal entry of the group starts with this.
    pub fn journal_prefix(&self) -> String {
        format!("{}/journal/", self.base)
    }

    /// Every journal entry of one run starts with this.
    pub fn run_prefix(&self, run: &str) -> String {
        format!("{}/journal/{}/", self.base, safe(run))
    }

    /// One journal entry.
    pub fn entry(&self, run: &str, seq: u64) -> String {
        format!("{}{seq:08}", self.run_prefix(run))
    }
}

/// `s` with every character that could change a key's shape replaced by
/// `_`.
pub(crate) fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The default replica id: `hostname:pid`.
pub fn default_id() -> String {
    format!(
        "{}:{}",
        gethostname::gethostname().to_string_lossy(),
        std::process::id()
    )
}

/// What `/status` shows about HA (the `ha` field).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HaView {
    /// `leader`, `standby`, or `unknown` (etcd not reached yet).
    pub role: String,
    /// This replica's id.
    pub replica: String,
    /// The management group.
    pub group: Option<String>,
    /// The leader's id, when known.
    pub leader: Option<String>,
    /// This replica's term (the leader key's create revision) while leader.
    pub term: Option<i64>,
    /// The etcd address.
    pub etcd: String,
    /// The last etcd error, until etcd answers again.
    pub etcd_error: Option<String>,
    /// On a standby: the leader's last published `/status`.
    pub leader_status: Option<serde_json::Value>,
}

/// Why HA could not start.
#[derive(Debug, thiserror::Error)]
pub enum HaError {
    /// The etcd client could not be built (a bad endpoint).
    #[error("cannot set up the etcd client for {url}: {source}")]
    Client {
        /// The address.
        url: String,
        /// What the client said.
        source: etcd::Error,
    },
    /// The runtime or its thread could not start.
    #[error("cannot start the etcd thread: {0}")]
    Thread(String),
    /// The TLS or user settings cannot be used.
    #[error(transparent)]
    Security(#[from] secure::SecurityError),
}

/// A running HA node: the etcd client on its own runtime, the election of
/// the current group, and what `/status` shows.
#[derive(Clone)]
pub struct Ha {
    /// How it was started.
    pub config: HaConfig,
    client: Client,
    runtime: tokio::runtime::Handle,
    election: Arc<Mutex<Option<leader::Election>>>,
    /// Woken when this replica wins or loses leadership.
    pub wake: Arc<tokio::sync::Notify>,
    view: Arc<Mutex<HaView>>,
    hooks: Hooks,
}

/// How the HA node meets the rest of the process.
#[derive(Clone)]
pub struct Hooks {
    /// The local `/status`, as JSON, which the leader publishes for the
    /// standbys.
    pub publish: Arc<dyn Fn() -> serde_json::Value + Send + Sync>,
    /// Called with the new [`HaView`] whenever it changes (to show it in
    /// `/status`).
    pub on_view: Arc<dyn Fn(HaView) + Send + Sync>,
}

impl std::fmt::Debug for Ha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ha").field("config", &self.config).finish()
    }
}

impl Ha {
    /// Starts the etcd thread and its client. Connecting is lazy: an etcd
    /// that is down now is retried by the election, which shows the error
    /// in `/status` meanwhile.
    pub fn start(config: HaConfig, hooks: Hooks) -> Result<Ha, HaError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let endpoints = config.url.endpoints.clone();
        let url = config.url.to_string();
        let ttl = config.ttl;
        let opts = config.security.apply(
            &config.url,
            ConnectOptions::new()
                .with_connect_timeout(Duration::from_secs(1))
                .with_timeout(ttl.max(Duration::from_secs(1)))
                .with_keep_alive(Duration::from_secs(1), Duration::from_secs(1))
                .with_keep_alive_while_idle(true),
        )?;
        std::thread::Builder::new()
            .name("ha-etcd".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(HaError::Thread(e.to_string())));
                        return;
                    }
                };
                let handle = rt.handle().clone();
                rt.block_on(async move {
                    match Client::connect(&endpoints, Some(opts)).await {
                        Ok(c) => {
                            let _ = tx.send(Ok((c, handle)));
                            // Serve the client's tasks for the life of the
                            // process.
                            std::future::pending::<()>().await
                        }
                        Err(source) => {
                            let _ = tx.send(Err(HaError::Client { url, source }));
                        }
                    }
                })
            })
            .map_err(|e| HaError::Thread(e.to_string()))?;
        let (client, runtime) = rx
            .recv()
            .map_err(|_| HaError::Thread("the etcd thread ended early".into()))??;
        let view = HaView {
            role: "unknown".into(),
            replica: config.id.clone(),
            etcd: config.url.to_string(),
            ..HaView::default()
        };
        Ok(Ha {
            config,
            client,
            runtime,
            election: Arc::new(Mutex::new(None)),
            wake: Arc::new(tokio::sync::Notify::new()),
            view: Arc::new(Mutex::new(view)),
            hooks,
        })
    }

    /// Runs `f` on the etcd runtime and waits for it from any runtime.
    pub async fn call<F, T>(&self, f: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.runtime
            .spawn(f)
            .await
            .expect("etcd calls do not panic")
    }

    /// A client for the etcd runtime (clones share the connection).
    pub fn client(&self) -> Client {
        self.client.clone()
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
        *e = Some(leader::Election::start(self, group));
    }

    /// This replica's role in the current group.
    pub fn role(&self) -> Role {
        self.election
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(Role::Unknown, |e| e.role())
    }

    /// What `/status` shows about HA now.
    pub fn view(&self) -> HaView {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Changes the view and passes the new one to the hook.
    pub(crate) fn update_view(&self, f: impl FnOnce(&mut HaView)) {
        let v = {
            let mut g = self.view.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut g);
            g.clone()
        };
        (self.hooks.on_view)(v);
    }

    /// The local `/status` to publish.
    pub(crate) fn published(&self) -> serde_json::Value {
        (self.hooks.publish)()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_group_and_cannot_escape_it() {
        let k = Keys::new("/handover", "contoso-prod");
        assert_eq!(k.leader(), "/handover/groups/contoso-prod/leader");
        assert_eq!(k.status(), "/handover/groups/contoso-prod/status");
        assert_eq!(
            k.entry("1700000000000-42", 3),
            "/handover/groups/contoso-prod/journal/1700000000000-42/00000003"
        );
        assert_eq!(
            k.replica("hq1:42"),
            "/handover/groups/contoso-prod/replicas/hq1:42"
        );
        assert_eq!(
            Keys::new("/p", "a/../b c").leader(),
            "/p/groups/a_.._b_c/leader"
        );
    }
}
