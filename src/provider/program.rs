//! A provider program's limits, and how its broken answers are described.
//!
//! Owns [`ExecConfig`] (the timeouts and size caps of one program, whose
//! defaults docs/provider-protocol.md documents) and the words of every
//! error about what a program wrote: a truncated, invalid or misshapen
//! response with the byte it broke at, a size, the end of its stderr. Both
//! the one-shot calls (`super::exec`) and the sessions (`super::slot`) use
//! them. Must not run a program or decide what an error means for a run.

use std::time::Duration;

/// One mebibyte.
const MIB: usize = 1024 * 1024;

/// Limits for one provider program. The defaults are documented in
/// `docs/provider-protocol.md`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecConfig {
    /// How long a `capabilities` call may take (default 30 s).
    pub capabilities_timeout: Duration,
    /// How long an `observe` call may take (default 10 min: reading 100,000
    /// agents through the SCOM SDK takes minutes).
    pub observe_timeout: Duration,
    /// How long an `apply` call may take (default 2 min).
    pub apply_timeout: Duration,
    /// How long an `apply` of `store_failover` may take (default 30 min,
    /// `policy.storeTimeout`): `Invoke-CsManagementServerFailover` runs for
    /// minutes, and killing it part-way helps nobody.
    pub store_timeout: Duration,
    /// Largest `observe` response accepted, in bytes (default 256 MiB).
    pub observe_max_bytes: usize,
    /// Largest `capabilities` or `apply` response accepted (default 1 MiB).
    pub apply_max_bytes: usize,
    /// How much of the end of stderr is kept for logs and messages
    /// (default 64 KiB); the rest is read and dropped.
    pub stderr_tail_bytes: usize,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            capabilities_timeout: Duration::from_secs(30),
            observe_timeout: Duration::from_secs(600),
            apply_timeout: Duration::from_secs(120),
            store_timeout: Duration::from_secs(30 * 60),
            observe_max_bytes: 256 * MIB,
            apply_max_bytes: MIB,
            stderr_tail_bytes: 64 * 1024,
        }
    }
}

/// `; its stderr ends with: …` and the last 500 bytes of `stderr` (on a
/// character boundary), or nothing when it is empty: the end of a
/// provider's message, for an error a person reads.
pub(super) fn stderr_hint(stderr: &str) -> String {
    if stderr.is_empty() {
        return String::new();
    }
    let mut start = stderr.len().saturating_sub(500);
    while !stderr.is_char_boundary(start) {
        start += 1;
    }
    let more = if start > 0 { "…" } else { "" };
    format!("; its stderr ends with: {more}{}", &stderr[start..])
}

/// A size for a message: whole MiB as `N MiB`, anything else in bytes.
pub(super) fn bytes(n: usize) -> String {
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// A JSON error with the byte offset and what the output looks like there.
pub(super) fn describe_json_error(out: &[u8], e: &serde_json::Error, version: u32) -> String {
    let offset = byte_offset(out, e.line(), e.column());
    let begins = snippet(&out[..out.len().min(60)]);
    match e.classify() {
        serde_json::error::Category::Eof => format!(
            "its response is truncated: it ends at byte {} in the middle of a JSON value ({e}); it begins with {begins}",
            out.len()
        ),
        serde_json::error::Category::Data => format!(
            "its response is JSON but not a protocol {version} response: {e} (byte {offset}); it begins with {begins}"
        ),
        _ => {
            let from = offset.saturating_sub(20).min(out.len());
            let to = (offset + 20).min(out.len());
            format!(
                "its response is not valid JSON at byte {offset} ({e}), near {}; it begins with {begins}",
                snippet(&out[from..to])
            )
        }
    }
}

/// `b` quoted, invalid UTF-8 replaced.
fn snippet(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// serde_json reports 1-based line and column (in bytes); turn them into a
/// 0-based byte offset.
fn byte_offset(out: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match out[start..].iter().position(|&b| b == b'\n') {
            Some(p) => start += p + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(out.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::protocol::Response;

    #[test]
    fn byte_offsets_follow_lines() {
        let s = b"{\n  \"a\": x\n}";
        let e = serde_json::from_slice::<serde_json::Value>(s).unwrap_err();
        let off = byte_offset(s, e.line(), e.column());
        assert_eq!(s[off], b'x', "offset {off}");
    }

    #[test]
    fn truncated_and_garbage_are_told_apart() {
        let t = br#"{"protocol":1,"ok":tr"#;
        let e = serde_json::from_slice::<Response>(t).unwrap_err();
        let m = describe_json_error(t, &e, 1);
        assert!(m.contains("truncated") && m.contains("byte 21"), "{m}");
        let g = b"hello";
        let e = serde_json::from_slice::<Response>(g).unwrap_err();
        let m = describe_json_error(g, &e, 1);
        assert!(
            m.contains("not valid JSON at byte 0") && m.contains("\"hello\""),
            "{m}"
        );
    }

    #[test]
    fn a_wrong_shape_names_the_field_and_offset() {
        let w = br#"{"protocol":1,"ok":"yes"}"#;
        let e = serde_json::from_slice::<Response>(w).unwrap_err();
        let m = describe_json_error(w, &e, 1);
        assert!(m.contains("not a protocol 1 response"), "{m}");
        assert!(
            m.contains("expected a boolean") && m.contains("byte 23"),
            "{m}"
        );
    }

    #[test]
    fn stderr_hint_keeps_the_end_on_a_char_boundary() {
        let s = "é".repeat(400);
        let h = stderr_hint(&s);
        assert!(h.starts_with("; its stderr ends with: …"));
        assert!(h.len() < 560);
    }
}
