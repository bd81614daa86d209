//! A webhook receiver for the notification tests: an axum server on
//! 127.0.0.1:0 in its own thread, recording every request and answering
//! as scripted (a status code, or never).
//!
//! Owns the receiver only; the tests drive `handover reconcile`.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// With this status code.
    Code(u16),
    /// Never (the request hangs).
    Hang,
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Got {
    /// The request path.
    pub path: String,
    /// Its `Authorization` header.
    pub auth: Option<String>,
    /// Its `X-Api-Key` header.
    pub key: Option<String>,
    /// Its `Content-Type` header.
    pub content_type: Option<String>,
    /// The body, as JSON.
    pub body: serde_json::Value,
}

/// The receiver's shared state.
#[derive(Clone, Default)]
struct Shared {
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

/// A running receiver.
pub struct Hook {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Shared,
}

impl Hook {
    /// Starts a receiver answering with `script` in order, then 200.
    pub fn start(script: Vec<Reply>) -> Hook {
        let shared = Shared {
            got: Arc::default(),
            script: Arc::new(Mutex::new(script.into())),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(shared.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(l, app).await.unwrap();
            });
        });
        Hook { addr, shared }
    }

    /// `http://ADDR/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    /// Every request so far.
    pub fn got(&self) -> Vec<Got> {
        self.shared.got.lock().unwrap().clone()
    }

    /// The requests to `path` so far.
    pub fn to(&self, path: &str) -> Vec<Got> {
        self.got().into_iter().filter(|g| g.path == path).collect()
    }

    /// Waits (polling, at most `secs`) until `path` got `n` requests.
    pub fn until(&self, path: &str, n: usize, secs: u64) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.to(path);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} requests to {path}; got {got:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Records a request and answers as scripted.
async fn receive(State(s): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    s.got.lock().unwrap().push(Got {
        path: uri.path().to_string(),
        auth: header("authorization"),
        key: header("x-api-key"),
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    });
    let reply = s.script.lock().unwrap().pop_front();
    match reply {
        Some(Reply::Hang) => std::future::pending().await,
        Some(Reply::Code(c)) => StatusCode::from_u16(c).unwrap(),
        None => StatusCode::OK,
    }
}
