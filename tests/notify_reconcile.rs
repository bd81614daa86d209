//! Notifications from `handover reconcile` against `sim:`, received by a
//! local webhook (tests/notify_hook): the payloads of a change (Synced →
//! Progressing → Synced) and of a stranded member, secrets from the
//! environment and never in the logs, a retry after a 500, a receiver
//! that never answers while passes go on, and a bad receiver that refuses
//! the revision. Every wait is a poll with a deadline.

mod common;
mod notify_hook;

use assert_cmd::cargo::CommandCargoExt;
use common::http::{get, status};
use common::process::{Killed, free_addr};
use notify_hook::{Hook, Reply};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A file of the `replace-gateway` example.
fn example(file: &str) -> PathBuf {
    common::estate::example("replace-gateway").join(file)
}

/// A directory with `desired/desired.yaml` (the example's, with
/// `notifications` appended to its policy) and `estate.yaml`.
fn setup(notifications: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("desired")).unwrap();
    let desired = std::fs::read_to_string(example("desired.yaml")).unwrap();
    assert!(desired.trim_end().ends_with("retireGateways: true"));
    std::fs::write(
        tmp.path().join("desired/desired.yaml"),
        format!("{}\n{notifications}", desired.trim_end()),
    )
    .unwrap();
    std::fs::copy(example("observed.yaml"), tmp.path().join("estate.yaml")).unwrap();
    tmp
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "{from:?} not in {}:\n{text}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// `handover reconcile` of `desired` onto `sim:estate.yaml` in `dir`, with
/// `args` and `env`, its stderr piped; killed if the test fails first.
fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Killed {
    let child = std::process::Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir)
        .arg("reconcile")
        .args(["--desired", "desired", "--target", "sim:estate.yaml"])
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Killed(child)
}

#[test]
fn a_change_and_a_stranded_member_are_notified_in_json_teams_and_slack() {
    let hook = Hook::start(Vec::new());
    let teams_url = hook.url("teams-secret-path");
    let tmp = setup(&format!(
        "  notifications:
    - name: audit
      url: {}
      secretEnv: HOOK_TOKEN
      headers:
        - name: X-Api-Key
          env: HOOK_KEY
    - name: ops-teams
      urlEnv: HOOK_TEAMS_URL
      format: teams
      on: [degraded, stranded]
    - name: ops-slack
      url: {}
      format: slack
      on: [synced]
",
        hook.url("audit"),
        hook.url("slack")
    ));
    let d = tmp.path();
    let desired = d.join("desired/desired.yaml");
    let addr = free_addr();
    let mut run = start(
        d,
        &["--interval", "1h", "--listen", &addr.to_string()],
        &[
            ("HOOK_TOKEN", "s3cret-token"),
            ("HOOK_KEY", "k3y-value"),
            ("HOOK_TEAMS_URL", &teams_url),
        ],
    );
    // Pass 1 converges from an unknown state by applying the example's
    // change: that is told (the first pass of every run, as of every
    // `reconcile --once`).
    let first = run.until(20, "the first pass", || {
        status(addr).filter(|s| s["passes"] == 1)
    });
    assert_eq!(first["sync"], "Synced", "{first}");
    let told = hook.until("/audit", 2, 20);
    assert_eq!(
        [&told[0].body["event"], &told[1].body["event"]],
        ["progressing", "synced"]
    );
    assert_eq!(told[0].body["pass"], 1);

    // A change: sql01 moves to gw2. Synced → Progressing → Synced.
    edit(
        &desired,
        "  - name: sql01.dmz.contoso.local\n    primary: gw3.dmz.contoso.local\n    failover: [gw2.dmz.contoso.local]",
        "  - name: sql01.dmz.contoso.local\n    primary: gw2.dmz.contoso.local\n    failover: [gw3.dmz.contoso.local]",
    );
    run.until(20, "the second pass", || {
        status(addr).filter(|s| s["passes"] == 2)
    });
    let audit = hook.until("/audit", 4, 20);
    let (p, s) = (&audit[2].body, &audit[3].body);
    assert_eq!(p["apiVersion"], "handover/v1", "{p:#}");
    assert_eq!(p["kind"], "Notification");
    assert_eq!(p["event"], "progressing");
    assert_eq!(p["pass"], 2);
    assert_eq!(p["target"], "sim:estate.yaml");
    assert_eq!(p["source"], "desired");
    assert!(p["revision"].is_string(), "{p:#}");
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .starts_with("pass 2 started changing the estate: 1 member to move"),
        "{p:#}"
    );
    assert_eq!(s["event"], "synced");
    assert_eq!(s["sync"], "Synced");
    assert_eq!(audit[0].auth.as_deref(), Some("Bearer s3cret-token"));
    assert_eq!(audit[0].key.as_deref(), Some("k3y-value"));
    assert_eq!(audit[0].content_type.as_deref(), Some("application/json"));
    // The Teams receiver wants only degraded and stranded.
    assert!(hook.to("/teams-secret-path").is_empty());
    let slack = hook.until("/slack", 1, 20);
    let m = &slack[0].body;
    assert_eq!(m["blocks"][0]["type"], "header", "{m:#}");
    assert_eq!(m["blocks"][0]["text"]["text"], "sim:estate.yaml is Synced");
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .starts_with(":information_source: sim:estate.yaml is Synced: "),
        "{m:#}"
    );

    // Strand web01 by hand (its parents replaced by one it never
    // learned), and suspend, so no pass repairs it: Degraded, stranded.
    edit(
        &d.join("estate.yaml"),
        "  - name: web01.dmz.contoso.local\n    primary: gw2.dmz.contoso.local\n    failover: [gw3.dmz.contoso.local]",
        "  - name: web01.dmz.contoso.local\n    primary: ms1.contoso.local\n    failover: []",
    );
    edit(
        &desired,
        "  retireGateways: true\n",
        "  retireGateways: true\n  suspend: true\n",
    );
    let third = run.until(20, "the third pass", || {
        status(addr).filter(|s| s["passes"] == 3)
    });
    assert_eq!(third["sync"], "Degraded", "{third:#}");
    let audit = hook.until("/audit", 6, 20);
    let events: Vec<_> = audit.iter().map(|g| g.body["event"].clone()).collect();
    assert_eq!(
        events,
        [
            "progressing",
            "synced",
            "progressing",
            "synced",
            "degraded",
            "stranded"
        ],
        "{audit:#?}"
    );
    assert_eq!(
        audit[4].body["message"],
        "1 member is stranded with no working parent"
    );
    let teams = hook.until("/teams-secret-path", 2, 20);
    let card = &teams[0].body["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(
        card["content"]["body"][0]["text"],
        "sim:estate.yaml is Degraded"
    );
    assert_eq!(
        teams[1].body["attachments"][0]["content"]["body"][0]["text"],
        "Members stranded on sim:estate.yaml"
    );
    assert_eq!(teams[0].auth, None);

    // Counted in /metrics.
    run.until(20, "the notifications counted", || {
        let (_, m) = get(addr, "/metrics")?;
        (m.contains("handover_notifications_total{receiver=\"audit\",result=\"sent\"} 6")
            && m.contains("handover_notifications_total{receiver=\"ops-teams\",result=\"sent\"} 2"))
        .then_some(())
    });
    run.sigterm();
    let (code, err) = run.wait(20);
    assert_eq!(code, 0, "{err}");
    // No secret reaches the log: not the token, the key, nor the URL.
    for secret in ["s3cret-token", "k3y-value", "teams-secret-path"] {
        assert!(!err.contains(secret), "{secret} in the log:\n{err}");
    }
    assert!(err.contains("notification"), "{err}");
}

/// The example's estate with gw2 not ready: the agents moving to it are
/// blocked at the first pass.
fn gw2_not_ready(d: &Path) {
    edit(
        &d.join("estate.yaml"),
        "  - name: gw2.dmz.contoso.local\n    primary: ms1.contoso.local\n    failover: [ms2.contoso.local]\n    connected: ms1.contoso.local\n    up: true\n    ready: true",
        "  - name: gw2.dmz.contoso.local\n    primary: ms1.contoso.local\n    failover: [ms2.contoso.local]\n    connected: ms1.contoso.local\n    up: true\n    ready: false",
    );
}

#[test]
fn a_500_is_retried_until_the_receiver_takes_it() {
    let hook = Hook::start(vec![Reply::Code(500), Reply::Code(503)]);
    let tmp = setup(&format!(
        "  notifications:
    - name: audit
      url: {}
      on: [blocked]
    - name: unset
      urlEnv: HANDOVER_TEST_UNSET_URL
",
        hook.url("audit")
    ));
    let d = tmp.path();
    gw2_not_ready(d);
    let run = start(d, &["--once"], &[]);
    // --once gives queued notifications a grace period before it exits.
    let (code, err) = run.wait(60);
    assert_eq!(code, 3, "blocked is exit 3:\n{err}");
    let got = hook.to("/audit");
    assert_eq!(got.len(), 3, "two failures, then delivered: {got:#?}");
    for g in &got {
        assert_eq!(g.body, got[0].body, "the same notification each time");
    }
    let n = &got[0].body;
    assert_eq!(n["event"], "blocked");
    assert_eq!(n["severity"], "warning");
    let members = n["members"].as_array().unwrap();
    assert!(!members.is_empty(), "{n:#}");
    assert!(
        members
            .iter()
            .any(|m| m["name"] == "web01.dmz.contoso.local"
                && m["reason"]
                    .as_str()
                    .unwrap()
                    .contains("gw2.dmz.contoso.local")),
        "{n:#}"
    );
    assert_eq!(n["membersTotal"], members.len());
    assert!(
        err.contains("notification not delivered; trying again"),
        "{err}"
    );
    // A receiver whose variable is unset is said, by variable, at the
    // first pass and when it fails; never skipped silently.
    assert!(
        err.contains(
            "notification receiver unset reads the environment variable HANDOVER_TEST_UNSET_URL, which is not set here"
        ),
        "{err}"
    );
    assert!(
        err.contains("the environment variable HANDOVER_TEST_UNSET_URL is not set"),
        "{err}"
    );
}

#[test]
fn a_receiver_that_never_answers_does_not_hold_up_the_passes() {
    let hook = Hook::start(vec![Reply::Hang; 20]);
    let tmp = setup(&format!(
        "  notifications:
    - name: stuck
      url: {}
",
        hook.url("stuck")
    ));
    let d = tmp.path();
    gw2_not_ready(d);
    let addr = free_addr();
    let mut run = start(d, &["--interval", "1s", "--listen", &addr.to_string()], &[]);
    // The blocked notification of pass 1 hangs at the receiver...
    hook.until("/stuck", 1, 20);
    let seen = status(addr).map_or(0, |s| s["passes"].as_u64().unwrap());
    // ...while passes go on.
    run.until(30, "three more passes", || {
        status(addr).filter(|s| s["passes"].as_u64().unwrap() >= seen + 3)
    });
    // None of it was delivered: the receiver never answered.
    let (_, metrics) = get(addr, "/metrics").unwrap();
    assert!(
        !metrics.contains("handover_notifications_total{receiver=\"stuck\",result=\"sent\"}"),
        "{metrics}"
    );
    run.sigterm();
    let (code, err) = run.wait(30);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("notifications not delivered before the run ended"),
        "{err}"
    );
}

#[test]
fn a_bad_receiver_refuses_the_revision_and_nothing_is_applied() {
    let tmp = setup(
        "  notifications:
    - name: ops-teams
      urlEnv: https://contoso.webhook.office.com/webhookb2/secret-part
      format: msteams
",
    );
    let d = tmp.path();
    let before = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    let run = start(d, &["--once"], &[]);
    let (code, err) = run.wait(30);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "urlEnv of notification receiver \"ops-teams\" holds a URL (not repeated here)"
        ),
        "{err}"
    );
    assert!(
        err.contains("format \"msteams\" of notification receiver \"ops-teams\" is not known"),
        "{err}"
    );
    assert!(err.contains("desired.yaml:"), "{err}");
    assert!(
        !err.contains("secret-part"),
        "the secret is not echoed:\n{err}"
    );
    // Nothing applied, nothing journalled.
    assert_eq!(
        std::fs::read_to_string(d.join("estate.yaml")).unwrap(),
        before
    );
    assert!(!d.join(".handover/journal.jsonl").exists());
}
