//! Set-up shared by the core's unit tests: topologies and observed states
//! from short YAML bodies, and the small estates most planner tests use.
//!
//! Owns the file header the bodies leave out, the names of the fixture
//! files (`d.yaml`, `o.yaml`), and where this crate's insta snapshots live
//! ([`snapshots`]). Must not decide what a test asserts; it is compiled for
//! tests only.

use crate::load::{observed_str, topology_str};
use crate::model::{Observed, Topology};

/// The desired management servers ms1, ms2 and ms3.
pub const SERVERS: &str = "managementServers: [{name: ms1}, {name: ms2}, {name: ms3}]\n";

/// A topology from `body` (the document without its `apiVersion` and
/// `kind` lines), read as `d.yaml`. Panics when it is invalid.
pub fn topology(body: &str) -> Topology {
    topology_str(
        &format!("apiVersion: handover/v1\nkind: Topology\n{body}"),
        "d.yaml",
    )
    .unwrap()
}

/// An observed state from `body` (without its `apiVersion` and `kind`
/// lines), read as `o.yaml`. Panics when it is invalid.
pub fn observed(body: &str) -> Observed {
    observed_str(
        &format!("apiVersion: handover/v1\nkind: Observed\n{body}"),
        "o.yaml",
    )
    .unwrap()
}

/// Observed management servers ms1, ms2 and ms3, all up.
pub fn observed_servers() -> String {
    "managementServers: [{name: ms1, up: true}, {name: ms2, up: true}, {name: ms3, up: true}]\n"
        .to_string()
}

/// Observed gateways `names`, each on ms1, connected, up and ready.
pub fn gateways_up(names: &[&str]) -> String {
    let mut s = String::from("gateways:\n");
    for g in names {
        s.push_str(&format!(
            "  - {{name: {g}, primary: ms1, failover: [], connected: ms1, up: true, ready: true}}\n"
        ));
    }
    s
}

/// Desired gateways `names`, each with primary ms1.
pub fn desired_gateways(names: &[&str]) -> String {
    let mut s = String::from("gateways:\n");
    for g in names {
        s.push_str(&format!("  - {{name: {g}, primary: ms1}}\n"));
    }
    s
}

/// insta settings that keep every snapshot of this crate in one folder,
/// `crates/handover-core/src/snapshots/`, whichever module asserts it
/// (file names keep the module path: `handover_core__assign__table__...`).
/// Use as `snapshots().bind(|| insta::assert_snapshot!(...))`.
pub fn snapshots() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/src/snapshots"));
    s
}
