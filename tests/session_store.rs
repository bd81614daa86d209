//! The test provider's session store and the even split of a batch over
//! parallel sessions (issue 19): a session keeps the estate in memory but
//! sees what another process wrote, writes every change through at once,
//! and a request smaller than `max_batch × parallel` keeps every session
//! busy.

mod common;

use common::rig::{n, to_gw2};
use handover::model::Observed;
use handover::name::Name;
use handover::provider::exec::ExecProvider;
use handover::provider::{Operation, Provider, Scope};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// ms1; gateways gw1, gw2 on it; agents a0..a9 on gw1.
fn rig() -> (tempfile::TempDir, PathBuf) {
    common::rig::rig(10)
}

/// The test provider on `state`, with `extra`.
fn provider(state: &Path, extra: &[&str]) -> ExecProvider {
    common::rig::provider(state, extra, Duration::from_secs(10))
}

fn read(state: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap()
}

fn primary_of(o: &Observed, agent: &str) -> Name {
    o.agents
        .iter()
        .find(|a| a.name == n(agent))
        .unwrap()
        .parents
        .primary
        .clone()
}

#[tokio::test]
async fn a_small_batch_is_spread_evenly_over_the_parallel_sessions() {
    let (_d, state) = rig();
    let mut p = provider(
        &state,
        &["--session", "--max-batch", "100", "--parallel", "2"],
    );
    p.observe(&Scope::All).await.unwrap();
    let ops: Vec<Operation> = (0..10).map(to_gw2).collect();
    let r = p.apply_batch(&ops).await.unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let mut batches: Vec<u64> = read(&state)["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    batches.sort();
    assert_eq!(batches, vec![5, 5], "two sessions, half each");
    p.close().await;
}

#[tokio::test]
async fn a_session_sees_what_another_process_wrote_and_writes_through_at_once() {
    let (_d, state) = rig();
    let mut session = provider(&state, &["--session"]);
    let before = session.observe(&Scope::All).await.unwrap();
    assert_eq!(primary_of(&before, "a0"), n("gw1"));
    // The session's own write is in the file before the session ends.
    let r = session.apply_batch(&[to_gw2(1)]).await.unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    let file = read(&state);
    let a1 = file["observed"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "a1")
        .unwrap()
        .clone();
    assert_eq!(a1["primary"], "gw2", "{a1}");
    // Another process (a one-shot, protocol 1) moves a0 meanwhile.
    let mut other = provider(&state, &[]);
    other.apply(&to_gw2(0)).await.unwrap();
    // The session reads the file again instead of its own copy.
    let after = session.observe(&Scope::All).await.unwrap();
    assert_eq!(
        primary_of(&after, "a0"),
        n("gw2"),
        "the other process's write"
    );
    assert_eq!(primary_of(&after, "a1"), n("gw2"), "its own write");
    session.close().await;
    let calls = read(&state)["calls"].as_array().unwrap().len();
    assert!(calls >= 5, "every call recorded: {calls}");
}
