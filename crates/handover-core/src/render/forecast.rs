//! The forecast as text: the lines `plan` and `simulate` print under the
//! plan or rehearsal, and `apply`'s comparison of its actual figures with
//! the forecast.
//!
//! Owns the words and layout of a [`Forecast`] and of [`Actual`] against
//! it, and [`duration`], the one human form of a forecast's times (`2h
//! 5m`, `4m 30s`, `12s`). Pure; must not compute the forecast (that is
//! [`crate::plan::forecast`]) or print.

use crate::diag::{count, thousands};
use crate::plan::forecast::Forecast;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// A duration in seconds the way the forecast writes it: `3d 4h`, `2h 5m`,
/// `4m 30s`, `12s`, `0.4s`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "?".into();
    }
    if secs < 10.0 && secs.fract() != 0.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) if sec == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

/// The forecast under a plan or rehearsal: the total, then where it goes.
pub fn text(f: &Forecast, window: u32) -> String {
    let c = &f.cost;
    let b = &f.breakdown;
    let mut out = String::new();
    let soaks = if b.soak > 0.0 {
        " and the rollout's soaks"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "\nForecast against the real estate: about {} (floor {}: the propagation the window allows plus the operations' own time{soaks}).",
        duration(f.wall_seconds),
        duration(f.floor_seconds)
    );
    part(
        &mut out,
        "waiting for members to learn their new parents",
        b.propagation,
        format_args!(
            "{} of up to {} members; each learns in {}, seen by the next poll",
            count(f.waves, "wave", "waves"),
            thousands(window),
            c.propagation
        ),
    );
    let sessions = if c.sessions {
        format!(
            "up to {} to a request, {}",
            thousands(u64::from(c.batch) * u64::from(c.parallel)),
            count(u64::from(c.parallel), "session", "sessions")
        )
    } else {
        "one to a request, a process each".into()
    };
    part(
        &mut out,
        "provider requests",
        b.apply,
        format_args!(
            "{} carrying {}, {sessions}",
            count(f.apply_calls, "apply request", "apply requests"),
            count(f.operations, "operation", "operations"),
        ),
    );
    part(
        &mut out,
        "observations",
        b.observe,
        format_args!(
            "{} of {} each: polls of the members in flight, and the whole estate at the start and the end",
            count(f.observe_calls, "observe request", "observe requests"),
            c.observe
        ),
    );
    part(
        &mut out,
        "provider start-ups",
        b.startup,
        format_args!(
            "{} of {}",
            count(f.process_starts, "process start", "process starts"),
            c.startup
        ),
    );
    if b.soak > 0.0 {
        let _ = writeln!(
            out,
            "  rollout soaks: {} (each step of policy.rollout holds while it is analysed; manual pauses wait for handover resume and are not counted)",
            duration(b.soak)
        );
    }
    if f.timed_out > 0 {
        let _ = writeln!(
            out,
            "  warning: {} would not be acknowledged within policy.ackTimeout (propagation {}); they would stay pending in their bridge",
            count(f.timed_out, "member", "members"),
            c.propagation
        );
    }
    let _ = writeln!(
        out,
        "  Estimates, not measurements: --cost {} (defaults: docs/scom-provider.md; policy.cost or --cost change them).",
        c.to_flag()
    );
    out
}

/// One part of the breakdown: `  label: time (what)`.
fn part(out: &mut String, label: &str, seconds: f64, what: std::fmt::Arguments<'_>) {
    let _ = writeln!(out, "  {label}: {} ({what})", duration(seconds));
}

/// What a run really took, beside its forecast (`apply`'s summary and
/// `--report`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Actual {
    /// Wall time of the run, seconds (from the first observation to the
    /// end).
    pub wall_seconds: f64,
    /// The pass on the target's clock, seconds: wall time for an `exec:`
    /// target, virtual time for a `sim:` one.
    pub clock_seconds: f64,
    /// `apply` requests.
    pub apply_calls: u64,
    /// `observe` requests.
    pub observe_calls: u64,
    /// Provider processes started.
    pub process_starts: u64,
}

/// The forecast and what the run took, side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// What was forecast before the run.
    pub forecast: Forecast,
    /// What the run took.
    pub actual: Actual,
}

/// `apply`'s closing line on the forecast: actual against forecast for
/// wall time, requests and process starts.
pub fn comparison(c: &Comparison) -> String {
    let f = &c.forecast;
    let a = &c.actual;
    let ratio = if f.wall_seconds > 0.0 {
        format!(" ({:.2}× the forecast)", a.wall_seconds / f.wall_seconds)
    } else {
        String::new()
    };
    let clock = if (a.clock_seconds - a.wall_seconds).abs() > 1.0 {
        format!(", {} on the target's clock", duration(a.clock_seconds))
    } else {
        String::new()
    };
    format!(
        "Took {}{clock}{ratio}; forecast {}. Apply requests {} (forecast {}), observe requests {} (forecast {}), provider processes started {} (forecast {}).\n",
        duration(a.wall_seconds),
        duration(f.wall_seconds),
        thousands(a.apply_calls),
        thousands(f.apply_calls),
        thousands(a.observe_calls),
        thousands(f.observe_calls),
        thousands(a.process_starts),
        thousands(f.process_starts),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cost, Policy};
    use crate::plan::Plan;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        for (s, want) in [
            (0.0, "0s"),
            (0.42, "0.4s"),
            (12.0, "12s"),
            (60.0, "1m"),
            (270.0, "4m 30s"),
            (3600.0, "1h"),
            (7500.0, "2h 5m"),
            (86_400.0, "1d"),
            (100_800.0, "1d 4h"),
            (f64::NAN, "?"),
        ] {
            assert_eq!(duration(s), want, "{s}");
        }
    }

    fn forecast_of(n: usize) -> Forecast {
        let estate = crate::synth::generate(&crate::synth::Spec::fleet(n));
        let p = crate::plan::plan(&estate.desired, &estate.observed);
        let policy = Policy {
            max_in_flight: 500,
            ..Policy::default()
        };
        crate::plan::forecast::forecast(&p, &policy, &Cost::default())
    }

    #[test]
    fn the_forecast_text_of_a_10k_estate() {
        insta::assert_snapshot!(text(&forecast_of(10_000), 500));
    }

    #[test]
    fn an_empty_plan_forecasts_the_two_observations() {
        let f = crate::plan::forecast::forecast(
            &Plan::new(vec![], vec![]),
            &Policy::default(),
            &Cost::default(),
        );
        insta::assert_snapshot!(text(&f, 100));
    }

    #[test]
    fn the_comparison_names_every_figure() {
        let c = Comparison {
            forecast: forecast_of(5_000),
            actual: Actual {
                wall_seconds: 4_000.0,
                clock_seconds: 3_990.0,
                apply_calls: 40,
                observe_calls: 30,
                process_starts: 3,
            },
        };
        insta::assert_snapshot!(comparison(&c));
    }
}
