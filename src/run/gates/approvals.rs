//! Where approvals come from: the journal (`handover approve`), etcd under
//! `--ha` (`handover approve --ha`), and the approvals file in the desired
//! source (docs/gates.md).
//!
//! Owns the file name and format of [`FILE_NAME`], reading it beside the
//! desired files, reading `approved` records back from the journal, the
//! approvals a leader's pass read from etcd ([`FromEtcd`]), and recording
//! an approval in etcd ([`approve_in_etcd`]). Must not decide whether a
//! plan needs approval (that is [`crate::plan::approval`]) and must not
//! write the journal (that is the `approve` use case).

use crate::plan::approval::is_digest;
use crate::state::journal::{self, Record};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The approvals file: in the desired directory (or beside the desired
/// file), committed to git with the topology. One approval per line: the
/// digest first, then anything (who, the change ticket); `#` starts a
/// comment; blank lines are ignored.
pub const FILE_NAME: &str = "handover-approvals.txt";

/// The digests an approvals file's text names, or the first bad line as
/// `file:line:column: message`.
pub fn parse_file(text: &str, file: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let body = line.split('#').next().unwrap_or("");
        let Some(word) = body.split_whitespace().next() else {
            continue;
        };
        if !is_digest(word) {
            let column = line.find(word).map_or(1, |c| c + 1);
            return Err(format!(
                "{file}:{}:{column}: {word:?} is not an approval digest; expected fnv1a64: and 16 hex digits, as `handover plan` prints it, then optionally who approved and why",
                i + 1
            ));
        }
        out.push(word.to_string());
    }
    Ok(out)
}

/// The approvals file that belongs to a desired path.
pub fn file_for(desired: &Path) -> PathBuf {
    if desired.is_dir() {
        desired.join(FILE_NAME)
    } else {
        desired
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(FILE_NAME)
    }
}

/// The digests approved in the approvals files of `desired` (missing files
/// approve nothing).
pub fn from_files(desired: &[PathBuf]) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for d in desired {
        let f = file_for(d);
        match std::fs::read_to_string(&f) {
            Ok(text) => out.extend(parse_file(&text, &f.display().to_string())?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", f.display())),
        }
    }
    Ok(out)
}

/// Who approved a digest, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    /// The OS user of `handover approve`, or `file PATH` for the
    /// approvals file.
    pub by: String,
    /// When, RFC 3339 (`None` for the file: its git history says).
    pub at: Option<String>,
}

/// The digests approved in the journal of `state_dir`, the first approval
/// of each.
pub fn from_journal(state_dir: &Path) -> Result<BTreeMap<String, Approver>, String> {
    let records = journal::read(state_dir)
        .map_err(|e| format!("cannot read the journal in {}: {e}", state_dir.display()))?;
    let mut out = BTreeMap::new();
    for r in records {
        if let Record::Approved {
            digest, user, at, ..
        } = r
        {
            out.entry(digest).or_insert(Approver {
                by: user,
                at: Some(at),
            });
        }
    }
    Ok(out)
}

/// Every approved digest: the journal's, then the files'. A source that
/// cannot be read is reported and approves nothing (a missing approval
/// only holds changes back).
pub fn all(state_dir: &Path, desired: &[PathBuf]) -> (BTreeMap<String, Approver>, Vec<String>) {
    let mut problems = Vec::new();
    let mut out = from_journal(state_dir).unwrap_or_else(|e| {
        problems.push(e);
        BTreeMap::new()
    });
    match from_files(desired) {
        Ok(f) => {
            for d in f {
                out.entry(d).or_insert_with(|| Approver {
                    by: format!("file {FILE_NAME}"),
                    at: None,
                });
            }
        }
        Err(e) => problems.push(e),
    }
    (out, problems)
}

/// The approvals a `reconcile --ha` pass read from etcd, for the gates of
/// the same pass, which add them to the journal's and the file's. Set at
/// the start of each leader's pass (and emptied when etcd could not be
/// read: a missing approval only holds changes back).
#[derive(Debug, Default)]
pub struct FromEtcd(Mutex<BTreeMap<String, Approver>>);

impl FromEtcd {
    /// Replaces the approvals with those of `read` (from
    /// [`crate::ha::shared::read`]); the first of a digest counts.
    pub fn set(&self, read: &[crate::ha::shared::Approval]) {
        let mut m = BTreeMap::new();
        for a in read {
            m.entry(a.digest.clone()).or_insert_with(|| Approver {
                by: a.user.clone(),
                at: Some(a.at.clone()),
            });
        }
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = m;
    }

    /// Adds them to `out`, where a digest already approved (in the
    /// journal) keeps its first approver.
    pub fn merge_into(&self, out: &mut BTreeMap<String, Approver>) {
        for (d, a) in self.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out.entry(d.clone()).or_insert_with(|| a.clone());
        }
    }
}

/// Records the approval of `digest` in etcd at `url` (`handover approve
/// --ha`), for the management group `group`, with the OS user and the
/// time; returns the user. Older approvals beyond
/// [`crate::ha::shared::KEEP_APPROVALS`] are deleted. Nothing is recorded
/// for a bad digest or an etcd that cannot be reached.
pub fn approve_in_etcd(
    url: &str,
    security: &crate::ha::secure::Security,
    group: &str,
    digest: &str,
    target: &str,
) -> Result<String, String> {
    if !is_digest(digest) {
        return Err(format!(
            "error: {digest:?} is not an approval digest; expected fnv1a64: and 16 hex digits, as `handover plan` prints it after \"Digest:\". Nothing was recorded."
        ));
    }
    let url = crate::ha::url::parse(url).map_err(|e| format!("error: --ha: {e}"))?;
    let keys = crate::ha::Keys::new(&url.prefix, group);
    let user = crate::run::origin::os_user();
    let (u, d, t) = (user.clone(), digest.to_string(), target.to_string());
    let shown = url.to_string();
    crate::ha::node::with_client(&url, security, |mut c| async move {
        crate::ha::shared::approve(&mut c, &keys, &d, &u, &t)
            .await
            .map_err(|e| format!("cannot record the approval in etcd at {shown}: {e}"))
    })
    .map_err(|e| format!("error: {e}. Nothing was recorded."))?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_names_digests_with_comments_and_notes() {
        let text = "# approvals for contoso-prod\n\nfnv1a64:0123456789abcdef alice CHG0042\n  fnv1a64:fedcba9876543210 # bob\n";
        assert_eq!(
            parse_file(text, "a.txt").unwrap(),
            vec!["fnv1a64:0123456789abcdef", "fnv1a64:fedcba9876543210"]
        );
    }

    #[test]
    fn a_line_without_a_digest_is_refused_with_its_place() {
        let e =
            parse_file("fnv1a64:0123456789abcdef\n  approve-all please\n", "a.txt").unwrap_err();
        assert!(
            e.starts_with("a.txt:2:3: \"approve-all\" is not an approval digest"),
            "{e}"
        );
    }

    #[test]
    fn approvals_from_etcd_join_the_journal_s_and_the_first_approver_counts() {
        let from = FromEtcd::default();
        let a = |d: &str, u: &str| crate::ha::shared::Approval {
            digest: d.into(),
            user: u.into(),
            at: "t".into(),
        };
        from.set(&[
            a("fnv1a64:1", "bob"),
            a("fnv1a64:1", "eve"),
            a("fnv1a64:2", "carol"),
        ]);
        let mut out = BTreeMap::new();
        out.insert(
            "fnv1a64:2".to_string(),
            Approver {
                by: "alice".into(),
                at: None,
            },
        );
        from.merge_into(&mut out);
        assert_eq!(out["fnv1a64:1"].by, "bob");
        assert_eq!(out["fnv1a64:2"].by, "alice");
        // A later pass that reads nothing from etcd forgets them.
        from.set(&[]);
        let mut out = BTreeMap::new();
        from.merge_into(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn approve_in_etcd_refuses_a_bad_digest_before_reaching_etcd() {
        let e = approve_in_etcd(
            "etcd://127.0.0.1:1",
            &crate::ha::secure::Security::default(),
            "g",
            "approve-all",
            "",
        )
        .unwrap_err();
        assert!(e.contains("is not an approval digest"), "{e}");
        assert!(e.ends_with("Nothing was recorded."), "{e}");
    }
}
