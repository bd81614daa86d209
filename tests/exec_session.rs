//! `handover apply` against a provider that serves protocol version 2
//! sessions (the test provider with `--session`): one long-lived process,
//! batched `apply`, and every misbehaviour of the version 1 tests in
//! session form (hang mid-session, garbage mid-stream, exit mid-batch, an
//! answer out of step, one member's error in a batch, a lost answer),
//! each followed by a session restart the report counts and a run that
//! still converges make-before-break.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");
const WEB05: &str = "web05.dmz.contoso.local";

/// A temporary directory with the replace-gateway example's desired
/// topology and the test provider's state starting from its estate.
fn setup() -> tempfile::TempDir {
    let ex = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/topologies/replace-gateway");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(ex.join("desired.yaml"), tmp.path().join("desired.yaml")).unwrap();
    let observed = handover::load::observed(&ex.join("observed.yaml")).unwrap();
    let state = serde_json::json!({ "observed": observed });
    std::fs::write(
        tmp.path().join("provider.json"),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    tmp
}

struct Run {
    code: i32,
    out: String,
    err: String,
    /// `apply --report`: the run report.
    report: Value,
    /// The test provider's state file.
    state: Value,
}

/// `handover apply` with the test provider in session mode and `extra`
/// arguments for the provider.
fn apply(dir: &Path, provider: &[&str], flags: &[&str]) -> Run {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HANDOVER_LOCK_DIR", dir.join("locks"))
        .args(["apply", "--auto-approve", "--desired", "desired.yaml"])
        .args(["--report", "report.json"])
        .args(["--target", &format!("exec:{PROVIDER}")])
        .arg(format!(
            "--target-arg=--state={}",
            dir.join("provider.json").display()
        ))
        .arg("--target-arg=--session")
        .args(flags)
        .timeout(std::time::Duration::from_secs(120));
    for a in provider {
        c.arg(format!("--target-arg={a}"));
    }
    let out = c.output().unwrap();
    let read = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap_or_default())
            .unwrap_or(Value::Null)
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        report: read("report.json"),
        state: read("provider.json"),
    }
}

impl Run {
    fn context(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}\nreport: {:#}",
            self.code, self.out, self.err, self.report["execution"]
        )
    }

    fn restarts(&self) -> u64 {
        self.report["execution"]["session_restarts"]
            .as_u64()
            .unwrap_or(0)
    }

    fn starts(&self) -> u64 {
        self.report["execution"]["process_starts"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Converged, nobody cut off from the server it talked to, every web
    /// agent on gw2 with gw3 as failover, gw1 retired.
    fn assert_converged_safely(&self) {
        let ctx = self.context();
        assert_eq!(self.code, 0, "{ctx}");
        assert!(self.out.contains("Converged"), "{ctx}");
        assert_eq!(self.state["dropped"], serde_json::json!([]), "{ctx}");
        assert_eq!(self.state["stranded"], serde_json::json!([]), "{ctx}");
        for a in self.state["observed"]["agents"].as_array().unwrap() {
            if a["name"].as_str().unwrap().starts_with("web") {
                assert_eq!(a["primary"], "gw2.dmz.contoso.local", "{a}");
            }
        }
        assert!(
            !self.state["observed"]["gateways"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["name"] == "gw1.dmz.contoso.local"),
            "gw1 still there: {ctx}"
        );
    }
}

/// Misbehaviour `mode` on web05's first matching request only.
fn once(mode: &str) -> Vec<String> {
    vec![
        format!("--misbehave={mode}"),
        format!("--on={WEB05}"),
        "--misbehave-count=1".into(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn a_session_provider_is_started_once_and_gets_batches() {
    let tmp = setup();
    let r = apply(tmp.path(), &[], &[]);
    r.assert_converged_safely();
    // One process answered the first observe (one-shot), one the
    // capabilities, one served the whole session.
    let starts = r.state["starts"].as_array().unwrap().len();
    assert_eq!(starts, 3, "{}", r.context());
    // The pass itself started the capabilities call and the session.
    assert_eq!(r.starts(), 2, "{}", r.context());
    assert_eq!(r.restarts(), 0, "{}", r.context());
    // Bridges of one wave went out together.
    let batches: Vec<u64> = r.state["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    assert!(batches.iter().any(|&b| b > 1), "{batches:?}");
    let ops: u64 = batches.iter().sum();
    assert_eq!(
        ops as usize,
        r.state["applied"].as_array().unwrap().len(),
        "{batches:?}"
    );
}

#[test]
fn a_batch_never_exceeds_max_batch() {
    let tmp = setup();
    let r = apply(tmp.path(), &["--max-batch=2"], &[]);
    r.assert_converged_safely();
    let batches = r.state["batches"].as_array().unwrap();
    assert!(
        batches.iter().all(|b| b.as_u64().unwrap() <= 2),
        "{batches:?}"
    );
    assert!(
        batches.iter().any(|b| b.as_u64().unwrap() == 2),
        "{batches:?}"
    );
}

#[test]
fn a_session_that_hangs_is_killed_restarted_and_the_run_converges() {
    let tmp = setup();
    let r = apply(
        tmp.path(),
        &strs(&once("hang")),
        &["--provider-timeout", "2s"],
    );
    r.assert_converged_safely();
    assert_eq!(r.restarts(), 1, "{}", r.context());
    assert!(r.out.contains("restarted 1 time after"), "{}", r.context());
    // The hung session was killed, not left behind.
    let pid = std::fs::read_to_string(tmp.path().join("provider.pid")).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/status", pid.trim()));
    let gone = (0..50).any(|_| {
        let s = std::fs::read_to_string(&stat).unwrap_or_default();
        let dead = s.is_empty() || s.contains("State:\tZ");
        if !dead {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        dead
    });
    assert!(gone, "the hung session {} is still running", pid.trim());
}

#[test]
fn garbage_mid_stream_restarts_the_session() {
    let tmp = setup();
    let r = apply(tmp.path(), &strs(&once("garbage")), &[]);
    r.assert_converged_safely();
    assert_eq!(r.restarts(), 1, "{}", r.context());
}

#[test]
fn an_exit_mid_batch_restarts_the_session_and_observes_before_going_on() {
    let tmp = setup();
    let r = apply(tmp.path(), &strs(&once("exit-mid-batch")), &[]);
    r.assert_converged_safely();
    assert_eq!(r.restarts(), 1, "{}", r.context());
}

#[test]
fn an_answer_out_of_step_restarts_the_session() {
    let tmp = setup();
    let r = apply(
        tmp.path(),
        &strs(&once("wrong-id")),
        &["--provider-timeout", "5s"],
    );
    r.assert_converged_safely();
    assert_eq!(r.restarts(), 1, "{}", r.context());
}

#[test]
fn one_members_error_in_a_batch_stops_only_its_chain() {
    let tmp = setup();
    let args = ["--misbehave=op-error".to_string(), format!("--on={WEB05}")];
    let r = apply(tmp.path(), &strs(&args), &[]);
    assert_eq!(r.code, 3, "{}", r.context());
    assert_eq!(r.restarts(), 0, "{}", r.context());
    assert_eq!(r.state["dropped"], serde_json::json!([]));
    for a in r.state["observed"]["agents"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        if name == WEB05 {
            assert_eq!(a["primary"], "gw1.dmz.contoso.local", "{a}");
        } else if name.starts_with("web") {
            assert_eq!(a["primary"], "gw2.dmz.contoso.local", "{a}");
        }
    }
    assert!(
        r.state["observed"]["gateways"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "gw1.dmz.contoso.local"),
        "gw1 must not be retired while web05 lists it"
    );
}

#[test]
fn a_retryable_error_of_one_member_is_retried_alone() {
    let tmp = setup();
    let r = apply(tmp.path(), &strs(&once("op-error-retryable")), &[]);
    r.assert_converged_safely();
    assert!(r.report["execution"]["retries"].as_u64().unwrap() >= 1);
    // The retry carried web05 alone.
    let calls: Vec<&str> = r.state["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        calls.contains(&format!("apply {WEB05}").as_str()),
        "{calls:?}"
    );
}

#[test]
fn a_lost_answer_in_a_session_is_observed_not_reapplied_blind() {
    let tmp = setup();
    let r = apply(
        tmp.path(),
        &[&format!("--apply-then-hang={WEB05}")],
        &["--provider-timeout", "2s"],
    );
    r.assert_converged_safely();
    assert_eq!(r.restarts(), 1, "{}", r.context());
    assert_eq!(r.state["answers_lost"], serde_json::json!([WEB05]));
}

#[test]
fn a_session_ends_when_the_run_does() {
    let tmp = setup();
    let r = apply(tmp.path(), &[], &[]);
    r.assert_converged_safely();
    // Every process the provider started has exited: the session saw end
    // of input when handover closed its stdin.
    for pid in r.state["starts"].as_array().unwrap() {
        let stat = PathBuf::from(format!("/proc/{}/status", pid));
        let gone = (0..50).any(|_| {
            let s = std::fs::read_to_string(&stat).unwrap_or_default();
            let dead = s.is_empty() || s.contains("State:\tZ");
            if !dead {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            dead
        });
        assert!(gone, "provider process {pid} outlived the run");
    }
}
