//! What a receiver is sent: the [`Notification`] and its three renderings
//! (docs/notifications.md, "Payloads").
//!
//! Owns the `kind: Notification` JSON document (versioned by `apiVersion`),
//! the Microsoft Teams message (an Adaptive Card in `attachments`, as
//! Teams incoming webhooks and Workflows accept) and the Slack message
//! (Block Kit, with `text` as the fallback). Pure: no I/O, no clock; must
//! not decide which events fire (that is [`super::judge`]).

use super::snapshot::{Snapshot, SyncState};
use crate::model::API_VERSION;
use crate::model::notify::{Event, Format};
use serde::Serialize;
use serde_json::{Value, json};

/// At most this many members are listed in a payload (`membersTotal`
/// says how many there were), so a blocked fleet of 12,000 agents is one
/// small message.
pub const MAX_MEMBERS: usize = 20;

/// Messages longer than this many characters are cut (with `…`).
pub const MAX_MESSAGE: usize = 1000;

/// A member's reason longer than this many characters is cut (with `…`).
pub const MAX_REASON: usize = 300;

/// A member a notification names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The gateway or agent (or the store's pool).
    pub name: String,
    /// Why it is named (a blocked member's reason), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Member {
    /// A member with no reason.
    pub fn named(name: &str) -> Member {
        Member {
            name: name.to_string(),
            reason: None,
        }
    }
}

/// How urgent an event is: what the Teams card's colour and the Slack
/// message's emoji say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// For the record.
    Info,
    /// Worth a look.
    Warning,
    /// Needs a person.
    Error,
}

impl Severity {
    /// The severity of `event`.
    pub fn of(event: Event) -> Severity {
        match event {
            Event::Degraded | Event::Stranded | Event::AnalysisFailed => Severity::Error,
            Event::Blocked | Event::PendingAck | Event::AwaitingApproval | Event::RolledBack => {
                Severity::Warning
            }
            Event::Progressing | Event::Synced | Event::WindowOpened | Event::WindowClosed => {
                Severity::Info
            }
        }
    }
}

/// One notification: the `kind: Notification` document, and what the
/// Teams and Slack messages are made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Always `handover/v1`.
    pub api_version: &'static str,
    /// Always `Notification`.
    pub kind: &'static str,
    /// What happened.
    pub event: Event,
    /// How urgent it is.
    pub severity: Severity,
    /// The target, as given to `reconcile`.
    pub target: String,
    /// The desired source, as given.
    pub source: String,
    /// The command that saw it: `reconcile` or `apply`.
    pub command: String,
    /// The revision in use (short form).
    pub revision: Option<String>,
    /// The sync status after the pass.
    pub sync: Option<SyncState>,
    /// The pass that saw it.
    pub pass: u64,
    /// What happened, in words (at most [`MAX_MESSAGE`] characters).
    pub message: String,
    /// Members it concerns (at most [`MAX_MEMBERS`]).
    pub members: Vec<Member>,
    /// How many members it concerns in all.
    pub members_total: usize,
    /// When the loop saw it, RFC 3339.
    pub at: String,
}

impl Notification {
    /// A notification of `event` about the state `now`.
    pub fn new(
        event: Event,
        now: &Snapshot,
        message: String,
        mut members: Vec<Member>,
        at: &str,
    ) -> Notification {
        let members_total = members.len();
        members.truncate(MAX_MEMBERS);
        for m in &mut members {
            if let Some(r) = &mut m.reason {
                *r = cut(r, MAX_REASON);
            }
        }
        Notification {
            api_version: API_VERSION,
            kind: "Notification",
            event,
            severity: Severity::of(event),
            target: now.target.clone(),
            source: now.source.clone(),
            command: now.command.clone(),
            revision: now.revision.clone(),
            sync: now.sync,
            pass: now.pass,
            message: cut(&message, MAX_MESSAGE),
            members,
            members_total,
            at: at.to_string(),
        }
    }

    /// The headline: what happened where.
    pub fn title(&self) -> String {
        let t = &self.target;
        match self.event {
            Event::Progressing => format!("Changes started on {t}"),
            Event::Synced => format!("{t} is Synced"),
            Event::Degraded => format!("{t} is Degraded"),
            Event::Blocked => format!("Members blocked on {t}"),
            Event::PendingAck => format!("Members pending acknowledgement on {t}"),
            Event::Stranded => format!("Members stranded on {t}"),
            Event::AwaitingApproval => format!("A plan awaits approval on {t}"),
            Event::AnalysisFailed => format!("Rollout analysis failed on {t}"),
            Event::RolledBack => format!("Rollout rolled back on {t}"),
            Event::WindowOpened => format!("Change window opened on {t}"),
            Event::WindowClosed => format!("Change window closed on {t}"),
        }
    }

    /// The facts every rendering lists, as (title, value).
    fn facts(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Event", self.event.as_str().to_string()),
            (
                "Sync",
                self.sync.map_or("unknown", SyncState::as_str).to_string(),
            ),
            (
                "Revision",
                self.revision.clone().unwrap_or_else(|| "none".into()),
            ),
            ("Source", self.source.clone()),
            ("Command", self.command.clone()),
            ("Pass", self.pass.to_string()),
            ("At", self.at.clone()),
        ]
    }

    /// The members as lines (`name: reason`), with how many more there are.
    fn member_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .members
            .iter()
            .map(|m| match &m.reason {
                Some(r) => format!("{}: {r}", m.name),
                None => m.name.clone(),
            })
            .collect();
        if self.members_total > self.members.len() {
            lines.push(format!(
                "and {} more",
                crate::diag::thousands(self.members_total - self.members.len())
            ));
        }
        lines
    }
}

/// The body sent to a receiver of `format`.
pub fn render(n: &Notification, format: Format) -> Value {
    match format {
        Format::Json => json(n),
        Format::Teams => teams(n),
        Format::Slack => slack(n),
    }
}

/// handover's own document.
pub fn json(n: &Notification) -> Value {
    serde_json::to_value(n).unwrap_or(Value::Null)
}

/// A Teams message: one Adaptive Card (version 1.4) in `attachments`.
pub fn teams(n: &Notification) -> Value {
    let color = match n.severity {
        Severity::Info => "Good",
        Severity::Warning => "Warning",
        Severity::Error => "Attention",
    };
    let facts: Vec<Value> = n
        .facts()
        .into_iter()
        .map(|(t, v)| json!({"title": t, "value": v}))
        .collect();
    let mut body = vec![
        json!({"type": "TextBlock", "size": "Medium", "weight": "Bolder", "color": color, "text": n.title(), "wrap": true}),
        json!({"type": "TextBlock", "text": n.message, "wrap": true}),
        json!({"type": "FactSet", "facts": facts}),
    ];
    let lines = n.member_lines();
    if !lines.is_empty() {
        body.push(
            json!({"type": "TextBlock", "text": "Members", "weight": "Bolder", "wrap": true}),
        );
        body.push(json!({"type": "TextBlock", "text": lines.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n"), "wrap": true}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

/// A Slack message: a header, the message, the facts and the members as
/// Block Kit blocks, and `text` for notifications and old clients.
pub fn slack(n: &Notification) -> Value {
    let emoji = match n.severity {
        Severity::Info => ":information_source:",
        Severity::Warning => ":warning:",
        Severity::Error => ":rotating_light:",
    };
    let fields: Vec<Value> = n
        .facts()
        .into_iter()
        .map(|(t, v)| json!({"type": "mrkdwn", "text": format!("*{t}*\n{}", escape(&v))}))
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&n.title(), 150), "emoji": true}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": escape(&n.message)}}),
        json!({"type": "section", "fields": fields}),
    ];
    let lines = n.member_lines();
    if !lines.is_empty() {
        let text = lines
            .iter()
            .map(|l| format!("• {}", escape(l)))
            .collect::<Vec<_>>()
            .join("\n");
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&format!("*Members*\n{text}"), 3000)}}));
    }
    json!({
        "text": format!("{emoji} {}: {}", escape(&n.title()), escape(&n.message)),
        "blocks": blocks,
    })
}

/// Slack's three escapes (`&`, `<`, `>`), so a name is never a link or a
/// mention.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `s` cut to at most `max` characters, ending in `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Notification {
        let now = Snapshot {
            pass: 7,
            target: "exec:scom-provider --management-group CONTOSO".into(),
            source: "https://git.contoso.local/scom/topology.git@main".into(),
            command: "reconcile".into(),
            revision: Some("3f2a9c1".into()),
            sync: Some(SyncState::OutOfSync),
            ..Snapshot::default()
        };
        let members = (1..=23)
            .map(|i| Member {
                name: format!("web{i:02}.contoso.local"),
                reason: Some("its new primary gw03.contoso.local is not ready <approve it>".into()),
            })
            .collect();
        Notification::new(
            Event::Blocked,
            &now,
            "23 members newly blocked (23 blocked in all): their change cannot start".into(),
            members,
            "2026-12-07T23:05:00Z",
        )
    }

    #[test]
    fn members_are_bounded_and_counted() {
        let n = sample();
        assert_eq!(n.members.len(), MAX_MEMBERS);
        assert_eq!(n.members_total, 23);
        assert_eq!(n.member_lines().last().unwrap(), "and 3 more");
    }

    /// Teams refuses an incoming webhook message over 28 KB; Slack a
    /// section over 3,000 characters. A blocked fleet stays far below.
    #[test]
    fn a_blocked_fleet_of_12000_is_one_small_message() {
        let members = (0..12_000)
            .map(|i| Member {
                name: format!("web{i:05}.dmz.contoso.local"),
                reason: Some(format!(
                    "its new primary gw2.dmz.contoso.local is not ready {}",
                    "x".repeat(500)
                )),
            })
            .collect();
        let n = Notification::new(
            Event::Blocked,
            &Snapshot::default(),
            "12,000 members newly blocked".into(),
            members,
            "2026-12-07T23:05:00Z",
        );
        assert_eq!(n.members_total, 12_000);
        for f in Format::ALL {
            let bytes = render(&n, f).to_string().len();
            println!("{}: {bytes} bytes", f.as_str());
            assert!(bytes < 16 * 1024, "{}: {bytes} bytes", f.as_str());
        }
        let slack = render(&n, Format::Slack);
        for b in slack["blocks"].as_array().unwrap() {
            if let Some(t) = b["text"]["text"].as_str() {
                assert!(t.chars().count() <= 3000);
            }
        }
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(5000);
        let n = Notification::new(Event::Degraded, &Snapshot::default(), long, Vec::new(), "t");
        assert_eq!(n.message.chars().count(), MAX_MESSAGE);
        assert!(n.message.ends_with('…'));
    }

    #[test]
    fn json_payload() {
        insta::assert_json_snapshot!(render(&sample(), Format::Json));
    }

    #[test]
    fn teams_payload() {
        let v = render(&sample(), Format::Teams);
        assert_eq!(
            v["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        insta::assert_json_snapshot!(v);
    }

    #[test]
    fn slack_payload() {
        let v = render(&sample(), Format::Slack);
        // Angle brackets never reach Slack unescaped (no links, no mentions).
        assert!(!v.to_string().contains("<approve"));
        insta::assert_json_snapshot!(v);
    }
}
