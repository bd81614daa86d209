//! Unit tests and a property test of change windows: allow, deny inside
//! allow, the next opening across a weekend, daylight saving changes.

use super::*;
use proptest::prelude::*;

fn w(kind: WindowKind, schedule: &str, hours: u64, tz: &str) -> Window {
    Window {
        kind,
        schedule: schedule.into(),
        duration: Seconds(hours * 3600),
        time_zone: tz.into(),
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Weeknights 22:00 Berlin for 4 hours.
fn weeknights() -> Window {
    w(WindowKind::Allow, "0 22 * * 1-5", 4, "Europe/Berlin")
}

#[test]
fn no_windows_is_always_open() {
    let s = status(&[], utc("2026-12-08T12:00:00Z"));
    assert_eq!(
        s,
        WindowStatus {
            open: true,
            closes_at: None,
            next_open: None
        }
    );
}

#[test]
fn inside_an_allow_window_it_is_open_until_its_end() {
    // Tuesday 8 December 2026, 23:30 in Berlin (UTC+1).
    let s = status(&[weeknights()], utc("2026-12-08T23:30:00+01:00"));
    assert!(s.open);
    assert_eq!(s.closes_at, Some(utc("2026-12-09T02:00:00+01:00")));
    assert_eq!(s.next_open, None);
}

#[test]
fn the_start_is_inside_and_the_end_is_outside() {
    let ws = [weeknights()];
    assert!(status(&ws, utc("2026-12-08T22:00:00+01:00")).open);
    assert!(!status(&ws, utc("2026-12-09T02:00:00+01:00")).open);
    assert!(status(&ws, utc("2026-12-09T01:59:59+01:00")).open);
}

#[test]
fn outside_it_names_the_next_opening_across_a_weekend() {
    // Saturday 12 December 2026 noon: Friday's window has closed, the
    // next one is Monday 14 December 22:00 Berlin.
    let s = status(&[weeknights()], utc("2026-12-12T12:00:00+01:00"));
    assert!(!s.open);
    assert_eq!(s.closes_at, None);
    assert_eq!(s.next_open, Some(utc("2026-12-14T22:00:00+01:00")));
    // Friday night's window runs into Saturday morning.
    let s = status(&[weeknights()], utc("2026-12-12T01:00:00+01:00"));
    assert!(s.open);
    assert_eq!(s.closes_at, Some(utc("2026-12-12T02:00:00+01:00")));
}

#[test]
fn a_deny_window_closes_even_inside_an_allow_window() {
    let ws = [
        weeknights(),
        // Maintenance freeze every day 23:00-00:00 UTC (midnight Berlin).
        w(WindowKind::Deny, "0 23 * * *", 1, "UTC"),
    ];
    let s = status(&ws, utc("2026-12-08T22:30:00+01:00"));
    assert!(s.open);
    assert_eq!(s.closes_at, Some(utc("2026-12-09T00:00:00+01:00")));
    let s = status(&ws, utc("2026-12-09T00:30:00+01:00"));
    assert!(!s.open);
    assert_eq!(s.next_open, Some(utc("2026-12-09T01:00:00+01:00")));
}

#[test]
fn only_deny_windows_leave_the_rest_of_the_time_open() {
    let ws = [w(WindowKind::Deny, "0 9 * * 1-5", 8, "Europe/Berlin")];
    let s = status(&ws, utc("2026-12-08T10:00:00+01:00"));
    assert!(!s.open);
    assert_eq!(s.next_open, Some(utc("2026-12-08T17:00:00+01:00")));
    let s = status(&ws, utc("2026-12-08T18:00:00+01:00"));
    assert!(s.open);
    assert_eq!(s.closes_at, Some(utc("2026-12-09T09:00:00+01:00")));
}

#[test]
fn a_deny_window_that_always_covers_never_opens() {
    let ws = [w(WindowKind::Deny, "* * * * *", 1, "UTC")];
    let s = status(&ws, utc("2026-12-08T10:00:00Z"));
    assert!(!s.open);
    assert_eq!(s.next_open, None);
}

#[test]
fn a_start_in_the_skipped_hour_opens_just_after_it() {
    // 29 March 2026, Berlin: 02:00 CET jumps to 03:00 CEST. A window
    // scheduled for 02:30 opens at 03:00 CEST (01:00 UTC), and lasts its
    // duration in elapsed time.
    let ws = [w(WindowKind::Allow, "30 2 * * *", 1, "Europe/Berlin")];
    let s = status(&ws, utc("2026-03-29T00:30:00Z"));
    assert!(!s.open);
    assert_eq!(s.next_open, Some(utc("2026-03-29T01:00:00Z")));
    let s = status(&ws, utc("2026-03-29T01:10:00Z"));
    assert!(s.open);
    assert_eq!(s.closes_at, Some(utc("2026-03-29T02:00:00Z")));
}

#[test]
fn a_start_in_the_repeated_hour_opens_once_and_lasts_elapsed_time() {
    // 25 October 2026, Berlin: 03:00 CEST falls back to 02:00 CET, so
    // 02:30 happens twice. The window opens at the first 02:30 (00:30 UTC)
    // and is open for two hours of elapsed time, until 02:30 UTC.
    let ws = [w(WindowKind::Allow, "30 2 * * *", 2, "Europe/Berlin")];
    let s = status(&ws, utc("2026-10-25T00:00:00Z"));
    assert!(!s.open);
    assert_eq!(s.next_open, Some(utc("2026-10-25T00:30:00Z")));
    let s = status(&ws, utc("2026-10-25T01:45:00Z"));
    assert!(s.open);
    assert_eq!(s.closes_at, Some(utc("2026-10-25T02:30:00Z")));
}

#[test]
fn a_four_hour_window_over_the_change_is_four_hours_long() {
    // 22:00 on Saturday 24 October 2026 Berlin (CEST, UTC+2) plus 4 h of
    // elapsed time ends at 01:00 CET on the 25th, wall clock 3 h later.
    let ws = [w(WindowKind::Allow, "0 22 * * 6", 4, "Europe/Berlin")];
    let s = status(&ws, utc("2026-10-24T21:00:00Z"));
    assert!(s.open);
    assert_eq!(s.closes_at, Some(utc("2026-10-25T00:00:00Z")));
}

#[test]
fn schedules_and_time_zones_are_checked() {
    assert!(parse_schedule("0 22 * * 1-5").is_ok());
    assert!(
        parse_schedule("0 22 * *")
            .unwrap_err()
            .contains("has 4 fields; expected five")
    );
    assert!(
        parse_schedule("0 0 22 * * 1-5")
            .unwrap_err()
            .contains("has 6 fields")
    );
    assert!(
        parse_schedule("61 22 * * *")
            .unwrap_err()
            .starts_with("is not a cron schedule")
    );
    assert_eq!(
        parse_schedule("0 0 31 2 *").unwrap_err(),
        "never matches a real date"
    );
    assert!(parse_time_zone("Europe/Berlin").is_ok());
    assert!(parse_time_zone("UTC").is_ok());
    assert!(
        parse_time_zone("Mars/Olympus")
            .unwrap_err()
            .contains("not a known IANA time zone")
    );
}

fn arb_window() -> impl Strategy<Value = Window> {
    (
        prop_oneof![Just(WindowKind::Allow), Just(WindowKind::Deny)],
        prop_oneof![
            Just("0 22 * * 1-5"),
            Just("30 2 * * *"),
            Just("0 */6 * * *"),
            Just("15 9 1 * *"),
            Just("0 0 * * 0"),
        ],
        1u64..30,
        prop_oneof![
            Just("UTC"),
            Just("Europe/Berlin"),
            Just("America/New_York"),
            Just("Australia/Lord_Howe"),
        ],
    )
        .prop_map(|(kind, s, half_hours, tz)| Window {
            kind,
            schedule: s.into(),
            duration: Seconds(half_hours * 1800),
            time_zone: tz.into(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The next opening is open, and no minute between now and it is;
    /// while open, every minute until the closing is open and the closing
    /// is not.
    #[test]
    fn next_open_is_open_and_nothing_before_it_is(
        ws in proptest::collection::vec(arb_window(), 1..4),
        secs in 0i64..(3 * 365 * 86_400),
    ) {
        let now = utc("2026-01-01T00:00:00Z") + chrono::Duration::seconds(secs);
        let s = status(&ws, now);
        let (edge, open) = if s.open { (s.closes_at, true) } else { (s.next_open, false) };
        if let Some(edge) = edge {
            prop_assert!(edge > now);
            prop_assert_eq!(status(&ws, edge).open, !open);
            // Sampled: every 7 minutes, or 400 samples when the edge is
            // months away (a walk minute by minute through a year of
            // cron schedules takes minutes), plus the minute before it.
            let step = chrono::Duration::minutes(7).max((edge - now) / 400);
            let mut t = now;
            while t < edge {
                prop_assert_eq!(status(&ws, t).open, open, "at {}", t);
                t += step;
            }
            let last = edge - chrono::Duration::minutes(1);
            if last > now {
                prop_assert_eq!(status(&ws, last).open, open, "at {}", last);
            }
        }
    }
}
