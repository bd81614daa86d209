//! The `--target` string: which kind of target, and where.
//!
//! Owns the syntax `sim:STATEFILE` and `exec:PROGRAM [ARGS...]`. Must not
//! open files or start programs: it only parses.

use std::path::PathBuf;

/// A parsed `--target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// `sim:STATEFILE`: the embedded simulator over a state file.
    Sim(PathBuf),
    /// `exec:PROGRAM [ARGS...]`: an external provider program.
    Exec {
        /// The program, run directly (never through a shell).
        program: PathBuf,
        /// Its arguments, each passed as one argument.
        args: Vec<String>,
    },
}

/// Why a `--target` string is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No `kind:` prefix handover knows.
    #[error(
        "target {0:?} has no kind handover knows; expected `sim:STATEFILE` or `exec:PROGRAM [ARGS...]`"
    )]
    UnknownKind(String),
    /// The part after the prefix is empty.
    #[error("target {0:?} names no {1}; expected `{2}`")]
    Empty(String, &'static str, &'static str),
}

/// Parses a `--target` value.
///
/// `exec:` splits the rest on ASCII whitespace: the first word is the
/// program, the others its arguments, each passed to the program as one
/// argument without any shell (no quoting, no globbing, no variables).
/// A program or argument containing spaces cannot be written this way: use
/// a wrapper script, or let the CLI append arguments verbatim (a repeated
/// `--target-arg`) to [`TargetSpec::Exec`]'s `args`.
pub fn parse_target(s: &str) -> Result<TargetSpec, TargetError> {
    if let Some(rest) = s.strip_prefix("sim:") {
        if rest.is_empty() {
            return Err(TargetError::Empty(s.into(), "state file", "sim:STATEFILE"));
        }
        return Ok(TargetSpec::Sim(PathBuf::from(rest)));
    }
    if let Some(rest) = s.strip_prefix("exec:") {
        let mut words = rest.split_ascii_whitespace();
        let Some(program) = words.next() else {
            return Err(TargetError::Empty(
                s.into(),
                "program",
                "exec:PROGRAM [ARGS...]",
            ));
        };
        let args: Vec<String> = words.map(str::to_string).collect();
        return Ok(TargetSpec::Exec {
            program: PathBuf::from(program),
            args,
        });
    }
    Err(TargetError::UnknownKind(s.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_and_exec() {
        assert_eq!(
            parse_target("sim:state.yaml").unwrap(),
            TargetSpec::Sim("state.yaml".into())
        );
        assert_eq!(
            parse_target("exec:/opt/p  --x  1").unwrap(),
            TargetSpec::Exec {
                program: "/opt/p".into(),
                args: vec!["--x".into(), "1".into()]
            }
        );
    }

    #[test]
    fn shell_syntax_is_passed_through_literally() {
        let TargetSpec::Exec { args, .. } = parse_target("exec:p $(rm -rf /);x").unwrap() else {
            panic!()
        };
        assert_eq!(args, vec!["$(rm".to_string(), "-rf".into(), "/);x".into()]);
    }

    #[test]
    fn errors_say_what_is_expected() {
        for bad in ["exec:", "exec:   ", "sim:", "ssh:host", "state.yaml"] {
            let e = parse_target(bad).unwrap_err().to_string();
            assert!(e.contains("expected"), "{e}");
        }
    }
}
