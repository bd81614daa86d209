//! Finding the programs some integration tests drive (git, Graphviz's
//! `dot`, python3, etcd, openssl, Chromium and chromedriver), and the one
//! rule for when one is missing.
//!
//! Owns the lookup: an environment variable that names the program (a path,
//! or a name looked up in turn), else each candidate name on `PATH`, never a
//! fixed directory such as `/usr/bin`. Owns the rule: with `CI=true` a
//! missing program fails the test loudly, since CI installs every one of
//! them; otherwise the test is skipped with the reason written straight to
//! the terminal, where `cargo test` shows it even for a passing test.
//! Must not install anything, and must not decide what a test does with
//! the program.
//!
//! Each test binary uses only part of this module. The set-up several
//! test files share lives in its submodules: `estate` (the examples copied
//! into a temporary directory, the test provider's state, `handover` run in
//! a directory), `gates` (the small estate the gate and rollout tests
//! move), `http` (a GET and `/status` of a running `reconcile --listen`),
//! `overload` (the rehearsal of examples/rollout-overload and its expected
//! output in docs/rollouts.md),
//! `process` (a child killed when the test ends, polls with a deadline, a
//! free port, a command's outcome) and `rig` (the test provider's rig for
//! the session tests).
#![allow(dead_code)]

pub mod estate;
pub mod gates;
pub mod http;
pub mod overload;
pub mod process;
pub mod rig;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A program a test needs, and how to get it.
pub struct Tool {
    /// Names to look for on `PATH`, in order (`["chromium", "chromium-browser"]`).
    pub names: &'static [&'static str],
    /// An environment variable that, when set, names the program instead.
    pub env: Option<&'static str>,
    /// How to install it, for the message (`apt-get install graphviz`).
    pub install: &'static str,
}

pub const GIT: Tool = Tool {
    names: &["git"],
    env: None,
    install: "apt-get install git",
};

pub const DOT: Tool = Tool {
    names: &["dot"],
    env: None,
    install: "apt-get install graphviz",
};

pub const PYTHON3: Tool = Tool {
    names: &["python3"],
    env: None,
    install: "apt-get install python3",
};

/// ha_etcd runs `etcd` and `etcdctl` by name, so no variable overrides them.
pub const ETCD: Tool = Tool {
    names: &["etcd"],
    env: None,
    install: "apt-get install etcd-server",
};

pub const ETCDCTL: Tool = Tool {
    names: &["etcdctl"],
    env: None,
    install: "apt-get install etcd-client",
};

pub const OPENSSL: Tool = Tool {
    names: &["openssl"],
    env: None,
    install: "apt-get install openssl",
};

pub const CHROMIUM: Tool = Tool {
    names: &["chromium", "chromium-browser", "google-chrome"],
    env: Some("CHROMIUM"),
    install: "apt-get install chromium",
};

pub const CHROMEDRIVER: Tool = Tool {
    names: &["chromedriver"],
    env: Some("CHROMEDRIVER"),
    install: "apt-get install chromium-driver",
};

/// True when the tests run under CI (`CI=true`, as GitHub Actions and
/// `.ci/run` set it): every tool must then be present.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `name` on `PATH`: the first directory holding an executable file of that
/// name (with `.exe` on Windows). A name with a directory part is taken as
/// a path.
pub fn on_path(name: &str) -> Option<PathBuf> {
    on_path_in(name, std::env::var_os("PATH").as_deref())
}

/// [`on_path`] over an explicit `PATH` value (for the helper's own tests).
pub fn on_path_in(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    let as_given = Path::new(name);
    if as_given.components().count() > 1 {
        return is_executable(as_given).then(|| as_given.to_path_buf());
    }
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    true
}

/// Where `tool` is, without any verdict: its environment variable first,
/// then each of its names on `PATH`.
pub fn locate(tool: &Tool) -> Option<PathBuf> {
    if let Some(var) = tool.env
        && let Some(value) = std::env::var_os(var)
        && !value.is_empty()
    {
        return on_path(&value.to_string_lossy());
    }
    tool.names.iter().find_map(|name| on_path(name))
}

/// The program a test needs, or `None` after saying, on the terminal, why
/// `test` is skipped. Under `CI=true` a missing program panics instead.
pub fn tool(tool: &Tool, test: &str) -> Option<PathBuf> {
    decide(tool, test, locate(tool), under_ci())
        .map_err(|why| skipped(&why))
        .ok()
}

/// [`tool`]'s verdict on what [`locate`] found, with CI given explicitly:
/// the program, or why the test is skipped. Panics when `ci` and nothing
/// was found.
pub fn decide(
    tool: &Tool,
    test: &str,
    found: Option<PathBuf>,
    ci: bool,
) -> Result<PathBuf, String> {
    if let Some(found) = found {
        return Ok(found);
    }
    let looked = match tool.env {
        Some(var) => format!("${var}, or {} on PATH", tool.names.join(" or ")),
        None => format!("{} on PATH", tool.names.join(" or ")),
    };
    let msg = format!(
        "{test} needs {} ({looked}; {})",
        tool.names[0], tool.install
    );
    if ci {
        panic!("{msg}: CI=true, where every tool a test needs must be installed");
    }
    Err(msg)
}

/// Writes `SKIPPED: why` straight to stderr. `eprintln!` would be captured
/// by the test harness and hidden when the test passes; a direct write is
/// not, so a skip is never silent.
pub fn skipped(why: &str) {
    // One write, so lines of tests running in parallel do not interleave.
    let _ = std::io::stderr().write_all(format!("\nSKIPPED: {why}\n").as_bytes());
}

/// Runs the openssl command in `dir` with `args` and fails the test, with
/// openssl's message, if it fails (certificates for the TLS tests).
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
