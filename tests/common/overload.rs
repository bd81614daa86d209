//! The overload rehearsal of examples/rollout-overload (an under-sized
//! gateway that goes down once it carries more than 12 agents), shared by
//! tests/rollout_simulate.rs and tests/rollout_health.rs.
//!
//! Owns the example's paths, one `simulate` of it, and reading the
//! expected output docs/rollouts.md shows for it. Must not decide what a
//! test asserts.

use assert_cmd::Command;

/// The example's directory, relative to the repository.
pub const DIR: &str = "examples/rollout-overload";

/// The absolute path of the example's file `f`.
pub fn path(f: &str) -> String {
    format!("{}/{DIR}/{f}", env!("CARGO_MANIFEST_DIR"))
}

/// `simulate` on the example with topology `which` (`pause`, `rollback`,
/// `health`), its observed state and faults, plus `extra`; (exit, stdout,
/// stderr).
pub fn simulate(which: &str, extra: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "simulate",
            "--desired",
            &format!("{DIR}/{which}.yaml"),
            "--observed",
            &format!("{DIR}/observed.yaml"),
            "--faults",
            &format!("{DIR}/faults.yaml"),
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The fenced block of docs/rollouts.md whose info string is `text NAME`.
pub fn doc_block(name: &str) -> String {
    let doc = std::fs::read_to_string(path("../../docs/rollouts.md")).unwrap();
    let fence = format!("```text {name}\n");
    let start = doc
        .find(&fence)
        .unwrap_or_else(|| panic!("docs/rollouts.md has no ```text {name} block"))
        + fence.len();
    let end = doc[start..].find("```").unwrap() + start;
    doc[start..end].to_string()
}
