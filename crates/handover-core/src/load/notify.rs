//! `policy.notifications` from its document to the model: every value's
//! syntax (names, URLs, environment variable names, formats, events,
//! headers), each bad one reported at its place.
//!
//! Owns the checks of one receiver list; must not read the environment
//! (a variable named here may be unset at load time and set where
//! `reconcile` runs: the sender says so when it sends) or do I/O.

use super::build::{Builder, nearest, quote};
use super::doc::{self, Text};
use crate::diag::{Diagnostic, Pos};
use crate::model::notify::{EnvHeader, Event, Format, Receiver, UrlSource};
use std::collections::BTreeMap;

/// Headers a receiver may not set: the sender writes them itself.
const RESERVED_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "authorization",
];

impl Builder<'_> {
    /// The receivers of `policy.notifications`, each checked; a receiver
    /// with a bad value is reported and left out (the file is refused).
    pub(super) fn notifications(&mut self, list: &[doc::ReceiverDoc]) -> Vec<Receiver> {
        let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
        let mut out = Vec::new();
        for r in list {
            self.unknown(&r.unknown);
            for h in &r.headers {
                self.unknown(&h.unknown);
            }
            let before = self.diags.len();
            let name = r.name.value.clone();
            let at = self.pos(&r.name);
            if !valid_receiver_name(&name) {
                self.diags.push(
                    Diagnostic::at(
                        at.clone(),
                        format!(
                            "notification receiver name {} is not allowed; expected 1 to 64 letters, digits, '.', '_' or '-'",
                            quote(&name)
                        ),
                    )
                    .with_hint("the name is what logs and metrics show, so keep it short: ops-teams, audit"),
                );
            } else if let Some(first) = seen.get(&name.to_ascii_lowercase()) {
                self.diags.push(
                    Diagnostic::at(
                        at.clone(),
                        format!(
                            "notification receiver {} is given twice: here and at {first}",
                            quote(&name)
                        ),
                    )
                    .with_hint("give each receiver its own name"),
                );
            } else {
                seen.insert(name.to_ascii_lowercase(), at.clone());
            }
            let url = self.receiver_url(r, &name, &at);
            let format = match &r.format {
                None => Format::Json,
                Some(f) => match Format::parse(&f.value) {
                    Some(f) => f,
                    None => {
                        let pos = self.pos(f);
                        let names = Format::ALL.map(Format::as_str);
                        let d = Diagnostic::at(
                            pos,
                            format!(
                                "format {} of notification receiver {} is not known; expected json, teams or slack",
                                quote(&f.value),
                                quote(&name)
                            ),
                        );
                        self.diags.push(match nearest(&f.value, &names) {
                            Some(n) => d.with_hint(format!("did you mean {n}?")),
                            None => d,
                        });
                        Format::Json
                    }
                },
            };
            let on = self.receiver_events(r, &name);
            let secret_env = r
                .secret_env
                .as_ref()
                .map(|s| self.env_name(s, "secretEnv", &name));
            let headers = self.receiver_headers(r, &name);
            if self.diags.len() == before
                && let Some(url) = url
            {
                out.push(Receiver {
                    name,
                    url,
                    format,
                    on,
                    secret_env,
                    headers,
                });
            }
        }
        out
    }

    /// `url` or `urlEnv`, exactly one.
    fn receiver_url(&mut self, r: &doc::ReceiverDoc, name: &str, at: &Pos) -> Option<UrlSource> {
        match (&r.url, &r.url_env) {
            (Some(_), Some(e)) => {
                let pos = self.pos(e);
                self.diags.push(
                    Diagnostic::at(
                        pos,
                        format!(
                            "notification receiver {} gives both url and urlEnv; give one",
                            quote(name)
                        ),
                    )
                    .with_hint(
                        "use urlEnv when the URL is a secret (Teams and Slack webhook URLs are)",
                    ),
                );
                None
            }
            (None, None) => {
                self.diags.push(
                    Diagnostic::at(
                        at.clone(),
                        format!(
                            "notification receiver {} has no url; expected url: https://... or urlEnv: VARIABLE",
                            quote(name)
                        ),
                    )
                    .with_hint("use urlEnv when the URL is a secret (Teams and Slack webhook URLs are)"),
                );
                None
            }
            (Some(u), None) => match check_url(&u.value) {
                Ok(()) => Some(UrlSource::Literal(u.value.clone())),
                Err(why) => {
                    let pos = self.pos(u);
                    self.diags.push(
                        Diagnostic::at(
                            pos,
                            format!(
                                "url of notification receiver {} is not usable: {why}",
                                quote(name)
                            ),
                        )
                        .with_hint("write it as https://HOST[:PORT]/PATH"),
                    );
                    None
                }
            },
            (None, Some(e)) => Some(UrlSource::Env(self.env_name(e, "urlEnv", name))),
        }
    }

    /// `on:`, sorted; every event when absent.
    fn receiver_events(&mut self, r: &doc::ReceiverDoc, name: &str) -> Vec<Event> {
        let Some(list) = &r.on else {
            return Event::ALL.to_vec();
        };
        if list.value.is_empty() {
            let pos = self.pos(list);
            self.diags.push(
                Diagnostic::at(
                    pos,
                    format!(
                        "on: of notification receiver {} names no event, so it would never be sent anything",
                        quote(name)
                    ),
                )
                .with_hint("name the events it wants, or remove on: to send it every event"),
            );
            return Vec::new();
        }
        let names = Event::names();
        let mut on = Vec::new();
        for e in &list.value {
            let pos = self.pos(e);
            match Event::parse(&e.value) {
                Some(ev) if on.contains(&ev) => self.diags.push(Diagnostic::at(
                    pos,
                    format!(
                        "event {} is given twice in on: of notification receiver {}",
                        quote(&e.value),
                        quote(name)
                    ),
                )),
                Some(ev) => on.push(ev),
                None => {
                    let d = Diagnostic::at(
                        pos,
                        format!(
                            "event {} in on: of notification receiver {} is not known",
                            quote(&e.value),
                            quote(name)
                        ),
                    );
                    let hint = match nearest(&e.value, &names) {
                        Some(n) => format!("did you mean {n}?"),
                        None => format!("the events are {}", names.join(", ")),
                    };
                    self.diags.push(d.with_hint(hint));
                }
            }
        }
        on.sort();
        on
    }

    /// `headers:`, each name a token that the sender does not write itself.
    fn receiver_headers(&mut self, r: &doc::ReceiverDoc, name: &str) -> Vec<EnvHeader> {
        let mut out: Vec<EnvHeader> = Vec::new();
        for h in &r.headers {
            let pos = self.pos(&h.name);
            let header = &h.name.value;
            let lower = header.to_ascii_lowercase();
            if !valid_header_name(header) {
                self.diags.push(Diagnostic::at(
                    pos,
                    format!(
                        "header {} of notification receiver {} is not a header name; expected letters, digits and - (X-Api-Key)",
                        quote(header),
                        quote(name)
                    ),
                ));
                continue;
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                self.diags.push(
                    Diagnostic::at(
                        pos,
                        format!(
                            "header {} of notification receiver {} is written by handover itself",
                            quote(header),
                            quote(name)
                        ),
                    )
                    .with_hint("for a bearer token use secretEnv; remove this header"),
                );
                continue;
            }
            if out.iter().any(|o| o.name.eq_ignore_ascii_case(header)) {
                self.diags.push(Diagnostic::at(
                    pos,
                    format!(
                        "header {} of notification receiver {} is given twice",
                        quote(header),
                        quote(name)
                    ),
                ));
                continue;
            }
            let env = self.env_name(&h.env, "env", name);
            out.push(EnvHeader {
                name: header.clone(),
                env,
            });
        }
        out
    }

    /// An environment variable's name, checked (reported when bad). A
    /// value that looks like a URL is not quoted: it is most likely the
    /// secret itself, written where its variable's name belongs, and
    /// messages reach logs and `/status`.
    fn env_name(&mut self, t: &Text, key: &str, receiver: &str) -> String {
        if !valid_env_name(&t.value) {
            let pos = self.pos(t);
            let d = if t.value.contains("://") {
                Diagnostic::at(
                    pos,
                    format!(
                        "{key} of notification receiver {} holds a URL (not repeated here), not an environment variable name",
                        quote(receiver)
                    ),
                )
                .with_hint(format!(
                    "{key} names the variable that holds the secret, such as HANDOVER_TEAMS_URL; put the URL in that variable where reconcile runs, and treat it as leaked: it is in the repository's history"
                ))
            } else {
                Diagnostic::at(
                    pos,
                    format!(
                        "{key} {} of notification receiver {} is not an environment variable name; expected letters, digits and _ (not first a digit)",
                        quote(&t.value),
                        quote(receiver)
                    ),
                )
                .with_hint("such as HANDOVER_TEAMS_URL")
            };
            self.diags.push(d);
        }
        t.value.clone()
    }
}

/// 1 to 64 of letters, digits, `.`, `_` and `-`.
fn valid_receiver_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_env_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// An HTTP token (RFC 9110 section 5.6.2).
fn valid_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks that `url` is an absolute http:// or https:// URL with a host
/// and no spaces; says what is wrong otherwise.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| "expected it to start with https:// or http://".to_string())?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains a space or a control character".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err("it names no host".into());
    }
    if let Some((_, port)) = host.rsplit_once(':')
        && !host.ends_with(']')
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(format!("port {port:?} is not a port number (1 to 65535)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        for ok in [
            "https://contoso.webhook.office.com/webhookb2/abc",
            "http://127.0.0.1:8080/hook",
            "https://hooks.slack.com/services/T0/B0/x?y=1",
            "http://[::1]:9000/",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("hooks.slack.com/services", "start with https://"),
            ("ftp://x/y", "start with https://"),
            ("https:///path", "no host"),
            ("https://host:99999/", "not a port"),
            ("https://host/a b", "space"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    /// The schema's lists (`handover schema`) are the names the loader
    /// accepts: one is not edited without the other.
    #[test]
    fn the_schema_names_every_event_and_format() {
        let schema = crate::load::doc::topology_schema();
        let names = |def: &str| -> Vec<String> {
            schema["$defs"][def]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{def} in the schema"))
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names("NotifyEvent"), Event::names());
        assert_eq!(names("NotifyFormat"), Format::ALL.map(Format::as_str));
    }

    #[test]
    fn env_and_header_names() {
        assert!(valid_env_name("HANDOVER_TEAMS_URL"));
        assert!(valid_env_name("_x1"));
        assert!(!valid_env_name("1X"));
        assert!(!valid_env_name("https://x"));
        assert!(!valid_env_name(""));
        assert!(valid_header_name("X-Api-Key"));
        assert!(!valid_header_name("X Api"));
        assert!(!valid_header_name(""));
        assert!(valid_receiver_name("ops-teams.1"));
        assert!(!valid_receiver_name("ops teams"));
    }

    fn load(policy: &str) -> Result<Vec<Receiver>, Vec<String>> {
        let text = format!(
            "apiVersion: handover/v1\nkind: Topology\nmanagementServers:\n  - name: ms01.contoso.local\npolicy:\n{policy}"
        );
        crate::load::topology_str(&text, "t.yaml")
            .map(|t| t.policy.notifications)
            .map_err(|d| d.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn receivers_load_with_defaults() {
        let r = load(
            "  notifications:\n    - name: ops-teams\n      urlEnv: HANDOVER_TEAMS_URL\n      format: teams\n      on: [stranded, degraded]\n    - name: audit\n      url: https://hooks.contoso.local/handover\n      secretEnv: HOOK_TOKEN\n      headers:\n        - name: X-Api-Key\n          env: HOOK_KEY\n",
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].url, UrlSource::Env("HANDOVER_TEAMS_URL".into()));
        assert_eq!(r[0].format, Format::Teams);
        assert_eq!(r[0].on, vec![Event::Degraded, Event::Stranded]);
        assert_eq!(r[1].format, Format::Json);
        assert_eq!(r[1].on, Event::ALL.to_vec());
        assert_eq!(r[1].secret_env.as_deref(), Some("HOOK_TOKEN"));
        assert_eq!(
            r[1].headers,
            vec![EnvHeader {
                name: "X-Api-Key".into(),
                env: "HOOK_KEY".into()
            }]
        );
        assert_eq!(load("  maxInFlight: 3\n").unwrap(), Vec::new());
    }

    #[test]
    fn every_bad_value_is_reported_at_its_place() {
        let e = load(
            "  notifications:\n    - name: ops teams\n      url: hooks.slack.com/x\n      format: msteams\n      on: [degradd, stranded, stranded]\n    - name: b\n      url: https://x/\n      urlEnv: B_URL\n    - name: c\n    - name: d\n      urlEnv: https://secret.example/hook\n      headers:\n        - name: Authorization\n          env: TOKEN\n        - name: X Key\n          env: K\n    - name: e\n      urlEnv: E\n      on: []\n    - name: E\n      urlEnv: E\n      colour: red\n",
        )
        .unwrap_err();
        let want = [
            "t.yaml:7:13: notification receiver name \"ops teams\" is not allowed",
            "t.yaml:8:12: url of notification receiver \"ops teams\" is not usable: expected it to start with https:// or http://",
            "t.yaml:9:15: format \"msteams\" of notification receiver \"ops teams\" is not known; expected json, teams or slack",
            "t.yaml:10:12: event \"degradd\" in on: of notification receiver \"ops teams\" is not known (did you mean degraded?)",
            "t.yaml:10:31: event \"stranded\" is given twice",
            "t.yaml:13:15: notification receiver \"b\" gives both url and urlEnv; give one",
            "t.yaml:14:13: notification receiver \"c\" has no url",
            "t.yaml:16:15: urlEnv of notification receiver \"d\" holds a URL (not repeated here), not an environment variable name",
            "t.yaml:18:17: header \"Authorization\" of notification receiver \"d\" is written by handover itself",
            "t.yaml:20:17: header \"X Key\" of notification receiver \"d\" is not a header name",
            "t.yaml:24:11: on: of notification receiver \"e\" names no event",
            "t.yaml:25:13: notification receiver \"E\" is given twice: here and at t.yaml:22:13",
            "t.yaml:27:7: unknown field \"colour\" in a policy.notifications entry",
        ];
        for w in want {
            assert!(
                e.iter().any(|m| m.starts_with(w)),
                "missing {w:?} in {e:#?}"
            );
        }
    }
}
