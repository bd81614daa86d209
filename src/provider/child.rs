//! A provider program and everything it starts, as one tree that is killed
//! whole.
//!
//! Owns starting an `exec:` program with its three streams piped, in a
//! process tree of its own (on Unix a process group the program leads, on
//! Windows a job object that the program and its children belong to, both
//! through `process-wrap`), and ending that tree: a wrapper script's
//! children die with it, and so does a call abandoned half-way ([`Armed`]).
//! Must not read or write the streams, time calls out or judge answers
//! (`super::exec`, `super::session`).

use process_wrap::tokio::{ChildWrapper, CommandWrap};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

/// A running provider program and its process tree.
#[derive(Debug)]
pub(super) struct Tree(Box<dyn ChildWrapper>);

impl Tree {
    /// Starts `program` with `args` (never through a shell), stdin, stdout
    /// and stderr piped, leading a tree of its own.
    pub fn spawn(program: &Path, args: &[String]) -> std::io::Result<Tree> {
        let mut cmd = CommandWrap::with_new(program, |c| {
            c.args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        });
        #[cfg(unix)]
        cmd.wrap(process_wrap::tokio::ProcessGroup::leader());
        #[cfg(windows)]
        cmd.wrap(process_wrap::tokio::JobObject);
        cmd.spawn().map(Tree)
    }

    /// The program's process id, while it has not been reaped.
    pub fn id(&self) -> Option<u32> {
        self.0.id()
    }

    /// Its stdin, once.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.0.stdin().take()
    }

    /// Its stdout, once.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.0.stdout().take()
    }

    /// Its stderr, once.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.0.stderr().take()
    }

    /// Waits for the program to exit and reaps it.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.0.wait().await
    }

    /// The program's exit status, if it has exited (reaping it).
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.0.try_wait()
    }

    /// Kills the whole tree now (SIGKILL to the group; the job terminated)
    /// without waiting. A tree already gone is no error.
    pub fn start_kill(&mut self) {
        if let Err(e) = self.0.start_kill() {
            tracing::debug!(pid = ?self.0.id(), "killing the provider's process tree: {e}");
        }
    }

    /// Kills the whole tree and reaps the program.
    pub async fn kill(&mut self) {
        self.start_kill();
        let _ = self.0.wait().await;
    }
}

/// Kills a [`Tree`] if dropped while armed: a call abandoned before its
/// program was reaped (its future dropped, as `ha::Fenced` does at the
/// lease deadline) leaves nothing running, not even a wrapper's children.
pub(super) struct Armed<'a>(Option<&'a mut Tree>);

impl<'a> Armed<'a> {
    /// Arms a guard over `tree`.
    pub fn new(tree: &'a mut Tree) -> Self {
        Armed(Some(tree))
    }

    /// The tree, to use while the guard is armed.
    pub fn tree(&mut self) -> &mut Tree {
        self.0.as_deref_mut().expect("armed until disarmed")
    }

    /// The exchange finished (or the program was reaped): nothing to kill
    /// on drop.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if let Some(tree) = self.0.take() {
            tracing::debug!(pid = ?tree.id(), "provider call abandoned: killing its process tree");
            tree.start_kill();
        }
    }
}
