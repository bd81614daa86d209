//! Waiting between passes: until the wait runs out, the desired files
//! change, or shutdown is requested, whichever comes first; and whether
//! applying is suspended.
//!
//! Owns only the waiting (the decision of how long is [`super::schedule`]'s)
//! and the suspend check. Events are looked at only here, between passes,
//! so a new revision never interrupts a step in flight. Must not observe,
//! plan or apply.

use super::schedule::{Trigger, Wait};
use super::signals::Shutdown;
use super::source::watch::Watch;
use crate::model::Policy;
use std::path::Path;

/// Waits out `wait`, returning the trigger of the next pass: `wait.trigger`
/// when it runs out, [`Trigger::FileChanged`] when `watch` fires first, or
/// `None` when shutdown is requested (the loop then ends). A watch that
/// stopped is ignored from then on.
pub async fn between_passes(
    wait: Wait,
    watch: &mut Option<Watch>,
    shutdown: &Shutdown,
) -> Option<Trigger> {
    if shutdown.is_triggered() {
        return None;
    }
    let sleep = tokio::time::sleep(wait.delay);
    tokio::pin!(sleep);
    loop {
        let changed = async {
            match watch.as_mut() {
                Some(w) => w.changed().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = shutdown.wait() => return None,
            c = changed => match c {
                Some(()) => return Some(Trigger::FileChanged),
                None => *watch = None,
            },
            _ = &mut sleep => return Some(wait.trigger),
        }
    }
}

/// True while applying is suspended: `suspend_file` exists, or the desired
/// topology's `policy.suspend` is set. The loop still observes and reports.
pub fn is_suspended(suspend_file: Option<&Path>, policy: Option<&Policy>) -> bool {
    suspend_file.is_some_and(|p| p.exists()) || policy.is_some_and(|p| p.suspend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::source::watch::Debounce;
    use std::time::Duration;

    fn long() -> Wait {
        Wait {
            delay: Duration::from_secs(3600),
            trigger: Trigger::Interval,
        }
    }

    #[tokio::test]
    async fn a_file_change_cuts_a_long_wait_short() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("desired.yaml");
        std::fs::write(&file, "a").unwrap();
        let mut watch = Some(Watch::start(&file, Debounce::default()).unwrap());
        let shutdown = Shutdown::new();
        let writer = {
            let file = file.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                std::fs::write(&file, "b").unwrap();
            })
        };
        let t = tokio::time::timeout(
            Duration::from_secs(3),
            between_passes(long(), &mut watch, &shutdown),
        )
        .await
        .expect("woken by the change within 3 s");
        assert_eq!(t, Some(Trigger::FileChanged));
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_ends_the_wait_and_a_short_wait_runs_out() {
        let shutdown = Shutdown::new();
        let short = Wait {
            delay: Duration::from_millis(10),
            trigger: Trigger::Retry,
        };
        assert_eq!(
            between_passes(short, &mut None, &shutdown).await,
            Some(Trigger::Retry)
        );
        let s2 = shutdown.clone();
        tokio::spawn(async move { s2.trigger() });
        let t = tokio::time::timeout(
            Duration::from_secs(3),
            between_passes(long(), &mut None, &shutdown),
        )
        .await
        .expect("woken by shutdown");
        assert_eq!(t, None);
    }

    #[test]
    fn suspended_by_file_or_policy() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("suspend");
        let policy = Policy::default();
        assert!(!is_suspended(Some(&f), Some(&policy)));
        assert!(!is_suspended(None, None));
        std::fs::write(&f, "").unwrap();
        assert!(is_suspended(Some(&f), Some(&policy)));
        let suspended = Policy {
            suspend: true,
            ..Policy::default()
        };
        assert!(is_suspended(None, Some(&suspended)));
    }
}
