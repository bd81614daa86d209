//! Why each failed member failed, in words that tell a refusal from a
//! timeout: the lines `apply` prints on stderr, and the `failures` of
//! `apply --format json`.
//!
//! Owns the classification of a failed step's reason ([`Why`]) and its
//! wording. The reasons are the provider's own message as handover's
//! providers word it (`provider error: …`, `transient provider error: …`,
//! with the program's stderr quoted by `provider::exec`), or the
//! executor's own check. Pure; must not print and must not decide what
//! the run does.

use crate::execute::{EngineReport, StepOutcome};
use serde::Serialize;
use std::fmt::Write;

/// The longest reason quoted on the terminal, in characters; the report
/// keeps the whole of it.
pub const REASON_CHARS: usize = 600;

/// Failed members printed on the terminal; the rest are counted.
pub const SHOWN: usize = 20;

/// What kind of failure a failed step was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The provider answered and said no (access denied, not found, a
    /// cmdlet's error).
    Refused,
    /// The provider did not answer in time (after every retry); the
    /// change may or may not have been made, and the next run observes.
    TimedOut,
    /// The provider program itself failed: it could not start, exited
    /// without an answer, answered garbage, or stayed busy through every
    /// retry.
    ProviderError,
    /// handover's own check stopped the change (a parent went down, the
    /// store is active in two pools): nothing was sent.
    Stopped,
}

impl Why {
    /// Classifies a failed step's reason.
    pub fn of(reason: &str) -> Why {
        let (transient, body) = if let Some(b) = reason.strip_prefix("transient provider error: ") {
            (true, b)
        } else if let Some(b) = reason.strip_prefix("provider error: ") {
            (false, b)
        } else {
            return Why::Stopped;
        };
        const BROKEN: [&str; 9] = [
            "wrote no response",
            "cannot start",
            "its response is",
            "its session ended",
            "speaks protocol version",
            "wrote more than",
            "answered ok but",
            "was killed by a signal",
            "the session was killed",
        ];
        if body.contains("timed out after") {
            Why::TimedOut
        } else if transient || BROKEN.iter().any(|b| body.contains(b)) {
            Why::ProviderError
        } else {
            Why::Refused
        }
    }

    /// The words shown before the reason.
    pub fn words(self) -> &'static str {
        match self {
            Why::Refused => "refused",
            Why::TimedOut => "timed out (no answer in time, after every retry)",
            Why::ProviderError => "provider error (the provider program failed)",
            Why::Stopped => "stopped by handover's check (nothing was sent)",
        }
    }
}

/// One failed member (or pool).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The member or pool.
    pub member: String,
    /// What kind of failure.
    pub why: Why,
    /// What the provider (or the check) said, whole.
    pub reason: String,
}

/// Every failed step of `e`, in plan order.
pub fn failures(e: &EngineReport) -> Vec<Failure> {
    e.steps
        .iter()
        .filter_map(|s| match &s.outcome {
            StepOutcome::Failed { reason } => Some(Failure {
                member: s.name.to_string(),
                why: Why::of(reason),
                reason: reason.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// `reason` on one line without the error kind it starts with (the line
/// says it in words), at most [`REASON_CHARS`] characters (the start and
/// the end kept, where the provider's stderr is quoted).
pub fn bounded(reason: &str) -> String {
    let reason = reason
        .strip_prefix("transient provider error: ")
        .or_else(|| reason.strip_prefix("provider error: "))
        .unwrap_or(reason);
    let one: String = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = one.chars().count();
    if n <= REASON_CHARS {
        return one;
    }
    let head: String = one.chars().take(REASON_CHARS / 3).collect();
    let tail: String = one.chars().skip(n - REASON_CHARS * 2 / 3).collect();
    format!("{head} … {tail}")
}

/// The lines `apply` prints on stderr about failed members: one per member
/// with its kind of failure and the provider's words, at most [`SHOWN`],
/// and where the rest is (`report`, when one was written). Empty when
/// nothing failed.
pub fn lines(list: &[Failure], report: Option<&str>) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} failed:",
        crate::diag::count(list.len(), "member", "members")
    );
    for f in list.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  {}: {}: {}",
            f.member,
            f.why.words(),
            bounded(&f.reason)
        );
    }
    if list.len() > SHOWN {
        let _ = write!(
            out,
            "  and {} more",
            crate::diag::thousands(list.len() - SHOWN)
        );
        match report {
            Some(r) => {
                let _ = writeln!(out, " (every one is in the report {r})");
            }
            None => {
                let _ = writeln!(out, " (write them all with --report FILE)");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_not_a_refusal() {
        let t = "transient provider error: provider p (apply): timed out after 1s; the program was killed";
        assert_eq!(Why::of(t), Why::TimedOut);
        let s = "transient provider error: provider p (apply): timed out after 2m in its session; the session was killed and restarts";
        assert_eq!(Why::of(s), Why::TimedOut);
    }

    #[test]
    fn an_answer_that_says_no_is_a_refusal() {
        let r = "provider error: provider p (apply): access is denied (exited with status 1)";
        assert_eq!(Why::of(r), Why::Refused);
        assert_eq!(Why::of("provider error: web05 refused"), Why::Refused);
    }

    #[test]
    fn a_program_that_breaks_is_a_provider_error() {
        for r in [
            "provider error: provider p (apply): exited with status 3 and wrote no response (expected one JSON object on stdout); its stderr ends with: fatal",
            "provider error: provider p (apply): cannot start ./p: No such file",
            "transient provider error: provider p (apply): the SDK service is busy",
        ] {
            assert_eq!(Why::of(r), Why::ProviderError, "{r}");
        }
    }

    #[test]
    fn the_executors_own_check_is_not_the_providers() {
        assert_eq!(
            Why::of("gw2 is down: the member cannot connect to it"),
            Why::Stopped
        );
    }

    #[test]
    fn long_reasons_are_bounded_on_one_line_keeping_the_end() {
        let long = format!("provider error: start\n{}\nEND", "x ".repeat(2000));
        let b = bounded(&long);
        assert!(b.chars().count() <= REASON_CHARS + 3, "{}", b.len());
        assert!(b.starts_with("start x"), "{b}");
        assert!(b.ends_with("END"));
        assert!(!b.contains('\n'));
    }

    #[test]
    fn lines_name_the_report_only_when_there_is_one() {
        let many: Vec<Failure> = (0..25)
            .map(|i| Failure {
                member: format!("a{i}"),
                why: Why::Refused,
                reason: "provider error: no".into(),
            })
            .collect();
        let with = lines(&many, Some("r.json"));
        assert!(
            with.starts_with("25 members failed:\n  a0: refused: no\n"),
            "{with}"
        );
        assert!(
            with.ends_with("  and 5 more (every one is in the report r.json)\n"),
            "{with}"
        );
        let without = lines(&many, None);
        assert!(!without.contains("report r.json"));
        assert!(without.ends_with("(write them all with --report FILE)\n"));
        assert_eq!(lines(&[], None), "");
    }
}
