//! HTML for the status page that more than one part of it writes:
//! escaping, and the sections of one view each.
//!
//! Owns [`escape`] (everything that came from input goes through it), the
//! "Rollout" section ([`rollout_section`]) and the "Change window and
//! approval" section ([`gates_section`]). Pure; must not change the status
//! it renders. The page around them is `page`.

use super::status::Status;
use std::fmt::Write;
use std::time::{Duration, SystemTime};

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The page's "Rollout" section; nothing without a rollout.
pub fn rollout_section(o: &mut String, s: &Status, now: SystemTime) {
    let Some(r) = &s.rollout else {
        return;
    };
    let _ = write!(
        o,
        "<section id=\"rollout\" data-testid=\"rollout\" aria-labelledby=\"rollout-h\">\
         <h2 id=\"rollout-h\">Rollout</h2><dl class=\"facts\">\
         <div><dt>Step</dt><dd data-testid=\"rollout-step\">{} of {}</dd></div>\
         <div><dt>Phase</dt><dd data-testid=\"rollout-phase\" data-phase=\"{}\">{}</dd></div>",
        r.step,
        r.steps,
        r.phase,
        phase_words(r.phase)
    );
    if let Some(until) = &r.soak_until {
        let left = countdown(until, now);
        let _ = write!(
            o,
            "<div><dt>Soak ends</dt><dd data-testid=\"rollout-soak\">{} ({left} left)</dd></div>",
            escape(until)
        );
    }
    let _ = write!(
        o,
        "<div><dt>Analysis</dt><dd data-testid=\"rollout-analysis\" data-verdict=\"{}\">{}</dd></div></dl>",
        r.analysis.verdict, r.analysis.verdict
    );
    if let Some(reason) = &r.reason {
        let _ = write!(
            o,
            "<p class=\"meaning\" data-testid=\"rollout-reason\">{}</p>",
            escape(reason)
        );
    }
    o.push_str("</section>");
}

/// The phase as a sentence for the page.
fn phase_words(phase: &str) -> &'static str {
    match phase {
        "moving" => "moving this step's members",
        "soaking" => "soaking: holding and analysing",
        "paused" => "paused: waiting for handover resume",
        "analysisFailed" => "stopped: the analysis failed; waiting for handover resume",
        "rollingBack" => "rolling back to the parents from before",
        "rolledBack" => "rolled back; waiting for handover resume",
        _ => "complete",
    }
}

/// `12m 5s` from `now` to the RFC 3339 time `until` (`0s` once past).
fn countdown(until: &str, now: SystemTime) -> String {
    let end = humantime::parse_rfc3339(until).unwrap_or(now);
    let left = end.duration_since(now).unwrap_or_default();
    humantime::format_duration(Duration::from_secs(left.as_secs())).to_string()
}

/// The page section: the window and a pending approval, when configured.
pub fn gates_section(o: &mut String, s: &Status) {
    if s.window.is_none() && s.approval.is_none() {
        return;
    }
    let _ = write!(
        o,
        "<section id=\"gates\" data-testid=\"gates\" aria-labelledby=\"gates-h\"><h2 id=\"gates-h\">Change window and approval</h2><dl>"
    );
    if let Some(w) = &s.window {
        let (state, when) = if w.open {
            (
                "open",
                w.closes_at.as_deref().map(|c| format!("closes {c}")),
            )
        } else {
            (
                "closed",
                Some(
                    w.next_open
                        .as_deref()
                        .map_or("does not open within 400 days".to_string(), |n| {
                            format!("next opens {n}")
                        }),
                ),
            )
        };
        let _ = write!(
            o,
            "<dt>Change window</dt><dd data-testid=\"window\" data-open=\"{}\">{state}{}</dd>",
            w.open,
            when.map(|w| format!(", {}", escape(&w)))
                .unwrap_or_default()
        );
    }
    if let Some(a) = &s.approval {
        let digest = escape(a.digest.as_deref().unwrap_or(""));
        if a.awaiting {
            let _ = write!(
                o,
                "<dt>Approval</dt><dd data-testid=\"approval\" data-awaiting=\"true\">awaiting approval: {} members would move; approve with <code>handover approve {digest}</code></dd>",
                a.members
            );
        } else {
            let _ = write!(
                o,
                "<dt>Approval</dt><dd data-testid=\"approval\" data-awaiting=\"false\">approved {digest} by {}</dd>",
                escape(a.approved_by.as_deref().unwrap_or("unknown"))
            );
        }
    }
    o.push_str("</dl></section>");
}
