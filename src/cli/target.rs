//! TARGET on the command line: `sim:FILE` today.
//!
//! A minimal parse for `apply`, `export` and `history`. The Providers work
//! brings `provider::parse_target` (with `exec:PROGRAM`); this module should
//! then be replaced by it (note for the lead: unify on one `TargetSpec`).

use std::path::{Path, PathBuf};

/// A parsed TARGET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// `sim:FILE`: the embedded simulator, persisted in FILE and beside it.
    Sim(PathBuf),
}

impl TargetSpec {
    /// The file a target lives in, for the default state directory.
    pub fn file(&self) -> Option<&Path> {
        match self {
            TargetSpec::Sim(p) => Some(p),
        }
    }

    /// A short, file-name-safe label for the target's lock file.
    pub fn lock_name(&self) -> String {
        let raw = match self {
            TargetSpec::Sim(p) => format!(
                "sim-{}",
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
        };
        let safe: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.lock")
    }
}

/// Parses TARGET, or says what is expected.
pub fn parse(s: &str) -> Result<TargetSpec, String> {
    if let Some(file) = s.strip_prefix("sim:") {
        if file.is_empty() {
            return Err(format!(
                "target {s:?}: name the simulator's file, e.g. sim:estate.yaml (a copy of an observed.yaml)"
            ));
        }
        return Ok(TargetSpec::Sim(PathBuf::from(file)));
    }
    if s.starts_with("exec:") {
        return Err(format!(
            "target {s:?}: exec: targets arrive with the Providers work; use sim:FILE for now"
        ));
    }
    Err(format!(
        "target {s:?} is not one handover knows: use sim:FILE (the embedded simulator; FILE starts as an observed.yaml)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sim_and_refuses_the_rest_clearly() {
        assert_eq!(
            parse("sim:a/estate.yaml").unwrap(),
            TargetSpec::Sim(PathBuf::from("a/estate.yaml"))
        );
        assert!(parse("sim:").unwrap_err().contains("sim:estate.yaml"));
        assert!(parse("exec:./p").unwrap_err().contains("Providers"));
        assert!(parse("scom:x").unwrap_err().contains("sim:FILE"));
        assert_eq!(
            TargetSpec::Sim(PathBuf::from("x/my estate.yaml")).lock_name(),
            "sim-my_estate.yaml.lock"
        );
    }
}
