//! Estates for tests that drive the real binary: the examples under
//! `examples/topologies/`, copied into a temporary directory, the test
//! provider's state made from an observed file, and a `handover` command
//! that runs in such a directory.
//!
//! Owns where the examples are and the file names a copied estate uses
//! (`desired.yaml`, `estate.yaml`, `provider.json`). Must not decide what a
//! test runs or asserts.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The folder of the example `name` (`replace-gateway`, ...).
pub fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name)
}

/// A temporary directory holding `estate.yaml` (the example's observed
/// state, for a `sim:` target or `--observed`) and `desired.yaml`.
pub fn copy_example(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_example_into(name, tmp.path());
    tmp
}

/// Copies the example's `desired.yaml` and its `observed.yaml` (as
/// `estate.yaml`) into the existing directory `dir`.
pub fn copy_example_into(name: &str, dir: &Path) {
    std::fs::copy(example(name).join("observed.yaml"), dir.join("estate.yaml")).unwrap();
    std::fs::copy(example(name).join("desired.yaml"), dir.join("desired.yaml")).unwrap();
}

/// The test provider's state file content (`{"observed": ...}`) for the
/// observed file `observed`, loaded through the real loader.
pub fn provider_state(observed: &Path) -> Vec<u8> {
    let observed = handover::load::observed(observed).unwrap();
    serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap()
}

/// `handover` run in `dir`.
pub fn handover_in(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(dir);
    c
}

/// `handover ARGS` run in `dir`.
pub fn handover_with(dir: &Path, args: &[&str]) -> Command {
    let mut c = handover_in(dir);
    c.args(args);
    c
}
