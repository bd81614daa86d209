//! The pure core stays pure: `handover-core` must build without the
//! runtime's async, network, file-watching and terminal crates (issue 18).
//!
//! Also runs `scripts/modcycles.py` over the core: no import circle may
//! come back between its top-level modules.
//!
//! Reads the core's normal dependency tree with `cargo tree` (the cargo
//! running this test, offline, against the checked-in `Cargo.lock`) and
//! fails naming any crate of the runtime's family that appears in it, and
//! the path through which it came. Dev-dependencies are left out: the
//! core's tests may use what they like.

mod common;

use std::process::Command;

/// Crates that only the runtime (`handover`) may depend on: async
/// runtimes and their I/O, HTTP and gRPC (the listener, etcd), file
/// watching, the command line and terminal, and OS randomness (the core's
/// randomness is seeded: the same seed, the same estate).
const RUNTIME_ONLY: &[&str] = &[
    "tokio",
    "tokio-stream",
    "tokio-util",
    "mio",
    "futures",
    "futures-util",
    "async-trait",
    "axum",
    "hyper",
    "hyper-util",
    "http-body-util",
    "h2",
    "tower",
    "reqwest",
    "tonic",
    "tonic-prost",
    "prost",
    "etcd-client",
    "notify",
    "clap",
    "indicatif",
    "tracing-subscriber",
    "getrandom",
];

fn core_tree() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            "handover-core",
            "-e",
            "normal",
            "--prefix",
            "depth",
            "-f",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p handover-core failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

/// Each line as (depth, crate name).
fn entries(tree: &str) -> Vec<(usize, &str)> {
    tree.lines()
        .filter_map(|l| {
            let digits = l.chars().take_while(char::is_ascii_digit).count();
            let depth = l[..digits].parse().ok()?;
            let name = l[digits..].split_whitespace().next()?;
            Some((depth, name))
        })
        .collect()
}

#[test]
fn the_core_has_no_runtime_crate_in_its_dependency_tree() {
    let tree = core_tree();
    let lines = entries(&tree);
    assert!(
        lines.first().map(|l| l.1) == Some("handover-core"),
        "cargo tree did not start at handover-core:\n{tree}"
    );
    let mut found = Vec::new();
    let mut path: Vec<&str> = Vec::new();
    for &(depth, name) in &lines {
        path.truncate(depth);
        path.push(name);
        if RUNTIME_ONLY.contains(&name) {
            found.push(path.join(" -> "));
        }
    }
    assert!(
        found.is_empty(),
        "handover-core must not depend on the runtime's crates (docs/design.md, \
         \"Crates and modules\"); move the code that needs them into the \
         handover package:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_check_sees_a_runtime_crate_when_there_is_one() {
    // The root package does depend on tokio: the same reading of a tree
    // must find it, or the test above could pass by reading nothing.
    let tree = "0handover v0.1.0\n1tokio v1.0.0\n2mio v1.0.0\n1serde v1.0.0\n";
    let lines = entries(tree);
    assert_eq!(
        lines,
        vec![(0, "handover"), (1, "tokio"), (2, "mio"), (1, "serde")]
    );
    let hits: Vec<_> = lines
        .iter()
        .filter(|l| RUNTIME_ONLY.contains(&l.1))
        .collect();
    assert_eq!(hits.len(), 2);
}

#[test]
fn the_core_has_no_import_circle_between_its_modules() {
    // Without python3 this says so on the terminal (and fails under CI=true).
    let Some(python3) = common::tool(
        &common::PYTHON3,
        "the_core_has_no_import_circle_between_its_modules",
    ) else {
        return;
    };
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(python3)
        .arg(format!("{root}/scripts/modcycles.py"))
        .arg(format!("{root}/crates/handover-core/src"))
        .output()
        .expect("run scripts/modcycles.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("circles between top-level modules: 0"),
        "an import circle between the core's modules (give the shared helper \
         an owner below both, docs/design.md \"Crates and modules\"):\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
}
