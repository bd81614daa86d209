//! Running the real `git` binary: no shell, arguments as a list, no
//! prompts, a time limit.
//!
//! Owns only process handling; which commands to run is `source`'s job.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one git command may take before it is killed (a fetch from an
/// unreachable host, say).
pub(crate) const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a git command did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` could not be started.
    #[error("cannot run git ({0}); is git installed and on PATH?")]
    Spawn(#[source] std::io::Error),
    /// The command ran longer than its limit and was killed.
    #[error("`git {args}` took longer than {secs} s and was stopped")]
    Timeout {
        /// The arguments, joined by spaces.
        args: String,
        /// The limit in seconds.
        secs: u64,
    },
    /// The command exited non-zero.
    #[error("`git {args}` failed: {stderr}")]
    Failed {
        /// The arguments, joined by spaces.
        args: String,
        /// What git said on stderr, trimmed.
        stderr: String,
    },
}

/// Runs `git ARGS` (in `dir` when given) and returns its stdout, trimmed.
pub(crate) fn run(
    dir: Option<&Path>,
    args: &[&str],
    timeout: Duration,
) -> Result<String, GitError> {
    run_env(dir, args, &[], timeout)
}

/// [`run`] with extra environment variables.
pub(crate) fn run_env(
    dir: Option<&Path>,
    args: &[&str],
    envs: &[(&str, &OsStr)],
    timeout: Duration,
) -> Result<String, GitError> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.args(args)
        .envs(envs.iter().copied())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(GitError::Spawn)?;
    // Read both pipes on threads so a chatty command cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let joined = || args.join(" ");
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(GitError::Spawn)? {
            Some(st) => break st,
            None if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(GitError::Timeout {
                    args: joined(),
                    secs: timeout.as_secs(),
                });
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    if status.success() {
        Ok(String::from_utf8_lossy(&stdout).trim().to_string())
    } else {
        Err(GitError::Failed {
            args: joined(),
            stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_stdout_and_reports_failures_with_stderr() {
        let v = run(None, &["--version"], GIT_TIMEOUT).unwrap();
        assert!(v.starts_with("git version"), "{v}");
        let dir = tempfile::tempdir().unwrap();
        let e = run(Some(dir.path()), &["rev-parse", "HEAD"], GIT_TIMEOUT).unwrap_err();
        match e {
            GitError::Failed { args, stderr } => {
                assert_eq!(args, "rev-parse HEAD");
                assert!(stderr.contains("not a git repository"), "{stderr}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
