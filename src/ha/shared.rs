//! What a group's replicas, `handover resume --ha` and `handover approve
//! --ha` share in etcd besides the journal: the progressive rollout's
//! memory, the last resume, and approvals.
//!
//! Owns their values and how they are read and written:
//!
//! - `rollout/state`: a shared-journal [`Entry`] (replica, term) holding a
//!   `rollout_state` record, the rollout's memory. Only the leader writes
//!   it, through [`super::fence::fenced_put`] with [`state_entry`]: in the
//!   same transaction as the leadership check, so a deposed leader never
//!   does. One key, overwritten: the memory's size is the rollout's, not
//!   its history's (the local journals keep the history).
//! - `rollout/resume`: a `rollout_resumed` record, overwritten by each
//!   resume. It applies when it was written after the memory (its
//!   `mod_revision` is higher), exactly as a resume after the last state
//!   in the local journal does; the pass that applies it writes the memory
//!   again, which uses it up.
//! - `approvals/<digest>`: an `approved` record per digest. An approval
//!   names one digest, and any change to what a plan would start makes a
//!   new digest, so an old approval approves nothing more; [`approve`]
//!   keeps the newest [`KEEP_APPROVALS`] of a group and deletes the rest.
//!
//! [`read`] takes all three in one snapshot at the start of a pass.
//! Must not decide what a memory, a resume or an approval means (the
//! rollout's gate and the approval gate do) and must not fence: the caller
//! does.

use super::etcd::{
    Client, DeleteOptions, Error, GetOptions, SortOrder, SortTarget, Txn, TxnOp, TxnOpResponse,
};
use super::journal::Entry;
use super::keys::Keys;
use crate::plan::rollout::{Event, Memory};
use crate::state::journal::Record;

/// Approvals kept per group; `approve --ha` deletes older ones.
pub const KEEP_APPROVALS: usize = 16;

/// One approval read from etcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// The approved digest.
    pub digest: String,
    /// The OS user who approved (empty when unknown).
    pub user: String,
    /// When, RFC 3339.
    pub at: String,
}

/// A group's shared state at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The rollout's memory as the leader last wrote it (`None`: never
    /// written, deleted, or unreadable; the rollout then starts afresh).
    pub memory: Option<Memory>,
    /// A resume was recorded after the memory was last written.
    pub resumed: bool,
    /// Every approval kept.
    pub approvals: Vec<Approval>,
}

/// The snapshot from the raw keys: the state's value and `mod_revision`,
/// the resume's `mod_revision`, and the approvals' values. Values that do
/// not parse are passed over (logged): an unreadable memory is a lost one,
/// which is safe (docs/rollouts.md, "Level-triggered"). Pure.
pub fn snapshot(state: Option<(&[u8], i64)>, resume: Option<i64>, approvals: &[&[u8]]) -> Snapshot {
    let memory = state.and_then(|(v, _)| match serde_json::from_slice::<Entry>(v) {
        Ok(Entry {
            record: Record::RolloutState { state, .. },
            ..
        }) => Some(*state),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the rollout's state in etcd cannot be read; the rollout starts again from the observation");
            None
        }
    });
    let resumed = resume.is_some_and(|r| r > state.map_or(0, |(_, rev)| rev));
    let approvals = approvals
        .iter()
        .filter_map(|v| match serde_json::from_slice::<Record>(v) {
            Ok(Record::Approved {
                digest, user, at, ..
            }) => Some(Approval { digest, user, at }),
            _ => None,
        })
        .collect();
    Snapshot {
        memory,
        resumed,
        approvals,
    }
}

/// Reads the group's memory, resume and approvals in one transaction.
pub async fn read(client: &mut Client, keys: &Keys) -> Result<Snapshot, Error> {
    let txn = Txn::new().and_then([
        TxnOp::get(keys.rollout_state(), None),
        TxnOp::get(keys.rollout_resume(), None),
        TxnOp::get(
            keys.approvals_prefix(),
            Some(
                GetOptions::new()
                    .with_prefix()
                    .with_sort(SortTarget::Create, SortOrder::Ascend),
            ),
        ),
    ]);
    let r = client.txn(txn).await?;
    let gets: Vec<_> = r
        .op_responses()
        .into_iter()
        .filter_map(|o| match o {
            TxnOpResponse::Get(g) => Some(g),
            _ => None,
        })
        .collect();
    let first = |i: usize| gets.get(i).and_then(|g| g.kvs().first());
    let state = first(0).map(|kv| (kv.value(), kv.mod_revision()));
    let resume = first(1).map(|kv| kv.mod_revision());
    let approvals: Vec<&[u8]> = gets
        .get(2)
        .map(|g| g.kvs().iter().map(|kv| kv.value()).collect())
        .unwrap_or_default();
    Ok(snapshot(state, resume, &approvals))
}

/// The key and value of the rollout's memory, written by `replica` in
/// `term`, for [`super::fence::fenced_put`].
pub fn state_entry(
    keys: &Keys,
    replica: &str,
    term: i64,
    memory: &Memory,
    events: &[Event],
) -> (String, String) {
    let e = Entry {
        replica: replica.to_string(),
        term,
        record: Record::RolloutState {
            at: crate::state::journal::now_rfc3339(),
            state: Box::new(memory.clone()),
            events: events.to_vec(),
        },
    };
    (
        keys.rollout_state(),
        serde_json::to_string(&e).expect("entries serialise"),
    )
}

/// Records `handover resume --ha` by `user`.
pub async fn resume(client: &mut Client, keys: &Keys, user: &str) -> Result<(), Error> {
    let r = Record::RolloutResumed {
        at: crate::state::journal::now_rfc3339(),
        user: user.to_string(),
    };
    let v = serde_json::to_string(&r).expect("records serialise");
    client.put(keys.rollout_resume(), v, None).await.map(|_| ())
}

/// The approvals to delete so that the newest `keep` remain, from the
/// keys in creation order. Pure.
pub fn approvals_to_drop(keys_oldest_first: &[String], keep: usize) -> &[String] {
    &keys_oldest_first[..keys_oldest_first.len().saturating_sub(keep)]
}

/// Records the approval of `digest` by `user` (for `target`, as given),
/// then deletes all but the newest [`KEEP_APPROVALS`] of the group.
pub async fn approve(
    client: &mut Client,
    keys: &Keys,
    digest: &str,
    user: &str,
    target: &str,
) -> Result<(), Error> {
    let r = Record::Approved {
        at: crate::state::journal::now_rfc3339(),
        digest: digest.to_string(),
        user: user.to_string(),
        target: target.to_string(),
    };
    let v = serde_json::to_string(&r).expect("records serialise");
    client.put(keys.approval(digest), v, None).await?;
    let listed = client
        .get(
            keys.approvals_prefix(),
            Some(
                GetOptions::new()
                    .with_prefix()
                    .with_keys_only()
                    .with_sort(SortTarget::Create, SortOrder::Ascend),
            ),
        )
        .await?;
    let all: Vec<String> = listed
        .kvs()
        .iter()
        .filter_map(|kv| kv.key_str().ok().map(str::to_string))
        .collect();
    for k in approvals_to_drop(&all, KEEP_APPROVALS) {
        client.delete(k.as_str(), None::<DeleteOptions>).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::rollout::Phase;

    fn memory() -> Memory {
        Memory {
            revision: "r1".into(),
            total: 10,
            step: 1,
            phase: Phase::Soaking,
            soak_from: Some(1_700_000_000),
            started: Vec::new(),
            rolled_back: Vec::new(),
            reason: None,
            failure: Vec::new(),
        }
    }

    #[test]
    fn the_memory_round_trips_with_its_writer() {
        let keys = Keys::new("/h", "g");
        let (k, v) = state_entry(&keys, "r1:7", 42, &memory(), &[Event::Complete]);
        assert_eq!(k, "/h/groups/g/rollout/state");
        let e: Entry = serde_json::from_str(&v).unwrap();
        assert_eq!((e.replica.as_str(), e.term), ("r1:7", 42));
        assert!(v.contains("\"event\":\"rollout_state\""), "{v}");
        let s = snapshot(Some((v.as_bytes(), 5)), None, &[]);
        assert_eq!(s.memory, Some(memory()));
        assert!(!s.resumed);
    }

    #[test]
    fn a_resume_counts_only_when_written_after_the_memory() {
        let (_, v) = state_entry(&Keys::new("/h", "g"), "a", 1, &memory(), &[]);
        assert!(snapshot(Some((v.as_bytes(), 5)), Some(9), &[]).resumed);
        assert!(!snapshot(Some((v.as_bytes(), 9)), Some(5), &[]).resumed);
        assert!(!snapshot(Some((v.as_bytes(), 9)), None, &[]).resumed);
    }

    #[test]
    fn an_unreadable_memory_is_a_lost_one_and_bad_approvals_are_passed_over() {
        let good =
            br#"{"event":"approved","at":"t","digest":"fnv1a64:0123456789abcdef","user":"alice"}"#;
        let s = snapshot(Some((b"{not json", 3)), None, &[b"junk", good]);
        assert_eq!(s.memory, None);
        assert_eq!(
            s.approvals,
            vec![Approval {
                digest: "fnv1a64:0123456789abcdef".into(),
                user: "alice".into(),
                at: "t".into()
            }]
        );
    }

    #[test]
    fn approvals_keep_the_newest() {
        let keys: Vec<String> = (0..20).map(|i| format!("k{i:02}")).collect();
        let drop = approvals_to_drop(&keys, KEEP_APPROVALS);
        assert_eq!(drop.len(), 4);
        assert_eq!(drop.last().unwrap(), "k03");
        assert!(approvals_to_drop(&keys[..3], KEEP_APPROVALS).is_empty());
    }
}
