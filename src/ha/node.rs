//! One replica's link to etcd: the client on a runtime of its own, its
//! configuration, and what `/status` shows about HA.
//!
//! Owns [`Node`] (starting the etcd thread and client, running calls on it,
//! the [`HaView`] and the hooks to the rest of the process), [`HaConfig`]
//! and [`HaError`], and [`with_client`] for the commands that talk to etcd
//! once. The election ([`super::leader`]), the fenced writes
//! ([`super::fence`]) and the shared journal ([`super::journal`]) take a
//! `Node`; [`super::Ha`] is a node plus the election of its group. Must not
//! campaign, plan or apply.

use super::etcd::{self, Client, ConnectOptions};
use super::secure;
use super::url::HaUrl;
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

/// A replica's etcd client on its own runtime, and what `/status` shows.
#[derive(Clone)]
pub struct Node {
    /// How it was started.
    pub config: HaConfig,
    client: Client,
    pub(crate) runtime: tokio::runtime::Handle,
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

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("config", &self.config)
            .finish()
    }
}

/// Runs `f` with a client of the etcd at `url`, on a small runtime of its
/// own: for the commands that talk to etcd once (`history --ha`, `resume
/// --ha`, `approve --ha`). The error names the etcd.
pub fn with_client<F, Fut, T>(url: &HaUrl, security: &secure::Security, f: F) -> Result<T, String>
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async {
        let opts = security
            .apply(
                url,
                ConnectOptions::new()
                    .with_connect_timeout(Duration::from_secs(3))
                    .with_timeout(Duration::from_secs(10)),
            )
            .map_err(|e| e.to_string())?;
        let c = Client::connect(&url.endpoints, Some(opts))
            .await
            .map_err(|e| format!("cannot reach etcd at {url}: {e}"))?;
        f(c).await
    })
}

impl Node {
    /// Starts the etcd thread and its client. Connecting is lazy: an etcd
    /// that is down now is retried by the election, which shows the error
    /// in `/status` meanwhile.
    pub fn start(config: HaConfig, hooks: Hooks) -> Result<Node, HaError> {
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
        Ok(Node {
            config,
            client,
            runtime,
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
}
