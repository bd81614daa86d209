//! One look at the source: fetch, and load only what is new.
//!
//! Owns the composition of a [`Fetcher`] and a [`RevisionTracker`] that the
//! loop runs at the start of each pass: a revision already in use or
//! already refused is not loaded again; a new one is loaded, validated, and
//! adopted or refused. Must not plan or apply.

use super::revision::Offer;
pub use super::revision::RevisionTracker;
use super::{Fetcher, Revision, SourceError};
use crate::model::Topology;

/// The revision in use: where it came from and what it says.
pub type Desired = (Revision, Topology);

/// What one look at the source found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Polled {
    /// The source is at the revision in use.
    Unchanged,
    /// The source is at a refused revision, already reported.
    StillRefused,
    /// A new valid revision, now in use.
    Adopted {
        /// The revision it replaced.
        previous: Option<String>,
    },
    /// A new invalid revision; the last good one stays in use.
    Refused {
        /// The refused revision.
        revision: String,
        /// The revision still in use.
        keeping: Option<String>,
    },
}

/// Fetches the source and offers a new revision to `tracker`. Blocking (git
/// and file reads): run it with `spawn_blocking` from async code. An error
/// leaves the tracker as it was.
pub fn poll(
    fetcher: &Fetcher,
    tracker: &mut RevisionTracker<Desired>,
) -> Result<Polled, SourceError> {
    let rev = fetcher.fetch()?;
    if tracker.is_known(&rev.id) {
        let refused = tracker.refused().is_some_and(|r| r.revision == rev.id);
        tracker.seen(&rev.id);
        return Ok(if refused {
            Polled::StillRefused
        } else {
            Polled::Unchanged
        });
    }
    let loaded = fetcher.load(&rev)?;
    let id = rev.id.clone();
    let polled = match tracker.offer(&id, loaded.map(|t| (rev, t))) {
        Offer::Adopted { previous } => Polled::Adopted { previous },
        Offer::Unchanged => Polled::Unchanged,
        Offer::Refused { keeping } => Polled::Refused {
            revision: id,
            keeping,
        },
    };
    // Keep the checkouts of the revision in use and of the refused one.
    let keep: Vec<&str> = tracker
        .current_id()
        .into_iter()
        .chain(tracker.refused().map(|r| r.revision.as_str()))
        .collect();
    fetcher.prune(&keep)?;
    Ok(polled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::source::Source;
    use crate::reconcile::source::tests::{Repo, topology_yaml};
    use std::path::PathBuf;

    fn primary(t: &RevisionTracker<Desired>) -> String {
        t.current().unwrap().1.1.agents[0]
            .parents
            .primary
            .to_string()
    }

    #[test]
    fn git_commits_are_adopted_an_invalid_one_refused_and_the_last_good_kept() {
        let repo = Repo::new();
        let c1 = repo.commit("topology/desired.yaml", &topology_yaml("gw1.contoso.local"));
        let state = tempfile::tempdir().unwrap();
        let fetcher = Fetcher::new(
            Source::Git {
                repo: repo.url(),
                reference: Some("main".into()),
                path: Some(PathBuf::from("topology")),
            },
            state.path(),
        )
        .unwrap();
        let mut t = RevisionTracker::new();

        assert_eq!(
            poll(&fetcher, &mut t).unwrap(),
            Polled::Adopted { previous: None }
        );
        assert_eq!(t.current_id(), Some(c1.as_str()));
        assert_eq!(poll(&fetcher, &mut t).unwrap(), Polled::Unchanged);

        let c2 = repo.commit("topology/desired.yaml", &topology_yaml("gw2.contoso.local"));
        assert_eq!(
            poll(&fetcher, &mut t).unwrap(),
            Polled::Adopted {
                previous: Some(c1.clone())
            }
        );
        assert_eq!(primary(&t), "gw2.contoso.local");
        let checkouts = || std::fs::read_dir(state.path().join("git")).unwrap().count();
        assert_eq!(checkouts(), 1, "one cache per repository");
        let revs = state.path().join("git");
        let rev_dirs = || {
            let cache = std::fs::read_dir(&revs)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            std::fs::read_dir(cache.join("rev")).unwrap().count()
        };
        assert_eq!(rev_dirs(), 1, "the checkout of c1 was pruned");

        // Half of the change is fine, the other file is broken: refused whole.
        std::fs::write(
            repo.dir.path().join("topology/desired.yaml"),
            topology_yaml("gw1.contoso.local"),
        )
        .unwrap();
        let c3 = repo.commit("topology/more.yaml", "agents: [\n");
        assert_eq!(
            poll(&fetcher, &mut t).unwrap(),
            Polled::Refused {
                revision: c3.clone(),
                keeping: Some(c2.clone())
            }
        );
        assert_eq!(t.current_id(), Some(c2.as_str()));
        assert_eq!(
            primary(&t),
            "gw2.contoso.local",
            "the last good content is kept"
        );
        let refusal = t.refused().unwrap();
        assert!(
            refusal
                .diagnostics
                .to_string()
                .contains(&format!("{}:topology/more.yaml", &c3[..12])),
            "{}",
            refusal.diagnostics
        );
        assert_eq!(poll(&fetcher, &mut t).unwrap(), Polled::StillRefused);
        assert_eq!(rev_dirs(), 2, "the good and the refused checkouts");

        // Revert to the good commit: the refusal clears, nothing reloads.
        repo.git(&["reset", "--quiet", "--hard", &c2]);
        assert_eq!(poll(&fetcher, &mut t).unwrap(), Polled::Unchanged);
        assert!(t.refused().is_none());
    }

    #[test]
    fn a_fetch_error_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("desired.yaml");
        std::fs::write(&file, topology_yaml("gw1.contoso.local")).unwrap();
        let state = tempfile::tempdir().unwrap();
        let fetcher = Fetcher::new(Source::Path(file.clone()), state.path()).unwrap();
        let mut t = RevisionTracker::new();
        assert!(matches!(
            poll(&fetcher, &mut t).unwrap(),
            Polled::Adopted { .. }
        ));
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(
            poll(&fetcher, &mut t),
            Err(SourceError::Io { .. })
        ));
        assert_eq!(primary(&t), "gw1.contoso.local");
    }
}
