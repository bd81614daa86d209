//! The reconcile building blocks together, as the command will run them: a
//! git repository in a temp dir, the loop driver with a stand-in pass (the
//! planner and executor plug in after the merge), and the HTTP endpoints
//! scraped over 127.0.0.1. Waits are on the status endpoint with deadlines.
//!
//! Then the real binary: `reconcile --listen` on the exec test provider,
//! each apply paced with `--apply-delay-ms` so a wave takes wall time, with
//! `/status`, `/readyz`, `/metrics` and the page read while it runs, and
//! `handover wait` / `handover status` run against it to each of their
//! endings (synced, blocked, refused, timeout, unreachable).

mod common;

use common::http::{get as get_now, status as status_now};
use common::process::{Killed, free_addr};
use handover::reconcile::backoff::{Backoff, Jitter};
use handover::reconcile::serve::listen::{Endpoints, bind, serve};
use handover::reconcile::{
    DriverConfig, Fetcher, Metrics, PassContext, PassResult, Shutdown, Source, StatusHandle, drive,
};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn commit(dir: &Path, text: &str) -> String {
    std::fs::create_dir_all(dir.join("topology")).unwrap();
    std::fs::write(dir.join("topology/desired.yaml"), text).unwrap();
    git(dir, &["add", "--all"]);
    git(dir, &["commit", "--quiet", "-m", "topology"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn topology(gw: &str) -> String {
    format!(
        "apiVersion: handover/v1\nkind: Topology\nmetadata:\n  name: test\n\
         managementServers:\n  - name: ms1.contoso.local\n\
         gateways:\n  - name: gw1.contoso.local\n    primary: ms1.contoso.local\n\
         \x20 - name: gw2.contoso.local\n    primary: ms1.contoso.local\n\
         agents:\n  - name: web01.contoso.local\n    primary: {gw}\n"
    )
}

/// GET over a plain TCP connection, off the runtime: (status code, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || get_now(addr, &path).expect("the listener answers"))
        .await
        .unwrap()
}

/// Polls `/status` until `f` holds, for at most 5 s.
async fn wait_status(
    addr: SocketAddr,
    what: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (code, body) = get(addr, "/status").await;
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if f(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn git_commits_show_in_status_an_invalid_one_is_refused_and_metrics_parse() {
    if common::tool(
        &common::GIT,
        "git_commits_show_in_status_an_invalid_one_is_refused_and_metrics_parse",
    )
    .is_none()
    {
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
    let c1 = commit(repo.path(), &topology("gw1.contoso.local"));
    let state = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(
        Source::Git {
            repo: repo.path().display().to_string(),
            reference: Some("main".into()),
            path: Some("topology".into()),
        },
        state.path(),
    )
    .unwrap();

    let status = StatusHandle::default();
    let metrics = Arc::new(Metrics::new());
    let shutdown = Shutdown::new();
    let listener = bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(
        listener,
        Endpoints {
            status: status.clone(),
            metrics: metrics.clone(),
            live: Default::default(),
        },
        shutdown.clone(),
    ));
    let config = DriverConfig {
        target: "sim:estate.yaml".into(),
        interval: Duration::from_millis(100),
        once: false,
        backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(1)),
        jitter: Jitter::new(0.1, 7),
        suspend_file: None,
        wake: None,
        notifier: None,
    };
    let driver = drive(
        fetcher,
        config,
        status,
        metrics,
        shutdown.clone(),
        None,
        async |_ctx: PassContext<'_>| PassResult {
            plan: Some(handover::plan::Plan::new(Vec::new(), Vec::new())),
            ..PassResult::default()
        },
    );
    let script = async {
        let (code, _) = get(addr, "/healthz").await;
        assert_eq!(code, 200);
        let v = wait_status(addr, "the first commit", |v| {
            v["revision"]["id"] == c1.as_str()
        })
        .await;
        assert_eq!(v["sync"], "Synced");
        assert_eq!(get(addr, "/readyz").await.0, 200);

        let c2 = commit(repo.path(), &topology("gw2.contoso.local"));
        let v = wait_status(addr, "the second commit", |v| {
            v["revision"]["id"] == c2.as_str()
        })
        .await;
        assert_eq!(v["last_pass"]["trigger"], "new_revision");

        let c3 = commit(repo.path(), "agents: [\n");
        let v = wait_status(addr, "the refusal", |v| {
            v["refused"]["revision"] == c3.as_str()
        })
        .await;
        assert_eq!(v["sync"], "Degraded");
        assert_eq!(
            v["revision"]["id"],
            c2.as_str(),
            "the last good revision is kept"
        );
        let errors = v["refused"]["errors"].as_array().unwrap();
        assert!(
            errors[0]
                .as_str()
                .unwrap()
                .contains(&format!("{}:topology/desired.yaml", &c3[..12])),
            "{errors:?}"
        );

        // Two more passes while the refused commit is still the newest.
        let seen = v["passes"].as_u64().unwrap();
        let v = wait_status(addr, "two more passes", |v| {
            v["passes"].as_u64() >= Some(seen + 2)
        })
        .await;
        assert_eq!(v["sync"], "Degraded");
        assert!(
            v["last_error"]["message"].as_str().unwrap().contains(&c3),
            "{v}"
        );

        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        let scrape =
            prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
        let value = |metric: &str, label: (&str, &str)| {
            scrape
                .samples
                .iter()
                .find(|s| s.metric == metric && s.labels.get(label.0) == Some(label.1))
                .map(|s| s.value.clone())
                .unwrap_or_else(|| panic!("{metric} {label:?} missing:\n{body}"))
        };
        use prometheus_parse::Value;
        assert_eq!(
            value(
                "handover_reconcile_revision_info",
                ("revision", c2.as_str())
            ),
            Value::Gauge(1.0)
        );
        assert_eq!(
            value("handover_reconcile_errors_total", ("kind", "invalid")),
            Value::Counter(1.0),
            "counted once, not once per pass"
        );
        assert_eq!(
            value(
                "handover_reconcile_passes_total",
                ("trigger", "new_revision")
            ),
            Value::Counter(2.0)
        );
        match value("handover_reconcile_sync_status", ("status", "Degraded")) {
            Value::Gauge(g) => assert_eq!(g, 1.0),
            other => panic!("{other:?}"),
        }
        shutdown.trigger();
    };
    let (_, ()) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(driver, script)
    })
    .await
    .expect("finished");
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("listener stopped")
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------------
// The real binary, mid-pass: a wave paced by the exec test provider.

/// The value of one sample of `/metrics`.
fn metric(addr: SocketAddr, name: &str, label: (&str, &str)) -> Option<f64> {
    let (_, body) = get_now(addr, "/metrics")?;
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

/// 20 agents on 4 gateways; with `moving`, half of them move. Two members
/// in flight at a time.
fn estate(moving: bool) -> (String, handover::model::Observed) {
    let mut e = handover::synth::generate(&handover::synth::Spec {
        management_servers: 2,
        gateways: 4,
        agents: 20,
        moving: if moving { 0.5 } else { 0.0 },
        seed: 7,
    });
    e.desired.policy.max_in_flight = 2;
    (handover::synth::desired_yaml(&e.desired), e.observed)
}

/// Starts `handover reconcile` on the exec test provider, each apply
/// taking `delay_ms` of wall time, serving on a free port.
fn start_paced(dir: &Path, delay_ms: u64) -> (Killed, SocketAddr) {
    let (_, observed) = estate(false);
    let state = dir.join("state.json");
    std::fs::write(
        &state,
        serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
    )
    .unwrap();
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_handover"))
        .current_dir(dir)
        .args([
            "reconcile",
            "--desired",
            "desired.yaml",
            "--target",
            &format!("exec:{}", env!("CARGO_BIN_EXE_handover-test-provider")),
            "--target-arg",
            "--state",
            "--target-arg",
        ])
        .arg(&state)
        .args(["--target-arg", "--apply-delay-ms", "--target-arg"])
        .arg(delay_ms.to_string())
        .args(["--interval", "1h", "--listen", &addr.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (Killed(child), addr)
}

#[test]
fn status_readiness_metrics_and_the_page_are_live_while_a_pass_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (first, _) = estate(true);
    std::fs::write(d.join("desired.yaml"), &first).unwrap();
    let (mut run, addr) = start_paced(d, 150);

    // The first pass, while its wave runs: the revision, Progressing, the
    // members in flight; ready; the gauges agree.
    let s = run.until(30, "a member in flight during the first pass", || {
        let s = status_now(addr)?;
        assert_eq!(
            s["passes"], 0,
            "the first pass ended before /status showed a member in flight: {s}"
        );
        (s["in_flight"].as_array().is_some_and(|a| !a.is_empty())).then_some(s)
    });
    let rev1 = s["revision"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{s}"))
        .to_string();
    assert!(rev1.starts_with("digest:"), "{s}");
    assert_eq!(s["sync"], "Progressing", "{s}");
    assert_eq!(s["ready"], true, "{s}");
    assert!(s["members"]["bridged"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(get_now(addr, "/readyz").unwrap().0, 200);
    assert_eq!(
        metric(
            addr,
            "handover_reconcile_sync_status",
            ("status", "Progressing")
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            addr,
            "handover_reconcile_revision_info",
            ("revision", &rev1)
        ),
        Some(1.0)
    );
    let (_, page) = get_now(addr, "/page/main").unwrap();
    assert!(page.contains(">Progressing</p>"), "{page}");
    assert!(!page.contains("none loaded yet"), "{page}");

    // The pass converges: Synced at once, not at the next interval (1 h).
    let s = run.until(60, "the first pass to finish", || {
        status_now(addr).filter(|s| s["passes"] == 1)
    });
    assert_eq!(s["sync"], "Synced", "{s}");
    assert_eq!(s["in_flight"], serde_json::json!([]), "{s}");
    assert_eq!(
        metric(addr, "handover_reconcile_sync_status", ("status", "Synced")),
        Some(1.0)
    );

    // A later wave (everyone moves back): the new revision, Progressing,
    // while members sit in a bridge, not Synced at the old revision.
    let (back, _) = estate(false);
    std::fs::write(d.join("desired.yaml"), &back).unwrap();
    let s = run.until(30, "a member in flight during the second pass", || {
        let s = status_now(addr)?;
        assert_ne!(
            s["passes"], 2,
            "the second pass ended before /status showed a member in flight: {s}"
        );
        (s["in_flight"].as_array().is_some_and(|a| !a.is_empty())).then_some(s)
    });
    assert_ne!(s["revision"]["id"], rev1.as_str(), "{s}");
    assert_eq!(s["sync"], "Progressing", "{s}");
    assert_eq!(
        metric(addr, "handover_reconcile_members", ("state", "bridged")).map(|v| v >= 1.0),
        Some(true)
    );
    run.until(60, "the second pass to finish", || {
        status_now(addr).filter(|s| s["passes"] == 2 && s["sync"] == "Synced")
    });

    // A third pass with nothing to do: the page still credits the wave to
    // the pass that ran it.
    std::fs::write(d.join("desired.yaml"), &back).unwrap();
    run.until(30, "the third pass", || {
        status_now(addr).filter(|s| s["passes"] == 3)
    });
    let (_, page) = get_now(addr, "/page/main").unwrap();
    assert!(page.contains("moves done in pass #2"), "{page}");
    assert!(!page.contains("moves done in pass #3"), "{page}");
}

/// `handover ARGS...`, to completion: (exit code, stdout, stderr).
fn handover(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(args)
        .output()
        .unwrap();
    common::process::outcome(out)
}

#[test]
fn wait_follows_a_wave_to_synced_and_status_and_wait_say_why_they_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (first, _) = estate(true);
    std::fs::write(d.join("desired.yaml"), &first).unwrap();
    let (mut run, addr) = start_paced(d, 100);
    let url = format!("http://{addr}");

    // Started with the loop: it waits out the start, prints progress on
    // stderr, and exits 0 once the wave is done, with one JSON object on
    // stdout.
    let (code, out, err) = handover(&[
        "wait",
        "--listen-url",
        &url,
        "--for",
        "synced",
        "--timeout",
        "2m",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["result"], "holds", "{v}");
    assert_eq!(v["status"]["sync"], "Synced", "{v}");
    assert_eq!(v["status"]["in_flight"], serde_json::json!([]), "{v}");
    assert!(
        ["Progressing", "Starting", "cannot reach"]
            .iter()
            .any(|w| err.contains(w)),
        "progress on stderr: {err}"
    );

    // status: a summary for people, or /status for scripts; healthy: 0.
    let (code, out, err) = handover(&["status", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Synced at "), "{out}");
    assert!(
        out.contains("0 in a bridge, 0 pending, 0 blocked, 0 stranded"),
        "{out}"
    );
    let (code, out, _) = handover(&["status", &url, "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sync"], "Synced");
    let rev = v["revision"]["id"].as_str().unwrap().to_string();

    // A revision that never comes: the timeout, exit 3.
    let (code, out, err) = handover(&[
        "wait",
        "--listen-url",
        &url,
        "--revision",
        "0123456789abcdef",
        "--timeout",
        "1s",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("timed out after 1s waiting for synced"),
        "{err}"
    );

    // An agent the target does not report: blocked, and nothing else to
    // do. synced cannot come (exit 3, with the reason); healthy holds.
    let mut e = handover::synth::generate(&handover::synth::Spec {
        management_servers: 2,
        gateways: 4,
        agents: 20,
        moving: 0.0,
        seed: 7,
    });
    let mut ghost = e.desired.agents[0].clone();
    ghost.name = handover::name::Name::parse("ghost01.fleet.contoso.local").unwrap();
    e.desired.agents.push(ghost);
    std::fs::write(
        d.join("desired.yaml"),
        handover::synth::desired_yaml(&e.desired),
    )
    .unwrap();
    run.until(30, "the new revision in /status", || {
        status_now(addr).filter(|s| s["revision"]["id"] != rev.as_str())
    });
    let (code, _, err) = handover(&["wait", "--listen-url", &url, "--timeout", "1m"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("OutOfSync: 1 member(s) blocked"), "{err}");
    assert!(err.contains("ghost01.fleet.contoso.local"), "{err}");
    let (code, out, err) = handover(&["wait", "--listen-url", &url, "--for", "healthy"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("healthy: OutOfSync at "), "{out}");

    // A revision that does not validate: Degraded, exit 1, with its errors.
    std::fs::write(d.join("desired.yaml"), "agents: [\n").unwrap();
    run.until(30, "the refusal in /status", || {
        status_now(addr).filter(|s| !s["refused"].is_null())
    });
    let (code, _, err) = handover(&["wait", "--listen-url", &url, "--for", "healthy"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("was refused"), "{err}");
    assert!(err.contains("desired.yaml:"), "{err}");
    let (code, _, err) = handover(&["status", &url]);
    assert_eq!(code, 1, "{err}");

    // Nothing listening: exit 5, said.
    drop(run);
    let (code, _, err) = handover(&["wait", "--listen-url", &url, "--timeout", "1s"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains(&format!("cannot reach {url}")), "{err}");
    let (code, _, err) = handover(&["status", &url]);
    assert_eq!(code, 5, "{err}");
    let (code, _, err) = handover(&["wait", "--listen-url", "https://127.0.0.1:1"]);
    assert_eq!(code, 1, "{err}");
}
