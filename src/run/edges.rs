//! The edges of a reconcile run: the HTTP listener and the signal
//! handlers, on a thread of their own, and the one way a run stops.
//!
//! Owns starting them ([`start`]) and the one shutdown path
//! ([`Edges::stop`]): give up leadership at once (with `--ha`), stop the
//! listener (it finishes the requests in hand) and the signal handlers,
//! and wait for their thread. Must not run passes.

use crate::reconcile::serve::listen::{self, Endpoints};
use crate::reconcile::{Shutdown, signals};

/// The running edges of a reconcile run.
#[derive(Debug)]
pub struct Edges {
    handle: std::thread::JoinHandle<()>,
    shutdown: Shutdown,
}

impl Edges {
    /// Stops the run's edges: resigns `ha`'s leadership at once, so a
    /// standby need not wait for the TTL; then stops the listener (it
    /// finishes the requests in hand) and the signal handlers' thread.
    pub fn stop(self, runtime: &tokio::runtime::Runtime, ha: Option<&crate::ha::Ha>) {
        if let Some(ha) = ha {
            runtime.block_on(ha.resign());
        }
        self.shutdown.trigger();
        let _ = self.handle.join();
    }
}

/// Starts the thread that serves the endpoints and turns SIGTERM/SIGINT
/// into `shutdown`, on its own runtime: a pass against the simulator runs
/// without yielding, and the endpoints and signals must answer meanwhile.
/// Returns once the handlers are installed and the address is bound.
pub fn start(
    addr: Option<std::net::SocketAddr>,
    allow_non_loopback: bool,
    endpoints: Endpoints,
    shutdown: Shutdown,
) -> Result<Edges, String> {
    let shutdown_kept = shutdown.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let handle = std::thread::Builder::new()
        .name("reconcile-edges".into())
        .spawn(move || {
            let rt = match super::runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let signals = match signals::install(shutdown.clone()) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx
                            .send(Err(format!("error: cannot install signal handlers: {e}")));
                        return;
                    }
                };
                let listener = match addr {
                    Some(addr) => match listen::bind(addr, allow_non_loopback).await {
                        Ok(l) => Some(l),
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("error: {e}")));
                            return;
                        }
                    },
                    None => None,
                };
                let _ = ready_tx.send(Ok(()));
                match listener {
                    Some(l) => {
                        let local = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
                        tracing::info!(address = %local, "serving the status page at / and /healthz, /readyz, /metrics, /status");
                        if let Err(e) = listen::serve(l, endpoints, shutdown.clone()).await {
                            tracing::error!(error = %e, "the HTTP listener stopped");
                        }
                    }
                    None => shutdown.wait().await,
                }
                signals.abort();
            });
        })
        .map_err(|e| format!("error: cannot start a thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(Edges {
            handle,
            shutdown: shutdown_kept,
        }),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err("error: the listener thread ended early".into()),
    }
}
