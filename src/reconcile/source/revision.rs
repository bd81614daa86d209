//! Which revision of the desired topology the loop uses: the newest valid
//! one, never a half-valid one.
//!
//! Owns the bookkeeping only: a revision offered with its load result is
//! adopted when valid, refused (with its diagnostics) when not, and a
//! refusal keeps the last good revision in use. Pure: no I/O, no clock.

use crate::diag::Diagnostics;

/// A revision that failed validation, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The refused revision's id.
    pub revision: String,
    /// Every problem found in it.
    pub diagnostics: Diagnostics,
}

/// What happened to an offered revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offer {
    /// A valid revision different from the one in use: it is now in use.
    Adopted {
        /// The revision it replaced, if any.
        previous: Option<String>,
    },
    /// The revision in use was offered again (any earlier refusal is
    /// cleared: the source went back to a good revision).
    Unchanged,
    /// An invalid revision: refused; the last good one stays in use.
    Refused {
        /// The revision still in use, if any.
        keeping: Option<String>,
    },
}

/// The revision in use (with its loaded content `T`) and the latest refusal.
#[derive(Clone, Debug)]
pub struct RevisionTracker<T> {
    current: Option<(String, T)>,
    refused: Option<Refusal>,
}

impl<T> Default for RevisionTracker<T> {
    fn default() -> Self {
        RevisionTracker {
            current: None,
            refused: None,
        }
    }
}

impl<T> RevisionTracker<T> {
    /// Nothing in use, nothing refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when `id` needs no loading: it is the revision in use, or the
    /// one already refused (a revision's content never changes).
    pub fn is_known(&self, id: &str) -> bool {
        self.current.as_ref().is_some_and(|(c, _)| c == id)
            || self.refused.as_ref().is_some_and(|r| r.revision == id)
    }

    /// Offers revision `id` with the result of loading it.
    pub fn offer(&mut self, id: &str, loaded: Result<T, Diagnostics>) -> Offer {
        match loaded {
            Ok(content) => {
                self.refused = None;
                match &self.current {
                    Some((c, _)) if c == id => Offer::Unchanged,
                    _ => {
                        let previous = self.current.replace((id.to_string(), content));
                        Offer::Adopted {
                            previous: previous.map(|(p, _)| p),
                        }
                    }
                }
            }
            Err(diagnostics) => {
                self.refused = Some(Refusal {
                    revision: id.to_string(),
                    diagnostics,
                });
                Offer::Refused {
                    keeping: self.current_id().map(str::to_string),
                }
            }
        }
    }

    /// Records that the source is at `id` again without loading it (see
    /// [`RevisionTracker::is_known`]): going back to the revision in use
    /// clears the refusal.
    pub fn seen(&mut self, id: &str) {
        if self.current_id() == Some(id) {
            self.refused = None;
        }
    }

    /// The id of the revision in use.
    pub fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(|(c, _)| c.as_str())
    }

    /// The revision in use and its content.
    pub fn current(&self) -> Option<(&str, &T)> {
        self.current.as_ref().map(|(c, t)| (c.as_str(), t))
    }

    /// The newest refused revision, while the source still points at it.
    pub fn refused(&self) -> Option<&Refusal> {
        self.refused.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;

    fn bad(msg: &str) -> Result<u32, Diagnostics> {
        Err(Diagnostic::general(msg).into())
    }

    #[test]
    fn adopts_valid_revisions_and_keeps_the_last_good_on_refusal() {
        let mut t = RevisionTracker::new();
        assert_eq!(
            t.offer("a", bad("broken")),
            Offer::Refused { keeping: None }
        );
        assert_eq!(t.current_id(), None);
        assert_eq!(t.offer("b", Ok(1)), Offer::Adopted { previous: None });
        assert!(t.refused().is_none());
        assert_eq!(t.offer("b", Ok(1)), Offer::Unchanged);

        assert_eq!(
            t.offer("c", bad("unknown parent")),
            Offer::Refused {
                keeping: Some("b".into())
            }
        );
        assert_eq!(t.current(), Some(("b", &1)));
        let r = t.refused().unwrap();
        assert_eq!(r.revision, "c");
        assert_eq!(r.diagnostics.to_string(), "unknown parent");
        assert!(t.is_known("b") && t.is_known("c") && !t.is_known("d"));

        assert_eq!(
            t.offer("d", Ok(2)),
            Offer::Adopted {
                previous: Some("b".into())
            }
        );
        assert!(t.refused().is_none());
        assert_eq!(t.current(), Some(("d", &2)));
    }

    #[test]
    fn going_back_to_the_revision_in_use_clears_the_refusal() {
        let mut t = RevisionTracker::new();
        t.offer("a", Ok(1));
        t.offer("b", bad("broken"));
        t.seen("b");
        assert!(t.refused().is_some(), "b is still refused");
        t.seen("a");
        assert!(t.refused().is_none());
        assert_eq!(t.current_id(), Some("a"));
    }
}
