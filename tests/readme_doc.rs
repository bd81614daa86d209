//! The README shows the program's output; these tests hold those excerpts
//! to what the real binary prints (as `tests/spec_doc.rs` does for
//! docs/spec.md), so the README cannot drift from the program.

use std::path::{Path, PathBuf};
use std::process::Command;

const HANDOVER: &str = env!("CARGO_BIN_EXE_handover");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The plain fenced blocks (no info string) of the README, in order.
fn output_blocks(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match (&mut cur, line.trim_start().strip_prefix("```")) {
            (None, Some("")) => cur = Some(String::new()),
            (None, Some(_)) => cur = Some("\u{0}".into()), // a block with a language
            (Some(text), Some(_)) => {
                if !text.starts_with('\u{0}') {
                    out.push(std::mem::take(text));
                }
                cur = None;
            }
            (Some(text), None) => {
                if !text.starts_with('\u{0}') {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// The one output block that contains `marker`.
fn block_with(marker: &str) -> String {
    let found: Vec<String> = output_blocks(&readme())
        .into_iter()
        .filter(|b| b.contains(marker))
        .collect();
    assert_eq!(found.len(), 1, "one README block with {marker:?}");
    found.into_iter().next().unwrap()
}

fn run(args: &[&str]) -> String {
    let example = root().join("examples/topologies/replace-gateway");
    let out = Command::new(HANDOVER)
        .args(args)
        .arg("--desired")
        .arg(example.join("desired.yaml"))
        .arg("--observed")
        .arg(example.join("observed.yaml"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_plan_excerpt_is_the_start_of_the_real_plan() {
    let shown = block_with("parents: [");
    let real = run(&["plan"]);
    assert!(
        real.starts_with(&shown),
        "README's plan excerpt is not how `plan` begins:\n--- README\n{shown}--- plan\n{real}"
    );
}

#[test]
fn the_rehearsal_lines_are_the_real_last_lines() {
    let shown = block_with("Converged (make-before-break)");
    let real = run(&["simulate"]);
    assert!(
        real.ends_with(&shown),
        "README's rehearsal lines are not how `simulate` ends:\n--- README\n{shown}--- simulate\n{real}"
    );
}

#[test]
fn the_direct_rehearsal_line_is_real_up_to_the_ellipsis() {
    let shown = block_with("UNSAFE (direct)");
    let prefix = shown.trim_end().trim_end_matches('…');
    let real = run(&["simulate", "--strategy", "direct"]);
    assert!(
        real.lines().any(|l| l.starts_with(prefix)),
        "no line of `simulate --strategy direct` starts with {prefix:?}:\n{real}"
    );
}

#[test]
fn the_number_of_examples_is_right() {
    let n = std::fs::read_dir(root().join("examples/topologies"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("desired.yaml").is_file())
        .count();
    let words = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let said = format!("`examples/topologies/` holds {} scenarios", words[n]);
    assert!(readme().contains(&said), "README should say: {said}");
    // Each example is a pair the README's description covers.
    for e in std::fs::read_dir(root().join("examples/topologies")).unwrap() {
        let p = e.unwrap().path();
        assert!(Path::new(&p.join("observed.yaml")).is_file(), "{p:?}");
    }
}
