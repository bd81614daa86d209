//! The etcd keys of one management group.
//!
//! Owns [`Keys`] (every key handover writes, under the address's prefix,
//! per group) and [`safe`] (what keeps a name from changing a key's
//! shape). Must not talk to etcd: the callers do.
//!
//! Under `<prefix>/groups/<group>/`:
//!
//! - `leader`: the leader's replica id, attached to its lease;
//! - `status`: the leader's last `/status`;
//! - `replicas/<id>`: each replica's presence, attached to its lease;
//! - `journal/<run>/<seq>`: the shared journal;
//! - `rollout/state`: the progressive rollout's memory, written fenced by
//!   the leader ([`super::shared`]);
//! - `rollout/resume`: the last `handover resume --ha`;
//! - `approvals/<digest>`: `handover approve --ha`, the newest
//!   [`super::shared::KEEP_APPROVALS`].

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

    /// The progressive rollout's memory.
    pub fn rollout_state(&self) -> String {
        format!("{}/rollout/state", self.base)
    }

    /// The last `handover resume --ha`.
    pub fn rollout_resume(&self) -> String {
        format!("{}/rollout/resume", self.base)
    }

    /// Every approval of the group starts with this.
    pub fn approvals_prefix(&self) -> String {
        format!("{}/approvals/", self.base)
    }

    /// The approval of `digest`.
    pub fn approval(&self, digest: &str) -> String {
        format!("{}{}", self.approvals_prefix(), safe(digest))
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

    #[test]
    fn the_rollout_and_approvals_live_beside_the_journal_not_in_it() {
        let k = Keys::new("/handover", "contoso-prod");
        assert_eq!(
            k.rollout_state(),
            "/handover/groups/contoso-prod/rollout/state"
        );
        assert_eq!(
            k.rollout_resume(),
            "/handover/groups/contoso-prod/rollout/resume"
        );
        assert_eq!(
            k.approval("fnv1a64:0123456789abcdef"),
            "/handover/groups/contoso-prod/approvals/fnv1a64:0123456789abcdef"
        );
        assert!(k.approval("x").starts_with(&k.approvals_prefix()));
        // A digest cannot reach out of the approvals.
        assert_eq!(
            k.approval("../leader"),
            "/handover/groups/contoso-prod/approvals/.._leader"
        );
        for key in [k.rollout_state(), k.approval("d")] {
            assert!(!key.starts_with(&k.journal_prefix()), "{key}");
        }
    }
}
