//! `policy.notifications`: the webhooks `reconcile` tells about
//! transitions (docs/notifications.md).
//!
//! Owns the plain data of a receiver (where, in which format, on which
//! events, which environment variables hold its secrets) and the names of
//! the events. Secrets themselves are never here: only the names of the
//! environment variables that hold them, read at the edge when a
//! notification is sent. Must not touch I/O, the environment or the clock.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A transition `reconcile` can notify about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Event {
    /// The estate was Synced and a pass started changing it.
    Progressing,
    /// The estate is Synced again after being anything else.
    Synced,
    /// The sync status became Degraded (with the reason).
    Degraded,
    /// Members whose change cannot start, new since the last pass.
    Blocked,
    /// More members in a bridge past the ack timeout than at the last pass.
    PendingAck,
    /// More stranded members (no working parent) than at the last pass.
    Stranded,
    /// A plan waits for `handover approve` (a new plan digest).
    AwaitingApproval,
    /// A rollout step's analysis failed.
    AnalysisFailed,
    /// A rollout step was rolled back.
    RolledBack,
    /// A change window opened.
    WindowOpened,
    /// A change window closed.
    WindowClosed,
}

impl Event {
    /// Every event, in the order the docs list them.
    pub const ALL: [Event; 11] = [
        Event::Progressing,
        Event::Synced,
        Event::Degraded,
        Event::Blocked,
        Event::PendingAck,
        Event::Stranded,
        Event::AwaitingApproval,
        Event::AnalysisFailed,
        Event::RolledBack,
        Event::WindowOpened,
        Event::WindowClosed,
    ];

    /// The name written in `on:` and in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Progressing => "progressing",
            Event::Synced => "synced",
            Event::Degraded => "degraded",
            Event::Blocked => "blocked",
            Event::PendingAck => "pendingAck",
            Event::Stranded => "stranded",
            Event::AwaitingApproval => "awaitingApproval",
            Event::AnalysisFailed => "analysisFailed",
            Event::RolledBack => "rolledBack",
            Event::WindowOpened => "windowOpened",
            Event::WindowClosed => "windowClosed",
        }
    }

    /// The event named `s` (as written in `on:`), if any.
    pub fn parse(s: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// Every event's name, for messages.
    pub fn names() -> [&'static str; 11] {
        Event::ALL.map(Event::as_str)
    }
}

/// The schema of `on:` entries (`handover schema`): a string, one of the
/// events' names. Written by hand rather than derived so that the names come
/// from [`Event::as_str`], the one list, and the schema stays a plain `enum`
/// of names (a derive would turn each variant's doc comment into a `oneOf`).
impl JsonSchema for Event {
    fn schema_name() -> Cow<'static, str> {
        "NotifyEvent".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": Event::names() })
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a receiver wants its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Format {
    /// handover's own JSON document (`kind: Notification`).
    #[default]
    Json,
    /// A Microsoft Teams message with an Adaptive Card.
    Teams,
    /// A Slack message (Block Kit, with `text` as the fallback).
    Slack,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::Json, Format::Teams, Format::Slack];

    /// The name written in `format:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Teams => "teams",
            Format::Slack => "slack",
        }
    }

    /// The format named `s`, if any.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The schema of `format:` (`handover schema`): one of the formats' names,
/// from [`Format::as_str`], as for [`Event`].
impl JsonSchema for Format {
    fn schema_name() -> Cow<'static, str> {
        "NotifyFormat".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": Format::ALL.map(Format::as_str) })
    }
}

/// Where a receiver's URL comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UrlSource {
    /// Written in the topology (`url:`): for URLs that are not secret.
    Literal(String),
    /// The name of an environment variable holding it (`urlEnv:`): Teams
    /// and Slack webhook URLs are themselves secrets.
    Env(String),
}

/// A header sent with every request, its value from the environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvHeader {
    /// The header's name (`X-Api-Key`).
    pub name: String,
    /// The environment variable holding its value.
    pub env: String,
}

/// One webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receiver {
    /// Its name, unique in the list: what logs and metrics show (never
    /// the URL, which may be a secret).
    pub name: String,
    /// Where to POST.
    pub url: UrlSource,
    /// The payload's format.
    pub format: Format,
    /// The events it is sent, sorted; all of them when `on:` is absent.
    pub on: Vec<Event>,
    /// An environment variable holding a token sent as
    /// `Authorization: Bearer <token>`.
    pub secret_env: Option<String>,
    /// Headers whose values come from the environment.
    pub headers: Vec<EnvHeader>,
}

impl Receiver {
    /// True when this receiver wants `event`.
    pub fn wants(&self, event: Event) -> bool {
        self.on.binary_search(&event).is_ok()
    }

    /// The environment variables it reads: `urlEnv`, `secretEnv`, then
    /// each header's, in that order.
    pub fn variables(&self) -> Vec<&str> {
        let url = match &self.url {
            UrlSource::Env(v) => Some(v.as_str()),
            UrlSource::Literal(_) => None,
        };
        url.into_iter()
            .chain(self.secret_env.as_deref())
            .chain(self.headers.iter().map(|h| h.env.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_and_format_names_round_trip() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(e));
            assert_eq!(
                serde_json::to_value(e).unwrap(),
                serde_json::json!(e.as_str())
            );
        }
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Event::parse("Degraded"), None);
        assert_eq!(Format::parse("msteams"), None);
    }

    #[test]
    fn a_receiver_wants_only_its_events() {
        let r = Receiver {
            name: "ops".into(),
            url: UrlSource::Env("HOOK".into()),
            format: Format::Json,
            on: vec![Event::Degraded, Event::Stranded],
            secret_env: None,
            headers: Vec::new(),
        };
        assert!(r.wants(Event::Degraded));
        assert!(r.wants(Event::Stranded));
        assert!(!r.wants(Event::Synced));
        assert_eq!(r.variables(), ["HOOK"]);
        let r = Receiver {
            url: UrlSource::Literal("https://x/".into()),
            secret_env: Some("TOKEN".into()),
            headers: vec![EnvHeader {
                name: "X-Api-Key".into(),
                env: "KEY".into(),
            }],
            ..r
        };
        assert_eq!(r.variables(), ["TOKEN", "KEY"]);
    }
}
