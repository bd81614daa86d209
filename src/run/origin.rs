//! Who ran a run and from which commit: what the journal records beside
//! the revision, so `history` can answer "who changed this, from what".
//!
//! Owns finding the OS user (the environment's `USER`, then `LOGNAME`,
//! then Windows' `USERNAME`) and the git commit the desired files were
//! taken from (`git rev-parse HEAD` in their folder, with `+dirty` when
//! `git status` lists one of them as changed or untracked). Best effort:
//! no git, no repository or no user gives an empty string, never an error
//! and never a delay beyond two git calls of at most 10 s each. Must not
//! decide anything.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The OS user running handover, or empty when the environment does not
/// say.
pub fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_default()
}

/// How long each of the two git calls may take: both read local files
/// only, so a longer one means something is wrong, and the run goes on
/// without a commit.
const GIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs git with `args` in `dir` (through the reconcile loop's git
/// runner: no prompts, a time limit); its trimmed stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    crate::reconcile::source::git::run(Some(dir), args, GIT_TIMEOUT).ok()
}

/// The commit of the git work tree holding `paths` (the first path's
/// folder decides which), with `+dirty` when one of `paths` differs from
/// it; empty when they are not in a git work tree or git is not
/// installed.
pub fn git_commit(paths: &[PathBuf]) -> String {
    let Some(first) = paths.first() else {
        return String::new();
    };
    let dir = if first.is_dir() {
        first.clone()
    } else {
        match first.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let Some(head) = git(&dir, &["rev-parse", "--verify", "-q", "HEAD"]) else {
        return String::new();
    };
    let abs: Vec<String> = paths
        .iter()
        .map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["status", "--porcelain", "--"];
    args.extend(abs.iter().map(String::as_str));
    match git(&dir, &args) {
        Some(s) if s.is_empty() => head,
        Some(_) => format!("{head}+dirty"),
        // Status failed after HEAD answered: say what is known.
        None => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_repository_there_is_no_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("topology.yaml");
        std::fs::write(&f, "x").unwrap();
        assert_eq!(git_commit(&[f]), "");
        assert_eq!(git_commit(&[]), "");
    }
}
