//! Noticing edits of a `--desired` path: file-system events, debounced so
//! a burst of saves gives one trigger.
//!
//! Owns the `notify` watcher and a small debouncer thread. A file is
//! watched through its directory (editors often save by writing a new file
//! and renaming it over the old one, which a watch on the file itself
//! would lose); a directory is watched recursively. Must not read or load
//! the files: a trigger only says "look again".

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How events are grouped into triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Debounce {
    /// A trigger fires once no event came for this long.
    pub quiet: Duration,
    /// ... or at the latest this long after the first event of a burst, so
    /// a file that keeps changing is still looked at.
    pub max: Duration,
}

impl Default for Debounce {
    /// 200 ms of quiet, 2 s at most.
    fn default() -> Self {
        Debounce {
            quiet: Duration::from_millis(200),
            max: Duration::from_secs(2),
        }
    }
}

impl Debounce {
    /// When a burst that began at `first` and last saw an event at `last`
    /// fires.
    pub fn deadline(&self, first: Instant, last: Instant) -> Instant {
        (last + self.quiet).min(first + self.max)
    }
}

/// A running watch. Dropping it stops the watcher and its thread.
pub struct Watch {
    _watcher: RecommendedWatcher,
    rx: mpsc::UnboundedReceiver<()>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl Watch {
    /// Starts watching `path` (a file or a directory).
    pub fn start(path: &Path, debounce: Debounce) -> notify::Result<Watch> {
        let path = std::path::absolute(path)?;
        let (dir, file, mode) = if path.is_dir() {
            (path.clone(), None, RecursiveMode::Recursive)
        } else {
            let dir = path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            (
                dir,
                path.file_name().map(|n| n.to_os_string()),
                RecursiveMode::NonRecursive,
            )
        };
        let (raw_tx, raw_rx) = std_mpsc::channel::<notify::Result<Event>>();
        let mut watcher = notify::recommended_watcher(raw_tx)?;
        watcher.watch(&dir, mode)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let relevant = move |e: &Event| {
            !matches!(e.kind, EventKind::Access(_))
                && file.as_ref().is_none_or(|name| {
                    e.paths
                        .iter()
                        .any(|p| p.file_name() == Some(name.as_os_str()))
                })
        };
        std::thread::Builder::new()
            .name("handover-watch".into())
            .spawn(move || debounce_loop(raw_rx, tx, debounce, relevant))?;
        Ok(Watch {
            _watcher: watcher,
            rx,
        })
    }

    /// Waits for the next trigger; `None` once the watcher stopped.
    pub async fn changed(&mut self) -> Option<()> {
        self.rx.recv().await
    }

    /// True when triggers arrived since the last look (all are consumed):
    /// edits made while a pass ran.
    pub fn take_pending(&mut self) -> bool {
        let mut any = false;
        while self.rx.try_recv().is_ok() {
            any = true;
        }
        any
    }
}

/// Groups relevant events into one trigger per burst; ends when the watcher
/// is dropped (its sender closes) or nobody listens any more.
fn debounce_loop(
    raw: std_mpsc::Receiver<notify::Result<Event>>,
    tx: mpsc::UnboundedSender<()>,
    debounce: Debounce,
    relevant: impl Fn(&Event) -> bool,
) {
    let is_relevant = |r: &notify::Result<Event>| match r {
        Ok(e) => relevant(e),
        Err(e) => {
            // A lost event (an overflowed queue, say): look again to be sure.
            tracing::warn!(error = %e, "file watch error; reading the desired path again");
            true
        }
    };
    loop {
        // Wait for the first relevant event of a burst.
        let first = loop {
            match raw.recv() {
                Ok(r) if is_relevant(&r) => break Instant::now(),
                Ok(_) => {}
                Err(_) => return,
            }
        };
        let mut last = first;
        loop {
            let now = Instant::now();
            let until = debounce.deadline(first, last);
            if now >= until {
                break;
            }
            match raw.recv_timeout(until - now) {
                Ok(r) if is_relevant(&r) => last = Instant::now(),
                Ok(_) => {}
                Err(std_mpsc::RecvTimeoutError::Timeout) => break,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        if tx.send(()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::source::tests::topology_yaml;

    #[test]
    fn deadline_is_quiet_after_the_last_event_but_capped() {
        let d = Debounce {
            quiet: Duration::from_millis(200),
            max: Duration::from_secs(2),
        };
        let t0 = Instant::now();
        assert_eq!(d.deadline(t0, t0), t0 + Duration::from_millis(200));
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(d.deadline(t0, t1), t1 + Duration::from_millis(200));
        let t2 = t0 + Duration::from_millis(1900);
        assert_eq!(d.deadline(t0, t2), t0 + Duration::from_secs(2));
    }

    async fn next(w: &mut Watch, within: Duration) -> bool {
        matches!(
            tokio::time::timeout(within, w.changed()).await,
            Ok(Some(()))
        )
    }

    #[tokio::test]
    async fn a_burst_of_saves_gives_exactly_one_trigger() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("desired.yaml");
        std::fs::write(&file, topology_yaml("gw1.contoso.local")).unwrap();
        let debounce = Debounce {
            quiet: Duration::from_millis(150),
            max: Duration::from_secs(2),
        };
        let mut w = Watch::start(&file, debounce).unwrap();
        // A neighbour's changes are not ours.
        std::fs::write(dir.path().join("other.yaml"), "x").unwrap();
        for i in 0..10 {
            let gw = if i % 2 == 0 { "gw2" } else { "gw1" };
            std::fs::write(&file, topology_yaml(&format!("{gw}.contoso.local"))).unwrap();
        }
        assert!(
            next(&mut w, Duration::from_secs(1)).await,
            "one trigger within a second of the burst"
        );
        assert!(
            !next(&mut w, Duration::from_millis(500)).await,
            "the burst gave a second trigger"
        );
        // An editor's save by rename is seen too.
        let tmp = dir.path().join(".desired.yaml.swp");
        std::fs::write(&tmp, topology_yaml("gw2.contoso.local")).unwrap();
        std::fs::rename(&tmp, &file).unwrap();
        assert!(next(&mut w, Duration::from_secs(1)).await, "rename seen");
    }

    #[tokio::test]
    async fn a_directory_is_watched_recursively() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("site")).unwrap();
        let mut w = Watch::start(dir.path(), Debounce::default()).unwrap();
        std::fs::write(dir.path().join("site/agents.yaml"), "agents: []\n").unwrap();
        assert!(next(&mut w, Duration::from_secs(3)).await);
    }
}
