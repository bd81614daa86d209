//! Host names: the one type every server, gateway and agent is known by.
//!
//! Owns the DNS host-name syntax of docs/spec.md section 2 and case-insensitive
//! comparison. A [`Name`] keeps the spelling it was written with, for
//! display, but compares, hashes and orders by its ASCII-lowercase form, so
//! `WEB01.contoso.local` and `web01.contoso.local` are the same member.
//! Names are reference-counted, and a [`NameInterner`] makes every mention of
//! the same host share one allocation, which keeps a 100,000-agent estate
//! compact. Must not touch I/O or know about files.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Longest host name allowed, in characters (RFC 1035).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label (the part between dots) allowed, in characters.
pub const MAX_LABEL_LEN: usize = 63;

/// A validated DNS host name (FQDN or single label).
///
/// Only letters, digits, `-` and `.` can get into one, so a name can never
/// break a PowerShell script, a shell command or a URL.
#[derive(Clone)]
pub struct Name {
    /// The name as written.
    text: Arc<str>,
    /// [`lowercase_hash`] of `text`, computed once: names are hashed far
    /// more often than they are made (every map of the validator, the
    /// planner, the executor and the simulator is keyed by them).
    hash: u64,
}

/// Why a string is not a host name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The string is empty.
    #[error("a host name cannot be empty")]
    Empty,
    /// Longer than [`MAX_NAME_LEN`].
    #[error("host name is {len} characters long; at most 253 are allowed")]
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// A character outside letters, digits, `-` and `.`.
    #[error("host name contains {found:?}; only letters, digits, '-' and '.' are allowed")]
    BadChar {
        /// The offending character.
        found: char,
    },
    /// Two dots in a row, or a leading or trailing dot.
    #[error("host name has an empty label (a leading, trailing or doubled '.')")]
    EmptyLabel,
    /// A label longer than [`MAX_LABEL_LEN`].
    #[error("label {label:?} is {len} characters long; at most 63 are allowed")]
    LabelTooLong {
        /// The label, cut to its first 63 characters.
        label: String,
        /// Its full length.
        len: usize,
    },
    /// A label that starts or ends with `-`.
    #[error("label {label:?} starts or ends with '-'")]
    HyphenEdge {
        /// The offending label.
        label: String,
    },
}

impl Name {
    /// Checks `s` against the host-name syntax and wraps it.
    pub fn parse(s: &str) -> Result<Name, NameError> {
        check(s)?;
        Ok(Name::unchecked(s))
    }

    /// Wraps `s`, already checked.
    fn unchecked(s: &str) -> Name {
        Name {
            text: Arc::from(s),
            hash: lowercase_hash(s),
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first label, for short display (`gw1` of `gw1.dmz.contoso.local`).
    pub fn short(&self) -> &str {
        self.text.split('.').next().unwrap_or(&self.text)
    }

    /// The lowercase form, for keys in output that must not depend on spelling.
    pub fn to_lowercase(&self) -> String {
        self.text.to_ascii_lowercase()
    }

    /// True when both are the same allocation (interned from the same text).
    pub fn ptr_eq(&self, other: &Name) -> bool {
        Arc::ptr_eq(&self.text, &other.text)
    }
}

/// Checks the host-name syntax of docs/spec.md section 2 without allocating.
pub fn check(s: &str) -> Result<(), NameError> {
    if well_formed(s.as_bytes()) {
        return Ok(());
    }
    explain(s)
}

/// One pass over the bytes that accepts exactly the valid names (the
/// common case, on the hot path of loading 100,000 members); anything it
/// refuses goes to [`explain`], which says what is wrong.
fn well_formed(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > MAX_NAME_LEN || !b.iter().all(|&c| HOST_BYTE[usize::from(c)]) {
        return false;
    }
    b.split(|&c| c == b'.').all(|label| {
        matches!((label.first(), label.last()), (Some(&f), Some(&l)) if f != b'-' && l != b'-')
            && label.len() <= MAX_LABEL_LEN
    })
}

/// The bytes a host name may hold: ASCII letters, digits, `-` and `.`.
pub(crate) static HOST_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
        c += 1;
    }
    t
};

/// The full check, in the order of the messages: which rule `s` breaks
/// first.
fn explain(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(found) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(NameError::BadChar { found });
    }
    if s.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: s.len() });
    }
    for label in s.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong {
                label: label[..MAX_LABEL_LEN].to_string(),
                len: label.len(),
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(NameError::HyphenEdge {
                label: label.to_string(),
            });
        }
    }
    Ok(())
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.text, &other.text)
            || (self.hash == other.hash && self.text.eq_ignore_ascii_case(&other.text))
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Feeds the ASCII-lowercase bytes of `s` to `state` eight at a time (one
/// `write_u64` per word, lowercased in the word without a copy: hashing is
/// on the hot path of loading, validation and planning over 100,000
/// members), then the length.
fn hash_lowercase<H: Hasher>(s: &str, state: &mut H) {
    let mut words = s.as_bytes().chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        state.write_u64(lower8(u64::from_le_bytes(word)));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let tail = rest
            .iter()
            .enumerate()
            .fold(0u64, |t, (i, b)| t | u64::from(*b) << (8 * i));
        state.write_u64(lower8(tail));
    }
    state.write_usize(s.len());
}

/// The hash of the ASCII-lowercase form of `s`, the same for every
/// spelling of a name (FNV-style word steps, see [`Fnv`]).
///
/// [`Fnv`]: crate::hash::Fnv
fn lowercase_hash(s: &str) -> u64 {
    let mut h = crate::hash::Fnv::default();
    hash_lowercase(s, &mut h);
    h.finish()
}

/// ASCII-lowercases the eight bytes of `w` at once (bytes outside `A`-`Z`
/// are left as they are).
fn lower8(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let b = w & LOW7;
    let at_least_a = b + 0x3f3f_3f3f_3f3f_3f3f; // high bit set when b >= 'A'
    let above_z = b + 0x2525_2525_2525_2525; // high bit set when b > 'Z'
    let upper = at_least_a & !above_z & !w & HIGH;
    w | (upper >> 2)
}

impl Ord for Name {
    /// Byte order of the lowercase forms, eight bytes at a time (sorting
    /// 100,000 members compares names millions of times): a word read in
    /// big-endian order compares as its bytes do.
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.text, &other.text) {
            return Ordering::Equal;
        }
        let (a, b) = (self.text.as_bytes(), other.text.as_bytes());
        let mut wa = a.chunks_exact(8);
        let mut wb = b.chunks_exact(8);
        for (x, y) in (&mut wa).zip(&mut wb) {
            let word = |w: &[u8]| {
                let mut buf = [0u8; 8];
                buf.copy_from_slice(w);
                lower8(u64::from_le_bytes(buf)).swap_bytes()
            };
            match word(x).cmp(&word(y)) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        let done = a.len().min(b.len()) / 8 * 8;
        a[done..]
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(b[done..].iter().map(u8::to_ascii_lowercase))
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.text)
    }
}

impl std::str::FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Name::parse(s)
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Name::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Shares one allocation among every mention of the same host name.
///
/// The first spelling seen wins for display; later spellings that differ
/// only in case map to it.
#[derive(Default, Debug)]
pub struct NameInterner {
    seen: crate::hash::FastSet<Name>,
}

impl NameInterner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates `s` and returns the shared [`Name`] for it.
    pub fn intern(&mut self, s: &str) -> Result<Name, NameError> {
        check(s)?;
        // Look up by a borrowed probe first so a repeat allocates nothing.
        let probe = Probe {
            text: s,
            hash: lowercase_hash(s),
        };
        if let Some(found) = self.seen.get(&probe as &dyn AsKey) {
            return Ok(found.clone());
        }
        let name = Name::unchecked(s);
        self.seen.insert(name.clone());
        Ok(name)
    }

    /// Returns the shared copy of an existing name, adding it if new.
    pub fn share(&mut self, name: &Name) -> Name {
        if let Some(found) = self.seen.get(name) {
            return found.clone();
        }
        self.seen.insert(name.clone());
        name.clone()
    }

    /// How many distinct names have been seen.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when no name has been interned yet.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// A key view shared by [`Name`] and a borrowed `&str`, so the interner can
/// look a string up without building a `Name` first.
trait AsKey {
    fn key(&self) -> &str;
    fn key_hash(&self) -> u64;
}

impl AsKey for Name {
    fn key(&self) -> &str {
        &self.text
    }
    fn key_hash(&self) -> u64 {
        self.hash
    }
}

/// A string being looked up, with its hash.
struct Probe<'a> {
    text: &'a str,
    hash: u64,
}

impl AsKey for Probe<'_> {
    fn key(&self) -> &str {
        self.text
    }
    fn key_hash(&self) -> u64 {
        self.hash
    }
}

impl<'a> std::borrow::Borrow<dyn AsKey + 'a> for Name {
    fn borrow(&self) -> &(dyn AsKey + 'a) {
        self
    }
}

impl PartialEq for dyn AsKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key_hash() == other.key_hash() && self.key().eq_ignore_ascii_case(other.key())
    }
}

impl Eq for dyn AsKey + '_ {}

impl Hash for dyn AsKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.key_hash());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    proptest::proptest! {
        /// The one-pass check accepts exactly what the full check accepts,
        /// over strings built from the characters that matter (and long
        /// labels and names, to reach both length limits).
        #[test]
        fn fast_check_agrees_with_the_full_check(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[a-zA-Z0-9-]{0,70}").unwrap(),
                    proptest::string::string_regex("[.a_-]{0,3}").unwrap(),
                ],
                0..12,
            )
        ) {
            let s = parts.join(".");
            proptest::prop_assert_eq!(well_formed(s.as_bytes()), explain(&s).is_ok(), "{:?}", s);
        }
    }

    proptest::proptest! {
        /// Word-at-a-time ordering is the byte order of the lowercase forms.
        #[test]
        fn order_is_the_lowercase_byte_order(
            a in "[a-zA-Z0-9.-]{1,40}",
            b in "[a-zA-Z0-9.-]{1,40}",
            shared in "[a-zA-Z0-9.-]{0,20}",
        ) {
            for (x, y) in [(a.clone(), b.clone()), (format!("{shared}{a}"), format!("{shared}{b}")), (a.clone(), a.to_uppercase())] {
                let (Ok(nx), Ok(ny)) = (Name::parse(&x), Name::parse(&y)) else { continue };
                let want = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                proptest::prop_assert_eq!(nx.cmp(&ny), want, "{} vs {}", x, y);
            }
        }
    }

    #[test]
    fn fast_check_edges() {
        for (s, ok) in [
            ("a", true),
            ("a.b-c.d", true),
            ("-a", false),
            ("a-", false),
            ("a-.b", false),
            ("a.-b", false),
            ("a..b", false),
            (".a", false),
            ("a.", false),
            ("", false),
            ("a_b", false),
            ("é", false),
        ] {
            assert_eq!(well_formed(s.as_bytes()), ok, "{s:?}");
            assert_eq!(explain(s).is_ok(), ok, "{s:?}");
        }
        let label = "a".repeat(63);
        assert!(well_formed(label.as_bytes()));
        assert!(!well_formed(format!("{label}a").as_bytes()));
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(!well_formed(long.as_bytes()));
        assert!(well_formed(long[..253].trim_end_matches('.').as_bytes()));
    }

    #[test]
    fn compares_case_insensitively_and_keeps_spelling() {
        let a = n("WEB01.Contoso.local");
        let b = n("web01.contoso.LOCAL");
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert_eq!(a.to_string(), "WEB01.Contoso.local");
        let mut set = HashSet::new();
        set.insert(a);
        assert!(set.contains(&b));
    }

    #[test]
    fn word_lowercasing_matches_bytewise() {
        for s in [
            "",
            "A",
            "Zz@[`{",
            "WEB01.Contoso.LOCAL",
            "a-b.C-D.e-f.G-H.ijk",
            "\u{e9}\u{c9}X",
        ] {
            let mut w = s.as_bytes().to_vec();
            w.resize(w.len().div_ceil(8) * 8, 0);
            for (chunk, want) in w.chunks(8).zip(s.to_ascii_lowercase().as_bytes().chunks(8)) {
                let got = lower8(u64::from_le_bytes(chunk.try_into().unwrap())).to_le_bytes();
                assert_eq!(&got[..want.len()], want, "{s}");
            }
        }
        let (a, b) = (n("WEB01.Contoso.Local"), n("web01.contoso.LOCAL"));
        let state = std::hash::RandomState::new();
        let h = |x: &Name| std::hash::BuildHasher::hash_one(&state, x);
        assert_eq!(h(&a), h(&b));
        assert_ne!(h(&a), h(&n("web02.contoso.local")));
    }

    #[test]
    fn orders_by_lowercase() {
        assert!(n("B.x") > n("a.x"));
        assert!(n("a.x") < n("B.x"));
    }

    #[test]
    fn rejects_bad_syntax() {
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert!(matches!(
            Name::parse("web'01"),
            Err(NameError::BadChar { found: '\'' })
        ));
        assert!(matches!(
            Name::parse("a b"),
            Err(NameError::BadChar { found: ' ' })
        ));
        assert_eq!(Name::parse("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(Name::parse(".a"), Err(NameError::EmptyLabel));
        assert!(matches!(
            Name::parse(&"x".repeat(64)),
            Err(NameError::LabelTooLong { len: 64, .. })
        ));
        let long = vec!["a".repeat(60); 5].join(".");
        assert!(matches!(
            Name::parse(&long),
            Err(NameError::TooLong { len: 304 })
        ));
        assert!(matches!(
            Name::parse("-a.b"),
            Err(NameError::HyphenEdge { .. })
        ));
        assert!(Name::parse("ms1").is_ok());
        assert!(Name::parse(&"x".repeat(63)).is_ok());
    }

    #[test]
    fn interner_shares_allocations_across_case() {
        let mut i = NameInterner::new();
        let a = i.intern("gw1.dmz.contoso.local").unwrap();
        let b = i.intern("GW1.dmz.contoso.local").unwrap();
        assert!(a.ptr_eq(&b));
        assert_eq!(b.as_str(), "gw1.dmz.contoso.local");
        assert_eq!(i.len(), 1);
        assert!(i.intern("bad name").is_err());
    }
}
