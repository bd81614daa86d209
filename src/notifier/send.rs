//! One HTTP POST of a notification, over http:// or https://.
//!
//! Owns the request: hyper's HTTP/1.1 client half (already built for the
//! listener and `handover wait`), TLS by rustls (already built for etcd)
//! with the system's trusted certificate authorities, one connection per
//! request, a timeout around all of it. Must not retry, queue, log the
//! URL or a header's value (they may be secrets), or decide anything: it
//! reports what happened as an [`Outcome`].

use super::retry::{Outcome, retry_after};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;

/// How much of an answer's body is read (and thrown away).
const MAX_ANSWER: usize = 64 * 1024;

/// One request, its secrets already read from the environment.
#[derive(Clone)]
pub struct Request {
    /// Where to POST.
    pub url: String,
    /// The JSON body.
    pub body: Bytes,
    /// Extra headers (name, value), `Authorization` among them when set.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Request {
    /// Shows neither the URL nor the headers' values: they may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("body_bytes", &self.body.len())
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// POSTs `req` once, within `timeout`.
pub async fn post(req: &Request, timeout: Duration) -> Outcome {
    match tokio::time::timeout(timeout, exchange(req)).await {
        Ok(Ok((code, retry))) => Outcome::Answered {
            code,
            retry_after: retry.and_then(|v| retry_after(&v, SystemTime::now())),
        },
        Ok(Err(e)) => Outcome::Unreachable(e),
        Err(_) => Outcome::Timeout,
    }
}

/// Connects (with TLS for https) and sends; the status and `Retry-After`.
async fn exchange(req: &Request) -> Result<(u16, Option<String>), String> {
    let uri: hyper::Uri = req
        .url
        .parse()
        .map_err(|_| "the URL does not parse".to_string())?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err("the URL is neither http:// nor https://".into()),
    };
    let host = uri.host().ok_or("the URL names no host")?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.as_str().rsplit('@').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let path = uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?;
    if tls {
        let config = tls_config()?;
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|_| format!("{host:?} is not a name TLS can check"))?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        send(stream, &authority, &path, req).await
    } else {
        send(stream, &authority, &path, req).await
    }
}

/// The HTTP/1.1 exchange on a connected stream.
async fn send<S>(
    io: S,
    authority: &str,
    path: &str,
    req: &Request,
) -> Result<(u16, Option<String>), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| e.to_string())?;
    let conn = tokio::spawn(conn);
    let mut builder = hyper::Request::post(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("handover/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in &req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(Full::new(req.body.clone()))
        .map_err(|_| "a header's name or value is not allowed in HTTP".to_string())?;
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string());
    let result = match answer {
        Ok(resp) => {
            let code = resp.status().as_u16();
            let retry = resp
                .headers()
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // Read the answer so the receiver sees a clean close.
            let _ = Limited::new(resp.into_body(), MAX_ANSWER).collect().await;
            Ok((code, retry))
        }
        Err(e) => Err(e),
    };
    conn.abort();
    result
}

/// The TLS client settings: the system's trusted certificate authorities
/// (so an estate's own CA, or a TLS-inspecting proxy's, works as it does
/// for every other program there), read once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = rustls::RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(
                    "no trusted certificate authority found in the system's store; install the CA certificates (ca-certificates)".to_string(),
                );
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let r = Request {
            url: "https://hooks.slack.com/services/T0/B0/SECRET".into(),
            body: Bytes::from_static(b"{}"),
            headers: vec![("Authorization".into(), "Bearer SECRET".into())],
        };
        let shown = format!("{r:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("Authorization"));
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_and_a_bad_scheme_is_said() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let mut r = Request {
            url: format!("http://127.0.0.1:{port}/hook"),
            body: Bytes::from_static(b"{}"),
            headers: Vec::new(),
        };
        assert!(matches!(
            post(&r, Duration::from_secs(5)).await,
            Outcome::Unreachable(_)
        ));
        r.url = "ftp://127.0.0.1/x".into();
        assert_eq!(
            post(&r, Duration::from_secs(5)).await,
            Outcome::Unreachable("the URL is neither http:// nor https://".into())
        );
    }
}
