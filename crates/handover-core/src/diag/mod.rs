//! Diagnostics: problems in input files, each pointing at `file:line:column`.
//!
//! Owns the position type the loader attaches to model items, the
//! positions of a document's parts ([`positions`]), the error type
//! validation returns, and the helpers every message uses to write numbers
//! ([`thousands`], [`count`], [`quote`]). A [`Diagnostic`] is what a person reads:
//! where, what is wrong (naming the offending value), and what to do. Must
//! not touch I/O (printing is the CLI's job) or import another module of
//! the crate: everything above reports through it.

pub mod positions;

use std::fmt;
use std::sync::Arc;

/// A place in a source file, 1-based, as editors count.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// The file as the user named it (or `<stdin>`, or empty when unknown).
    pub file: Arc<str>,
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

impl Pos {
    /// A position in `file`.
    pub fn new(file: Arc<str>, line: u32, column: u32) -> Self {
        Pos { file, line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is; `None` for problems of a whole path.
    pub pos: Option<Pos>,
    /// What is wrong, naming the offending value and what was expected.
    pub message: String,
    /// What to do about it, when there is something useful to say.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem at `pos`.
    pub fn at(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            pos: Some(pos),
            message: message.into(),
            hint: None,
        }
    }

    /// A problem with no position (a missing file, say).
    pub fn general(message: impl Into<String>) -> Self {
        Diagnostic {
            pos: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(pos) = &self.pos {
            write!(f, "{pos}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// A diagnostic shown as a warning, which does not fail the command:
/// `file:line:column: warning: message (hint)`.
#[derive(Clone, Copy, Debug)]
pub struct Warning<'a>(pub &'a Diagnostic);

impl fmt::Display for Warning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if let Some(pos) = &d.pos {
            write!(f, "{pos}: ")?;
        }
        write!(f, "warning: {}", d.message)?;
        if let Some(hint) = &d.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Every problem found in one run, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Sorts by file, line and column so output is stable.
    pub fn sorted(mut self) -> Self {
        self.0
            .sort_by(|a, b| a.pos.cmp(&b.pos).then(a.message.cmp(&b.message)));
        self
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// A count a message shows: `u64`, `usize` or `u32`, so that callers need
/// no casts.
pub trait Count: Copy {
    /// The count as a `u64`.
    fn as_u64(self) -> u64;
}

impl Count for u64 {
    fn as_u64(self) -> u64 {
        self
    }
}

impl Count for usize {
    fn as_u64(self) -> u64 {
        self as u64
    }
}

impl Count for u32 {
    fn as_u64(self) -> u64 {
        u64::from(self)
    }
}

/// `1200` as `1,200`: counts in messages and summaries.
pub fn thousands(n: impl Count) -> String {
    let s = n.as_u64().to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 agent`, `2 agents`, `1,200 agents`.
pub fn count(n: impl Count, one: &str, many: &str) -> String {
    let n = n.as_u64();
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// A value quoted for a message, shortened to 80 characters so a 50 MB
/// scalar is not echoed.
pub fn quote(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{:?}…", s.chars().take(80).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(thousands(0u64), "0");
        assert_eq!(thousands(999usize), "999");
        assert_eq!(thousands(1200u32), "1,200");
        assert_eq!(thousands(100_000u64), "100,000");
        assert_eq!(thousands(1_234_567u64), "1,234,567");
        assert_eq!(count(1u64, "agent", "agents"), "1 agent");
        assert_eq!(count(1200usize, "agent", "agents"), "1,200 agents");
        assert_eq!(count(30_000u64, "agent", "agents"), "30,000 agents");
    }

    #[test]
    fn a_warning_says_so_after_the_place() {
        let d = Diagnostic::at(Pos::new("a.yaml".into(), 3, 7), "rule never matches")
            .with_hint("reorder");
        assert_eq!(
            Warning(&d).to_string(),
            "a.yaml:3:7: warning: rule never matches (reorder)"
        );
    }

    #[test]
    fn renders_file_line_column_message_and_hint() {
        let d = Diagnostic::at(Pos::new("a.yaml".into(), 3, 7), "unknown parent 'gw9'")
            .with_hint("define it under gateways or managementServers");
        assert_eq!(
            d.to_string(),
            "a.yaml:3:7: unknown parent 'gw9' (define it under gateways or managementServers)"
        );
    }
}
