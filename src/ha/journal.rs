//! The shared journal: the runs of every replica, in etcd, so any replica
//! (and `handover history --ha`) can answer history.
//!
//! Owns the entry format and its keys (`<group>/journal/<run>/<seq>`): each
//! entry is a journal [`Record`] (the same as the local `journal.jsonl`'s)
//! with the replica that wrote it and its leadership term. A step's
//! `intent` entry is written in the same transaction as the fencing check
//! ([`super::fence`]), so every operation a leader started is recorded
//! with the term it was checked under, atomically. Bounded: after each run
//! the leader deletes all but the newest [`KEEP_RUNS`] runs. Must not
//! decide what to apply; the local file journal is kept as well.

use super::etcd::{Client, DeleteOptions, GetOptions, SortOrder, SortTarget};
use super::keys::Keys;
use super::node::Node;
use crate::state::journal::Record;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// Runs kept per group; older ones are deleted.
pub const KEEP_RUNS: usize = 200;

/// One entry of the shared journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The replica that wrote it.
    pub replica: String,
    /// Its leadership term (the leader key's create revision).
    pub term: i64,
    /// The record, as in the local journal.
    #[serde(flatten)]
    pub record: Record,
}

/// Appends the records of one run, in order.
#[derive(Debug)]
pub struct RunJournal {
    keys: Keys,
    run: String,
    replica: String,
    term: i64,
    seq: u64,
}

impl RunJournal {
    /// The journal of `run` in `keys`' group, written by `replica` in
    /// `term`.
    pub fn new(keys: Keys, run: &str, replica: &str, term: i64) -> Self {
        RunJournal {
            keys,
            run: run.to_string(),
            replica: replica.to_string(),
            term,
            seq: 0,
        }
    }

    /// The key and value of the next entry.
    pub fn next(&mut self, record: Record) -> (String, String) {
        self.seq += 1;
        let e = Entry {
            replica: self.replica.clone(),
            term: self.term,
            record,
        };
        (
            self.keys.entry(&self.run, self.seq),
            serde_json::to_string(&e).expect("entries serialise"),
        )
    }

    /// Writes the next entry without a fencing check (what already
    /// happened: a result, the end of the run). Best effort: a failure is
    /// logged; the local journal has the record.
    pub async fn put(&mut self, ha: &Node, record: Record) {
        let (k, v) = self.next(record);
        let mut c = ha.client();
        let r =
            ha.call(async move {
                tokio::time::timeout(Duration::from_secs(2), c.put(k, v, None)).await
            })
            .await;
        match r {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot write the shared journal"),
            Err(_) => tracing::warn!("cannot write the shared journal: etcd did not answer"),
        }
    }
}

/// Reads the shared journal: every entry under `prefix` (a group's
/// journal, or `<prefix>/groups/` for every group), in the order etcd
/// created them.
pub async fn read(client: &mut Client, prefix: &str) -> Result<Vec<Entry>, super::etcd::Error> {
    let r = client
        .get(
            prefix,
            Some(
                GetOptions::new()
                    .with_prefix()
                    .with_sort(SortTarget::Create, SortOrder::Ascend),
            ),
        )
        .await?;
    Ok(r.kvs()
        .iter()
        .filter(|kv| kv.key_str().is_ok_and(|k| k.contains("/journal/")))
        .filter_map(|kv| serde_json::from_slice(kv.value()).ok())
        .collect())
}

/// The runs to delete so that the newest `keep` remain (run ids sort by
/// start time).
pub fn runs_to_drop(runs: &BTreeSet<String>, keep: usize) -> Vec<String> {
    let n = runs.len().saturating_sub(keep);
    runs.iter().take(n).cloned().collect()
}

/// Deletes all but the newest [`KEEP_RUNS`] runs of a group.
pub async fn compact(client: &mut Client, keys: &Keys) -> Result<usize, super::etcd::Error> {
    let prefix = keys.journal_prefix();
    let r = client
        .get(
            prefix.as_str(),
            Some(GetOptions::new().with_prefix().with_keys_only()),
        )
        .await?;
    let runs: BTreeSet<String> = r
        .kvs()
        .iter()
        .filter_map(|kv| kv.key_str().ok())
        .filter_map(|k| k.strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.split('/').next())
        .map(str::to_string)
        .collect();
    let drop = runs_to_drop(&runs, KEEP_RUNS);
    for run in &drop {
        client
            .delete(
                keys.run_prefix(run),
                Some(DeleteOptions::new().with_prefix()),
            )
            .await?;
    }
    Ok(drop.len())
}

/// Reads the shared journal of `group` (every group when `None`) from the
/// etcd at `url`, on a small runtime of its own: for `handover history
/// --ha`. The error says which etcd could not be read.
pub fn read_from(
    url: &super::url::HaUrl,
    security: &super::secure::Security,
    group: Option<&str>,
) -> Result<Vec<Entry>, String> {
    let prefix = match group {
        Some(g) => Keys::new(&url.prefix, g).journal_prefix(),
        None => format!("{}/groups/", url.prefix),
    };
    super::node::with_client(url, security, |mut c| async move {
        read(&mut c, &prefix)
            .await
            .map_err(|e| format!("cannot read the shared journal from {url}: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_carry_the_writer_and_its_term_beside_the_record() {
        let mut j = RunJournal::new(Keys::new("/h", "g"), "17-1", "host:1", 42);
        let (k, v) = j.next(Record::Step {
            run: "17-1".into(),
            at: "2026-01-01T00:00:00Z".into(),
            step: 1,
            action: "set_parents".into(),
            name: "a".into(),
            outcome: "intent".into(),
            detail: String::new(),
        });
        assert_eq!(k, "/h/groups/g/journal/17-1/00000001");
        let e: Entry = serde_json::from_str(&v).unwrap();
        assert_eq!((e.replica.as_str(), e.term), ("host:1", 42));
        assert!(v.contains("\"event\":\"step\""), "{v}");
        assert_eq!(j.next(e.record).0, "/h/groups/g/journal/17-1/00000002");
    }

    #[test]
    fn compaction_keeps_the_newest_runs() {
        let runs: BTreeSet<String> = ["3-1", "1-1", "2-1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(runs_to_drop(&runs, 2), vec!["1-1".to_string()]);
        assert!(runs_to_drop(&runs, 5).is_empty());
    }
}
