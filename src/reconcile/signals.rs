//! Stopping: SIGTERM and SIGINT (Ctrl-C) on Unix, and on Windows Ctrl-C,
//! Ctrl-Break, the console closing and the system shutting down, become
//! one shutdown that the loop, the HTTP listener and the executor share.
//!
//! Owns the signal handlers and the [`Shutdown`] handle. The executor sees
//! it as its [`Cancel`] flag (no new step starts; the step in flight
//! finishes); async waits (between passes, the listener) see it through
//! [`Shutdown::wait`]. Must not decide what stopping means for a pass.

use crate::execute::Cancel;
use tokio::sync::watch;

/// A shutdown request shared by everything that must stop. Clones share it.
#[derive(Clone, Debug)]
pub struct Shutdown {
    cancel: Cancel,
    tx: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            cancel: Cancel::new(),
            tx: watch::Sender::new(false),
        }
    }
}

impl Shutdown {
    /// Not requested yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests shutdown: sets the executor's flag and wakes every waiter.
    pub fn trigger(&self) {
        self.cancel.cancel();
        self.tx.send_replace(true);
    }

    /// True once [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The flag to put in [`crate::execute::EngineOptions::cancel`].
    pub fn cancel(&self) -> Cancel {
        self.cancel.clone()
    }

    /// Resolves once shutdown is requested (at once if it already was).
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so the channel cannot close here.
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Installs the stop handlers and returns a task that triggers `shutdown`
/// on the first stop and logs any later one: on Unix SIGTERM and SIGINT
/// (Ctrl-C); on Windows Ctrl-C, Ctrl-Break, the console closing and the
/// system shutting down (`ctrl_close`, `ctrl_shutdown`), where a service
/// wrapper's stop arrives. Windows ends a process a few seconds after a
/// close or shutdown event, so there the step in flight may be cut short;
/// that is as safe as a crash (docs/apply.md). Must be called inside a
/// Tokio runtime; the handlers are in place when this returns, so a signal
/// sent afterwards is never fatal.
pub fn install(shutdown: Shutdown) -> std::io::Result<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                stop(&shutdown, name);
            }
        }))
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_shutdown};
        let mut c = ctrl_c()?;
        let mut brk = ctrl_break()?;
        let mut close = ctrl_close()?;
        let mut down = ctrl_shutdown()?;
        Ok(tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    _ = c.recv() => "ctrl-c",
                    _ = brk.recv() => "ctrl-break",
                    _ = close.recv() => "ctrl-close",
                    _ = down.recv() => "ctrl-shutdown",
                };
                stop(&shutdown, name);
            }
        }))
    }
    #[cfg(not(any(unix, windows)))]
    {
        Ok(tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                stop(&shutdown, "ctrl-c");
            }
        }))
    }
}

/// What every stop does, whatever delivered it (`signal` names it in the
/// log): the first triggers `shutdown`; a later one only says it is
/// already stopping.
fn stop(shutdown: &Shutdown, signal: &str) {
    if shutdown.is_triggered() {
        tracing::warn!(signal, "already stopping: finishing the step in flight");
    } else {
        tracing::info!(
            signal,
            "stopping: no new step starts; the step in flight finishes"
        );
        shutdown.trigger();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn trigger_sets_the_executor_flag_and_wakes_waiters() {
        let s = Shutdown::new();
        let waiter = {
            let s = s.clone();
            tokio::spawn(async move { s.wait().await })
        };
        let cancel = s.cancel();
        assert!(!cancel.is_cancelled());
        s.trigger();
        tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .expect("waiter woken")
            .unwrap();
        assert!(cancel.is_cancelled() && s.is_triggered());
        // A late waiter returns at once.
        tokio::time::timeout(Duration::from_secs(2), s.wait())
            .await
            .unwrap();
    }

    #[test]
    fn the_first_stop_triggers_and_a_later_one_changes_nothing() {
        let s = Shutdown::new();
        stop(&s, "ctrl-close");
        assert!(s.is_triggered() && s.cancel().is_cancelled());
        stop(&s, "ctrl-shutdown");
        assert!(s.is_triggered());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn sigterm_to_this_process_triggers_shutdown() {
        let s = Shutdown::new();
        let task = install(s.clone()).unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(3), s.wait())
            .await
            .expect("SIGTERM seen within 3 s");
        assert!(s.cancel().is_cancelled());
        task.abort();
    }
}
