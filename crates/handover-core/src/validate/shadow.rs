//! Rules that can never match: an agent rule every name of which an
//! earlier rule already matches (the first match wins, so the later rule
//! is dead), reported as a warning.
//!
//! Owns the inclusion test between two `match` globs. It is exact for the
//! glob syntax the loader accepts (`*`, `?`, `[...]`, `[!...]`, `\x`) over
//! the characters of host names (letters, digits, `-`, `.`; case-
//! insensitive): each glob becomes a small automaton and the test walks
//! both at once (a subset construction on each side). It cannot tell, and
//! so says nothing, for a glob with `{a,b}` alternatives, for a glob of
//! more than [`MAX_TOKENS`] parts, when one test would take more than
//! [`MAX_STATES`] states, or once all tests of a topology together have
//! taken [`MAX_TOTAL_STATES`]. It compares a rule with each earlier rule
//! alone: a rule covered only by several earlier rules together is not
//! reported. It ignores the rules of DNS labels (a label is never empty):
//! a rule covered only for valid host names is not reported either. Must
//! not do I/O.

use crate::diag::Diagnostic;
use crate::hash::FastSet as HashSet;
use crate::model::Topology;

/// The characters of host names (lower case): the alphabet of the test.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-.";

/// Longest glob compared, in parts (a state set is one `u128`).
pub const MAX_TOKENS: usize = 120;

/// Most state pairs one inclusion test visits before giving up.
pub const MAX_STATES: usize = 20_000;

/// Most state pairs all the tests of one topology visit together.
pub const MAX_TOTAL_STATES: usize = 2_000_000;

/// One part of a glob.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// A character (lower case).
    Lit(u8),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters, also none.
    Star,
    /// `[...]`: one of these characters of [`ALPHABET`] (by index).
    Class(u64),
}

/// A glob as an automaton: state `i` means "the first `i` parts matched".
#[derive(Debug)]
struct Glob {
    tokens: Vec<Token>,
    /// Literal characters every match starts with.
    prefix: Vec<u8>,
    /// Literal characters every match ends with.
    suffix: Vec<u8>,
}

impl Glob {
    /// Parses a (valid) glob; `None` for what the test does not handle.
    fn parse(pattern: &str) -> Option<Glob> {
        let bytes = pattern.as_bytes();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let t = match c {
                b'*' => {
                    if tokens.last() == Some(&Token::Star) {
                        i += 1;
                        continue;
                    }
                    Token::Star
                }
                b'?' => Token::Any,
                b'{' | b'}' => return None,
                b'\\' => {
                    i += 1;
                    Token::Lit(bytes.get(i)?.to_ascii_lowercase())
                }
                b'[' => {
                    let (class, next) = class(bytes, i + 1)?;
                    i = next;
                    tokens.push(Token::Class(class));
                    continue;
                }
                _ => Token::Lit(c.to_ascii_lowercase()),
            };
            tokens.push(t);
            i += 1;
        }
        if tokens.len() > MAX_TOKENS {
            return None;
        }
        let lit = |t: &Token| match t {
            Token::Lit(c) => Some(*c),
            _ => None,
        };
        let prefix = tokens.iter().map_while(lit).collect();
        let mut suffix: Vec<u8> = tokens.iter().rev().map_while(lit).collect();
        suffix.reverse();
        Some(Glob {
            tokens,
            prefix,
            suffix,
        })
    }

    /// The states reachable from `set` without reading (a `*` may match
    /// nothing).
    fn closure(&self, mut set: u128) -> u128 {
        for (i, t) in self.tokens.iter().enumerate() {
            if *t == Token::Star && set & (1 << i) != 0 {
                set |= 1 << (i + 1);
            }
        }
        set
    }

    /// The start states.
    fn start(&self) -> u128 {
        self.closure(1)
    }

    /// The states after reading the character at `letter` of [`ALPHABET`].
    fn step(&self, set: u128, letter: usize) -> u128 {
        let c = ALPHABET[letter];
        let mut next = 0u128;
        for (i, t) in self.tokens.iter().enumerate() {
            if set & (1 << i) == 0 {
                continue;
            }
            let moves = match t {
                Token::Lit(x) => *x == c,
                Token::Any => true,
                Token::Class(bits) => bits & (1 << letter) != 0,
                Token::Star => {
                    next |= 1 << i;
                    false
                }
            };
            if moves {
                next |= 1 << (i + 1);
            }
        }
        self.closure(next)
    }

    /// Whether `set` holds the state where the whole glob matched.
    fn accepts(&self, set: u128) -> bool {
        set & (1 << self.tokens.len()) != 0
    }
}

/// Reads a `[...]` class starting after its `[`; returns the set of
/// [`ALPHABET`] letters it matches and the index after its `]`.
fn class(bytes: &[u8], mut i: usize) -> Option<(u64, usize)> {
    let negated = matches!(bytes.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut chars: Vec<(u8, u8)> = Vec::new();
    let mut first = true;
    loop {
        let c = *bytes.get(i)?;
        if c == b']' && !first {
            i += 1;
            break;
        }
        first = false;
        if bytes.get(i + 1) == Some(&b'-') && bytes.get(i + 2).is_some_and(|e| *e != b']') {
            chars.push((c, bytes[i + 2]));
            i += 3;
        } else {
            chars.push((c, c));
            i += 1;
        }
    }
    let mut bits = 0u64;
    for (n, &letter) in ALPHABET.iter().enumerate() {
        let upper = letter.to_ascii_uppercase();
        let inside = chars
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&letter) || (lo..=hi).contains(&upper));
        if inside != negated {
            bits |= 1 << n;
        }
    }
    Some((bits, i))
}

/// Whether every name `later` matches is matched by `earlier`: `Some(true)`
/// or `Some(false)`, or `None` when the test would take more than `budget`
/// states (which it decreases by what it used).
fn covers(earlier: &Glob, later: &Glob, budget: &mut usize) -> Option<bool> {
    // Cheap refusals first: literal prefixes and suffixes that disagree.
    let n = earlier.prefix.len().min(later.prefix.len());
    if earlier.prefix[..n] != later.prefix[..n] {
        return Some(false);
    }
    let n = earlier.suffix.len().min(later.suffix.len());
    if earlier.suffix[earlier.suffix.len() - n..] != later.suffix[later.suffix.len() - n..] {
        return Some(false);
    }
    let start = (later.start(), earlier.start());
    let mut seen: HashSet<(u128, u128)> = HashSet::default();
    seen.insert(start);
    let mut queue = vec![start];
    let mut matches_something = false;
    while let Some((l, e)) = queue.pop() {
        if later.accepts(l) {
            if !earlier.accepts(e) {
                return Some(false);
            }
            matches_something = true;
        }
        for letter in 0..ALPHABET.len() {
            let l2 = later.step(l, letter);
            if l2 == 0 {
                continue;
            }
            let pair = (l2, earlier.step(e, letter));
            if seen.insert(pair) {
                if seen.len() > MAX_STATES.min(*budget) {
                    *budget = budget.saturating_sub(seen.len());
                    return None;
                }
                queue.push(pair);
            }
        }
    }
    *budget = budget.saturating_sub(seen.len());
    // A glob that matches no host name at all is another problem.
    Some(matches_something)
}

/// Warnings for agent rules that can never match because an earlier rule
/// matches every name they match, each at the later rule's `match`.
pub fn shadowed_rules(t: &Topology) -> Vec<Diagnostic> {
    let globs: Vec<Option<Glob>> = t
        .agent_rules
        .iter()
        .map(|r| Glob::parse(&r.pattern))
        .collect();
    let mut budget = MAX_TOTAL_STATES;
    let mut out = Vec::new();
    for (i, later) in t.agent_rules.iter().enumerate() {
        let Some(lg) = &globs[i] else { continue };
        for (j, earlier) in t.agent_rules[..i].iter().enumerate() {
            let Some(eg) = &globs[j] else { continue };
            if budget == 0 {
                return out;
            }
            if covers(eg, lg, &mut budget) == Some(true) {
                let same = earlier.pattern.eq_ignore_ascii_case(&later.pattern);
                let message = if same {
                    format!(
                        "agentRules {:?} can never match: the earlier rule at {} has the same match",
                        later.pattern, earlier.pos
                    )
                } else {
                    format!(
                        "agentRules {:?} can never match: the earlier rule {:?} at {} matches every name it matches, and the first match wins",
                        later.pattern, earlier.pattern, earlier.pos
                    )
                };
                out.push(
                    Diagnostic::at(later.pos.clone(), message)
                        .with_hint("put the narrower rule first, or remove it"),
                );
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(earlier: &str, later: &str) -> Option<bool> {
        let mut budget = MAX_TOTAL_STATES;
        covers(
            &Glob::parse(earlier).unwrap(),
            &Glob::parse(later).unwrap(),
            &mut budget,
        )
    }

    #[test]
    fn suffixes_and_literals() {
        assert_eq!(
            covered("*.contoso.local", "*.dmz.contoso.local"),
            Some(true)
        );
        assert_eq!(
            covered("*.dmz.contoso.local", "*.contoso.local"),
            Some(false)
        );
        assert_eq!(covered("*", "web01.dmz"), Some(true));
        assert_eq!(covered("WEB*", "web01.*"), Some(true));
        assert_eq!(covered("web*", "sql*"), Some(false));
        assert_eq!(covered("*.a.local", "*.b.local"), Some(false));
        assert_eq!(covered("web01", "WEB01"), Some(true));
    }

    #[test]
    fn wildcards_and_classes() {
        assert_eq!(covered("web??", "web0[1-9]"), Some(true));
        assert_eq!(covered("web0[1-5]", "web0[1-9]"), Some(false));
        assert_eq!(covered("web[0-9]*", "web1*"), Some(true));
        assert_eq!(covered("web[!x]*", "web1*"), Some(true));
        assert_eq!(covered("web[!1]*", "web1*"), Some(false));
        // Equal languages written differently (a naive pattern match misses it).
        assert_eq!(covered("*?", "?*"), Some(true));
        assert_eq!(covered("*a*", "*a?*"), Some(true));
        assert_eq!(covered("*a?*", "*a*"), Some(false));
        assert_eq!(covered("a\\*", "a*"), Some(false));
    }

    #[test]
    fn what_it_cannot_tell() {
        assert!(Glob::parse("{web,sql}*").is_none());
        assert!(Glob::parse(&"a?".repeat(MAX_TOKENS)).is_none());
        // A glob that matches no host name is not "covered".
        assert_eq!(covered("*", "web_01"), Some(false));
    }
}
