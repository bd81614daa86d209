//! How handover reaches a secured etcd: TLS (`etcds://`, the CA that
//! signed etcd's certificate, and optionally a client certificate for
//! etcd's `--client-cert-auth`) and etcd's own users (`--ha-user`, the
//! password from the environment, never from the command line).
//!
//! Owns [`Security`]: checking the combination against the address (pure)
//! and reading the PEM files into the client's options (once, at start).
//! Must not connect, campaign or apply.

use super::etcd::{Certificate, ConnectOptions, Identity, TlsOptions};
use super::url::HaUrl;
use std::path::{Path, PathBuf};

/// The environment variable `--ha-user`'s password is read from.
pub const PASSWORD_ENV: &str = "HANDOVER_ETCD_PASSWORD";

/// How to authenticate to etcd and check its identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Security {
    /// PEM file of the CA that signed etcd's certificate (`--ha-ca`).
    pub ca: Option<PathBuf>,
    /// PEM file of this replica's client certificate (`--ha-cert`).
    pub cert: Option<PathBuf>,
    /// PEM file of its private key (`--ha-key`).
    pub key: Option<PathBuf>,
    /// An etcd user (`--ha-user`).
    pub user: Option<String>,
    /// Its password (from [`PASSWORD_ENV`]).
    pub password: Option<String>,
}

/// Why the TLS or user settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// `etcds://` without a CA to check etcd's certificate against.
    #[error(
        "{url} speaks TLS but no CA was given: add --ha-ca FILE (the PEM certificate of the CA that signed etcd's server certificate)"
    )]
    NoCa {
        /// The address.
        url: String,
    },
    /// TLS files with a plain `etcd://` address.
    #[error("--ha-ca, --ha-cert and --ha-key need TLS: write the address as etcds://{hosts}")]
    NotTls {
        /// The address without its scheme.
        hosts: String,
    },
    /// A certificate without its key, or a key without its certificate.
    #[error(
        "--ha-cert and --ha-key go together: give both (the client certificate and its private key) or neither"
    )]
    Pair,
    /// `--ha-user` without a password in the environment.
    #[error("--ha-user {user} needs its password in the environment variable {PASSWORD_ENV}")]
    NoPassword {
        /// The user.
        user: String,
    },
    /// A PEM file that cannot be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// Which file (`the CA certificate`, ...).
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Security {
    /// Checks the combination against `url`, without touching the files.
    pub fn check(&self, url: &HaUrl) -> Result<(), SecurityError> {
        if self.cert.is_some() != self.key.is_some() {
            return Err(SecurityError::Pair);
        }
        let files = self.ca.is_some() || self.cert.is_some();
        if !url.tls && files {
            let shown = url.to_string();
            return Err(SecurityError::NotTls {
                hosts: shown.trim_start_matches("etcd://").to_string(),
            });
        }
        if url.tls && self.ca.is_none() {
            return Err(SecurityError::NoCa {
                url: url.to_string(),
            });
        }
        if let (Some(user), None) = (&self.user, &self.password) {
            return Err(SecurityError::NoPassword { user: user.clone() });
        }
        Ok(())
    }

    /// `opts` with the TLS settings and the user, the files read now.
    pub fn apply(
        &self,
        url: &HaUrl,
        mut opts: ConnectOptions,
    ) -> Result<ConnectOptions, SecurityError> {
        self.check(url)?;
        if url.tls {
            let mut tls = TlsOptions::new();
            if let Some(ca) = &self.ca {
                tls = tls.ca_certificate(Certificate::from_pem(read("the CA certificate", ca)?));
            }
            if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
                tls = tls.identity(Identity::from_pem(
                    read("the client certificate", cert)?,
                    read("the client key", key)?,
                ));
            }
            opts = opts.with_tls(tls);
        }
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            if !url.tls {
                tracing::warn!(
                    "--ha-user over plain etcd:// sends the password unencrypted; use etcds://"
                );
            }
            opts = opts.with_user(user.clone(), password.clone());
        }
        Ok(opts)
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, SecurityError> {
    std::fs::read(path).map_err(|source| SecurityError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::url::parse;

    fn with(ca: bool, cert: bool, key: bool) -> Security {
        Security {
            ca: ca.then(|| "ca.pem".into()),
            cert: cert.then(|| "client.pem".into()),
            key: key.then(|| "client.key".into()),
            ..Security::default()
        }
    }

    #[test]
    fn each_mistake_says_what_to_do() {
        let plain = parse("etcd://e1:2379").unwrap();
        let tls = parse("etcds://e1:2379").unwrap();
        assert!(with(false, false, false).check(&plain).is_ok());
        assert!(with(true, false, false).check(&tls).is_ok());
        assert!(with(true, true, true).check(&tls).is_ok());
        let e = with(false, false, false).check(&tls).unwrap_err();
        assert!(e.to_string().contains("add --ha-ca FILE"), "{e}");
        let e = with(true, false, false).check(&plain).unwrap_err();
        assert!(
            e.to_string()
                .contains("write the address as etcds://e1:2379"),
            "{e}"
        );
        assert!(matches!(
            with(true, true, false).check(&tls),
            Err(SecurityError::Pair)
        ));
        let user = Security {
            user: Some("handover".into()),
            ..Security::default()
        };
        let e = user.check(&plain).unwrap_err();
        assert!(e.to_string().contains(PASSWORD_ENV), "{e}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let tls = parse("etcds://e1:2379").unwrap();
        let s = Security {
            ca: Some("/nonexistent/ca.pem".into()),
            ..Security::default()
        };
        let e = s.apply(&tls, ConnectOptions::new()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot read the CA certificate /nonexistent/ca.pem"),
            "{e}"
        );
    }
}
