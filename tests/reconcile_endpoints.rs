//! The reconcile building blocks together, as the command will run them: a
//! git repository in a temp dir, the loop driver with a stand-in pass (the
//! planner and executor plug in after the merge), and the HTTP endpoints
//! scraped over 127.0.0.1. Waits are on the status endpoint with deadlines.

mod common;

use handover::reconcile::backoff::{Backoff, Jitter};
use handover::reconcile::listen::{Endpoints, bind, serve};
use handover::reconcile::{
    DriverConfig, Fetcher, Metrics, PassContext, PassResult, Shutdown, Source, StatusHandle, drive,
};
use std::io::{Read, Write};
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

/// GET over a plain TCP connection: (status code, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        (
            head.split(' ').nth(1).unwrap().parse().unwrap(),
            body.to_string(),
        )
    })
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
