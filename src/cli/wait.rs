//! `handover wait` and `handover status`: a client of a running
//! `reconcile --listen`, in the manner of `argocd app wait` and
//! `kubectl rollout status`.
//!
//! Owns the command lines, reading `/status` over HTTP/1.1 (hyper's
//! client, [`fetch`]), the polling loop with its timeout and its grace for
//! an unreachable listener, and what is printed: progress on stderr (one
//! line whenever it changes), the result on stdout (a line, or with
//! `--format json` one JSON object and nothing else), errors on stderr.
//! The judgement itself is [`handover::reconcile::wait::judge`], pure.
//! Must not change anything: the listener has no endpoint that acts.

use super::exit;
use super::flags::parse_duration;
use handover::diag::thousands;
use handover::model::Seconds;
use handover::reconcile::wait::{Condition, Failure, StatusDoc, Verdict, judge, progress};
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

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object on stdout, for scripts.
    Json,
}

/// What `wait` waits for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum For {
    /// Synced at the revision in use: nothing in a bridge, pending or
    /// blocked.
    Synced,
    /// Nothing needs a person: not Degraded, nothing stranded, no refused
    /// revision (it may still be Progressing).
    Healthy,
}

impl From<For> for Condition {
    fn from(f: For) -> Condition {
        match f {
            For::Synced => Condition::Synced,
            For::Healthy => Condition::Healthy,
        }
    }
}

/// `handover wait`.
#[derive(clap::Args, Debug)]
pub struct WaitArgs {
    /// The reconcile listener (its --listen address), e.g.
    /// http://127.0.0.1:9464; a path prefix is kept (behind a proxy).
    #[arg(long, value_name = "URL")]
    pub listen_url: String,
    /// What to wait for.
    #[arg(
        long = "for",
        value_enum,
        default_value = "synced",
        value_name = "CONDITION"
    )]
    pub condition: For,
    /// Also wait until this revision is in use: a commit id (or a prefix
    /// of at least 7 characters) or the `digest:…` of a path.
    #[arg(long, value_name = "ID")]
    pub revision: Option<String>,
    /// Give up after this long (e.g. 30m, 2h; 0s: judge once). Default:
    /// wait as long as it takes.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Seconds>,
    /// Output format of the result (progress goes to stderr either way).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `handover status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// The reconcile listener (its --listen address), e.g.
    /// http://127.0.0.1:9464.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Output format: a summary, or `/status` as JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Where `/status` is.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
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
fn endpoint(url: &str) -> Result<Endpoint, String> {
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
enum FetchError {
    /// Nothing answered (refused, no route, timeout, a proxy's 5xx): may
    /// be temporary.
    #[error("cannot reach {url}: {why}")]
    Unreachable { url: String, why: String },
    /// Something answered, but not with a reconcile status.
    #[error("{url} did not answer with a handover reconcile status: {why}")]
    NotAStatus { url: String, why: String },
}

/// GETs `/status` once.
async fn fetch(ep: &Endpoint) -> Result<serde_json::Value, FetchError> {
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

/// How a wait ended.
#[derive(Debug)]
struct Ending {
    /// `holds`, a [`Failure::kind`], `timeout`, `unreachable` or `invalid`.
    result: &'static str,
    /// What to say.
    reason: String,
    /// The exit code.
    code: u8,
    /// The last status read, if any.
    status: Option<serde_json::Value>,
}

/// The exit code of a failure: 4 stranded (a safety violation), 3 blocked
/// (not converged, all safe), 1 otherwise (an error needs a person).
fn failure_code(f: &Failure) -> u8 {
    match f {
        Failure::Stranded(_) => exit::STRANDED,
        Failure::Blocked { .. } => exit::NOT_CONVERGED,
        Failure::Refused { .. } | Failure::Degraded(_) => exit::ERROR,
    }
}

/// `HH:MM:SS` UTC, for progress lines.
fn clock() -> String {
    let now = handover::state::rfc3339(std::time::SystemTime::now());
    now.get(11..19).unwrap_or(&now).to_string()
}

/// Polls until the condition holds, cannot hold, the timeout passes or
/// the listener stays unreachable.
async fn wait_for(ep: &Endpoint, args: &WaitArgs) -> Ending {
    let condition = Condition::from(args.condition);
    let start = Instant::now();
    let deadline = args.timeout.map(|t| start + t.as_duration());
    let grace = args.timeout.map_or(UNREACHABLE_GRACE, |t| {
        t.as_duration().min(UNREACHABLE_GRACE)
    });
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
                match judge(&doc, condition, args.revision.as_deref()) {
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
                            eprintln!("{} {line}", clock());
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
                    eprintln!(
                        "{} {e}; retrying for up to {} s",
                        clock(),
                        grace.saturating_sub(last_answer.elapsed()).as_secs()
                    );
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

/// Runs `handover wait`; returns the exit code.
pub fn run_wait(args: WaitArgs) -> u8 {
    super::exit_code(wait_inner(args))
}

fn wait_inner(args: WaitArgs) -> Result<u8, String> {
    let ep = endpoint(&args.listen_url).map_err(|e| format!("error: --listen-url {e}"))?;
    let runtime = super::runtime()?;
    let ending = runtime.block_on(wait_for(&ep, &args));
    let condition = Condition::from(args.condition);
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "condition": condition.as_str(),
                "revision": args.revision,
                "result": ending.result,
                "reason": ending.reason,
                "exit_code": ending.code,
                "status": ending.status,
            });
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            if ending.code != exit::OK {
                eprintln!("error: {}", ending.reason);
            }
            if !super::write_stdout(&text) {
                return Ok(exit::ERROR);
            }
        }
        Format::Text => {
            if ending.code == exit::OK {
                if !super::write_stdout(&format!("{}: {}\n", condition.as_str(), ending.reason)) {
                    return Ok(exit::ERROR);
                }
            } else {
                eprintln!("error: {}", ending.reason);
            }
        }
    }
    Ok(ending.code)
}

/// Runs `handover status`; returns the exit code: that of `wait --for
/// healthy` judged once (0 healthy or still starting, 1 Degraded, 4
/// stranded, 5 unreachable).
pub fn run_status(args: StatusArgs) -> u8 {
    super::exit_code(status_inner(args))
}

fn status_inner(args: StatusArgs) -> Result<u8, String> {
    let ep = endpoint(&args.url).map_err(|e| format!("error: {e}"))?;
    let runtime = super::runtime()?;
    let json = match runtime.block_on(fetch(&ep)) {
        Ok(j) => j,
        Err(e @ FetchError::Unreachable { .. }) => {
            eprintln!("error: {e}");
            return Ok(exit::UNREACHABLE);
        }
        Err(e) => return Err(format!("error: {e}")),
    };
    let doc = StatusDoc::parse(&json).map_err(|e| {
        format!(
            "error: {} did not answer with a handover reconcile status: {e}",
            ep.shown
        )
    })?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
        Format::Text => summary(&doc),
    };
    if !super::write_stdout(&text) {
        return Ok(exit::ERROR);
    }
    Ok(match judge(&doc, Condition::Healthy, None) {
        Verdict::Holds(_) | Verdict::Waiting(_) => exit::OK,
        Verdict::Fails(f) => {
            eprintln!("error: {}", f.reason());
            failure_code(&f)
        }
    })
}

/// The most members `status` lists in text (the rest are counted).
const SHOWN: usize = 10;

/// A status for people: the progress line, then what to look at.
fn summary(doc: &StatusDoc) -> String {
    let mut o = format!("{}\n", progress(doc));
    let mut row = |k: &str, v: String| o.push_str(&format!("  {k:<10} {v}\n"));
    if let Some(r) = &doc.revision {
        row("revision", r.id.clone());
    }
    row("source", doc.source.clone());
    row("target", doc.target.clone());
    row("passes", thousands(doc.passes));
    if let Some(ha) = &doc.ha {
        row(
            "replica",
            format!(
                "{} (leader: {})",
                ha.role,
                ha.leader.as_deref().unwrap_or("none")
            ),
        );
    }
    if let Some(e) = &doc.last_error {
        row("error", format!("{}: {}", e.kind, e.message));
    }
    if let Some(r) = &doc.refused {
        row("refused", r.revision.clone());
        for e in r.errors.iter().take(SHOWN) {
            o.push_str(&format!("    {e}\n"));
        }
    }
    if !doc.in_flight.is_empty() {
        o.push_str(&format!(
            "In a bridge ({}):\n",
            thousands(doc.in_flight.len() as u64)
        ));
        for f in doc.in_flight.iter().take(SHOWN) {
            o.push_str(&format!("  {} since {}\n", f.name, f.since));
        }
        more(&mut o, doc.in_flight.len());
    }
    if !doc.blocked.is_empty() {
        o.push_str(&format!(
            "Blocked ({}):\n",
            thousands(doc.blocked.len() as u64)
        ));
        for b in doc.blocked.iter().take(SHOWN) {
            o.push_str(&format!("  {} {}: {}\n", b.kind, b.name, b.reason));
        }
        more(&mut o, doc.blocked.len());
    }
    o
}

fn more(o: &mut String, total: usize) {
    if total > SHOWN {
        o.push_str(&format!(
            "  and {} more\n",
            thousands((total - SHOWN) as u64)
        ));
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
}
