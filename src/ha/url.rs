//! The `--ha` address: `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`, or
//! `etcds://...` for etcd over TLS.
//!
//! Pure: turns the flag into the endpoints the etcd client dials and the
//! key prefix every handover key lives under. Must not connect.

use std::fmt;

/// The key prefix when the address names none.
pub const DEFAULT_PREFIX: &str = "/handover";

/// The client port of etcd, when an endpoint names none.
pub const DEFAULT_PORT: u16 = 2379;

/// A parsed `--ha` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaUrl {
    /// `http://host:port` (`https://` over TLS) for each member of the
    /// etcd cluster, in order.
    pub endpoints: Vec<String>,
    /// `etcds://`: speak TLS to etcd (see [`super::secure`]).
    pub tls: bool,
    /// Where handover's keys live: starts with `/`, no trailing `/`.
    pub prefix: String,
}

/// Why a `--ha` address was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Neither `etcd://` nor `etcds://`.
    #[error(
        "{0:?} is not an etcd address: write etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (etcds:// for TLS)"
    )]
    Scheme(String),
    /// `etcd://` with no host, or an empty entry between commas.
    #[error("{0:?} names no etcd host: write etcd://HOST:PORT[,HOST:PORT...][/PREFIX]")]
    NoHost(String),
    /// A port that is not a number from 1 to 65535.
    #[error("{endpoint:?} in {url:?} has a bad port: give a number from 1 to 65535")]
    Port {
        /// The endpoint as written.
        endpoint: String,
        /// The whole address.
        url: String,
    },
    /// A prefix with an empty segment, `.`/`..`, or characters outside
    /// letters, digits, `-`, `_` and `.`.
    #[error(
        "{prefix:?} in {url:?} is not a key prefix: use segments of letters, digits, '-', '_' and '.', separated by '/'"
    )]
    Prefix {
        /// The prefix as written.
        prefix: String,
        /// The whole address.
        url: String,
    },
}

impl fmt::Display for HaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<&str> = self
            .endpoints
            .iter()
            .map(|e| {
                e.trim_start_matches("http://")
                    .trim_start_matches("https://")
            })
            .collect();
        let scheme = if self.tls { "etcds" } else { "etcd" };
        write!(f, "{scheme}://{}{}", hosts.join(","), self.prefix)
    }
}

/// Parses `etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX]`. HOST is a name,
/// an IPv4 address, or `[IPv6]`; PORT defaults to 2379; PREFIX defaults to
/// `/handover`.
pub fn parse(url: &str) -> Result<HaUrl, UrlError> {
    let (tls, rest) = match (url.strip_prefix("etcd://"), url.strip_prefix("etcds://")) {
        (Some(rest), _) => (false, rest),
        (_, Some(rest)) => (true, rest),
        _ => return Err(UrlError::Scheme(url.to_string())),
    };
    let (hosts, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if hosts.is_empty() {
        return Err(UrlError::NoHost(url.to_string()));
    }
    let mut endpoints = Vec::new();
    for h in hosts.split(',') {
        let e = endpoint(h, url)?;
        endpoints.push(if tls {
            e.replacen("http://", "https://", 1)
        } else {
            e
        });
    }
    let prefix = prefix.trim_end_matches('/');
    let prefix = if prefix.is_empty() {
        DEFAULT_PREFIX.to_string()
    } else {
        let ok = prefix[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
        if !ok {
            return Err(UrlError::Prefix {
                prefix: prefix.to_string(),
                url: url.to_string(),
            });
        }
        prefix.to_string()
    };
    Ok(HaUrl {
        endpoints,
        tls,
        prefix,
    })
}

fn endpoint(h: &str, url: &str) -> Result<String, UrlError> {
    if h.is_empty() {
        return Err(UrlError::NoHost(url.to_string()));
    }
    let bad_port = || UrlError::Port {
        endpoint: h.to_string(),
        url: url.to_string(),
    };
    // [v6]:port, [v6], host:port, host
    let (host, port) = if let Some(v6) = h.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| UrlError::NoHost(url.into()))?;
        if addr.is_empty() {
            return Err(UrlError::NoHost(url.to_string()));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad_port)?),
        };
        (format!("[{addr}]"), port)
    } else {
        match h.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (h.to_string(), None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '[' | ']' | ':'))
    {
        return Err(UrlError::NoHost(url.to_string()));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad_port()),
        },
    };
    Ok(format!("http://{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_host_with_port_and_the_default_prefix() {
        let u = parse("etcd://127.0.0.1:2379").unwrap();
        assert_eq!(u.endpoints, vec!["http://127.0.0.1:2379"]);
        assert_eq!(u.prefix, "/handover");
        assert_eq!(u.to_string(), "etcd://127.0.0.1:2379/handover");
    }

    #[test]
    fn several_hosts_default_port_ipv6_and_a_prefix() {
        let u = parse("etcd://e1.contoso.local,e2.contoso.local:2479,[::1]:23/ops/scom/").unwrap();
        assert_eq!(
            u.endpoints,
            vec![
                "http://e1.contoso.local:2379",
                "http://e2.contoso.local:2479",
                "http://[::1]:23"
            ]
        );
        assert_eq!(u.prefix, "/ops/scom");
        assert_eq!(
            parse("etcd://[::1]").unwrap().endpoints,
            vec!["http://[::1]:2379"]
        );
    }

    #[test]
    fn etcds_speaks_tls_to_every_member() {
        let u = parse("etcds://e1.contoso.local,10.0.0.5:2479/ops").unwrap();
        assert!(u.tls);
        assert_eq!(
            u.endpoints,
            vec!["https://e1.contoso.local:2379", "https://10.0.0.5:2479"]
        );
        assert_eq!(
            u.to_string(),
            "etcds://e1.contoso.local:2379,10.0.0.5:2479/ops"
        );
        assert!(!parse("etcd://h").unwrap().tls);
    }

    #[test]
    fn refusals_say_what_to_write() {
        let e = parse("http://127.0.0.1:2379").unwrap_err();
        assert!(matches!(e, UrlError::Scheme(_)));
        assert!(e.to_string().contains("etcd://HOST:PORT"), "{e}");
        assert!(matches!(parse("etcd://").unwrap_err(), UrlError::NoHost(_)));
        assert!(matches!(
            parse("etcd:///x").unwrap_err(),
            UrlError::NoHost(_)
        ));
        assert!(matches!(
            parse("etcd://a,,b").unwrap_err(),
            UrlError::NoHost(_)
        ));
        assert!(matches!(
            parse("etcd://a b:1").unwrap_err(),
            UrlError::NoHost(_)
        ));
        let e = parse("etcd://h:99999").unwrap_err();
        assert!(matches!(e, UrlError::Port { .. }));
        assert!(e.to_string().contains("1 to 65535"), "{e}");
        assert!(matches!(
            parse("etcd://h:0").unwrap_err(),
            UrlError::Port { .. }
        ));
        assert!(matches!(
            parse("etcd://h:x").unwrap_err(),
            UrlError::Port { .. }
        ));
        assert!(matches!(
            parse("etcd://[::1]x").unwrap_err(),
            UrlError::Port { .. }
        ));
        for p in ["etcd://h/a//b", "etcd://h/../x", "etcd://h/a b"] {
            let e = parse(p).unwrap_err();
            assert!(matches!(e, UrlError::Prefix { .. }), "{p}: {e}");
        }
    }
}
