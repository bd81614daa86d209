//! The loop's HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/status`,
//! and the status page at `/` (with its fragment and assets under `/page/`).
//!
//! Owns the listener: address parsing, the loopback-only rule, the routes
//! and graceful shutdown. It reads the status and metrics the loop writes,
//! with the pass in progress laid over the status ([`Endpoints::current`]),
//! so every endpoint and the page tell the same story while a pass runs,
//! and never changes anything: there is no endpoint that acts. Must not
//! observe, plan or apply.

use super::live::LiveHandle;
use super::metrics::{CONTENT_TYPE, Metrics};
use super::page;
use super::status::StatusHandle;
use crate::reconcile::signals::Shutdown;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The address `--listen` uses when given no value.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);

/// The flag that allows a non-loopback `--listen` address.
pub const NON_LOOPBACK_FLAG: &str = "--listen-non-loopback";

/// Why the listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The address is not `IP:PORT`, `[IPv6]:PORT` or `localhost:PORT`.
    #[error(
        "--listen '{0}' is not an address: expected IP:PORT, [IPv6]:PORT or localhost:PORT, such as 127.0.0.1:9464"
    )]
    BadAddress(String),
    /// A non-loopback address without the opt-in flag.
    #[error(
        "--listen {0} is not a loopback address; the endpoints have no authentication, \
         so reaching them from other machines needs {NON_LOOPBACK_FLAG} (or put a proxy in front)"
    )]
    NotLoopback(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said (in use, not permitted, ...).
        #[source]
        source: std::io::Error,
    },
}

/// Parses a `--listen` value.
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, ListenError> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    match s.strip_prefix("localhost:").map(str::parse::<u16>) {
        Some(Ok(port)) => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        _ => Err(ListenError::BadAddress(s.to_string())),
    }
}

/// Refuses a non-loopback address unless `allow_non_loopback` (the
/// [`NON_LOOPBACK_FLAG`]) was given.
pub fn check_listen_addr(addr: SocketAddr, allow_non_loopback: bool) -> Result<(), ListenError> {
    if addr.ip().is_loopback() || allow_non_loopback {
        Ok(())
    } else {
        Err(ListenError::NotLoopback(addr))
    }
}

/// Checks and binds the address.
pub async fn bind(
    addr: SocketAddr,
    allow_non_loopback: bool,
) -> Result<tokio::net::TcpListener, ListenError> {
    check_listen_addr(addr, allow_non_loopback)?;
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError::Bind { addr, source })
}

/// What the endpoints read.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// The loop's status.
    pub status: StatusHandle,
    /// The loop's metrics.
    pub metrics: Arc<Metrics>,
    /// The pass's live progress (the status page).
    pub live: LiveHandle,
}

impl Endpoints {
    /// The status as it stands now: the last recorded one with the pass in
    /// progress laid over it ([`super::live::Live::status`]).
    pub fn current(&self) -> super::status::Status {
        let recorded = self.status.snapshot();
        self.live.read(|l| l.status(recorded))
    }
}

/// The routes.
pub fn router(e: Endpoints) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/", get(page_document))
        .route("/page/main", get(page_main))
        .route("/page/page.css", get(page_css))
        .route("/page/page.js", get(page_js))
        .with_state(e)
}

/// Serves the endpoints on `listener` until `shutdown` is triggered;
/// requests being answered then are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    endpoints: Endpoints,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    axum::serve(listener, router(endpoints))
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(e): State<Endpoints>) -> Response {
    if e.current().ready {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the first observation is not done\n",
        )
            .into_response()
    }
}

async fn metrics(State(e): State<Endpoints>) -> Response {
    let status = e.current();
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        e.metrics.encode(&status),
    )
        .into_response()
}

async fn status(State(e): State<Endpoints>) -> Response {
    axum::Json(e.current()).into_response()
}

/// The headers every part of the status page is served with: its type,
/// the content security policy, and no caching or sniffing.
fn page_headers(content_type: &'static str) -> [(header::HeaderName, &'static str); 5] {
    [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, page::CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ]
}

/// The status page, rendered now.
async fn page_document(State(e): State<Endpoints>) -> Response {
    e.live.refresh_graph(super::live::GRAPH_EVERY);
    let recorded = e.status.snapshot();
    let html = e.live.read(|l| {
        let status = l.status(recorded);
        page::document(&status, l, std::time::SystemTime::now())
    });
    (page_headers("text/html; charset=utf-8"), html).into_response()
}

/// The part of the page its script refreshes.
async fn page_main(State(e): State<Endpoints>) -> Response {
    e.live.refresh_graph(super::live::GRAPH_EVERY);
    let recorded = e.status.snapshot();
    let html = e.live.read(|l| {
        let status = l.status(recorded);
        page::main(&status, l, std::time::SystemTime::now())
    });
    (page_headers("text/html; charset=utf-8"), html).into_response()
}

async fn page_css() -> Response {
    (page_headers("text/css; charset=utf-8"), page::CSS).into_response()
}

async fn page_js() -> Response {
    (page_headers("text/javascript; charset=utf-8"), page::JS).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::{EngineReport, StepOutcome, StepRecord};
    use crate::name::Name;
    use crate::reconcile::schedule::Trigger;
    use crate::reconcile::serve::status::{ErrorKind, MemberCounts, RevisionView, SyncStatus};
    use std::io::{Read, Write};
    use std::time::Duration;

    /// A plain HTTP/1.1 GET: (status code, body).
    async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
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
            let code = head.split(' ').nth(1).unwrap().parse().unwrap();
            (code, head.to_lowercase(), body.to_string())
        })
        .await
        .unwrap()
    }

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn only_loopback_unless_asked() {
        let lo = parse_listen_addr("127.0.0.1:9464").unwrap();
        assert_eq!(lo, DEFAULT_LISTEN);
        assert_eq!(parse_listen_addr("localhost:9464").unwrap(), DEFAULT_LISTEN);
        assert!(check_listen_addr(lo, false).is_ok());
        assert!(check_listen_addr(parse_listen_addr("[::1]:9464").unwrap(), false).is_ok());
        let any = parse_listen_addr("0.0.0.0:9464").unwrap();
        let e = check_listen_addr(any, false).unwrap_err();
        assert!(e.to_string().contains(NON_LOOPBACK_FLAG), "{e}");
        assert!(check_listen_addr(any, true).is_ok());
        for bad in ["9464", "localhost", "example.org:80", "127.0.0.1:99999"] {
            assert!(
                matches!(parse_listen_addr(bad), Err(ListenError::BadAddress(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn refuses_to_bind_a_non_loopback_address_without_the_flag() {
        let e = bind(parse_listen_addr("0.0.0.0:0").unwrap(), false)
            .await
            .unwrap_err();
        assert!(matches!(e, ListenError::NotLoopback(_)));
    }

    #[tokio::test]
    async fn serves_health_readiness_metrics_and_status_then_stops() {
        let endpoints = Endpoints {
            status: StatusHandle::default(),
            metrics: Arc::new(Metrics::new()),
            live: LiveHandle::default(),
        };
        let shutdown = Shutdown::new();
        let listener = bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, endpoints.clone(), shutdown.clone()));

        assert_eq!(get(addr, "/healthz").await.0, 200);
        assert_eq!(get(addr, "/readyz").await.0, 503);
        assert_eq!(get(addr, "/nope").await.0, 404);

        // What a pass would record.
        let report = EngineReport {
            steps: vec![
                StepRecord {
                    id: 1,
                    action: "set_parents",
                    name: name("web01.contoso.local"),
                    outcome: StepOutcome::Applied,
                    started: Some(0.0),
                    finished: Some(1.0),
                    attempts: 1,
                },
                StepRecord {
                    id: 2,
                    action: "await_connected",
                    name: name("web01.contoso.local"),
                    outcome: StepOutcome::TimedOut,
                    started: Some(1.0),
                    finished: Some(2.0),
                    attempts: 0,
                },
            ],
            ..EngineReport::default()
        };
        let m = &endpoints.metrics;
        m.pass_finished(Trigger::Startup, Duration::from_millis(120));
        m.pass_finished(Trigger::FileChanged, Duration::from_secs(3));
        m.record_steps(&report);
        m.error(ErrorKind::Invalid);
        endpoints.status.update(|s| {
            s.members = MemberCounts {
                bridged: 1,
                pending: 1,
                blocked: 2,
                stranded: 0,
            };
            s.ready = true;
            s.sync = Some(SyncStatus::Progressing);
            s.revision = Some(RevisionView {
                id: "0123456789abcdef0123456789abcdef01234567".into(),
                short: "0123456789ab".into(),
                since: "2026-11-26T16:00:00Z".into(),
            });
        });

        assert_eq!(get(addr, "/readyz").await.0, 200);

        let (code, head, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(
            head.contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        let scrape =
            prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
        let find = |metric: &str, label: (&str, &str)| {
            scrape
                .samples
                .iter()
                .find(|s| s.metric == metric && s.labels.get(label.0) == Some(label.1))
                .unwrap_or_else(|| panic!("{metric}{label:?} missing in\n{body}"))
                .value
                .clone()
        };
        use prometheus_parse::Value;
        assert_eq!(
            find(
                "handover_reconcile_passes_total",
                ("trigger", "file_changed")
            ),
            Value::Counter(1.0)
        );
        let steps: Vec<_> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == "handover_reconcile_steps_total")
            .map(|s| {
                (
                    s.labels.get("action").unwrap().to_string(),
                    s.labels.get("outcome").unwrap().to_string(),
                    s.value.clone(),
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                (
                    "await_connected".into(),
                    "timed_out".into(),
                    Value::Counter(1.0)
                ),
                ("set_parents".into(), "applied".into(), Value::Counter(1.0)),
            ]
        );
        assert_eq!(
            find("handover_reconcile_members", ("state", "blocked")),
            Value::Gauge(2.0)
        );
        assert_eq!(
            find(
                "handover_reconcile_revision_info",
                ("revision", "0123456789abcdef0123456789abcdef01234567")
            ),
            Value::Gauge(1.0)
        );
        assert_eq!(
            find("handover_reconcile_sync_status", ("status", "Progressing")),
            Value::Gauge(1.0)
        );
        assert_eq!(
            find("handover_reconcile_errors_total", ("kind", "invalid")),
            Value::Counter(1.0)
        );
        let hist = scrape
            .samples
            .iter()
            .find(|s| s.metric == "handover_reconcile_pass_duration_seconds")
            .expect("histogram");
        match &hist.value {
            Value::Histogram(b) => {
                let at = |le: f64| b.iter().find(|c| c.less_than == le).unwrap().count;
                assert_eq!(at(0.25), 1.0);
                assert_eq!(at(5.0), 2.0);
                assert_eq!(at(f64::INFINITY), 2.0);
            }
            other => panic!("not a histogram: {other:?}"),
        }

        let (code, head, body) = get(addr, "/status").await;
        assert_eq!(code, 200);
        assert!(head.contains("application/json"), "{head}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["sync"], "Progressing");
        assert_eq!(json["ready"], true);
        assert_eq!(json["revision"]["short"], "0123456789ab");
        for field in ["in_flight", "blocked", "last_error", "members", "refused"] {
            assert!(json.get(field).is_some(), "{field} missing in {json}");
        }

        // The status page: HTML with its policy, assets from the listener.
        let (code, head, body) = get(addr, "/").await;
        assert_eq!(code, 200);
        assert!(
            head.contains("content-type: text/html; charset=utf-8"),
            "{head}"
        );
        assert!(
            head.contains(&format!(
                "content-security-policy: {}",
                page::CSP.to_lowercase()
            )),
            "{head}"
        );
        assert!(head.contains("cache-control: no-store"), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(body.starts_with("<!doctype html>"), "{body}");
        assert!(body.contains(">Progressing</p>"), "{body}");
        assert!(body.contains("0123456789ab"), "{body}");
        for (path, kind) in [
            ("/page/main", "text/html"),
            ("/page/page.css", "text/css"),
            ("/page/page.js", "text/javascript"),
        ] {
            let (code, head, body) = get(addr, path).await;
            assert_eq!(code, 200, "{path}");
            assert!(
                head.contains(&format!("content-type: {kind}")),
                "{path}: {head}"
            );
            assert!(head.contains("content-security-policy"), "{path}: {head}");
            assert!(!body.contains("https://"), "{path}");
        }
        let (_, _, fragment) = get(addr, "/page/main").await;
        assert!(fragment.contains("id=\"sync\"") && !fragment.contains("<html"));

        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(3), server)
            .await
            .expect("listener stops on shutdown")
            .unwrap()
            .unwrap();
    }
}
