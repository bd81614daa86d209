//! Differential fuzzing of the loader's two paths.
//!
//! Owns a seeded mutator of real topology files (the examples, generated
//! estates in YAML and JSON) and the check that the fast path
//! (`load::fast`, `load::fast_json`) and serde-saphyr alone agree on every
//! mutant. Must not change the loader: a disagreement is fixed there, and
//! its input becomes a fixed regression test in `load::tests`.
//!
//! "Agree" means, for both `kind: Topology` and `kind: Observed` readings:
//! both paths load the same model (same names, parents, positions, policy,
//! store), or both refuse with the same diagnostics, compared as rendered
//! text: every message with its `file:line:column`, its hint, in the same
//! order. That is stricter than "same first error position and kind", and
//! it is what a user sees, so nothing weaker is accepted.
//!
//! Two tests: a short fixed-seed run in the normal suite, and a long one
//! (`#[ignore]`d) for a set time, which `scripts/fuzz-load.sh` drives:
//! `FUZZ_LOAD_SECONDS` (default 60), `FUZZ_LOAD_SEED` (default: from the
//! clock, printed), `FUZZ_LOAD_OUT` (where disagreeing inputs are written,
//! default `target/fuzz-load`). Case `i` of seed `s` is the same mutant on
//! every machine, so a reported `seed/case` pair reproduces it.

use super::super::{Route, observed_with, topology_with};
use super::fast_path::{estate, json};
use crate::load::{fast, fast_json};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The unmutated inputs: every example file, generated estates of a few
/// sizes (one above `fast::MIN_BYTES`, so the default route takes the fast
/// path too) and observed states as JSON, on one line and one per member.
fn corpus() -> Vec<String> {
    let mut files = Vec::new();
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("examples/topologies");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples/topologies")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    for d in dirs {
        for f in ["desired.yaml", "observed.yaml"] {
            if let Ok(t) = std::fs::read_to_string(d.join(f)) {
                files.push(t);
            }
        }
    }
    for agents in [3, 6, 20] {
        let (d, o) = estate(agents);
        files.push(d);
        files.push(o);
    }
    // Every reference broken: every position of the bulk sections ends up
    // in a message, so a position read wrong is a disagreement.
    let (d, o) = estate(8);
    for t in [d, o] {
        files.push(
            t.replace("primary: gw", "primary: nogw")
                .replace("[ms", "[x,  z, ms"),
        );
    }
    files.push(json(4, false));
    files.push(json(4, true));
    files.push(json(12, false));
    files
}

/// The large input, kept apart: mutated only now and then, it costs more.
fn large() -> String {
    let (d, _) = estate(1_500);
    assert!(d.len() >= fast::MIN_BYTES, "{} bytes", d.len());
    d
}

/// Bytes that change the meaning of YAML or JSON text.
const BYTES: &[&str] = &[
    " ", "\n", "\r", "\r\n", "\t", "-", ":", ",", "#", "[", "]", "{", "}", "\"", "'", "&", "*",
    "!", "|", ">", "?", "%", "@", "`", "\\", ".", "0", "a", "_", "\u{e9}", "\u{feff}", "\u{0}",
    "\u{7f}", "\u{85}", "\u{2028}",
];

/// Scalars YAML 1.1 or 1.2 reads as something other than the text.
const SCALARS: &[&str] = &[
    "1e5",
    "0x1f",
    "0o17",
    "017",
    "1_000",
    "+1",
    "-1",
    ".5",
    "1.",
    "yes",
    "no",
    "Yes",
    "NO",
    "on",
    "off",
    "On",
    "y",
    "n",
    "Y",
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    ".inf",
    "-.Inf",
    ".nan",
    ".NaN",
    "12:30",
    "2001-12-14",
    "\"quoted.contoso.local\"",
    "'single.contoso.local'",
    "\"\"",
    "''",
    "[]",
    "{}",
    "[a, b]",
    "[ms1.contoso.local]",
    "[ms1.contoso.local, ]",
    "[, a]",
    "!!str x",
    "!!null",
    "&a x",
    "*a",
    "x # comment",
    "x#nocomment",
    "-x",
    "a b",
    "|",
    ">-",
    "ms1.contoso.local",
    "gw1.dmz.contoso.local",
    "MS1.CONTOSO.LOCAL",
    "Web_01",
    "10.0.0.1",
    "a.",
    "-a",
    "a..b",
    "x:",
    "x: y",
    "- x",
    "? x",
    "\"a\\tb\"",
    "\"\\u0061b\"",
    "'it''s'",
    "a\u{e9}",
    "",
];

/// JSON values, some of which only YAML reads (JSON documents are read by
/// a YAML parser on the slow path).
const JSON_VALUES: &[&str] = &[
    "1e5",
    "0x1f",
    "-0",
    "1.0",
    "true",
    "false",
    "null",
    "yes",
    "~",
    "\"\"",
    "\"yes\"",
    "\"null\"",
    "\"Web_01\"",
    "\"ms1.contoso.local\"",
    "\"gw001.dmz.contoso.local\"",
    "\"a\\u0041\"",
    "\"a\\/b\"",
    "[]",
    "{}",
    "[\"ms01.contoso.local\"]",
    "[\"ms01.contoso.local\",]",
    "[null]",
    "[1]",
    "\"x\" ",
    " \"x\"",
    "'x'",
    "x",
];

/// Keys of handover documents and a few it does not know.
const KEYS: &[&str] = &[
    "name",
    "primary",
    "failover",
    "connected",
    "up",
    "ready",
    "colour",
    "Name",
    "agents",
    "gateways",
    "managementServers",
    "policy",
    "metadata",
    "kind",
    "apiVersion",
    "<<",
];

/// Whole lines worth inserting anywhere.
const LINES: &[&str] = &[
    "# a comment",
    "",
    "   ",
    "---",
    "...",
    "%YAML 1.2",
    "agents:",
    "agents: []",
    "agents :",
    "gateways:",
    "managementServers:",
    "- name: top.level",
    "  - name: extra.contoso.local",
    "    primary: ms1.contoso.local",
    "    failover: []",
    "    failover:",
    "      - ms1.contoso.local",
    "    connected: null",
    "    up: false",
    "    ready: true",
    "  - &m name: x",
    "  - *m",
    "  - <<: *m",
    "policy:\n  maxInFlight: 3",
    "kind: [a,",
    "]",
    "{",
    "}",
];

/// A char boundary at or below `i`.
fn boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn pick<'a>(rng: &mut ChaCha8Rng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// The byte range of line `n` (0-based, without its `\n`).
fn line_range(s: &str, n: usize) -> std::ops::Range<usize> {
    let mut start = 0;
    for _ in 0..n {
        match s[start..].find('\n') {
            Some(e) => start += e + 1,
            None => return s.len()..s.len(),
        }
    }
    let end = s[start..].find('\n').map_or(s.len(), |e| start + e);
    start..end
}

/// One random line's range.
fn some_line(rng: &mut ChaCha8Rng, s: &str) -> std::ops::Range<usize> {
    let lines = s.bytes().filter(|b| *b == b'\n').count() + 1;
    line_range(s, rng.random_range(0..lines))
}

/// Where the value of a `key: value` (or `"key": value`) line starts, if
/// the line has one.
fn value_at(s: &str, r: &std::ops::Range<usize>) -> Option<usize> {
    let l = &s[r.clone()];
    l.find(": ").map(|c| r.start + c + 2)
}

/// The end of the scalar starting at `at` on its line: before a `,`, `]`,
/// `}` or ` #`, or the line's end.
fn scalar_end(s: &str, at: usize, line_end: usize) -> usize {
    let l = &s[at..line_end];
    let quoted = l.starts_with('"');
    let mut end = l.len();
    for (i, c) in l.char_indices() {
        if quoted && i > 0 && c == '"' {
            end = i + 1;
            break;
        }
        if !quoted && (c == ',' || c == '}' || (c == ']' && i > 0) || l[i..].starts_with(" #")) {
            end = i;
            break;
        }
    }
    at + end
}

/// One `"key":` of line `r` of a JSON text: where the key's opening quote
/// is, where its value starts and where the value ends.
fn json_pair(
    rng: &mut ChaCha8Rng,
    s: &str,
    r: &std::ops::Range<usize>,
) -> Option<(usize, usize, usize)> {
    let line = &s[r.clone()];
    let colons: Vec<usize> = line.match_indices("\":").map(|(i, _)| i).collect();
    let c = *colons.get(rng.random_range(0..colons.len().max(1)))?;
    let key = line[..c].rfind('"')?;
    let at = r.start + c + 2 + (line[c + 2..].len() - line[c + 2..].trim_start().len());
    let end = match s[at..r.end].starts_with('[') {
        true => s[at..r.end].find(']').map_or(r.end, |e| at + e + 1),
        false => scalar_end(s, at, r.end),
    };
    Some((r.start + key, at, end))
}

/// Applies one random mutation to `s`.
fn mutate(rng: &mut ChaCha8Rng, s: &mut String, anchors: &mut u32) {
    let r = some_line(rng, s);
    match rng.random_range(0..19) {
        // Bytes: insert, replace or delete at any place.
        0 => {
            let at = boundary(s, rng.random_range(0..=s.len()));
            s.insert_str(at, pick(rng, BYTES));
        }
        1 => {
            let at = boundary(s, rng.random_range(0..=s.len()));
            let end = boundary(s, at + rng.random_range(1..4));
            s.replace_range(at..end.max(at), pick(rng, BYTES));
        }
        2 => {
            let at = boundary(s, rng.random_range(0..=s.len()));
            let end = boundary(s, at + rng.random_range(1..6));
            s.replace_range(at..end.max(at), "");
        }
        // Indentation: more, less, or tabs instead of spaces.
        3 => {
            let n = rng.random_range(1..5);
            s.insert_str(r.start, &" ".repeat(n));
        }
        4 => {
            let lead = s[r.clone()].len() - s[r.clone()].trim_start_matches(' ').len();
            let n = rng.random_range(1..=lead.max(1)).min(lead);
            s.replace_range(r.start..r.start + n, "");
        }
        5 => {
            let lead = s[r.clone()].len() - s[r.clone()].trim_start_matches(' ').len();
            let n = rng.random_range(0..=lead);
            s.replace_range(r.start..r.start + n, "\t");
        }
        // Scalars: a value replaced by one YAML reads differently.
        6 | 7 => {
            if let Some(at) = value_at(s, &r) {
                let end = scalar_end(s, at, r.end);
                s.replace_range(at..end, pick(rng, SCALARS));
            }
        }
        // Quoting: a value in double or single quotes, or an entry of a
        // flow list.
        8 => {
            if let Some(at) = value_at(s, &r) {
                let at = match s[at..r.end].starts_with('[') && rng.random_bool(0.5) {
                    true => at + 1,
                    false => at,
                };
                let end = scalar_end(s, at, r.end);
                let q = if rng.random_bool(0.5) { "\"" } else { "'" };
                s.insert_str(end, q);
                s.insert_str(at, q);
            }
        }
        // Anchors and aliases: anchor a value, then alias it elsewhere.
        9 => {
            if let Some(at) = value_at(s, &r) {
                *anchors += 1;
                let a = format!("&a{} ", anchors);
                s.insert_str(at, &a);
                let r2 = some_line(rng, s);
                if let Some(at2) = value_at(s, &r2) {
                    let end = scalar_end(s, at2, r2.end);
                    s.replace_range(at2..end, &format!("*a{anchors}"));
                }
            }
        }
        // Comments: a comment line, or a comment after a value.
        10 => {
            let c = match rng.random_range(0..3) {
                0 => " # c",
                1 => "#c",
                _ => "  #",
            };
            s.insert_str(r.end, c);
        }
        // Keys: renamed, or a line repeated (duplicate keys, items).
        11 => {
            let l = &s[r.clone()];
            let body = l.trim_start_matches([' ', '-']).trim_start_matches('"');
            let key_start = r.end - body.len();
            if let Some(c) = body.find([':', '"']) {
                s.replace_range(key_start..key_start + c, pick(rng, KEYS));
            }
        }
        12 => {
            let line = s[r.clone()].to_string();
            s.insert_str(r.start, &format!("{line}\n"));
        }
        // Lines: a known line inserted, a line deleted, lines swapped.
        13 => {
            let l = pick(rng, LINES);
            s.insert_str(r.start, &format!("{l}\n"));
        }
        14 => {
            let end = (r.end + 1).min(s.len());
            if rng.random_bool(0.5) {
                s.replace_range(r.start..end, "");
            } else {
                let line = s[r.start..end].to_string();
                s.replace_range(r.start..end, "");
                let to = some_line(rng, s).start;
                s.insert_str(to, &line);
            }
        }
        // JSON: a value replaced, or a key given twice in its object.
        16 => {
            if let Some((_, at, end)) = json_pair(rng, s, &r) {
                s.replace_range(at..end, pick(rng, JSON_VALUES));
            }
        }
        17 => {
            if let Some((key, _, end)) = json_pair(rng, s, &r) {
                let pair = format!("{}, ", &s[key..end]);
                s.insert_str(key, &pair);
            }
        }
        // Spacing: one to three more spaces after a `[`, a `,`, a `:` or
        // before a `#` of the line.
        18 => {
            let spots: Vec<usize> = s[r.clone()]
                .match_indices(['[', ',', ':', '#'])
                .map(|(i, c)| r.start + i + usize::from(c != "#"))
                .collect();
            if !spots.is_empty() {
                let at = spots[rng.random_range(0..spots.len())];
                s.insert_str(at, &" ".repeat(rng.random_range(1..4)));
            }
        }
        // Line ends: CRLF on one line or everywhere, no final line break,
        // a byte-order mark, a block list instead of a flow one.
        _ => match rng.random_range(0..5) {
            0 => s.insert(r.end, '\r'),
            1 => *s = s.replace('\n', "\r\n"),
            2 => *s = s.trim_end_matches('\n').to_string(),
            3 => s.insert(0, '\u{feff}'),
            _ => {
                if let Some(at) = value_at(s, &r)
                    && s[at..r.end].starts_with('[')
                    && s[at..r.end].ends_with(']')
                {
                    let lead = s[r.clone()].len() - s[r.clone()].trim_start_matches(' ').len();
                    let items: Vec<String> = s[at + 1..r.end - 1]
                        .split(',')
                        .map(|i| format!("\n{}  - {}", " ".repeat(lead), i.trim()))
                        .collect();
                    s.replace_range(at - 1..r.end, &items.concat());
                }
            }
        },
    }
}

/// The mutant of case `case` of run `seed` (1 to 4 mutations stacked).
fn mutant(seed: u64, case: u64, corpus: &[String], large: &str) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut s = if rng.random_range(0..50) == 0 {
        large.to_string()
    } else {
        corpus[rng.random_range(0..corpus.len())].clone()
    };
    let mut anchors = 0;
    // Mostly one mutation: most kinds already take the text out of the
    // fast path's subset, and only texts it reads can disagree.
    let n = [1, 1, 1, 1, 2, 2, 3, 4][rng.random_range(0..8)];
    for _ in 0..n {
        mutate(&mut rng, &mut s, &mut anchors);
    }
    s
}

/// How one input went: whether the fast path read it (either shape), and
/// a disagreement, described, if there is one.
struct Outcome {
    fast: bool,
    disagreement: Option<String>,
}

/// Runs both paths on `text`, read as a topology and as an observed state.
fn check(text: &str) -> Outcome {
    let json = text.trim_start().starts_with('{');
    let split = |shape| match json {
        true => fast_json::split(text, shape).is_some(),
        false => fast::split(text, shape).is_some(),
    };
    let fast = split(fast::Shape::Desired) || split(fast::Shape::Observed);
    let t = (
        topology_with(text, "f", Route::Fast).map_err(|d| d.to_string()),
        topology_with(text, "f", Route::Slow).map_err(|d| d.to_string()),
    );
    if t.0 != t.1 {
        return Outcome {
            fast,
            disagreement: Some(format!("topology: fast {:?}\nslow {:?}", t.0, t.1)),
        };
    }
    let o = (
        observed_with(text, "f", Route::Fast).map_err(|d| d.to_string()),
        observed_with(text, "f", Route::Slow).map_err(|d| d.to_string()),
    );
    Outcome {
        fast,
        disagreement: (o.0 != o.1).then(|| format!("observed: fast {:?}\nslow {:?}", o.0, o.1)),
    }
}

/// Totals of a run.
#[derive(Debug, Default)]
struct Totals {
    cases: u64,
    fast: u64,
    failures: Vec<(u64, String, String)>,
}

/// Runs cases `0..` of `seed` until `stop` says so.
fn run(seed: u64, mut stop: impl FnMut(u64) -> bool) -> Totals {
    let corpus = corpus();
    let large = large();
    let mut t = Totals::default();
    while !stop(t.cases) {
        let text = mutant(seed, t.cases, &corpus, &large);
        let o = check(&text);
        t.fast += u64::from(o.fast);
        if let Some(d) = o.disagreement {
            t.failures.push((t.cases, text, d));
        }
        t.cases += 1;
    }
    t
}

/// The unmutated corpus agrees, and the fast path reads most of it (the
/// examples' comments and store sections included), so that mutants start
/// from texts it reads.
#[test]
fn the_corpus_agrees_and_is_mostly_fast() {
    let corpus = corpus();
    let mut fast = 0;
    for (i, text) in corpus.iter().enumerate() {
        let o = check(text);
        assert!(o.disagreement.is_none(), "corpus {i}: {:?}", o.disagreement);
        fast += usize::from(o.fast);
    }
    println!(
        "{fast} of {} corpus files through the fast path",
        corpus.len()
    );
    assert!(fast * 3 >= corpus.len() * 2, "{fast} of {}", corpus.len());
}

/// A few thousand fixed mutants: the two paths agree on every one, and
/// enough of them still go through the fast path to test it.
#[test]
fn fixed_seed_mutants_agree() {
    let cases = std::env::var("FUZZ_LOAD_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1_500);
    let t = run(16, |n| n >= cases);
    let shown: Vec<String> = t
        .failures
        .iter()
        .take(3)
        .map(|(c, text, d)| format!("case {c}:\n{text:?}\n{d}"))
        .collect();
    assert!(t.failures.is_empty(), "{}", shown.join("\n\n"));
    println!("{} cases, {} through the fast path", t.cases, t.fast);
    assert!(t.fast * 6 >= t.cases, "{} of {} fast", t.fast, t.cases);
}

/// The long run for `scripts/fuzz-load.sh`: mutants for a set time,
/// disagreeing inputs written out, a summary printed.
#[test]
#[ignore = "runs for minutes; scripts/fuzz-load.sh"]
fn for_a_set_time() {
    let secs: u64 = std::env::var("FUZZ_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("FUZZ_LOAD_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs())
        });
    let out = std::env::var_os("FUZZ_LOAD_OUT").map_or_else(
        || Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("target/fuzz-load"),
        PathBuf::from,
    );
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let t = run(seed, |n| n % 64 == 0 && Instant::now() >= deadline);
    let _ = std::fs::create_dir_all(&out);
    for (case, text, d) in t.failures.iter().take(50) {
        let _ = std::fs::write(out.join(format!("{seed}-{case}.yaml")), text);
        let _ = std::fs::write(out.join(format!("{seed}-{case}.txt")), d);
    }
    println!(
        "fuzz-load: seed {seed}, {} cases in {:.0} s, {} through the fast path, {} disagreements{}",
        t.cases,
        start.elapsed().as_secs_f64(),
        t.fast,
        t.failures.len(),
        match t.failures.is_empty() {
            true => String::new(),
            false => format!(" (inputs in {})", out.display()),
        }
    );
    assert!(t.failures.is_empty(), "first at case {}", t.failures[0].0);
}
