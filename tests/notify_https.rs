//! Notifications over https: `reconcile --once` against `sim:` posts to a
//! local TLS webhook whose certificate a test CA signed. Trusted through
//! `SSL_CERT_FILE` (as an estate's own CA would be through the system's
//! store), the notification arrives; not trusted, it never does. Needs the
//! openssl command (skipped without it, except under CI).

mod common;

use assert_cmd::cargo::CommandCargoExt;
use common::openssl;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls;

/// A CA (`ca.pem`) and a server certificate for 127.0.0.1 it signed
/// (`server.pem`, `server.key`).
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca = [
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=handover test CA",
    ];
    openssl(dir, &[&["req", "-x509"][..], &ec, &ca].concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let req = [
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=hook",
    ];
    openssl(dir, &[&["req"][..], &ec, &req].concat());
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

/// A TLS webhook on 127.0.0.1: its port and the bodies it received.
fn tls_hook(dir: &Path) -> (u16, Arc<Mutex<Vec<serde_json::Value>>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = got.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let (acceptor, seen) = (acceptor.clone(), seen.clone());
                tokio::spawn(async move {
                    // A client that does not trust the certificate hangs up here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let seen = seen.clone();
                            async move {
                                use http_body_util::BodyExt;
                                let body = req.into_body().collect().await?.to_bytes();
                                seen.lock()
                                    .unwrap()
                                    .push(serde_json::from_slice(&body).unwrap_or_default());
                                Ok::<_, hyper::Error>(hyper::Response::new(
                                    http_body_util::Empty::<hyper::body::Bytes>::new(),
                                ))
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
    });
    (port, got)
}

/// The replace-gateway example with gw2 not ready (so pass 1 has blocked
/// members) and one https receiver.
fn setup(dir: &Path, port: u16) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/topologies/replace-gateway");
    let desired = std::fs::read_to_string(example.join("desired.yaml")).unwrap();
    std::fs::create_dir(dir.join("desired")).unwrap();
    std::fs::write(
        dir.join("desired/desired.yaml"),
        format!(
            "{}\n  notifications:\n    - name: secure\n      url: https://127.0.0.1:{port}/hook\n      on: [blocked]\n",
            desired.trim_end()
        ),
    )
    .unwrap();
    let observed = std::fs::read_to_string(example.join("observed.yaml")).unwrap();
    let from = "  - name: gw2.dmz.contoso.local\n    primary: ms1.contoso.local\n    failover: [ms2.contoso.local]\n    connected: ms1.contoso.local\n    up: true\n    ready: true";
    assert!(observed.contains(from));
    std::fs::write(
        dir.join("estate.yaml"),
        observed.replacen(from, &from.replace("ready: true", "ready: false"), 1),
    )
    .unwrap();
}

fn reconcile_once(dir: &Path, ca: Option<&Path>) -> (i32, String) {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(dir).args([
        "reconcile",
        "--once",
        "--desired",
        "desired",
        "--target",
        "sim:estate.yaml",
    ]);
    match ca {
        Some(ca) => c.env("SSL_CERT_FILE", ca),
        None => c.env_remove("SSL_CERT_FILE"),
    };
    let out = c.env_remove("SSL_CERT_DIR").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_notification_reaches_an_https_webhook_only_through_a_trusted_certificate() {
    if common::tool(&common::OPENSSL, "notify_https").is_none() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let (port, got) = tls_hook(certs.path());

    let trusted = tempfile::tempdir().unwrap();
    setup(trusted.path(), port);
    let (code, err) = reconcile_once(trusted.path(), Some(&certs.path().join("ca.pem")));
    assert_eq!(code, 3, "blocked is exit 3:\n{err}");
    let bodies = got.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{err}");
    assert_eq!(bodies[0]["event"], "blocked");
    assert_eq!(bodies[0]["kind"], "Notification");

    // Without the test CA the certificate is not trusted: nothing arrives.
    let untrusted = tempfile::tempdir().unwrap();
    setup(untrusted.path(), port);
    let (code, err) = reconcile_once(untrusted.path(), None);
    assert_eq!(code, 3, "{err}");
    assert_eq!(got.lock().unwrap().len(), 1, "{err}");
    assert!(
        err.contains("notification not delivered; trying again"),
        "{err}"
    );
    // Because the certificate was checked (or, on a machine with no CA
    // store at all, because nothing could be).
    assert!(
        err.contains("TLS: invalid peer certificate: UnknownIssuer")
            || err.contains("no trusted certificate authority found"),
        "{err}"
    );
}
