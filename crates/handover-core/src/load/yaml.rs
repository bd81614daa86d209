//! The YAML edge: bytes to document types with serde-saphyr, under explicit
//! budgets, and its errors turned into `file:line:column` diagnostics.
//!
//! Owns the hostile-input limits (size, depth, aliases, nodes) and the
//! checks that come before YAML (empty, binary, not UTF-8). Must not know
//! what a topology means. Figures behind the choices: `docs/yaml.md`.

use crate::diag::{Diagnostic, Pos};
use serde::de::DeserializeOwned;
use serde_saphyr::{MessageFormatter, UserMessageFormatter};
use std::sync::Arc;

/// Largest file accepted, in bytes (64 MiB: about 550,000 agents; split a
/// larger estate into several files of a directory).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Deepest nesting accepted; handover documents need 5 levels.
pub const MAX_DEPTH: usize = 64;
/// Most aliases (`*ref`) in one document.
pub const MAX_ALIASES: usize = 1_000;
/// Most events an alias may replay in total (stops "billion laughs").
pub const MAX_REPLAYED_EVENTS: usize = 100_000;
/// Most YAML nodes in one document (a 100,000-agent file has about 800,000).
pub const MAX_NODES: usize = 16_000_000;

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_FILE_BYTES as usize),
            max_depth: MAX_DEPTH,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ALIASES,
            max_recorded_anchor_events: MAX_REPLAYED_EVENTS,
            max_nodes: MAX_NODES,
            max_events: 2 * MAX_NODES,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED_EVENTS,
        },
        with_snippet: false,
        emit_comments: false,
    }
}

/// Checks that `bytes` are non-empty UTF-8 text, stripping a byte-order mark.
pub fn text<'a>(bytes: &'a [u8], file: &Arc<str>) -> Result<&'a str, Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // `contains` is a memchr; the position is wanted only for the message.
    if bytes.contains(&0)
        && let Some(at) = bytes.iter().position(|b| *b == 0)
    {
        return Err(Diagnostic::at(
            position_of(&bytes[..at], file),
            "binary data: a NUL byte; expected a YAML or JSON document",
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let pos = position_of(&bytes[..at], file);
            return Err(Diagnostic::at(
                pos,
                format!(
                    "not UTF-8 text: byte 0x{:02x} cannot start a character; expected a YAML or JSON document",
                    bytes[at]
                ),
            )
            .with_hint("is this a binary file? save it as UTF-8"));
        }
    };
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(Diagnostic::at(
            Pos::new(file.clone(), 1, 1),
            "the file is empty; expected a document starting with apiVersion: handover/v1 and kind: Topology or Observed",
        ));
    }
    Ok(text)
}

fn position_of(prefix: &[u8], file: &Arc<str>) -> Pos {
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let last = prefix.rsplit(|b| *b == b'\n').next().unwrap_or_default();
    let col = String::from_utf8_lossy(last).chars().count() + 1;
    Pos::new(file.clone(), clamp(line as u64), clamp(col as u64))
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Parses one document of type `T` from `text`.
pub fn parse<T: DeserializeOwned>(text: &str, file: &Arc<str>) -> Result<T, Diagnostic> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| {
        let mut d = error(&e, file);
        if let Some(pos) = &d.pos
            && (d.message.starts_with("invalid ") || d.message.starts_with("expected "))
        {
            d.message = with_context(text, pos.line, pos.column, &d.message);
        }
        d
    })
}

/// Parses one document of type `T` from `text`; `None` on any error,
/// without building a message (the caller reparses for one).
pub fn parse_quiet<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_saphyr::from_str_with_options(text, options()).ok()
}

/// Names the key and quotes the value written at `line:column`, for type
/// errors whose library wording names neither.
fn with_context(text: &str, line: u32, column: u32, msg: &str) -> String {
    let Some(l) = text.lines().nth(line.saturating_sub(1) as usize) else {
        return msg.to_string();
    };
    let split = l
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(l.len(), |(i, _)| i);
    let (before, value) = l.split_at(split);
    let key = before
        .trim()
        .trim_start_matches("- ")
        .trim_end_matches(':')
        .trim();
    let value = value.split(" #").next().unwrap_or("").trim();
    let mut out = String::new();
    if !key.is_empty() && !key.contains([' ', '{', '[', '"']) {
        out.push_str(key);
        out.push_str(": ");
    }
    out.push_str(msg);
    if !value.is_empty() {
        out.push_str(&format!(" (found {})", crate::diag::quote(value)));
    }
    out
}

/// A serde-saphyr error as a diagnostic at its position.
pub fn error(e: &serde_saphyr::Error, file: &Arc<str>) -> Diagnostic {
    let inner = e.without_snippet();
    let raw = UserMessageFormatter.format_message(inner);
    // Messages may quote input; keep them on one line and of sane length.
    let mut msg: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if msg.chars().count() > 300 {
        msg = msg.chars().take(300).collect::<String>() + "…";
    }
    let msg = explain(msg);
    match e.location() {
        Some(l) if l.line() > 0 => Diagnostic::at(
            Pos::new(file.clone(), clamp(l.line()), clamp(l.column().max(1))),
            msg,
        ),
        _ => Diagnostic::at(Pos::new(file.clone(), 1, 1), msg),
    }
}

/// Adds what a person can do to the library's wording where it helps.
fn explain(msg: String) -> String {
    let lower = msg.to_ascii_lowercase();
    if let Some(ty) = lower.strip_prefix("invalid ") {
        if ty.starts_with('i') || ty.starts_with('u') {
            return format!("{msg}: expected a whole number here");
        }
        if ty.starts_with("bool") {
            return format!("{msg}: expected true or false here");
        }
    }
    if lower.starts_with("expected string scalar") {
        return format!("{msg}: expected a single text value here, not a list or mapping");
    }
    if lower.starts_with("expected mapping start") {
        return format!("{msg}: expected a mapping here (name: ...), not a list or a single value");
    }
    if lower.starts_with("expected sequence start") {
        return format!("{msg}: expected a list here (- ... or [...])");
    }
    if lower.contains("recursion limit") || lower.contains("depth") {
        format!("{msg}: nesting deeper than {MAX_DEPTH} levels; handover documents need 5")
    } else if lower.contains("alias") || lower.contains("anchor") {
        format!(
            "{msg}: too many alias expansions (at most {MAX_ALIASES} aliases and {MAX_REPLAYED_EVENTS} replayed events); write the values out"
        )
    } else if lower.contains("budget") {
        format!(
            "{msg}: the document exceeds handover's limits (at most {MAX_NODES} nodes); split it into several files of a directory"
        )
    } else {
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_points_at_the_byte() {
        let f: Arc<str> = "x.yaml".into();
        let d = text(b"a: 1\nb: x\xff", &f).unwrap_err();
        assert_eq!(d.pos.unwrap().to_string(), "x.yaml:2:5");
        assert!(d.message.contains("0xff"));
    }

    #[test]
    fn empty_and_comment_only_are_empty() {
        let f: Arc<str> = "x.yaml".into();
        assert!(text(b"", &f).unwrap_err().message.contains("empty"));
        assert!(text(b"# hi\n\n", &f).unwrap_err().message.contains("empty"));
    }
}
