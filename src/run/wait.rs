//! `handover wait` and `handover status` as use cases: a client of a
//! running `reconcile --listen`, in the manner of `argocd app wait` and
//! `kubectl rollout status`.
//!
//! Owns where `/status` is ([`endpoint`]), reading it over HTTP/1.1
//! (hyper's client, [`fetch`]), the polling loop with its timeout and its
//! grace for an unreachable listener ([`wait`]), one read for `status`
//! ([`read`]) and the exit code of each ending. The judgement itself is
//! [`crate::reconcile::wait::judge`], pure. Must not change anything (the
//! listener has no endpoint that acts) and must not print: the progress
//! lines go to the caller's `say`, and the CLI prints the [`Ending`].

use crate::reconcile::wait::{Condition, Failure, StatusDoc, Verdict, judge};
use crate::verdict::exit;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use std::time::{Duration, Instant};

/// How often `wait` reads `/status`.
const POLL: Duration = Duration::from_secs(1);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `wait` keeps trying a listener it cannot reach (a restart, a
/// loop still starting) before it gives up; never longer than `--timeout`.
const UNREACHABLE_GRACE: Duration = Duration::from_secs(30);
/// The largest `/status` read (a 100,000-member estate's blocked list fits).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// Where `/status` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` for the `Host` header.
    authority: String,
    /// The host to connect to (an IPv6 address without brackets).
    host: String,
    /// The port (80 when the URL has none).
    port: u16,
    /// The request path, ending in `/status`.
    path: String,
    /// The URL as given, for messages.
    shown: String,
}

/// Parses the listener's URL: `http://HOST[:PORT][/PREFIX]`, or
/// `HOST:PORT` (http is implied). A URL that already ends in `/status`
/// is used as it is.
pub fn endpoint(url: &str) -> Result<Endpoint, String> {
    let full = if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    let uri: hyper::Uri = full
        .parse()
        .map_err(|e| format!("{url:?} is not a URL ({e}); expected http://HOST:PORT"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "{url:?}: only http:// is supported (the listener serves plain HTTP on loopback)"
        ));
    }
    let Some(authority) = uri.authority() else {
        return Err(format!("{url:?} names no host; expected http://HOST:PORT"));
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let prefix = uri.path().trim_end_matches('/');
    let path = if prefix.ends_with("/status") {
        prefix.to_string()
    } else {
        format!("{prefix}/status")
    };
    Ok(Endpoint {
        authority: authority.as_str().to_string(),
        host,
        port: authority.port_u16().unwrap_or(80),
        path,
        shown: url.to_string(),
    })
}

/// Why `/status` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Nothing answered (refused, no route, timeout, a proxy's 5xx): may
    /// be temporary.
    #[error("cannot reach {url}: {why}")]
    Unreachable {
        /// The URL as given.
        url: String,
        /// What went wrong.
        why: String,
    },
    /// Something answered, but not with a reconcile status.
    #[error("{url} did not answer with a handover reconcile status: {why}")]
    NotAStatus {
        /// The URL as given.
        url: String,
        /// What was wrong with the answer.
        why: String,
    },
}

/// GETs `/status` once.
pub async fn fetch(ep: &Endpoint) -> Result<serde_json::Value, FetchError> {
    let unreachable = |why: String| FetchError::Unreachable {
        url: ep.shown.clone(),
        why,
    };
    let not_a_status = |why: String| FetchError::NotAStatus {
        url: ep.shown.clone(),
        why,
    };
    let request = async {
        let stream = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
        let conn = tokio::spawn(conn);
        let req = hyper::Request::get(ep.path.as_str())
            .header(hyper::header::HOST, ep.authority.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| not_a_status(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let code = resp.status();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        conn.abort();
        if code.is_server_error() {
            return Err(unreachable(format!("HTTP {code}")));
        }
        if !code.is_success() {
            return Err(not_a_status(format!("HTTP {code} for {}", ep.path)));
        }
        serde_json::from_slice(&body).map_err(|e| not_a_status(format!("not JSON: {e}")))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(r) => r,
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            REQUEST_TIMEOUT.as_secs()
        ))),
    }
}

/// Reads `/status` once for `handover status`: the document as it came
/// and the part a client judges. An answer that is JSON but not a
/// reconcile status is [`FetchError::NotAStatus`].
pub async fn read(ep: &Endpoint) -> Result<(serde_json::Value, StatusDoc), FetchError> {
    let json = fetch(ep).await?;
    let doc = StatusDoc::parse(&json).map_err(|e| FetchError::NotAStatus {
        url: ep.shown.clone(),
        why: e.to_string(),
    })?;
    Ok((json, doc))
}

/// What `handover status` exits with for a document: that of `wait --for
/// healthy` judged once (0 healthy or still starting; else the failure's
/// code, with its reason to say).
pub fn health(doc: &StatusDoc) -> (u8, Option<String>) {
    match judge(doc, Condition::Healthy, None) {
        Verdict::Holds(_) | Verdict::Waiting(_) => (exit::OK, None),
        Verdict::Fails(f) => (failure_code(&f), Some(f.reason())),
    }
}

/// How a wait ended.
#[derive(Debug)]
pub struct Ending {
    /// `holds`, a [`Failure::kind`], `timeout`, `unreachable` or `invalid`.
    pub result: &'static str,
    /// What to say.
    pub reason: String,
    /// The exit code.
    pub code: u8,
    /// The last status read, if any.
    pub status: Option<serde_json::Value>,
}

/// The exit code of a failure: 4 stranded (a safety violation), 3 blocked
/// (not converged, all safe), 1 otherwise (an error needs a person).
pub fn failure_code(f: &Failure) -> u8 {
    match f {
        Failure::Stranded(_) => exit::STRANDED,
        Failure::Blocked { .. } => exit::NOT_CONVERGED,
        Failure::Refused { .. } | Failure::Degraded(_) => exit::ERROR,
    }
}

/// What a wait waits for.
#[derive(Clone, Debug)]
pub struct WaitFor {
    /// The condition.
    pub condition: Condition,
    /// Also this revision in use (a commit id, a prefix, a `digest:…`).
    pub revision: Option<String>,
    /// Give up after this long; `None`: as long as it takes.
    pub timeout: Option<Duration>,
}

/// `HH:MM:SS` UTC, for progress lines.
fn clock() -> String {
    let now = crate::state::rfc3339(std::time::SystemTime::now());
    now.get(11..19).unwrap_or(&now).to_string()
}

/// Polls until the condition holds, cannot hold, the timeout passes or
/// the listener stays unreachable. Each progress line (the time, then
/// what changed) goes to `say` once, when it changes.
pub async fn wait(ep: &Endpoint, w: &WaitFor, say: &mut dyn FnMut(String)) -> Ending {
    let condition = w.condition;
    let start = Instant::now();
    let deadline = w.timeout.map(|t| start + t);
    let grace = w
        .timeout
        .map_or(UNREACHABLE_GRACE, |t| t.min(UNREACHABLE_GRACE));
    let mut last_answer = Instant::now();
    let mut last_line = String::new();
    let mut last_status = None;
    let mut said_unreachable = false;
    loop {
        let unreachable = match fetch(ep).await {
            Ok(json) => {
                last_answer = Instant::now();
                said_unreachable = false;
                let doc = match StatusDoc::parse(&json) {
                    Ok(d) => d,
                    Err(e) => {
                        return Ending {
                            result: "invalid",
                            reason: format!(
                                "{} did not answer with a handover reconcile status: {e}",
                                ep.shown
                            ),
                            code: exit::ERROR,
                            status: Some(json),
                        };
                    }
                };
                last_status = Some(json);
                match judge(&doc, condition, w.revision.as_deref()) {
                    Verdict::Holds(line) => {
                        return Ending {
                            result: "holds",
                            reason: line,
                            code: exit::OK,
                            status: last_status,
                        };
                    }
                    Verdict::Fails(f) => {
                        return Ending {
                            result: f.kind(),
                            reason: f.reason(),
                            code: failure_code(&f),
                            status: last_status,
                        };
                    }
                    Verdict::Waiting(line) => {
                        if line != last_line {
                            say(format!("{} {line}", clock()));
                            last_line = line;
                        }
                    }
                }
                None
            }
            Err(e @ FetchError::NotAStatus { .. }) => {
                return Ending {
                    result: "invalid",
                    reason: e.to_string(),
                    code: exit::ERROR,
                    status: last_status,
                };
            }
            Err(e @ FetchError::Unreachable { .. }) => {
                if !said_unreachable && last_answer.elapsed() < grace {
                    say(format!(
                        "{} {e}; retrying for up to {} s",
                        clock(),
                        grace.saturating_sub(last_answer.elapsed()).as_secs()
                    ));
                    said_unreachable = true;
                }
                Some(e)
            }
        };
        let now = Instant::now();
        if let Some(e) = unreachable
            && (now.duration_since(last_answer) >= grace || deadline.is_some_and(|d| now >= d))
        {
            return Ending {
                result: "unreachable",
                reason: e.to_string(),
                code: exit::UNREACHABLE,
                status: last_status,
            };
        }
        if let Some(d) = deadline
            && now >= d
        {
            let waited = humantime::format_duration(Duration::from_secs(start.elapsed().as_secs()));
            return Ending {
                result: "timeout",
                reason: format!(
                    "timed out after {waited} waiting for {}: {last_line}",
                    condition.as_str()
                ),
                code: exit::NOT_CONVERGED,
                status: last_status,
            };
        }
        let pause = deadline.map_or(POLL, |d| POLL.min(d.saturating_duration_since(now)));
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_and_without_scheme_prefix_and_ipv6() {
        let e = endpoint("http://127.0.0.1:9464").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 9464, "/status")
        );
        assert_eq!(e.authority, "127.0.0.1:9464");
        let e = endpoint("localhost:9464/").unwrap();
        assert_eq!((e.host.as_str(), e.path.as_str()), ("localhost", "/status"));
        let e = endpoint("http://proxy.contoso.local/handover/").unwrap();
        assert_eq!((e.port, e.path.as_str()), (80, "/handover/status"));
        let e = endpoint("http://[::1]:9464/status").unwrap();
        assert_eq!((e.host.as_str(), e.path.as_str()), ("::1", "/status"));
        assert!(
            endpoint("https://h:1")
                .unwrap_err()
                .contains("only http://")
        );
        assert!(endpoint("http://").is_err());
    }

    /// A listener that answers every request with `body` and `status`, on
    /// a loopback port; the test's runtime serves it.
    async fn serve(status: u16, body: &'static str) -> Endpoint {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        endpoint(&format!("http://{addr}")).unwrap()
    }

    #[tokio::test]
    async fn an_answer_that_is_not_a_status_ends_the_wait_as_invalid() {
        let ep = serve(200, "[1, 2]").await;
        let mut said = Vec::new();
        let w = WaitFor {
            condition: Condition::Synced,
            revision: None,
            timeout: Some(Duration::ZERO),
        };
        let e = wait(&ep, &w, &mut |l| said.push(l)).await;
        assert_eq!((e.result, e.code), ("invalid", exit::ERROR), "{e:?}");
        assert!(
            e.reason
                .contains("did not answer with a handover reconcile status")
        );
        assert!(said.is_empty(), "{said:?}");
        let err = read(&ep).await.unwrap_err();
        assert!(matches!(err, FetchError::NotAStatus { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_client_error_is_not_a_status_and_a_server_error_is_unreachable() {
        let ep = serve(404, "no").await;
        let err = fetch(&ep).await.unwrap_err();
        assert!(err.to_string().contains("HTTP 404"), "{err}");
        assert!(matches!(err, FetchError::NotAStatus { .. }));
        let ep = serve(503, "busy").await;
        let w = WaitFor {
            condition: Condition::Healthy,
            revision: None,
            timeout: Some(Duration::ZERO),
        };
        let mut said = Vec::new();
        let e = wait(&ep, &w, &mut |l| said.push(l)).await;
        assert_eq!(
            (e.result, e.code),
            ("unreachable", exit::UNREACHABLE),
            "{e:?}"
        );
        assert!(e.reason.contains("HTTP 503"), "{}", e.reason);
    }
}
