//! Change windows: `policy.windows`, and whether changes may start at a
//! given instant.
//!
//! Owns [`Window`] (an allow or deny window: a five-field cron schedule, a
//! duration and an IANA time zone), the parsing of its schedule and time
//! zone ([`parse_schedule`], [`parse_time_zone`]) and [`status`], the pure
//! function (windows, now) → open now, when it closes, when it next opens.
//! Schedules are read by the `croner` crate and time zones by `chrono-tz`
//! (no hand-written parser). Pure: the instant is always handed in; must
//! not read a clock, and must not decide what a closed window holds back
//! (that is [`crate::plan::admit`]'s caller).
//!
//! Semantics (docs/gates.md): no windows means always open; with one or
//! more allow windows, changes may start only inside one of them; a deny
//! window closes, even inside an allow window. A window opens at each
//! instant its schedule matches, read as wall-clock time in its time zone,
//! and stays open for `duration` of elapsed time. Across a daylight saving
//! change: a start that falls into the hour the clocks skip opens at the
//! first instant after the gap; a start in the hour that repeats opens
//! once, at the first of the two; the duration is elapsed time, so a 4h
//! window over a change is still four hours long.

use super::seconds::Seconds;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds as CronSeconds, Year};
use serde::{Deserialize, Serialize};

/// Whether a window lets changes start or stops them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WindowKind {
    /// Changes may start inside it.
    Allow,
    /// No change starts inside it, even inside an allow window.
    Deny,
}

/// One entry of `policy.windows`, already checked by the loader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// Allow or deny.
    pub kind: WindowKind,
    /// Five-field cron schedule (minute hour day-of-month month
    /// day-of-week), such as `0 22 * * 1-5`: when the window opens.
    pub schedule: String,
    /// How long it stays open after each start (elapsed time).
    pub duration: Seconds,
    /// IANA time zone the schedule is read in, such as `Europe/Berlin`.
    pub time_zone: String,
}

/// Parses a five-field cron schedule; the message says what is wrong.
pub fn parse_schedule(s: &str) -> Result<Cron, String> {
    let fields = s.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "has {fields} field{}; expected five: minute hour day-of-month month day-of-week, such as \"0 22 * * 1-5\"",
            if fields == 1 { "" } else { "s" }
        ));
    }
    let cron = CronParser::builder()
        .seconds(CronSeconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(s)
        .map_err(|e| format!("is not a cron schedule: {e}"))?;
    // A pattern such as "0 0 31 2 *" parses but never matches.
    let probe = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    if cron.find_next_occurrence(&probe, true).is_err() {
        return Err("never matches a real date".into());
    }
    Ok(cron)
}

/// Parses an IANA time zone name (`Europe/Berlin`, `UTC`).
pub fn parse_time_zone(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>()
        .map_err(|_| "is not a known IANA time zone; expected a name such as Europe/Berlin, America/New_York or UTC".to_string())
}

/// Whether changes may start at an instant, and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowStatus {
    /// Changes may start now.
    pub open: bool,
    /// When open: the instant it closes; `None` when no window is
    /// configured (always open) or it does not close within the horizon.
    pub closes_at: Option<DateTime<Utc>>,
    /// When closed: the next instant it opens; `None` when it does not
    /// open within the horizon ([`HORIZON_DAYS`]).
    pub next_open: Option<DateTime<Utc>>,
}

/// How far ahead [`status`] looks for the next opening or closing.
pub const HORIZON_DAYS: i64 = 400;

/// Upper bound on schedule look-ups in one [`status`] call, so a schedule
/// that starts every minute cannot make it slow.
const MAX_STEPS: usize = 20_000;

/// A window with its schedule and zone parsed.
struct Parsed {
    kind: WindowKind,
    cron: Cron,
    duration: chrono::Duration,
    tz: Tz,
}

impl Parsed {
    /// The latest start at or before `t`.
    fn last_start(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        self.cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The first start strictly after `t`.
    fn next_start(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// Whether the window is open at `t`, and if so until when (the end
    /// of the latest start's span; later overlapping starts are events of
    /// their own).
    fn active_until(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let s = self.last_start(t)?;
        let end = s + self.duration;
        (t < end).then_some(end)
    }
}

fn parsed(windows: &[Window]) -> Vec<Parsed> {
    windows
        .iter()
        .filter_map(|w| {
            Some(Parsed {
                kind: w.kind,
                cron: parse_schedule(&w.schedule).ok()?,
                duration: chrono::Duration::seconds(i64::try_from(w.duration.0).ok()?),
                tz: parse_time_zone(&w.time_zone).ok()?,
            })
        })
        .collect()
}

/// Open at `t`: no allow window configured or inside one, and inside no
/// deny window.
fn open_at(ws: &[Parsed], t: DateTime<Utc>) -> bool {
    let mut any_allow = false;
    let mut in_allow = false;
    for w in ws {
        let active = w.active_until(t).is_some();
        match w.kind {
            WindowKind::Deny if active => return false,
            WindowKind::Deny => {}
            WindowKind::Allow => {
                any_allow = true;
                in_allow |= active;
            }
        }
    }
    !any_allow || in_allow
}

/// The next instant after `t` at which any window starts or ends.
fn next_event(ws: &[Parsed], t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    ws.iter()
        .flat_map(|w| [w.active_until(t), w.next_start(t)])
        .flatten()
        .filter(|e| *e > t)
        .min()
}

/// Whether changes may start at `now` under `windows`, when that ends, and
/// when it next begins. Windows the loader would refuse are ignored.
pub fn status(windows: &[Window], now: DateTime<Utc>) -> WindowStatus {
    let ws = parsed(windows);
    if ws.is_empty() {
        return WindowStatus {
            open: true,
            closes_at: None,
            next_open: None,
        };
    }
    let open = open_at(&ws, now);
    let horizon = now + chrono::Duration::days(HORIZON_DAYS);
    let mut t = now;
    let mut found = None;
    for _ in 0..MAX_STEPS {
        match next_event(&ws, t) {
            Some(e) if e <= horizon => {
                t = e;
                if open_at(&ws, t) != open {
                    found = Some(t);
                    break;
                }
            }
            _ => break,
        }
    }
    WindowStatus {
        open,
        closes_at: if open { found } else { None },
        next_open: if open { None } else { found },
    }
}

#[cfg(test)]
mod tests;
