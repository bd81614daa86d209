//! docs/spec.md is held to the program: every fenced YAML and JSON example
//! in it is checked against the real binary, so the contract cannot drift
//! from what handover does.
//!
//! An example's info string says what it is (`yaml topology`, `yaml
//! observed`, `yaml faults`, `json plan`, `json simulate`, `json apply`,
//! plus `invalid`
//! for one that must be refused, with the refusal quoted on a `# error:`
//! line), and `example=NAME` ties a plan or simulate example to the
//! topology and observed state it comes from. A YAML or JSON block with no
//! such role is itself an error: nothing in the document goes unchecked.
//! Section 5 must also name every subcommand and every flag `--help`
//! prints, and section 4 every key the real plan prints.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const HANDOVER: &str = env!("CARGO_BIN_EXE_handover");

fn spec() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/spec.md");
    std::fs::read_to_string(path).expect("docs/spec.md exists")
}

/// One fenced block of the document.
#[derive(Debug)]
struct Block {
    /// `yaml`, `json`, or empty.
    lang: String,
    /// The other words of the info string, `example=…` excepted.
    tags: BTreeSet<String>,
    /// `example=NAME`, if given.
    example: Option<String>,
    /// The text between the fences, without the fence's indentation.
    text: String,
    /// 1-based line of the opening fence, for messages.
    line: usize,
}

impl Block {
    fn is(&self, tag: &str) -> bool {
        self.tags.contains(tag)
    }

    fn at(&self) -> String {
        format!("docs/spec.md:{} (```{} …)", self.line, self.lang)
    }

    /// The text after `# error:` on the block's first such line.
    fn expected_error(&self) -> String {
        self.text
            .lines()
            .find_map(|l| l.trim().strip_prefix("# error:"))
            .map(|e| e.trim().to_string())
            .unwrap_or_else(|| panic!("{}: an invalid example needs a `# error:` line", self.at()))
    }
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim_start();
        let Some(info) = trimmed.strip_prefix("```") else {
            continue;
        };
        let indent = line.len() - trimmed.len();
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or("").to_string();
        let mut tags = BTreeSet::new();
        let mut example = None;
        for w in words {
            match w.strip_prefix("example=") {
                Some(name) => example = Some(name.to_string()),
                None => {
                    tags.insert(w.to_string());
                }
            }
        }
        let mut text = String::new();
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                break;
            }
            text.push_str(l.get(indent..).unwrap_or(l.trim_start()));
            text.push('\n');
        }
        out.push(Block {
            lang,
            tags,
            example,
            text,
            line: n + 1,
        });
    }
    out
}

/// The text of section `n` (from `## n.` to the next `## `).
fn section(doc: &str, n: u32) -> String {
    let head = format!("\n## {n}. ");
    let start = doc
        .find(&head)
        .unwrap_or_else(|| panic!("docs/spec.md has no section {n}"));
    let rest = &doc[start + head.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Runs handover; (exit code, stdout, stderr).
fn handover(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(HANDOVER).args(args).output().unwrap();
    (
        out.status.code().expect("handover exits"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Writes a block to a file in `dir`, named after its line.
fn file(dir: &Path, b: &Block) -> PathBuf {
    let path = dir.join(format!("spec-line-{}.{}", b.line, b.lang));
    std::fs::write(&path, &b.text).unwrap();
    path
}

fn schema(kind: &str) -> jsonschema::Validator {
    let (code, out, err) = handover(&["schema", "--kind", kind]);
    assert_eq!(code, 0, "{err}");
    let schema: Value = serde_json::from_str(&out).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn role_of(b: &Block) -> &'static str {
    for role in [
        "topology", "observed", "faults", "plan", "simulate", "apply",
    ] {
        if b.is(role) {
            return role;
        }
    }
    if b.is("invalid") {
        return "invalid";
    }
    ""
}

#[test]
fn every_example_has_a_role_that_is_checked() {
    let doc = spec();
    let all = blocks(&doc);
    let examples: Vec<&Block> = all
        .iter()
        .filter(|b| b.lang == "yaml" || b.lang == "json")
        .collect();
    assert!(
        examples.len() >= 10,
        "found only {} examples",
        examples.len()
    );
    for b in &examples {
        let role = role_of(b);
        assert!(
            !role.is_empty(),
            "{}: say what this example is (topology, observed, faults, plan, simulate, apply, invalid)",
            b.at()
        );
        let lang_ok = match role {
            "plan" | "simulate" | "apply" => b.lang == "json",
            _ => b.lang == "yaml",
        };
        assert!(lang_ok, "{}: a {role} example in {}", b.at(), b.lang);
    }
    // Every other fenced block is a plain one (the command synopsis).
    for b in all.iter().filter(|b| b.lang != "yaml" && b.lang != "json") {
        assert!(b.lang.is_empty(), "{}: unchecked ```{}", b.at(), b.lang);
    }
}

#[test]
fn topology_and_observed_examples_validate_and_match_the_schemas() {
    let doc = spec();
    let dir = tempfile::tempdir().unwrap();
    let topology = schema("topology");
    let observed = schema("observed");
    let mut seen = 0;
    for b in blocks(&doc) {
        let validator = match role_of(&b) {
            "topology" if !b.is("invalid") => &topology,
            "observed" if !b.is("invalid") => &observed,
            _ => continue,
        };
        seen += 1;
        let path = file(dir.path(), &b);
        let (code, out, err) = handover(&["validate", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: handover validate refuses it:\n{err}", b.at());
        assert!(out.starts_with("ok:"), "{}: {out}", b.at());
        let value: Value =
            serde_saphyr::from_str(&b.text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", b.at()));
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}: the JSON Schema refuses it: {errors:?}",
            b.at()
        );
    }
    assert!(seen >= 4, "only {seen} topology and observed examples");
}

#[test]
fn invalid_examples_are_refused_with_the_message_they_quote() {
    let doc = spec();
    let dir = tempfile::tempdir().unwrap();
    let (topology, observed) = estate(&doc, dir.path());
    let mut seen = 0;
    for b in blocks(&doc).iter().filter(|b| b.is("invalid")) {
        seen += 1;
        let expected = b.expected_error();
        let path = file(dir.path(), b);
        let (code, out, err) = if b.is("faults") {
            handover(&[
                "simulate",
                "--desired",
                topology.to_str().unwrap(),
                "--observed",
                observed.to_str().unwrap(),
                "--faults",
                path.to_str().unwrap(),
            ])
        } else {
            handover(&["validate", path.to_str().unwrap()])
        };
        assert_eq!(code, 1, "{}: not refused:\n{out}{err}", b.at());
        assert!(out.is_empty(), "{}: prints on stdout: {out}", b.at());
        assert!(
            err.contains(&expected),
            "{}: the message lacks {expected:?}:\n{err}",
            b.at()
        );
        // The message names file:line:column.
        let name = path.file_name().unwrap().to_str().unwrap();
        let located = err.lines().any(|l| {
            l.split_once(&format!("{name}:")).is_some_and(|(_, rest)| {
                let mut parts = rest.splitn(3, ':');
                let line = parts.next().unwrap_or("");
                let col = parts.next().unwrap_or("");
                line.parse::<u32>().is_ok() && col.parse::<u32>().is_ok()
            })
        });
        assert!(located, "{}: no {name}:line:column in\n{err}", b.at());
    }
    assert!(seen >= 4, "only {seen} invalid examples");
}

/// The topology and observed state of section 2 (the examples with no
/// `example=` name), written to `dir`.
fn estate(doc: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let all = blocks(doc);
    let one = |role: &str| {
        let found: Vec<&Block> = all
            .iter()
            .filter(|b| b.is(role) && !b.is("invalid") && b.example.is_none())
            .collect();
        assert_eq!(found.len(), 1, "one unnamed {role} example");
        file(dir, found[0])
    };
    (one("topology"), one("observed"))
}

/// The topology and observed state named `example=NAME`.
fn pair(doc: &str, name: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let all = blocks(doc);
    let one = |role: &str| {
        let found: Vec<&Block> = all
            .iter()
            .filter(|b| b.is(role) && b.example.as_deref() == Some(name))
            .collect();
        assert_eq!(found.len(), 1, "one {role} example={name}");
        file(dir, found[0])
    };
    (one("topology"), one("observed"))
}

#[test]
fn the_section_2_estate_plans_and_rehearses_to_convergence() {
    let doc = spec();
    let dir = tempfile::tempdir().unwrap();
    let (t, o) = estate(&doc, dir.path());
    let (t, o) = (t.to_str().unwrap(), o.to_str().unwrap());
    let (code, out, err) = handover(&[
        "plan",
        "--desired",
        t,
        "--observed",
        o,
        "--detailed-exitcode",
    ]);
    assert_eq!(code, 2, "the examples describe a change:\n{out}{err}");
    let (code, out, err) = handover(&["simulate", "--desired", t, "--observed", o]);
    assert_eq!(code, 0, "the section 2 estate converges:\n{out}{err}");
}

#[test]
fn the_faults_example_is_accepted_by_simulate() {
    let doc = spec();
    let dir = tempfile::tempdir().unwrap();
    let (t, o) = estate(&doc, dir.path());
    let faults: Vec<Block> = blocks(&doc)
        .into_iter()
        .filter(|b| b.is("faults") && !b.is("invalid"))
        .collect();
    assert_eq!(faults.len(), 1, "one faults example");
    let f = file(dir.path(), &faults[0]);
    handover::sim::FaultSchedule::parse(&faults[0].text, "spec.md")
        .unwrap_or_else(|e| panic!("{}: {e}", faults[0].at()));
    let (code, out, err) = handover(&[
        "simulate",
        "--desired",
        t.to_str().unwrap(),
        "--observed",
        o.to_str().unwrap(),
        "--faults",
        f.to_str().unwrap(),
        "--format",
        "json",
    ]);
    // Faults may leave members pending (3), never stranded (4); 1 would
    // mean the file or one of its names was refused.
    assert!(
        code == 0 || code == 3,
        "{}: exit {code}\n{out}{err}",
        faults[0].at()
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["stranded"], serde_json::json!([]), "{out}");
}

/// `doc` shows only what `real` has: the same keys with the same values
/// (arrays of the same length, element by element). A string `…` stands
/// for any string. Returns the first difference.
fn shown_in(doc: &Value, real: &Value, at: &str) -> Result<(), String> {
    match (doc, real) {
        (Value::String(s), Value::String(_)) if s == "…" => Ok(()),
        (Value::Object(d), Value::Object(r)) => {
            for (k, v) in d {
                let Some(rv) = r.get(k) else {
                    return Err(format!("{at}.{k}: the program prints no such key"));
                };
                shown_in(v, rv, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(d), Value::Array(r)) => {
            if d.len() != r.len() {
                return Err(format!(
                    "{at}: {} entries shown, the program prints {}",
                    d.len(),
                    r.len()
                ));
            }
            for (i, (dv, rv)) in d.iter().zip(r).enumerate() {
                shown_in(dv, rv, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ if doc == real => Ok(()),
        _ => Err(format!("{at}: shown {doc}, the program prints {real}")),
    }
}

/// Every object key in `v`, at any depth.
fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn the_plan_example_is_the_real_plan_and_every_key_is_documented() {
    let doc = spec();
    let dir = tempfile::tempdir().unwrap();
    let section4 = section(&doc, 4);
    let plans: Vec<Block> = blocks(&doc).into_iter().filter(|b| b.is("plan")).collect();
    assert!(!plans.is_empty(), "a plan example");
    for b in &plans {
        let name = b
            .example
            .as_deref()
            .expect("a plan example names its example=");
        let shown: Value =
            serde_json::from_str(&b.text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", b.at()));
        // It is a plan as `apply PLANFILE` reads one.
        serde_json::from_value::<handover::plan::Plan>(shown.clone())
            .unwrap_or_else(|e| panic!("{}: not a plan: {e}", b.at()));
        let (t, o) = pair(&doc, name, dir.path());
        let (code, out, err) = handover(&[
            "plan",
            "--desired",
            t.to_str().unwrap(),
            "--observed",
            o.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        let real: Value = serde_json::from_str(&out).unwrap();
        if let Err(diff) = shown_in(&shown, &real, "plan") {
            panic!(
                "{}: the example differs from the real plan: {diff}\nThe real plan:\n{out}",
                b.at()
            );
        }
        let mut all = BTreeSet::new();
        keys(&real, &mut all);
        let undocumented: Vec<&String> = all
            .iter()
            .filter(|k| !section4.contains(&format!("`{k}`")))
            .collect();
        assert!(
            undocumented.is_empty(),
            "docs/spec.md section 4 does not describe these keys of the real plan: {undocumented:?}"
        );
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn the_simulate_example_has_exactly_the_keys_simulate_prints() {
    let doc = spec();
    let dir = tempfile::tempdir().unwrap();
    let sims: Vec<Block> = blocks(&doc)
        .into_iter()
        .filter(|b| b.is("simulate"))
        .collect();
    assert!(!sims.is_empty(), "a simulate example");
    for b in &sims {
        let name = b.example.as_deref().expect("example=");
        let shown: Value =
            serde_json::from_str(&b.text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", b.at()));
        let (t, o) = pair(&doc, name, dir.path());
        let (code, out, err) = handover(&[
            "simulate",
            "--desired",
            t.to_str().unwrap(),
            "--observed",
            o.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        let real: Value = serde_json::from_str(&out).unwrap();
        let (shown, real) = (shown.as_object().unwrap(), real.as_object().unwrap());
        let shown_keys: Vec<&String> = shown.keys().collect();
        let real_keys: Vec<&String> = real.keys().collect();
        assert_eq!(
            shown_keys,
            real_keys,
            "{}: keys differ from `simulate --format json`: {out}",
            b.at()
        );
        for (k, v) in shown {
            assert_eq!(kind_of(v), kind_of(&real[k]), "{}: {k}: {out}", b.at());
        }
        // The figures that do not depend on the simulator's timing agree.
        for k in [
            "strategy",
            "converged",
            "stranded",
            "pending",
            "blocked",
            "moved",
        ] {
            assert_eq!(shown[k], real[k], "{}: {k}: {out}", b.at());
        }
    }
}

#[test]
fn the_apply_example_has_the_shape_and_figures_apply_prints() {
    let doc = spec();
    let dir = tempfile::tempdir().unwrap();
    let examples: Vec<Block> = blocks(&doc).into_iter().filter(|b| b.is("apply")).collect();
    assert!(!examples.is_empty(), "an apply example");
    for b in &examples {
        let name = b.example.as_deref().expect("example=");
        let shown: Value =
            serde_json::from_str(&b.text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", b.at()));
        let (t, o) = pair(&doc, name, dir.path());
        std::fs::copy(&o, dir.path().join("estate.yaml")).unwrap();
        let out = Command::new(HANDOVER)
            .current_dir(dir.path())
            .env("HANDOVER_LOCK_DIR", dir.path().join("locks"))
            .args(["apply", "--format", "json", "--auto-approve", "--desired"])
            .arg(&t)
            .args(["--target", "sim:estate.yaml"])
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let real: Value = serde_json::from_str(&stdout).unwrap();
        // The same keys, at the top and in every object under it.
        fn same_shape(at: &str, shown: &Value, real: &Value) {
            if let (Some(s), Some(r)) = (shown.as_object(), real.as_object()) {
                let sk: Vec<&String> = s.keys().collect();
                let rk: Vec<&String> = r.keys().collect();
                assert_eq!(sk, rk, "{at}: keys differ from `apply --format json`");
                for (k, v) in s {
                    same_shape(&format!("{at}.{k}"), v, &r[k]);
                }
            }
        }
        same_shape(&b.at(), &shown, &real);
        // The figures that depend neither on the clock nor on the run's id
        // agree.
        for k in [
            "format",
            "verdict",
            "exit_code",
            "target",
            "plan",
            "applied",
            "counts",
            "members",
            "failures",
            "still_differ",
            "errors",
            "commit",
        ] {
            assert_eq!(shown[k], real[k], "{}: {k}: {stdout}", b.at());
        }
    }
}

/// `--flag` occurs in `text` as a whole flag (not as the start of a longer one).
fn names_flag(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(i, _)| {
        !text[i + flag.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[test]
fn section_5_names_every_subcommand_and_flag() {
    let doc = spec();
    let section5 = section(&doc, 5);
    let (code, help, _) = handover(&["--help"]);
    assert_eq!(code, 0);
    let commands: Vec<String> = help
        .split("Commands:")
        .nth(1)
        .expect("a Commands: list")
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    let mut missing = Vec::new();
    for c in &commands {
        if !section5.contains(&format!("handover {c}")) {
            missing.push(format!("handover {c}"));
        }
        let (code, text, err) = handover(&[c, "--help"]);
        assert_eq!(code, 0, "{err}");
        let options = text.split("Options:").nth(1).unwrap_or("");
        for line in options.lines() {
            // A flag's own line is indented by 2 (`-v, --verbose`) or 6
            // (`--desired <PATH>`); descriptions, deeper.
            let words = line.trim_start();
            if !words.starts_with('-') || line.len() - words.len() > 6 {
                continue;
            }
            for w in words.split([' ', ',', '=', '[', '<']) {
                if w.starts_with("--") && w != "--help" && w != "--version" {
                    if !names_flag(&section5, w) {
                        missing.push(format!("handover {c} {w}"));
                    }
                    break;
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/spec.md section 5 does not name: {missing:?}"
    );
}
