//! A version 2 session: one long-lived provider process exchanging JSON
//! lines with ids (docs/provider-protocol.md section 1).
//!
//! Owns the session's process (started directly, never through a shell,
//! in a process tree of its own: `super::child`), writing one request line and reading
//! one response line within a timeout and a size cap, keeping the end of
//! its stderr for messages, and ending it: cleanly by closing stdin, or by
//! killing the whole tree. Must not decide what a failure means
//! (the exec provider restarts the session; the executor retries) and
//! must not know about plans.

use super::child::{Armed, Tree};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};

/// How long a session may take to exit after its stdin is closed before
/// its process tree is killed.
const GRACE: Duration = Duration::from_secs(2);

/// Why one exchange failed. Every one of them ends the session.
#[derive(Debug)]
pub(crate) enum Fault {
    /// No complete line within the request's timeout.
    TimedOut,
    /// A line longer than the cap.
    TooLarge,
    /// The program closed stdout (exited) before answering.
    Ended,
    /// Writing the request or reading the answer failed.
    Io(std::io::Error),
}

/// One running session.
#[derive(Debug)]
pub(crate) struct Session {
    child: Tree,
    pid: Option<u32>,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    next_id: u64,
    /// A request was written and its answer not read: the caller dropped
    /// the call (the process group was killed then) or it failed. The
    /// session cannot be used any more.
    broken: bool,
    closed: bool,
}

impl Session {
    /// Starts `program` with `args` as a session.
    pub fn start(program: &Path, args: &[String], tail: usize) -> std::io::Result<Self> {
        // Ended by `close`, which closes stdin first, or by `Drop`.
        let mut child = Tree::spawn(program, args)?;
        let pid = child.id();
        let stdin = child.take_stdin();
        let stdout = BufReader::new(child.take_stdout().expect("piped"));
        let mut err = child.take_stderr().expect("piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let keep = stderr.clone();
        tokio::spawn(async move {
            let mut chunk = vec![0u8; 8192];
            while let Ok(n) = err.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                let mut buf = keep.lock().unwrap_or_else(|p| p.into_inner());
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > tail {
                    let cut = buf.len() - tail;
                    buf.drain(..cut);
                }
            }
        });
        Ok(Session {
            child,
            pid,
            stdin,
            stdout,
            stderr,
            next_id: 1,
            broken: false,
            closed: false,
        })
    }

    /// The number the next request gets.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// False once an exchange failed or was abandoned.
    pub fn usable(&self) -> bool {
        !self.broken && !self.closed
    }

    /// The end of the session's stderr so far.
    pub fn stderr_tail(&self) -> String {
        let buf = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&buf).trim_end().to_string()
    }

    /// Writes `line` (one JSON request and its newline) and reads one
    /// response line of at most `cap` bytes, all within `limit`. If the
    /// call is dropped half-way, the process tree is killed.
    pub async fn exchange(
        &mut self,
        line: &[u8],
        limit: Duration,
        cap: usize,
    ) -> Result<Vec<u8>, Fault> {
        self.broken = true;
        let guard = Armed::new(&mut self.child);
        let stdin = self.stdin.as_mut();
        let stdout = &mut self.stdout;
        let work = async {
            let stdin = stdin.ok_or(Fault::Ended)?;
            stdin.write_all(line).await.map_err(Fault::Io)?;
            stdin.flush().await.map_err(Fault::Io)?;
            read_line_capped(stdout, cap).await
        };
        let r = match tokio::time::timeout(limit, work).await {
            Ok(r) => r,
            Err(_) => Err(Fault::TimedOut),
        };
        // Not reaped yet: the group id is still the session's. On a fault
        // `close` kills it; on success it lives on.
        guard.disarm();
        if r.is_ok() {
            self.broken = false;
        }
        r
    }

    /// Ends the session: closes stdin and waits up to two seconds for the
    /// program to exit (`graceful`), then kills its whole process tree
    /// and reaps it.
    pub async fn close(&mut self, graceful: bool) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.stdin = None;
        if graceful && let Ok(Ok(status)) = tokio::time::timeout(GRACE, self.child.wait()).await {
            tracing::debug!(pid = ?self.pid, %status, "provider session ended");
            return;
        }
        self.child.kill().await;
    }
}

impl Drop for Session {
    /// A session dropped without `close` (the provider itself dropped at
    /// the end of a run, on success, Ctrl-C or SIGTERM): stdin is closed so
    /// the program sees end of input and exits; one still running after
    /// the grace period has its group killed.
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        self.stdin = None;
        let deadline = std::time::Instant::now() + GRACE;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if std::time::Instant::now() < deadline && !self.broken => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => break,
            }
        }
        tracing::debug!(pid = ?self.pid, "provider session did not end: killing its process tree");
        // Not reaped (try_wait said running): the group is still its own.
        self.child.start_kill();
    }
}

/// Reads up to and including the next newline; at most `cap` bytes before
/// it. Blank lines are skipped. End of file before a line: [`Fault::Ended`]
/// (a partial line at end of file is returned, for the caller to refuse).
async fn read_line_capped(r: &mut BufReader<ChildStdout>, cap: usize) -> Result<Vec<u8>, Fault> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await.map_err(Fault::Io)?;
        if buf.is_empty() {
            return if line.iter().all(u8::is_ascii_whitespace) {
                Err(Fault::Ended)
            } else {
                Ok(line)
            };
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(p) => (p + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if line.len() > cap + 1 {
            return Err(Fault::TooLarge);
        }
        if done {
            if line.iter().all(u8::is_ascii_whitespace) {
                line.clear();
                continue;
            }
            return Ok(line);
        }
    }
}
