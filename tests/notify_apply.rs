//! Notifications from `handover apply` (docs/notifications.md, "From
//! apply"), received by a local webhook (tests/notify_hook): a change
//! (progressing, synced) against `sim:` in JSON and Teams, an apply held
//! by a closed window or a missing approval, blocked members of an exec
//! target, and a receiver that never answers, which costs the apply a
//! bounded wait and a warning, never its result.

#[path = "common/matrix.rs"]
mod matrix;
mod notify_hook;

use matrix::{APPROVAL, CLOSED, Estate, run};
use notify_hook::{Hook, Reply};

const RECEIVERS: &str = "  notifications:
    - name: audit
      urlEnv: AUDIT_URL
    - name: ops-teams
      urlEnv: TEAMS_URL
      format: teams
      on: [degraded, stranded, awaitingApproval, windowClosed, synced]
";

fn apply_sim(e: &Estate, hook: &Hook, extra: &[&str]) -> (i32, String, String) {
    run(e
        .handover()
        .env("AUDIT_URL", hook.url("audit"))
        .env("TEAMS_URL", hook.url("teams"))
        .args(["apply", "--auto-approve", "--desired", "topology"])
        .args(["--target", "sim:estate.yaml"])
        .args(extra))
}

fn events(got: &[notify_hook::Got]) -> Vec<String> {
    got.iter()
        .map(|g| g.body["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn a_converging_apply_tells_the_receivers_it_started_and_is_synced() {
    let hook = Hook::start(Vec::new());
    let e = Estate::new(RECEIVERS);
    let (code, out, err) = apply_sim(&e, &hook, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(e.moved_sim(), 4);
    // apply waited for its deliveries before it ended.
    let audit = hook.to("/audit");
    assert_eq!(events(&audit), ["progressing", "synced"], "{audit:#?}");
    let started = &audit[0].body;
    assert_eq!(started["command"], "apply");
    assert_eq!(started["source"], "topology");
    assert_eq!(started["target"], "sim:estate.yaml");
    assert_eq!(started["sync"], "Progressing");
    assert_eq!(started["membersTotal"], 4);
    assert!(
        started["message"]
            .as_str()
            .unwrap()
            .starts_with("apply started changing the estate: 4 members to move, "),
        "{started:#}"
    );
    let synced = &audit[1].body;
    assert_eq!(synced["sync"], "Synced");
    assert!(
        synced["message"]
            .as_str()
            .unwrap()
            .starts_with("apply converged: every managed member has its desired parents"),
        "{synced:#}"
    );
    // Teams gets only the events it asked for, as an Adaptive Card.
    let teams = hook.to("/teams");
    assert_eq!(teams.len(), 1, "{teams:#?}");
    let card = &teams[0].body["attachments"][0]["content"];
    assert_eq!(card["body"][0]["text"], "sim:estate.yaml is Synced");
    assert!(
        card["body"][2]["facts"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"title": "Command", "value": "apply"})),
        "{card:#}"
    );
    // The URLs are secrets: never on the terminal.
    assert!(!err.contains(&hook.url("audit")) && !out.contains(&hook.url("audit")));
}

#[test]
fn an_apply_held_by_a_closed_window_says_so_and_applies_nothing() {
    let hook = Hook::start(Vec::new());
    let e = Estate::new(&format!("{CLOSED}{RECEIVERS}"));
    let (code, out, err) = apply_sim(&e, &hook, &[]);
    assert_eq!(code, 6, "{out}{err}");
    assert_eq!(e.moved_sim(), 0);
    let audit = hook.to("/audit");
    assert_eq!(events(&audit), ["windowClosed"], "{audit:#?}");
    let n = &audit[0].body;
    assert_eq!(n["command"], "apply");
    assert_eq!(n["severity"], "info");
    assert!(
        n["message"].as_str().unwrap().starts_with(
            "apply held: outside the change window (policy.windows): no change may start now"
        ),
        "{n:#}"
    );
    assert_eq!(hook.to("/teams").len(), 1);
}

#[test]
fn an_apply_awaiting_approval_names_the_digest_and_applies_nothing() {
    let hook = Hook::start(Vec::new());
    let e = Estate::new(&format!("{APPROVAL}{RECEIVERS}"));
    let (code, out, err) = apply_sim(&e, &hook, &[]);
    assert_eq!(code, 6, "{out}{err}");
    assert_eq!(e.moved_sim(), 0);
    let digest = matrix::digest_after(&err, "it needs approval of ");
    let audit = hook.to("/audit");
    assert_eq!(events(&audit), ["awaitingApproval"], "{audit:#?}");
    let n = &audit[0].body;
    assert_eq!(n["sync"], "AwaitingApproval");
    assert!(n["message"].as_str().unwrap().contains(&digest), "{n:#}");
}

#[test]
fn blocked_members_of_an_exec_target_are_told_and_nothing_is_written() {
    let hook = Hook::start(Vec::new());
    let e = Estate::new(RECEIVERS);
    // ms2, where every agent should go, is down: every move is blocked.
    let down = matrix::OBSERVED.replace(
        "{name: ms2.contoso.local, up: true}",
        "{name: ms2.contoso.local, up: false}",
    );
    let observed = handover::load::observed_str(&down, "estate.yaml").unwrap();
    std::fs::write(
        e.path("provider.json"),
        serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
    )
    .unwrap();
    let (code, out, err) = run(e
        .handover()
        .env("AUDIT_URL", hook.url("audit"))
        .env("TEAMS_URL", hook.url("teams"))
        .args(["apply", "--auto-approve", "--desired", "topology"])
        .args(e.exec_args()));
    assert_eq!(code, 3, "blocked is exit 3:\n{out}{err}");
    assert_eq!(e.applied_exec(), 0, "{:#}", e.provider());
    let audit = hook.to("/audit");
    assert_eq!(events(&audit), ["blocked"], "{audit:#?}");
    let n = &audit[0].body;
    assert_eq!(n["target"], format!("exec:{}", matrix::PROVIDER));
    assert_eq!(n["membersTotal"], 4, "{n:#}");
    assert!(
        n["members"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("ms2.contoso.local"),
        "{n:#}"
    );
}

#[test]
fn a_receiver_that_never_answers_costs_a_bounded_wait_and_a_warning_only() {
    // Every attempt hangs (each is given 10 s), so neither notification
    // can be delivered while apply waits.
    let hook = Hook::start(vec![Reply::Hang; 20]);
    let e = Estate::new(
        "  notifications:
    - name: audit
      urlEnv: AUDIT_URL
",
    );
    let (code, out, err) = apply_sim(&e, &hook, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(e.moved_sim(), 4);
    assert!(
        err.contains("warning: 2 notifications to receiver audit not delivered within 10 s of the end of the apply (dropped; the apply itself is unaffected)"),
        "{err}"
    );
    assert!(out.contains("Converged"), "{out}");
}
