//! Processes and ports for tests that run the binary in the background.
//!
//! Owns killing a child however a test ends, and picking a free loopback
//! port. Must not decide what a test runs or asserts.

use std::process::Child;

/// A child process killed and reaped when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nothing listens on at the moment of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
