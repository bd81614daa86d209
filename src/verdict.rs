//! How a run ended, and the exit code each ending maps to.
//!
//! Owns the one [`Verdict`] of a run (an `apply`, a `reconcile` pass, a
//! rehearsal), the exit codes of docs/spec.md section 5 as named constants
//! in [`exit`], and the one mapping from a verdict to its code
//! ([`Verdict::exit_code`]). Every command's exit code comes from here:
//! the engine, the run and the CLI name the ending, and only this module
//! turns it into a number. Must not print, and must not know how a run is
//! carried out.

/// The exit codes of docs/spec.md section 5, for every command.
pub mod exit {
    /// Success, or no changes.
    pub const OK: u8 = 0;
    /// Invalid input, a usage error, or a provider or system error.
    pub const ERROR: u8 = 1;
    /// Changes present (`plan --detailed-exitcode` only).
    pub const CHANGES: u8 = 2;
    /// Finished without converging: members pending or blocked, or changes
    /// left while suspended or interrupted; every member safe.
    pub const NOT_CONVERGED: u8 = 3;
    /// Safety violation: a member stranded.
    pub const STRANDED: u8 = 4;
    /// `wait`, `status`: the reconcile listener could not be reached.
    pub const UNREACHABLE: u8 = 5;
    /// `apply`: held by a gate (outside the change window, or the plan
    /// awaits approval); nothing was applied (docs/gates.md).
    pub const GATED: u8 = 6;
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Everything applied and the estate equals the desired topology.
    Converged,
    /// Finished with members pending, failed or blocked (or changes left
    /// while suspended); all safe.
    NotConverged,
    /// Stopped by Ctrl-C, a signal or a lost leadership; every member
    /// untouched, in its bridge, or done.
    Interrupted,
    /// A member is stranded (a safety violation; should never happen).
    Stranded,
}

impl Verdict {
    /// The word in the journal and the run report.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Converged => "converged",
            Verdict::NotConverged => "not_converged",
            Verdict::Interrupted => "interrupted",
            Verdict::Stranded => "stranded",
        }
    }

    /// The exit code of docs/spec.md section 5: [`exit::OK`],
    /// [`exit::NOT_CONVERGED`] or [`exit::STRANDED`].
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Converged => exit::OK,
            Verdict::NotConverged | Verdict::Interrupted => exit::NOT_CONVERGED,
            Verdict::Stranded => exit::STRANDED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_those_of_the_spec() {
        // docs/spec.md section 5, "Exit codes": a change here breaks every
        // script that calls handover.
        assert_eq!(
            [
                exit::OK,
                exit::ERROR,
                exit::CHANGES,
                exit::NOT_CONVERGED,
                exit::STRANDED,
                exit::UNREACHABLE
            ],
            [0, 1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn each_verdict_maps_to_its_code_and_word() {
        let all = [
            (Verdict::Converged, 0, "converged"),
            (Verdict::NotConverged, 3, "not_converged"),
            (Verdict::Interrupted, 3, "interrupted"),
            (Verdict::Stranded, 4, "stranded"),
        ];
        for (v, code, word) in all {
            assert_eq!(v.exit_code(), code, "{v:?}");
            assert_eq!(v.as_str(), word, "{v:?}");
        }
    }
}
