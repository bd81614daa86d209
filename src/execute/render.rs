//! Text for people: one line per wave (pass) of a rehearsal, and the final
//! verdict, in the administrators' words. Returns strings; the CLI prints.

use super::converge::{RehearsalReport, StopReason};
use super::progress::ProgressEvent;
use crate::name::Name;

/// At most this many names are spelled out in a list.
const SHOWN: usize = 10;

fn list(names: &[Name]) -> String {
    let mut s: Vec<String> = names.iter().take(SHOWN).map(|n| n.to_string()).collect();
    if names.len() > SHOWN {
        s.push(format!("and {} more", names.len() - SHOWN));
    }
    s.join(", ")
}

fn members(k: usize) -> String {
    if k == 1 {
        "1 member".to_string()
    } else {
        format!("{k} members")
    }
}

/// The line printed when a wave finishes; `None` for other events.
pub fn wave_line(event: &ProgressEvent) -> Option<String> {
    match event {
        ProgressEvent::PassFinished {
            pass,
            applied,
            pending,
            failed,
            clock_seconds,
        } => {
            let mut s = format!(
                "wave {pass}: {applied} change{} applied",
                if *applied == 1 { "" } else { "s" }
            );
            if *pending > 0 {
                s.push_str(&format!(", {} pending", members(*pending)));
            }
            if *failed > 0 {
                s.push_str(&format!(", {} failed", members(*failed)));
            }
            s.push_str(&format!(" (t = {clock_seconds:.0} s)"));
            Some(s)
        }
        _ => None,
    }
}

/// The final verdict of a rehearsal, several lines, ending in a newline.
pub fn verdict(r: &RehearsalReport, strategy: &str) -> String {
    let mut out = String::new();
    let figures = format!(
        "{} moved, at most {} in a bridge at once, {} changes applied ({} provider calls) in {:.0} s of simulated time",
        members(r.moved as usize),
        r.max_in_flight,
        r.steps_applied,
        r.provider_calls,
        r.virtual_seconds
    );
    if !r.stranded.is_empty() {
        out.push_str(&format!(
            "UNSAFE ({strategy}): {} stranded: their old parent dropped them before they learned their new primary, and only manual repair brings them back: {}\n",
            members(r.stranded.len()),
            list(&r.stranded)
        ));
    } else if r.converged {
        out.push_str(&format!(
            "Converged ({strategy}): every managed agent and gateway has its desired primary and failovers and reports to its primary; no member was stranded.\n"
        ));
    } else {
        out.push_str(&format!(
            "Not converged ({strategy}), but every member is safe: none was stranded.\n"
        ));
    }
    if !r.pending.is_empty() {
        out.push_str(&format!(
            "Pending: {} still in a bridge (new primary set, old parents kept as failovers) and not yet connected to the new primary: {}\n",
            members(r.pending.len()),
            list(&r.pending)
        ));
    }
    if !r.blocked.is_empty() {
        out.push_str(&format!(
            "Blocked ({}): cannot change yet; run `handover plan` for the reasons: {}\n",
            r.blocked.len(),
            list(&r.blocked)
        ));
    }
    if !r.failed.is_empty() {
        out.push_str(&format!(
            "Failed: the provider refused a change, or a check failed, for {}: {}\n",
            members(r.failed.len()),
            list(&r.failed)
        ));
    }
    match &r.stop {
        StopReason::PassLimit => out.push_str("Stopped after the maximum number of waves.\n"),
        StopReason::Cancelled => out.push_str("Cancelled before the end.\n"),
        StopReason::ProviderError(e) => {
            out.push_str(&format!("Stopped: the target could not be read: {e}\n"))
        }
        StopReason::Converged | StopReason::NoProgress => {}
    }
    out.push_str(&figures);
    out.push_str(".\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> RehearsalReport {
        RehearsalReport {
            converged: true,
            stranded: vec![],
            pending: vec![],
            blocked: vec![],
            failed: vec![],
            moved: 12,
            max_in_flight: 4,
            executor_max_in_flight: 4,
            steps_applied: 24,
            provider_calls: 26,
            observe_calls: 30,
            virtual_seconds: 1830.0,
            passes: 2,
            stop: StopReason::Converged,
        }
    }

    #[test]
    fn converged_verdict() {
        let s = verdict(&report(), "make-before-break");
        assert_eq!(
            s,
            "Converged (make-before-break): every managed agent and gateway has its desired primary and failovers and reports to its primary; no member was stranded.\n\
             12 members moved, at most 4 in a bridge at once, 24 changes applied (26 provider calls) in 1830 s of simulated time.\n"
        );
    }

    #[test]
    fn stranded_verdict_lists_names_and_truncates() {
        let mut r = report();
        r.converged = false;
        r.stranded = (0..12)
            .map(|i| Name::parse(&format!("web{i:02}")).unwrap())
            .collect();
        r.stop = StopReason::NoProgress;
        let s = verdict(&r, "direct");
        assert!(s.starts_with("UNSAFE (direct): 12 members stranded"));
        assert!(s.contains("web09, and 2 more\n"));
    }

    #[test]
    fn pending_and_blocked_are_named() {
        let mut r = report();
        r.converged = false;
        r.pending = vec![Name::parse("web07").unwrap()];
        r.blocked = vec![Name::parse("pool2.contoso.local").unwrap()];
        let s = verdict(&r, "make-before-break");
        assert!(s.contains("Not converged (make-before-break), but every member is safe"));
        assert!(s.contains("Pending: 1 member still in a bridge"));
        assert!(s.contains("Blocked (1): cannot change yet; run `handover plan` for the reasons: pool2.contoso.local\n"));
    }

    #[test]
    fn wave_lines() {
        let e = ProgressEvent::PassFinished {
            pass: 2,
            applied: 1,
            pending: 3,
            failed: 0,
            clock_seconds: 912.4,
        };
        assert_eq!(
            wave_line(&e).unwrap(),
            "wave 2: 1 change applied, 3 members pending (t = 912 s)"
        );
        assert_eq!(
            wave_line(&ProgressEvent::Bridged(Name::parse("a").unwrap())),
            None
        );
    }
}
