//! Processes and ports for tests that run the binary in the background,
//! and the polls that wait on them.
//!
//! Owns killing a child however a test ends, picking a free loopback port,
//! polling with a deadline ([`until`], [`Killed::until`]) and reading a
//! finished command's code and output ([`outcome`]). Must not decide what
//! a test runs or asserts.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

/// A child process killed and reaped when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Killed {
    /// Polls `f` like [`until`], but fails at once, with the process's
    /// stderr (when it is piped), if the process has exited.
    pub fn until<T>(&mut self, secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        until(secs, what, || {
            if let Some(st) = self.0.try_wait().unwrap() {
                panic!(
                    "the process exited ({st}) while waiting for {what}:\n{}",
                    self.stderr()
                );
            }
            f()
        })
    }

    /// Waits for the exit (deadline `secs`); returns the code and stderr.
    pub fn wait(mut self, secs: u64) -> (i32, String) {
        let status = until(secs, "the process to exit", || self.0.try_wait().unwrap());
        (status.code().unwrap_or(-1), self.stderr())
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// What the process wrote to its piped stderr so far (empty when not
    /// piped or already taken).
    fn stderr(&mut self) -> String {
        let mut err = String::new();
        if let Some(mut e) = self.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

/// Polls `f` every 15 ms until it returns `Some`, for at most `secs`.
pub fn until<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// A loopback port nothing listens on at the moment of asking.
pub fn free_port() -> u16 {
    free_addr().port()
}

/// A loopback address nothing listens on at the moment of asking.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A finished command's exit code (-1 when killed by a signal), stdout and
/// stderr.
pub fn outcome(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
