//! The fast path for the bulk of large files: the `managementServers`,
//! `gateways` and `agents` sections, written in the plain block style that
//! `handover export` and generators emit, read line by line without a
//! general YAML parser.
//!
//! Owns only recognising that strict subset and returning its scalars with
//! their `line:column`. It never reports an error: anything outside the
//! subset (quotes, anchors, tags, tabs, non-ASCII, block failover lists,
//! unknown or repeated keys, values that YAML would read as null, a
//! boolean or a number, ...) makes [`split`] return `None`, and the caller
//! parses the whole file with serde-saphyr, which produces every message.
//! When it returns `Some`, the rest of the document (header, metadata,
//! policy, rules, store) is still parsed by serde-saphyr, from a copy of the
//! text with the bulk lines blanked so that line numbers do not move. The
//! differential tests in `load::tests` and the fuzz harness in
//! `load::tests::fuzz` (`scripts/fuzz-load.sh`) check both paths build the
//! same model or give the same diagnostics. Must not check host names or relations; the builder and
//! `crate::validate` do, for both paths alike.

use std::ops::Range;

/// A scalar as written: its text and its 1-based position.
#[derive(Clone, Copy, Debug)]
pub struct Lit<'a> {
    /// The scalar's text.
    pub text: &'a str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (the text is ASCII, so bytes and characters agree).
    pub col: u32,
}

/// A management server (desired or observed) of the fast path.
#[derive(Debug)]
pub struct Server<'a> {
    /// `name:`.
    pub name: Lit<'a>,
    /// `up:` (observed only).
    pub up: Option<bool>,
}

/// A gateway or agent (desired or observed) of the fast path.
#[derive(Debug)]
pub struct Member<'a> {
    /// `name:`.
    pub name: Lit<'a>,
    /// `primary:`.
    pub primary: Lit<'a>,
    /// `failover:` as a range of [`Split::failovers`].
    pub failover: Range<usize>,
    /// `connected:` unless null or absent (observed only).
    pub connected: Option<Lit<'a>>,
    /// `up:` (observed only).
    pub up: Option<bool>,
    /// `ready:` (observed only).
    pub ready: Option<bool>,
}

/// Which document the sections belong to: the keys allowed differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `kind: Topology`.
    Desired,
    /// `kind: Observed`.
    Observed,
}

/// A document cut in two: the bulk sections read here, and the rest of
/// the text (bulk lines blanked) for serde-saphyr.
#[derive(Debug, Default)]
pub struct Split<'a> {
    /// The text without the bulk sections, same number of lines.
    pub remainder: String,
    /// `managementServers`, when read here.
    pub servers: Option<Vec<Server<'a>>>,
    /// `gateways`, when read here.
    pub gateways: Option<Vec<Member<'a>>>,
    /// `agents`, when read here.
    pub agents: Option<Vec<Member<'a>>>,
    /// Every failover of every member, in order.
    pub failovers: Vec<Lit<'a>>,
}

/// The bulk sections, read by the fast paths.
pub const SECTIONS: [&str; 3] = ["managementServers", "gateways", "agents"];

/// Fewer bytes than this: serde-saphyr alone is as fast; skip the split.
pub const MIN_BYTES: usize = 64 * 1024;

/// Whether a text of `len` bytes is worth splitting (the loader's default
/// route; tests force either path with `load::Route`).
pub fn worth_splitting(len: usize) -> bool {
    len >= MIN_BYTES
}

/// The bulk sections leave this many YAML nodes at most to the fast path;
/// beyond, serde-saphyr decides (its node budget applies to the whole file).
const MAX_FAST_NODES: usize = super::yaml::MAX_NODES / 4;

/// Splits `text` (checked UTF-8, no byte-order mark) when it is in the
/// strict subset, whatever its size (the caller decides whether it is
/// worth it); `None` means "parse all of it with serde-saphyr".
pub fn split(text: &str, shape: Shape) -> Option<Split<'_>> {
    if !plain_bytes(text.as_bytes()) {
        return None;
    }
    let mut lines = Lines::new(text);
    let mut out = Split {
        remainder: String::with_capacity(text.len() / 16),
        ..Split::default()
    };
    let mut nodes = 0usize;
    while let Some(raw) = lines.peek() {
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        let first = l.as_bytes().first().copied();
        let section = match first {
            Some(b) if b.is_ascii_alphabetic() => top_key(l)?,
            // Only keys start at column 0: no top-level sequence, no
            // document markers, no flow collection.
            Some(b' ' | b'#') | None => None,
            Some(_) => return None,
        };
        match section {
            Some(s) => {
                if lines.advance() {
                    out.remainder.push('\n');
                }
                let mut p = Section {
                    lines: &mut lines,
                    shape,
                    out: &mut out,
                    nodes: &mut nodes,
                };
                p.read(s)?;
            }
            None => {
                // Flow collections must close on their line here, so that a
                // line at column 0 is a key and never inside a value.
                let open = l.bytes().filter(|b| *b == b'[').count();
                if open != l.bytes().filter(|b| *b == b']').count() {
                    return None;
                }
                out.remainder.push_str(raw);
                if lines.advance() {
                    out.remainder.push('\n');
                }
            }
        }
    }
    Some(out)
}

/// The lines of a text, one at a time (as `split('\n')` gives them),
/// without collecting them: a file of line breaks must not cost memory.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    /// Where the line break that ends the current line is, if one does:
    /// found once per line, so peeking is free.
    newline: Option<usize>,
    done: bool,
    /// 0-based index of the line [`Lines::peek`] returns.
    index: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            text,
            pos: 0,
            newline: text.find('\n'),
            done: false,
            index: 0,
        }
    }

    fn peek(&self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        Some(&self.text[self.pos..self.newline.unwrap_or(self.text.len())])
    }

    /// Moves past the current line; true when a line break ended it.
    fn advance(&mut self) -> bool {
        self.index += 1;
        match self.newline {
            Some(e) => {
                self.pos = e + 1;
                self.newline = self.text[self.pos..].find('\n').map(|n| self.pos + n);
                true
            }
            None => {
                self.done = true;
                false
            }
        }
    }
}

/// True when the text has no byte that could start anything beyond the
/// subset: quotes, block scalars, flow mappings, anchors, aliases, tags,
/// directives, tabs, control characters, non-ASCII, a lone CR.
fn plain_bytes(b: &[u8]) -> bool {
    // Branch-free over 32 bytes at a time; only a block that holds a
    // stop byte is looked at closely (a CR is fine before a LF).
    let mut at = 0;
    for block in b.chunks(32) {
        if block
            .iter()
            .fold(false, |hit, &c| hit | STOP[usize::from(c)])
        {
            for (i, &c) in block.iter().enumerate() {
                if STOP[usize::from(c)] && !(c == b'\r' && b.get(at + i + 1) == Some(&b'\n')) {
                    return false;
                }
            }
        }
        at += block.len();
    }
    true
}

/// The bytes [`plain_bytes`] stops at: quotes, indicators the subset does
/// not handle, control characters but LF, CR (allowed only before LF),
/// DEL and every non-ASCII byte.
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = c < 0x20 || c >= 0x7f;
        c += 1;
    }
    t[b'\n' as usize] = false;
    let special = b"\"'|>{}&*!%?@`\\";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

/// For a line starting with a letter: `Some(Some(section))` when it is
/// exactly the header of a bulk section, `Some(None)` for any other key,
/// `None` when it spells a bulk key some other way (`agents :`, `agents: []`),
/// which serde-saphyr must see in full.
fn top_key(l: &str) -> Option<Option<usize>> {
    let key_len = l
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        .unwrap_or(l.len());
    let key = &l[..key_len];
    match SECTIONS.iter().position(|s| *s == key) {
        None => Some(None),
        Some(s) if l[key_len..].trim_end_matches(' ') == ":" => Some(Some(s)),
        Some(_) => None,
    }
}

struct Section<'l, 'a, 'o> {
    lines: &'l mut Lines<'a>,
    shape: Shape,
    out: &'o mut Split<'a>,
    nodes: &'o mut usize,
}

/// One `key: value` of an item, before its meaning is known.
struct Entry<'a> {
    key: &'a str,
    value: Lit<'a>,
}

impl<'a> Section<'_, 'a, '_> {
    /// Reads the block sequence of section `s` from the current line up
    /// to (not including) the next line at column 0, blanking its lines in
    /// the remainder.
    fn read(&mut self, s: usize) -> Option<()> {
        let already = match s {
            0 => self.out.servers.is_some(),
            1 => self.out.gateways.is_some(),
            _ => self.out.agents.is_some(),
        };
        if already {
            return None;
        }
        let mut servers = Vec::new();
        let mut members = Vec::new();
        let mut indent: Option<usize> = None;
        let mut item: Vec<Entry<'a>> = Vec::with_capacity(6);
        while let Some(raw) = self.lines.peek() {
            let i = self.lines.index;
            let l = raw.strip_suffix('\r').unwrap_or(raw);
            let body = l.trim_start_matches(' ');
            if !(body.is_empty() || body.starts_with('#')) {
                let lead = l.len() - body.len();
                let ind = match indent {
                    Some(n) => n,
                    None if body.starts_with("- ") => {
                        indent = Some(lead);
                        lead
                    }
                    None => return None,
                };
                if lead == ind && body.starts_with("- ") {
                    if !item.is_empty() {
                        self.finish(s, &mut item, &mut servers, &mut members)?;
                    }
                    item.push(entry(&body[2..], i, lead + 2)?);
                } else if lead == ind + 2 && !item.is_empty() {
                    item.push(entry(body, i, lead)?);
                } else if lead == 0 {
                    break;
                } else {
                    return None;
                }
            }
            if self.lines.advance() {
                self.out.remainder.push('\n');
            }
        }
        if item.is_empty() {
            return None;
        }
        self.finish(s, &mut item, &mut servers, &mut members)?;
        match s {
            0 => self.out.servers = Some(servers),
            1 => self.out.gateways = Some(members),
            _ => self.out.agents = Some(members),
        }
        Some(())
    }

    /// Turns the entries of one item into a server or member.
    fn finish(
        &mut self,
        s: usize,
        item: &mut Vec<Entry<'a>>,
        servers: &mut Vec<Server<'a>>,
        members: &mut Vec<Member<'a>>,
    ) -> Option<()> {
        *self.nodes += 1 + 2 * item.len();
        if *self.nodes > MAX_FAST_NODES {
            return None;
        }
        let observed = self.shape == Shape::Observed;
        let mut name = None;
        let mut primary = None;
        let mut failover = None;
        let mut connected = None;
        let mut up = None;
        let mut ready = None;
        for e in item.drain(..) {
            let slot_taken = match e.key {
                "name" => name.replace(host(e.value)?).is_some(),
                "primary" if s > 0 => primary.replace(host(e.value)?).is_some(),
                "failover" if s > 0 => failover.replace(self.flow(e.value)?).is_some(),
                "connected" if s > 0 && observed => {
                    let v = if e.value.text == "null" {
                        None
                    } else {
                        Some(host(e.value)?)
                    };
                    connected.replace(v).is_some()
                }
                "up" if observed => up.replace(boolean(e.value.text)?).is_some(),
                "ready" if s > 0 && observed => ready.replace(boolean(e.value.text)?).is_some(),
                _ => return None,
            };
            if slot_taken {
                return None;
            }
        }
        let name = name?;
        if s == 0 {
            servers.push(Server { name, up });
        } else {
            let at = self.out.failovers.len();
            members.push(Member {
                name,
                primary: primary?,
                failover: failover.unwrap_or(at..at),
                connected: connected.flatten(),
                up,
                ready,
            });
        }
        Some(())
    }

    /// `[a, b, ...]` on one line into [`Split::failovers`].
    fn flow(&mut self, v: Lit<'a>) -> Option<Range<usize>> {
        let inner = v.text.strip_prefix('[')?.strip_suffix(']')?;
        let start = self.out.failovers.len();
        if !inner.trim_matches(' ').is_empty() {
            let mut offset = 1;
            for part in inner.split(',') {
                let lead = part.len() - part.trim_start_matches(' ').len();
                let text = part.trim_matches(' ');
                self.out.failovers.push(host(Lit {
                    text,
                    line: v.line,
                    col: v.col + (offset + lead) as u32,
                })?);
                offset += part.len() + 1;
                *self.nodes += 1;
            }
        }
        Some(start..self.out.failovers.len())
    }
}

/// `key: value` at byte column `at` (0-based) of line index `i`.
fn entry(s: &str, i: usize, at: usize) -> Option<Entry<'_>> {
    // One pass over the line's bytes (lines are short; a search per
    // character class would cost more than it finds).
    let b = s.as_bytes();
    let colon = b.iter().position(|c| !c.is_ascii_alphabetic())?;
    if colon == 0 || b[colon] != b':' {
        return None;
    }
    let spaces = b[colon + 1..].iter().take_while(|&&c| c == b' ').count();
    if spaces == 0 {
        return None; // `key:value` or `key:` with nothing after
    }
    let start = colon + 1 + spaces;
    let mut end = b.len();
    for (j, &c) in b[start..].iter().enumerate() {
        match c {
            // A comment starts at a `#` after a space; any other `#`, and
            // any `:` in the value, is not ours.
            b'#' if j > 0 && b[start + j - 1] == b' ' => {
                end = start + j;
                break;
            }
            b'#' | b':' => return None,
            _ => {}
        }
    }
    let body = s[start..end].trim_end_matches(' ');
    if body.is_empty() {
        return None;
    }
    Some(Entry {
        key: &s[..colon],
        value: Lit {
            text: body,
            line: u32::try_from(i + 1).ok()?,
            col: u32::try_from(at + start + 1).ok()?,
        },
    })
}

/// A plain scalar that YAML reads as the same text: letters, digits, `-`
/// and `.`, starting with a letter, and not a word YAML reads as null or a
/// boolean.
fn host(v: Lit<'_>) -> Option<Lit<'_>> {
    let b = v.text.as_bytes();
    let plain = b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter().all(|&c| crate::name::HOST_BYTE[usize::from(c)]);
    let special = b.len() <= 5
        && [
            "null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf",
        ]
        .iter()
        .any(|w| v.text.eq_ignore_ascii_case(w));
    (plain && !special).then_some(v)
}

fn boolean(s: &str) -> Option<bool> {
    match s {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::plain_bytes;

    /// The rule [`plain_bytes`] implements, one byte at a time.
    fn reference(b: &[u8]) -> bool {
        b.iter().enumerate().all(|(i, &c)| match c {
            b'"' | b'\'' | b'|' | b'>' | b'{' | b'}' | b'&' | b'*' | b'!' | b'%' | b'?' | b'@'
            | b'`' | b'\\' => false,
            b'\n' => true,
            b'\r' => b.get(i + 1) == Some(&b'\n'),
            0..=0x1f | 0x7f..=0xff => false,
            _ => true,
        })
    }

    /// `entry` as first written (a search per character class), to hold
    /// the one-pass version to the same answers.
    fn entry_reference(s: &str, i: usize, at: usize) -> Option<(String, String, u32, u32)> {
        let colon = s.find(':')?;
        let key = &s[..colon];
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        let rest = &s[colon + 1..];
        let body = rest.trim_start_matches(' ');
        if body.len() == rest.len() {
            return None;
        }
        let body = match body.find(" #") {
            Some(c) => &body[..c],
            None => body,
        }
        .trim_end_matches(' ');
        if body.is_empty() || body.contains('#') || body.contains(':') {
            return None;
        }
        let col = at + colon + 1 + (rest.len() - rest.trim_start_matches(' ').len()) + 1;
        Some((key.into(), body.into(), (i + 1) as u32, col as u32))
    }

    proptest::proptest! {
        #[test]
        fn entry_agrees_with_the_reference(s in "[a-z]{0,4}[:# a-z.-]{0,12}[:# a-z]{0,6}", at in 0usize..8) {
            let got = super::entry(&s, 3, at)
                .map(|e| (e.key.to_string(), e.value.text.to_string(), e.value.line, e.value.col));
            proptest::prop_assert_eq!(got, entry_reference(&s, 3, at), "{:?}", s);
        }
    }

    #[test]
    fn every_byte_at_every_block_position_matches_the_rule() {
        let base = b"agents:\n  - name: web01.contoso.local\n    primary: gw1\n".repeat(2);
        for c in 0..=255u8 {
            for at in [0, 1, 31, 32, 33, base.len() - 1] {
                let mut b = base.clone();
                b[at] = c;
                assert_eq!(plain_bytes(&b), reference(&b), "byte {c:#x} at {at}");
            }
        }
        // A CR at the end of a block, its LF in the next; a lone CR at the end.
        let mut b = vec![b'a'; 64];
        b[31] = b'\r';
        b[32] = b'\n';
        assert!(plain_bytes(&b));
        b[32] = b'a';
        assert!(!plain_bytes(&b));
        assert!(!plain_bytes(b"abc\r"));
        assert!(plain_bytes(b""));
    }
}
