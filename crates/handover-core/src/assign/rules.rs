//! Matching agent names against `agentRules` globs: first match wins.
//!
//! Owns glob compilation (case-insensitive, `*` matches dots too) and the
//! fast first-match lookup `resolve` uses for every observed agent. Pure;
//! must not decide parents.

use super::error::GlobError;
use crate::model::Topology;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// Compiles the rules' globs, case-insensitively, in rule order.
pub fn compile_rules(t: &Topology) -> Result<GlobSet, GlobError> {
    let mut b = GlobSetBuilder::new();
    for (index, r) in t.agent_rules.iter().enumerate() {
        b.add(glob(index, &r.pattern, &r.pattern, true)?);
    }
    b.build().map_err(|e| GlobError {
        index: 0,
        pattern: String::new(),
        reason: e.to_string(),
    })
}

fn glob(
    index: usize,
    written: &str,
    pattern: &str,
    case_insensitive: bool,
) -> Result<globset::Glob, GlobError> {
    GlobBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map_err(|e| GlobError {
            index,
            pattern: written.to_string(),
            reason: e.kind().to_string(),
        })
}

/// How one rule is tested against a lowercase name.
enum Test {
    /// `*`.
    Any,
    /// `literal`.
    Exact(String),
    /// `*literal`, the common fleet rule (`*.branch.contoso.local`).
    Suffix(String),
    /// `literal*`.
    Prefix(String),
    /// Anything else: look it up in the glob set, at this index.
    Glob(usize),
}

/// The rules, compiled for first-match lookups on lowercase names.
///
/// Simple patterns (`*`, a literal, `*literal`, `literal*`) are compared as
/// lowercase strings; the rest go through one globset, case-insensitive,
/// built once. The glob set is consulted at most once per name, and only
/// when an earlier simple rule did not match first.
pub(crate) struct Rules {
    tests: Vec<Test>,
    set: GlobSet,
}

const META: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

impl Rules {
    pub(crate) fn new(t: &Topology) -> Result<Self, GlobError> {
        let mut tests = Vec::with_capacity(t.agent_rules.len());
        let mut b = GlobSetBuilder::new();
        let mut globs = 0;
        for (index, r) in t.agent_rules.iter().enumerate() {
            let p = r.pattern.to_ascii_lowercase();
            let test = if p == "*" {
                Test::Any
            } else if !p.contains(META) {
                Test::Exact(p)
            } else if let Some(s) = p.strip_prefix('*').filter(|s| !s.contains(META)) {
                Test::Suffix(s.to_string())
            } else if let Some(s) = p.strip_suffix('*').filter(|s| !s.contains(META)) {
                Test::Prefix(s.to_string())
            } else {
                b.add(glob(index, &r.pattern, &r.pattern, true)?);
                globs += 1;
                Test::Glob(globs - 1)
            };
            tests.push(test);
        }
        let set = b.build().map_err(|e| GlobError {
            index: 0,
            pattern: String::new(),
            reason: e.to_string(),
        })?;
        Ok(Rules { tests, set })
    }

    /// The index of the first rule matching `lower` (a lowercase name).
    /// `hits` is scratch space.
    pub(crate) fn first(&self, lower: &str, hits: &mut Vec<usize>) -> Option<usize> {
        let mut looked = false;
        for (i, test) in self.tests.iter().enumerate() {
            let yes = match test {
                Test::Any => true,
                Test::Exact(s) => lower == s,
                Test::Suffix(s) => lower.ends_with(s.as_str()),
                Test::Prefix(s) => lower.starts_with(s.as_str()),
                Test::Glob(g) => {
                    if !looked {
                        self.set.matches_into(lower, hits);
                        looked = true;
                    }
                    hits.contains(g)
                }
            };
            if yes {
                return Some(i);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Pos;
    use crate::model::{AgentRule, Parents, RuleAssign};
    use crate::name::Name;

    #[test]
    fn fast_tests_match_like_case_insensitive_globs() {
        let patterns = [
            "WEB*",
            "*.DMZ.local",
            "db?.*",
            "[A-C]x*",
            "{app,DB}*.lab",
            "a\\*b",
            "Cx",
            "*",
        ];
        let gw = Name::parse("gw1").unwrap();
        let rule = |p: &str| AgentRule {
            pattern: p.into(),
            assign: RuleAssign::Fixed(Parents::primary_only(gw.clone())),
            pos: Pos::default(),
        };
        let names = [
            "web01.dmz.local",
            "WEB01.DMZ.LOCAL",
            "x.Dmz.Local",
            "Db1.lab",
            "db12.lab",
            "bX9.x",
            "Cx",
            "dx",
            "APP7.Lab",
            "a*b",
            "ab",
        ];
        // Every suffix of the rule list, so each rule gets to be first.
        for from in 0..patterns.len() {
            let t = Topology {
                agent_rules: patterns[from..].iter().map(|p| rule(p)).collect(),
                ..Default::default()
            };
            let slow = compile_rules(&t).unwrap();
            let fast = Rules::new(&t).unwrap();
            let mut hits = Vec::new();
            for name in names {
                let want = slow.matches(name).into_iter().min();
                let got = fast.first(&name.to_ascii_lowercase(), &mut hits);
                assert_eq!(got, want, "{name} against {:?}", &patterns[from..]);
            }
        }
    }

    #[test]
    fn an_unclosed_class_is_an_error_naming_the_rule() {
        let t = Topology {
            agent_rules: vec![AgentRule {
                pattern: "web[0-9".into(),
                assign: RuleAssign::Fixed(Parents::primary_only(Name::parse("gw").unwrap())),
                pos: Pos::default(),
            }],
            ..Default::default()
        };
        let e = Rules::new(&t).err().unwrap();
        assert_eq!((e.index, e.pattern.as_str()), (0, "web[0-9"));
        assert!(compile_rules(&t).is_err());
    }
}
