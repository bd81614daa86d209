//! Usage errors exit 1 (docs/spec.md section 5), never clap's default 2, which
//! handover reserves for "changes present".

use assert_cmd::Command;
use predicates::prelude::*;

#[test]
fn an_unknown_flag_is_a_usage_error_with_exit_1() {
    Command::cargo_bin("handover")
        .unwrap()
        .args(["plan", "--bogus"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("unexpected argument '--bogus'"));
}

#[test]
fn a_missing_required_flag_is_a_usage_error_with_exit_1() {
    Command::cargo_bin("handover")
        .unwrap()
        .args(["simulate", "--observed", "x.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--desired"));
}

#[test]
fn help_and_version_succeed_on_stdout() {
    Command::cargo_bin("handover")
        .unwrap()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("simulate"));
    Command::cargo_bin("handover")
        .unwrap()
        .arg("--version")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("handover "));
}
