//! `ExecProvider` in session mode (protocol version 2) against the real
//! `handover-test-provider --session`: every misbehaviour of the version 1
//! tests (tests/exec_provider.rs), this time mid-session. Each ends the
//! session with a message a person can act on, counts one restart, and the
//! next request runs in a new session and succeeds.

mod common;

use common::rig::{n, to_gw2 as bridge};
use handover::provider::exec::ExecProvider;
use handover::provider::{Operation, Provider, ProviderError, Scope};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// ms1; gateways gw1, gw2 on it; agents a0..a3 on gw1.
fn rig() -> (tempfile::TempDir, PathBuf) {
    common::rig::rig(4)
}

/// The test provider in session mode on `state`, then `extra`.
fn provider(state: &Path, extra: &[&str]) -> ExecProvider {
    let mut args = vec!["--session"];
    args.extend_from_slice(extra);
    common::rig::provider(state, &args, Duration::from_millis(1500))
}

fn read(state: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap()
}

#[tokio::test]
async fn one_session_serves_every_request_and_ends_with_end_of_input() {
    let (_d, state) = rig();
    let mut p = provider(&state, &[]);
    p.observe(&Scope::All).await.unwrap();
    let r = p
        .apply_batch(&[bridge(0), bridge(1), bridge(2)])
        .await
        .unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let o = p.observe(&Scope::Members(vec![n("a0")])).await.unwrap();
    assert_eq!(o.agents.len(), 1);
    assert!(p.in_session_mode());
    // observe (one-shot, capabilities unknown), capabilities, one session.
    let c = p.counters();
    assert_eq!((c.process_starts, c.restarts), (3, 0));
    let s = read(&state);
    assert_eq!(s["batches"], serde_json::json!([3]));
    assert_eq!(
        s["calls"],
        serde_json::json!(["observe", "capabilities", "apply a0,a1,a2", "observe"])
    );
    let session = s["starts"][2].as_u64().unwrap();
    p.close().await;
    assert!(
        !std::path::Path::new(&format!("/proc/{session}")).exists()
            || std::fs::read_to_string(format!("/proc/{session}/status"))
                .unwrap_or_default()
                .contains("State:\tZ"),
        "the session {session} is still running after close"
    );
}

/// `mode` on the first apply of the session: the call fails with a message
/// containing `says`, transiently unless `permanent`; one restart; the
/// next call succeeds in a new session.
async fn recovers_from(mode: &str, says: &str, permanent: bool) {
    let (_d, state) = rig();
    let mut p = provider(
        &state,
        &[
            "--misbehave",
            mode,
            "--on",
            "apply",
            "--misbehave-count",
            "1",
        ],
    );
    p.observe(&Scope::All).await.unwrap();
    let e = p.apply(&bridge(0)).await.unwrap_err();
    let (msg, transient) = match &e {
        ProviderError::Transient(m) => (m, true),
        ProviderError::Permanent(m) => (m, false),
    };
    assert!(msg.contains(says), "{mode}: {msg}");
    assert_eq!(transient, !permanent, "{mode}: {e}");
    assert_eq!(p.counters().restarts, 1, "{mode}");
    p.apply(&bridge(1)).await.unwrap();
    let o = p.observe(&Scope::All).await.unwrap();
    assert_eq!(o.agents[1].parents.primary, n("gw2"), "{mode}");
    assert_eq!(p.counters().restarts, 1, "{mode}");
    // observe, capabilities, the first session, its replacement.
    assert_eq!(p.counters().process_starts, 4, "{mode}");
}

#[tokio::test]
async fn a_hang_mid_session_times_out_kills_and_restarts() {
    recovers_from("hang", "timed out after 1s 500ms in its session", false).await;
}

#[tokio::test]
async fn garbage_mid_stream_restarts() {
    recovers_from("garbage", "not valid JSON at byte 0", false).await;
}

#[tokio::test]
async fn an_exit_mid_session_restarts() {
    recovers_from("exit3", "its session ended", false).await;
    recovers_from("silent", "its session ended", false).await;
}

#[tokio::test]
async fn an_exit_mid_batch_restarts_and_the_first_half_was_applied() {
    recovers_from("exit-mid-batch", "its session ended", false).await;
}

#[tokio::test]
async fn a_truncated_answer_restarts() {
    recovers_from("truncated", "truncated", false).await;
}

#[tokio::test]
async fn an_answer_out_of_step_restarts() {
    recovers_from("wrong-id", "out of step", false).await;
    recovers_from("wrong-protocol", "out of step", false).await;
    // A version 1 error document (no id) in a session is out of step too.
    recovers_from("error", "out of step", false).await;
}

#[tokio::test]
async fn a_huge_line_is_cut_off_and_the_session_killed() {
    recovers_from("huge", "longer than 1 MiB", true).await;
}

#[tokio::test]
async fn stderr_noise_mid_session_is_drained() {
    let (_d, state) = rig();
    let mut p = provider(&state, &["--misbehave", "stderr-noise", "--on", "apply"]);
    p.observe(&Scope::All).await.unwrap();
    for i in 0..3 {
        p.apply(&bridge(i)).await.unwrap();
    }
    assert_eq!(p.counters().restarts, 0);
}

#[tokio::test]
async fn one_members_error_does_not_fail_the_batch() {
    let (_d, state) = rig();
    let mut p = provider(&state, &["--misbehave", "op-error", "--on", "a1"]);
    p.observe(&Scope::All).await.unwrap();
    let r = p
        .apply_batch(&[bridge(0), bridge(1), bridge(2)])
        .await
        .unwrap();
    assert!(r[0].is_ok() && r[2].is_ok(), "{r:?}");
    match &r[1] {
        Err(ProviderError::Permanent(m)) => assert!(m.contains("a1 refused"), "{m}"),
        other => panic!("{other:?}"),
    }
    let applied = read(&state)["applied"].as_array().unwrap().len();
    assert_eq!(applied, 2);
}

#[tokio::test]
async fn batches_are_cut_at_max_batch() {
    let (_d, state) = rig();
    let mut p = provider(&state, &["--max-batch", "2"]);
    p.observe(&Scope::All).await.unwrap();
    let ops: Vec<Operation> = (0..4).map(bridge).collect();
    let r = p.apply_batch(&ops).await.unwrap();
    assert_eq!(r.len(), 4);
    assert_eq!(p.max_batch(), 2);
    let q = provider(&state, &["--max-batch", "5", "--parallel", "3"]);
    let mut q = q;
    q.capabilities().await.unwrap();
    assert_eq!(q.max_batch(), 15, "one call fills every session");
    assert_eq!(read(&state)["batches"], serde_json::json!([2, 2]));
}

#[tokio::test]
async fn parallel_sessions_share_a_batch_and_each_start_once() {
    let (_d, state) = rig();
    let mut p = provider(&state, &["--max-batch", "1", "--parallel", "3"]);
    p.observe(&Scope::All).await.unwrap();
    let ops: Vec<Operation> = (0..4).map(bridge).collect();
    let r = p.apply_batch(&ops).await.unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    // A second batch reuses the three sessions.
    let r = p.apply_batch(&ops).await.unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let s = read(&state);
    // observe, capabilities, then three sessions.
    assert_eq!(
        s["starts"].as_array().unwrap().len(),
        5,
        "{:#}",
        s["starts"]
    );
    assert_eq!(p.counters().process_starts, 5);
    assert_eq!(s["batches"], serde_json::json!([1, 1, 1, 1, 1, 1, 1, 1]));
    let o = p.observe(&Scope::All).await.unwrap();
    assert!(o.agents.iter().all(|a| a.parents.primary == n("gw2")));
    p.close().await;
}

#[tokio::test]
async fn a_fault_in_one_parallel_session_fails_only_its_operations() {
    let (_d, state) = rig();
    let mut p = provider(
        &state,
        &[
            "--max-batch",
            "1",
            "--parallel",
            "2",
            "--misbehave",
            "exit3",
            "--on",
            "a1",
            "--misbehave-count",
            "1",
        ],
    );
    p.observe(&Scope::All).await.unwrap();
    let ops: Vec<Operation> = (0..4).map(bridge).collect();
    let r = p.apply_batch(&ops).await.unwrap();
    // a1's session died: a1 fails (transiently) and a3, queued behind it
    // in the same lane, runs in the restarted session.
    assert!(matches!(r[1], Err(ProviderError::Transient(_))), "{r:?}");
    assert!(r[0].is_ok() && r[2].is_ok() && r[3].is_ok(), "{r:?}");
    assert_eq!(p.counters().restarts, 1);
}
