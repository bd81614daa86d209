//! Where the desired topology comes from, and which revision of it is there.
//!
//! Owns the two sources of `reconcile`: a local path (a file or a directory
//! of YAML files; its revision is a digest of the files' contents) and a git
//! repository (a local path or a URL, at a branch, tag or commit, optionally
//! a sub-path; its revision is the commit). For git, the real `git` binary
//! keeps a bare clone under the state directory, fetches it on each
//! [`Fetcher::fetch`], and checks each commit out into its own directory, so
//! a revision's files never change under the loader. Must not plan or apply;
//! whether a revision is adopted is [`revision`]'s decision; what the loop
//! takes from the source at the start of a pass is [`desired`]'s, and
//! noticing edits of a local path is [`watch`]'s.

pub mod desired;
pub(crate) mod git;
pub mod revision;
pub mod watch;

use self::git::{GIT_TIMEOUT, GitError};
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::Topology;
use std::ffi::OsStr;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// A desired-topology source, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `--desired PATH`: a file, or a directory of `*.yaml` / `*.yml` files.
    Path(PathBuf),
    /// `--git REPO [--ref REF] [--path P]`.
    Git {
        /// A local path or a URL, anything `git clone` accepts.
        repo: String,
        /// A branch, tag or commit; `HEAD` (the default branch) when absent.
        reference: Option<String>,
        /// The file or directory inside the repository; its root when absent.
        path: Option<PathBuf>,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Path(p) => write!(f, "{}", p.display()),
            Source::Git {
                repo,
                reference,
                path,
            } => {
                write!(f, "{repo}@{}", reference.as_deref().unwrap_or("HEAD"))?;
                if let Some(p) = path {
                    write!(f, ":{}", p.display())?;
                }
                Ok(())
            }
        }
    }
}

/// One version of the desired topology, ready to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// The full commit id for git; `digest:` and 16 hex digits of the
    /// files' contents for a path.
    pub id: String,
    /// The first 12 characters of the commit (for git), or the digest's 16
    /// hex digits: what logs and `/status` show.
    pub short: String,
    /// The file or directory to load.
    pub files: PathBuf,
    /// For git, the directory the commit was checked out into (diagnostics
    /// name files relative to it, as `SHORT:path`); `None` for a path.
    pub checkout: Option<PathBuf>,
}

/// Why a source could not give a revision. All of these are worth retrying
/// later (with backoff); none means the desired topology is invalid.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A git command failed (the repository is unreachable, say).
    #[error(transparent)]
    Git(#[from] GitError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The branch, tag or commit does not exist in the repository.
    #[error("'{reference}' is not a branch, tag or commit of {repo} (after fetching)")]
    RefNotFound {
        /// The repository.
        repo: String,
        /// The reference asked for.
        reference: String,
    },
    /// `--path` names nothing at this commit.
    #[error("'{path}' does not exist at commit {commit}; check --path")]
    PathNotFound {
        /// The path inside the repository.
        path: String,
        /// The commit (short).
        commit: String,
    },
    /// An argument that cannot be used safely (an absolute `--path`, one
    /// with `..`, a reference starting with `-`, a non-UTF-8 state path).
    #[error("{0}")]
    Refused(String),
    /// The files changed while they were being read; read them again.
    #[error("{path} changed while it was being read; it will be read again")]
    Changed {
        /// The desired path.
        path: String,
    },
}

/// Reads revisions from one [`Source`], keeping its git cache in a state
/// directory.
#[derive(Clone, Debug)]
pub struct Fetcher {
    source: Source,
    /// `<state-dir>/git/<digest of the repository>`: `repo.git` (the bare
    /// clone) and `rev/<commit>` (checkouts).
    cache: PathBuf,
}

impl Fetcher {
    /// A fetcher for `source`; git data goes under `<state_dir>/git/`.
    pub fn new(source: Source, state_dir: &Path) -> Result<Fetcher, SourceError> {
        let key = match &source {
            Source::Path(_) => String::new(),
            Source::Git {
                repo,
                reference,
                path,
            } => {
                if reference
                    .as_deref()
                    .is_some_and(|r| r.starts_with('-') || r.is_empty())
                {
                    return Err(SourceError::Refused(format!(
                        "--ref '{}' is not a branch, tag or commit name",
                        reference.as_deref().unwrap_or_default()
                    )));
                }
                if repo.starts_with('-') {
                    return Err(SourceError::Refused(format!(
                        "--git '{repo}' is not a repository path or URL"
                    )));
                }
                if let Some(p) = path {
                    check_inner_path(p)?;
                }
                format!("{:016x}", crate::hash::fnv1a64(repo.as_bytes()))
            }
        };
        // Absolute: git runs with other working directories (a checkout's
        // work tree), against which a relative `--git-dir` would resolve.
        let state_dir = std::path::absolute(state_dir).map_err(|e| {
            SourceError::Refused(format!(
                "the state directory {} cannot be made absolute: {e}",
                state_dir.display()
            ))
        })?;
        Ok(Fetcher {
            source,
            cache: state_dir.join("git").join(key),
        })
    }

    /// The source this fetcher reads.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Brings the source up to date and returns its current revision. For
    /// git: clones on first use, then fetches, resolves the reference to a
    /// commit, and checks that commit out (once per commit). Blocking; run
    /// it off the async runtime's threads (`spawn_blocking`).
    pub fn fetch(&self) -> Result<Revision, SourceError> {
        match &self.source {
            Source::Path(p) => {
                let d = digest_path(p)?;
                Ok(Revision {
                    id: format!("digest:{d:016x}"),
                    short: format!("{d:016x}"),
                    files: p.clone(),
                    checkout: None,
                })
            }
            Source::Git {
                repo,
                reference,
                path,
            } => self.fetch_git(
                repo,
                reference.as_deref().unwrap_or("HEAD"),
                path.as_deref(),
            ),
        }
    }

    /// Loads and validates a revision. The outer error means "try again
    /// later" (the files changed while being read); the inner one means the
    /// revision is invalid, with diagnostics that name git files as
    /// `SHORT:path/in/repo`.
    pub fn load(&self, rev: &Revision) -> Result<Result<Topology, Diagnostics>, SourceError> {
        let loaded = crate::load::topology(std::slice::from_ref(&rev.files));
        match &rev.checkout {
            None => {
                // An editor may have saved between the digest and the read.
                let again = format!("digest:{:016x}", digest_path(&rev.files)?);
                if again != rev.id {
                    return Err(SourceError::Changed {
                        path: rev.files.display().to_string(),
                    });
                }
                Ok(loaded)
            }
            Some(dir) => Ok(loaded.map_err(|d| relabel(d, dir, &rev.short))),
        }
    }

    /// Removes checkouts of commits other than `keep` (the revision in use
    /// and the newest one, say).
    pub fn prune(&self, keep: &[&str]) -> Result<(), SourceError> {
        let revs = self.cache.join("rev");
        let entries = match std::fs::read_dir(&revs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&revs, e)),
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if !keep.iter().any(|k| OsStr::new(k) == name) {
                std::fs::remove_dir_all(e.path()).map_err(|err| io_err(&e.path(), err))?;
            }
        }
        Ok(())
    }

    fn fetch_git(
        &self,
        repo: &str,
        reference: &str,
        inner: Option<&Path>,
    ) -> Result<Revision, SourceError> {
        let bare = self.cache.join("repo.git");
        let bare_s = utf8(&bare)?;
        if bare.join("HEAD").is_file() {
            git::run(
                None,
                &[
                    "--git-dir",
                    bare_s,
                    "fetch",
                    "--quiet",
                    "--prune",
                    "--force",
                    "--tags",
                    "--",
                    repo,
                    "+refs/heads/*:refs/heads/*",
                ],
                GIT_TIMEOUT,
            )?;
        } else {
            // Clone beside, then rename, so a half-made clone is never used.
            let tmp = self
                .cache
                .join(format!("repo.git.tmp-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            std::fs::create_dir_all(&self.cache).map_err(|e| io_err(&self.cache, e))?;
            git::run(
                None,
                &["clone", "--bare", "--quiet", "--", repo, utf8(&tmp)?],
                GIT_TIMEOUT,
            )?;
            let _ = std::fs::remove_dir_all(&bare);
            std::fs::rename(&tmp, &bare).map_err(|e| io_err(&bare, e))?;
        }
        let spec = format!("{reference}^{{commit}}");
        let commit = git::run(
            None,
            &[
                "--git-dir",
                bare_s,
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ],
            GIT_TIMEOUT,
        )
        .map_err(|e| match e {
            GitError::Failed { .. } => SourceError::RefNotFound {
                repo: repo.to_string(),
                reference: reference.to_string(),
            },
            other => other.into(),
        })?;
        let short: String = commit.chars().take(12).collect();
        let checkout = self.checkout(&bare, &commit)?;
        let files = match inner {
            Some(p) => checkout.join(p),
            None => checkout.clone(),
        };
        if !files.exists() {
            return Err(SourceError::PathNotFound {
                path: inner.map(|p| p.display().to_string()).unwrap_or_default(),
                commit: short,
            });
        }
        Ok(Revision {
            id: commit,
            short,
            files,
            checkout: Some(checkout),
        })
    }

    /// `rev/<commit>`, checked out once; a checkout is written beside and
    /// renamed into place so it is complete or absent.
    fn checkout(&self, bare: &Path, commit: &str) -> Result<PathBuf, SourceError> {
        let revs = self.cache.join("rev");
        let dir = revs.join(commit);
        if dir.is_dir() {
            return Ok(dir);
        }
        let tmp = self
            .cache
            .join(format!("checkout.tmp-{}", std::process::id()));
        let index = self.cache.join(format!("index.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_file(&index);
        std::fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
        // An empty commit has nothing to check out; `checkout -- .` would
        // fail on the unmatched pathspec, so ask for the tree first.
        let tree = git::run(
            None,
            &["--git-dir", utf8(bare)?, "ls-tree", "--name-only", commit],
            GIT_TIMEOUT,
        )?;
        if !tree.is_empty() {
            git::run_env(
                None,
                &[
                    "--git-dir",
                    utf8(bare)?,
                    "--work-tree",
                    utf8(&tmp)?,
                    "checkout",
                    "--force",
                    commit,
                    "--",
                    ".",
                ],
                &[("GIT_INDEX_FILE", index.as_os_str())],
                GIT_TIMEOUT,
            )?;
        }
        let _ = std::fs::remove_file(&index);
        std::fs::create_dir_all(&revs).map_err(|e| io_err(&revs, e))?;
        std::fs::rename(&tmp, &dir).map_err(|e| io_err(&dir, e))?;
        Ok(dir)
    }
}

fn io_err(path: &Path, source: std::io::Error) -> SourceError {
    SourceError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn utf8(p: &Path) -> Result<&str, SourceError> {
    p.to_str().ok_or_else(|| {
        SourceError::Refused(format!(
            "{}: the state directory's path must be UTF-8 to be passed to git",
            p.display()
        ))
    })
}

/// `--path` must stay inside the repository.
fn check_inner_path(p: &Path) -> Result<(), SourceError> {
    let ok = !p.as_os_str().is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if ok {
        Ok(())
    } else {
        Err(SourceError::Refused(format!(
            "--path '{}' must be a relative path inside the repository (no '..', not absolute)",
            p.display()
        )))
    }
}

/// Names files inside a checkout as `SHORT:path/in/repo`, as `git show`
/// does, instead of the cache path nobody knows.
fn relabel(d: Diagnostics, checkout: &Path, short: &str) -> Diagnostics {
    let prefix = format!("{}/", checkout.display());
    let label = format!("{short}:");
    let fix = |s: &str| s.replace(&prefix, &label);
    Diagnostics(
        d.0.into_iter()
            .map(|mut x: Diagnostic| {
                if let Some(pos) = &mut x.pos {
                    pos.file = Arc::from(fix(&pos.file));
                }
                x.message = fix(&x.message);
                x
            })
            .collect(),
    )
}

/// A digest of a file, or of every `*.yaml` / `*.yml` file under a
/// directory (hidden entries skipped), by relative path and content in
/// sorted order: equal files give equal digests on any machine.
pub fn digest_path(p: &Path) -> Result<u64, SourceError> {
    let meta = std::fs::metadata(p).map_err(|e| io_err(p, e))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        collect_yaml(p, p, &mut files)?;
        files.sort();
    } else {
        files.push((String::new(), p.to_path_buf()));
    }
    // FNV-1a (crate::hash): a change detector, not a security measure.
    let mut h = crate::hash::Fnv1a::new();
    for (rel, path) in files {
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
        h = h.bytes(rel.as_bytes()).byte(0);
        h = h.bytes(&(bytes.len() as u64).to_le_bytes()).bytes(&bytes);
    }
    Ok(h.finish())
}

fn collect_yaml(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), SourceError> {
    for e in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let e = e.map_err(|err| io_err(dir, err))?;
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        let ty = e.file_type().map_err(|err| io_err(&path, err))?;
        if ty.is_dir() {
            collect_yaml(root, &path, out)?;
        } else if matches!(
            path.extension().and_then(|x| x.to_str()),
            Some("yaml" | "yml")
        ) {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small valid topology; `gw` names the agents' primary gateway.
    pub(crate) fn topology_yaml(gw: &str) -> String {
        format!(
            "apiVersion: handover/v1\nkind: Topology\nmetadata:\n  name: test\n\
             managementServers:\n  - name: ms1.contoso.local\n\
             gateways:\n  - name: gw1.contoso.local\n    primary: ms1.contoso.local\n\
             \x20 - name: gw2.contoso.local\n    primary: ms1.contoso.local\n\
             agents:\n  - name: web01.contoso.local\n    primary: {gw}\n"
        )
    }

    /// A git repository in a temp dir, committing with a fixed identity.
    pub(crate) struct Repo {
        pub dir: tempfile::TempDir,
    }

    impl Repo {
        pub fn new() -> Repo {
            let r = Repo {
                dir: tempfile::tempdir().unwrap(),
            };
            r.git(&["init", "--quiet", "--initial-branch=main"]);
            r
        }

        pub fn git(&self, args: &[&str]) -> String {
            let out = std::process::Command::new("git")
                .current_dir(self.dir.path())
                .args([
                    "-c",
                    "user.name=Test",
                    "-c",
                    "user.email=test@example.invalid",
                ])
                .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        }

        /// Writes `rel` and commits it; returns the commit id.
        pub fn commit(&self, rel: &str, text: &str) -> String {
            let p = self.dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            self.git(&["add", "--all"]);
            self.git(&["commit", "--quiet", "-m", rel]);
            self.git(&["rev-parse", "HEAD"])
        }

        pub fn url(&self) -> String {
            self.dir.path().to_str().unwrap().to_string()
        }
    }

    fn git_source(repo: &Repo, reference: Option<&str>, path: Option<&str>) -> Source {
        Source::Git {
            repo: repo.url(),
            reference: reference.map(str::to_string),
            path: path.map(PathBuf::from),
        }
    }

    #[test]
    fn git_follows_a_branch_and_loads_each_commit() {
        let repo = Repo::new();
        let c1 = repo.commit("topology/desired.yaml", &topology_yaml("gw1.contoso.local"));
        let state = tempfile::tempdir().unwrap();
        let f = Fetcher::new(
            git_source(&repo, Some("main"), Some("topology")),
            state.path(),
        )
        .unwrap();
        let r1 = f.fetch().unwrap();
        assert_eq!(r1.id, c1);
        assert_eq!(r1.short, c1[..12]);
        let t = f.load(&r1).unwrap().unwrap();
        assert_eq!(t.agents[0].parents.primary.to_string(), "gw1.contoso.local");

        // Unchanged: same revision, no new checkout.
        assert_eq!(f.fetch().unwrap(), r1);

        let c2 = repo.commit("topology/desired.yaml", &topology_yaml("gw2.contoso.local"));
        let r2 = f.fetch().unwrap();
        assert_eq!(r2.id, c2);
        let t = f.load(&r2).unwrap().unwrap();
        assert_eq!(t.agents[0].parents.primary.to_string(), "gw2.contoso.local");
        // The first checkout is untouched by the second.
        assert!(r1.files.join("desired.yaml").is_file());

        f.prune(&[&c2]).unwrap();
        assert!(!r1.files.exists());
        assert!(r2.files.is_dir());
    }

    #[test]
    fn git_pins_a_tag_and_refuses_an_unknown_ref() {
        let repo = Repo::new();
        let c1 = repo.commit("desired.yaml", &topology_yaml("gw1.contoso.local"));
        repo.git(&["tag", "v1"]);
        repo.commit("desired.yaml", &topology_yaml("gw2.contoso.local"));
        let state = tempfile::tempdir().unwrap();
        let f = Fetcher::new(git_source(&repo, Some("v1"), None), state.path()).unwrap();
        assert_eq!(f.fetch().unwrap().id, c1);

        let f = Fetcher::new(git_source(&repo, Some("nope"), None), state.path()).unwrap();
        let e = f.fetch().unwrap_err();
        assert!(matches!(e, SourceError::RefNotFound { .. }), "{e}");
        assert!(e.to_string().contains("'nope'"), "{e}");
    }

    #[test]
    fn git_default_ref_is_the_default_branch_and_a_missing_path_is_named() {
        let repo = Repo::new();
        let c1 = repo.commit("desired.yaml", &topology_yaml("gw1.contoso.local"));
        let state = tempfile::tempdir().unwrap();
        let f = Fetcher::new(git_source(&repo, None, Some("elsewhere")), state.path()).unwrap();
        let e = f.fetch().unwrap_err();
        match e {
            SourceError::PathNotFound { path, commit } => {
                assert_eq!(path, "elsewhere");
                assert_eq!(commit, c1[..12]);
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn invalid_commit_diagnostics_name_the_commit_and_the_repo_path() {
        let repo = Repo::new();
        let c = repo.commit("topology/desired.yaml", "agents: [\n");
        let state = tempfile::tempdir().unwrap();
        let f = Fetcher::new(git_source(&repo, None, Some("topology")), state.path()).unwrap();
        let r = f.fetch().unwrap();
        let d = f.load(&r).unwrap().unwrap_err();
        let text = d.to_string();
        assert!(
            text.contains(&format!("{}:topology/desired.yaml", &c[..12])),
            "{text}"
        );
        assert!(!text.contains(state.path().to_str().unwrap()), "{text}");
    }

    #[test]
    fn an_unreachable_repository_is_a_git_error() {
        let state = tempfile::tempdir().unwrap();
        let missing = state.path().join("no-such-repo");
        let f = Fetcher::new(
            Source::Git {
                repo: missing.display().to_string(),
                reference: None,
                path: None,
            },
            state.path(),
        )
        .unwrap();
        assert!(matches!(f.fetch(), Err(SourceError::Git(_))));
    }

    #[test]
    fn unsafe_arguments_are_refused() {
        let state = tempfile::tempdir().unwrap();
        for (reference, path) in [
            (Some("--upload-pack=x"), None),
            (None, Some("../etc")),
            (None, Some("/etc")),
        ] {
            let s = Source::Git {
                repo: "r".into(),
                reference: reference.map(str::to_string),
                path: path.map(PathBuf::from),
            };
            assert!(
                matches!(Fetcher::new(s, state.path()), Err(SourceError::Refused(_))),
                "{reference:?} {path:?}"
            );
        }
    }

    #[test]
    fn a_path_revision_is_a_content_digest() {
        let dir = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            topology_yaml("gw1.contoso.local"),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let f = Fetcher::new(Source::Path(dir.path().to_path_buf()), state.path()).unwrap();
        let r1 = f.fetch().unwrap();
        assert!(r1.id.starts_with("digest:"), "{}", r1.id);
        assert!(f.load(&r1).unwrap().is_ok());
        // Other files do not count; YAML content does.
        std::fs::write(dir.path().join("notes.txt"), "changed").unwrap();
        assert_eq!(f.fetch().unwrap().id, r1.id);
        std::fs::write(
            dir.path().join("a.yaml"),
            topology_yaml("gw2.contoso.local"),
        )
        .unwrap();
        let r2 = f.fetch().unwrap();
        assert_ne!(r2.id, r1.id);
        // A save between fetch and load is noticed, not loaded as r1.
        std::fs::write(
            dir.path().join("a.yaml"),
            topology_yaml("gw1.contoso.local"),
        )
        .unwrap();
        assert!(matches!(f.load(&r2), Err(SourceError::Changed { .. })));
        assert_eq!(f.fetch().unwrap().id, r1.id);
    }
}
