//! Loading: YAML (or JSON) files into the model, checked.
//!
//! Owns reading desired topologies (a file, or a directory of `*.yaml` /
//! `*.yml` merged) and observed-state documents, telling them apart by
//! `kind:`, and turning them into the plain data of `model` with source
//! positions. Every function here also runs `crate::validate`, so callers
//! only ever see a checked model. Problems come sorted by place, except
//! that a wrong `apiVersion` or `kind` (or a document of the other kind)
//! always comes first, also when the rest of the document cannot be read.
//! Must not plan or apply anything.
//!
//! Split by concept: `yaml` (the parser edge and hostile-input limits),
//! `doc` (the file shapes), `build` (value syntax, interning).

mod build;
mod cost;
pub mod doc;
mod fast;
mod fast_json;
mod gates;
mod health;
mod notify;
mod rollout;
pub mod yaml;

pub use build::quote;
pub use yaml::MAX_FILE_BYTES;

use crate::diag::positions::{ObservedPositions, RulePos};
use crate::diag::thousands;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::model::{Observed, Topology};
use crate::name::NameInterner;
use crate::validate;
use build::Builder;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The kind of a handover document (`kind:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `kind: Topology`.
    Topology,
    /// `kind: Observed`.
    Observed,
}

/// One checked document of either kind. (One per file, moved once: a
/// topology's policy, which grows with windows, approval, rollout and
/// notifications, makes the variants differ in size, and boxing it would
/// buy nothing.)
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Document {
    /// A desired topology.
    Topology(Topology),
    /// An observed state.
    Observed(Observed),
}

/// Loads and validates a desired topology from files and directories.
///
/// A directory contributes its `*.yaml`/`*.yml` files (not subdirectories)
/// whose `kind` is `Topology`; all files are merged into one topology, and a
/// name defined in two files is an error naming both places.
pub fn topology(paths: &[PathBuf]) -> Result<Topology, Diagnostics> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            for f in yaml_files(p)? {
                if kind_of_file(&f)? != Some(Kind::Observed) {
                    files.push(f);
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Diagnostic::general(format!(
            "{}: no Topology document (*.yaml or *.yml) found",
            shown.join(", ")
        ))
        .into());
    }
    let mut names = NameInterner::new();
    let mut found = Found::default();
    let mut merged = Merged::default();
    for f in &files {
        let label: Arc<str> = Arc::from(f.display().to_string());
        let text = match read(f) {
            Ok(t) => t,
            Err(d) => {
                found.rest.push(d);
                continue;
            }
        };
        if let Some((t, policy_at, rules)) =
            parse_topology(&text, &label, &mut names, Route::Auto, &mut found)
        {
            merged.add(t, policy_at, rules, &mut found.rest);
        }
    }
    let t = merged.topology;
    found
        .rest
        .extend(validate::topology_at(&t, &merged.rule_pos));
    finish(t, found)
}

/// Loads and validates an observed-state file (YAML or JSON).
pub fn observed(path: &Path) -> Result<Observed, Diagnostics> {
    let text = read(path)?;
    observed_str(&text, &path.display().to_string())
}

/// Loads the desired topology and the observed state at once, each on its
/// own thread (the two files are independent; on two cores this halves the
/// wall time of loading). Same results as [`topology`] and [`observed`].
pub fn both(
    desired: &[PathBuf],
    observed_path: &Path,
) -> (Result<Topology, Diagnostics>, Result<Observed, Diagnostics>) {
    std::thread::scope(|s| {
        let o = s.spawn(|| observed(observed_path));
        let t = topology(desired);
        let o = o.join().unwrap_or_else(|_| {
            Err(Diagnostic::general(format!(
                "{}: loading stopped unexpectedly",
                observed_path.display()
            ))
            .into())
        });
        (t, o)
    })
}

/// Parses and validates one desired-topology document; `file` labels positions.
pub fn topology_str(text: &str, file: &str) -> Result<Topology, Diagnostics> {
    topology_with(text, file, Route::Auto)
}

/// Which reader takes the bulk sections of a document.
///
/// Production always uses [`Route::Auto`]; the differential tests and the
/// fuzz harness force each path, so both are tested whatever the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// The fast path for texts of at least `fast::MIN_BYTES`, serde-saphyr
    /// alone below.
    Auto,
    /// The fast path whenever the text is in its subset, whatever the size.
    #[cfg_attr(not(test), allow(dead_code))]
    Fast,
    /// serde-saphyr alone.
    #[cfg_attr(not(test), allow(dead_code))]
    Slow,
}

impl Route {
    /// Whether a text of `len` bytes goes through the fast path (if it can).
    fn fast(self, len: usize) -> bool {
        match self {
            Route::Auto => fast::worth_splitting(len),
            Route::Fast => true,
            Route::Slow => false,
        }
    }
}

/// [`topology_str`] through the reader `route` picks.
fn topology_with(text: &str, file: &str, route: Route) -> Result<Topology, Diagnostics> {
    let label: Arc<str> = Arc::from(file);
    let mut names = NameInterner::new();
    let mut found = Found::default();
    let Some((t, _, rules)) = parse_topology(text, &label, &mut names, route, &mut found) else {
        return Err(found.into_diagnostics());
    };
    found.rest.extend(validate::topology_at(&t, &rules));
    finish(t, found)
}

/// Parses and validates one observed-state document, YAML or JSON (JSON is
/// read by the same parser: YAML 1.2 accepts it); `file` labels positions.
pub fn observed_str(text: &str, file: &str) -> Result<Observed, Diagnostics> {
    observed_with(text, file, Route::Auto)
}

/// [`observed_str`] through the reader `route` picks.
fn observed_with(text: &str, file: &str, route: Route) -> Result<Observed, Diagnostics> {
    let label: Arc<str> = Arc::from(file);
    let text = yaml::text(text.as_bytes(), &label)?;
    expect_kind(text, &label, Kind::Observed)?;
    let mut found = Found::default();
    let (d, split) =
        match parse_split::<doc::ObservedDoc>(text, &label, route, fast::Shape::Observed) {
            Ok(parsed) => parsed,
            Err(e) => {
                found.first = header_problems(text, &label, Kind::Observed);
                found.rest.push(e);
                return Err(found.into_diagnostics());
            }
        };
    let mut names = NameInterner::new();
    let mut b = Builder::new(label, &mut names);
    let (o, pos): (Observed, ObservedPositions) = b.observed(&d, split.as_ref());
    found.first = b.head;
    found.rest = b.diags;
    found.rest.extend(validate::observed(&o, &pos));
    finish(o, found)
}

/// Parses and validates one document of either kind, told apart by `kind:`.
pub fn document_str(text: &str, file: &str) -> Result<Document, Diagnostics> {
    let label: Arc<str> = Arc::from(file);
    match kind_of(yaml::text(text.as_bytes(), &label)?, &label)? {
        Kind::Topology => topology_str(text, file).map(Document::Topology),
        Kind::Observed => observed_str(text, file).map(Document::Observed),
    }
}

/// The kind of one document: from a top-level `kind:` line when there is
/// one (cheap, whatever the size), else by reading the document's header.
pub fn kind_of(text: &str, file: &Arc<str>) -> Result<Kind, Diagnostic> {
    let from_line = text.lines().find_map(|l| {
        let v = l.strip_prefix("kind:")?.split('#').next()?.trim();
        Some(v.trim_matches(|c| c == '"' || c == '\'').to_string())
    });
    let (value, pos) = match from_line {
        Some(v) => (v, None),
        None => {
            let h: doc::HeaderDoc = yaml::parse(text, file)?;
            match h.kind {
                Some(k) => {
                    let pos = Pos::new(
                        file.clone(),
                        k.referenced.line() as u32,
                        k.referenced.column() as u32,
                    );
                    (k.value, Some(pos))
                }
                None => {
                    return Err(Diagnostic::at(
                        Pos::new(file.clone(), 1, 1),
                        "no kind: expected kind: Topology or kind: Observed",
                    ));
                }
            }
        }
    };
    match value.as_str() {
        "Topology" => Ok(Kind::Topology),
        "Observed" => Ok(Kind::Observed),
        other => Err(Diagnostic::at(
            pos.unwrap_or_else(|| kind_line_pos(text, file)),
            format!(
                "kind is {}; expected Topology or Observed",
                build::quote(other)
            ),
        )),
    }
}

/// Refuses early, with a clear word, a document of the other kind (which
/// would otherwise fail on its first unknown field); anything unclear is
/// left to the full parse.
fn expect_kind(text: &str, file: &Arc<str>, want: Kind) -> Result<(), Diagnostic> {
    let has_line = text.lines().any(|l| l.starts_with("kind:"));
    match (has_line, has_line.then(|| kind_of(text, file))) {
        (true, Some(Ok(k))) if k != want => Err(Diagnostic::at(
            kind_line_pos(text, file),
            format!("this is {k:?} document; expected kind: {want:?} here")
                .replace("is Observed", "is an Observed")
                .replace("is Topology", "is a Topology"),
        )),
        _ => Ok(()),
    }
}

fn kind_line_pos(text: &str, file: &Arc<str>) -> Pos {
    let line = text
        .lines()
        .position(|l| l.starts_with("kind:"))
        .unwrap_or(0);
    Pos::new(file.clone(), line as u32 + 1, 7)
}

/// The kind of the document in `path`, reading at most its first 64 KiB
/// when it has a top-level `kind:` line; `None` when it is not YAML text
/// (the full load reports why).
pub fn kind_of_file(path: &Path) -> Result<Option<Kind>, Diagnostics> {
    let label: Arc<str> = Arc::from(path.display().to_string());
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|e| Diagnostic::general(format!("{label}: cannot read: {e}")))?;
    let cut = match std::str::from_utf8(&head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Ok(None),
    };
    if cut.lines().any(|l| l.starts_with("kind:")) {
        return Ok(kind_of(cut, &label).ok());
    }
    let text = match read(path) {
        Ok(t) => t,
        Err(_) => return Ok(None),
    };
    match yaml::text(text.as_bytes(), &label) {
        Ok(t) => Ok(kind_of(t, &label).ok()),
        Err(_) => Ok(None),
    }
}

/// The `*.yaml` and `*.yml` files directly in `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Diagnostic::general(format!("{}: cannot read directory: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| {
            f.is_file() && matches!(f.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// One file's topology, where its `policy:` is (when it has one), and where
/// each of its rules' fields are.
type Parsed = (Topology, Option<Pos>, Vec<RulePos>);

/// Parses one desired-topology file into a (partial) model, adding its
/// problems to `found`; `None` when it cannot be read as a topology at all.
fn parse_topology(
    text: &str,
    label: &Arc<str>,
    names: &mut NameInterner,
    route: Route,
    found: &mut Found,
) -> Option<Parsed> {
    let text = match yaml::text(text.as_bytes(), label) {
        Ok(t) => t,
        Err(d) => {
            found.rest.push(d);
            return None;
        }
    };
    if let Err(d) = expect_kind(text, label, Kind::Topology) {
        found.first.push(d);
        return None;
    }
    let (d, split) = match parse_split::<doc::TopologyDoc>(text, label, route, fast::Shape::Desired)
    {
        Ok(parsed) => parsed,
        Err(e) => {
            found
                .first
                .extend(header_problems(text, label, Kind::Topology));
            found.rest.push(e);
            return None;
        }
    };
    let mut b = Builder::new(label.clone(), names);
    let t = b.topology(&d, split.as_ref());
    let policy_at = d.policy.as_ref().map(|_| {
        t.policy_pos
            .clone()
            .unwrap_or_else(|| Pos::new(label.clone(), 1, 1))
    });
    found.first.append(&mut b.head);
    found.rest.append(&mut b.diags);
    Some((t, policy_at, std::mem::take(&mut b.rules)))
}

/// `apiVersion` and `kind` problems of a document the full parse could not
/// read (a wrong type or a syntax error further down): from a parse of the
/// two fields alone, or, when even that fails, from the top-level
/// `apiVersion:` and `kind:` lines. Runs only on that error path.
fn header_problems(text: &str, label: &Arc<str>, want: Kind) -> Vec<Diagnostic> {
    let want = match want {
        Kind::Topology => "Topology",
        Kind::Observed => "Observed",
    };
    let at = |line: u64, column: u64| {
        Pos::new(
            label.clone(),
            u32::try_from(line).unwrap_or(u32::MAX).max(1),
            u32::try_from(column).unwrap_or(u32::MAX).max(1),
        )
    };
    let (api, kind) = match yaml::parse_quiet::<doc::HeaderDoc>(text) {
        Some(h) => {
            let field = |t: Option<doc::Text>| {
                t.map(|t| {
                    let pos = at(t.referenced.line(), t.referenced.column());
                    (t.value, pos)
                })
            };
            (field(h.api_version), field(h.kind))
        }
        None => (
            top_level_line(text, "apiVersion:").map(|(v, l, c)| (v, at(l, c))),
            top_level_line(text, "kind:").map(|(v, l, c)| (v, at(l, c))),
        ),
    };
    build::header_problems(
        api.as_ref().map(|(v, p)| (v.as_str(), p.clone())),
        kind.as_ref().map(|(v, p)| (v.as_str(), p.clone())),
        want,
    )
}

/// The value of the first top-level line starting with `key` (without a
/// comment or quotes), with its 1-based line and column.
fn top_level_line(text: &str, key: &str) -> Option<(String, u64, u64)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let rest = l.strip_prefix(key)?;
        let value = rest.split(" #").next()?.trim_start();
        let column = (l.len() - rest.len() + (rest.len() - rest.trim_start().len())) as u64 + 1;
        let value = value.trim_end().trim_matches(|c| c == '"' || c == '\'');
        Some((value.to_string(), i as u64 + 1, column))
    })
}

/// Parses `text` into document type `T`, the bulk sections through the
/// fast path when `route` picks it and the text allows. Errors always come from a
/// serde-saphyr parse of the whole text, so they are the same either way.
/// A parse that met an unknown key is done again with the place of every
/// key (see [`doc::with_key_places`]): only files with an error pay for it.
fn parse_split<'t, T: serde::de::DeserializeOwned>(
    text: &'t str,
    label: &Arc<str>,
    route: Route,
    shape: fast::Shape,
) -> Result<(T, Option<fast::Split<'t>>), Diagnostic> {
    let json = text.trim_start().starts_with('{');
    let split = |text| match json {
        true => fast_json::split(text, shape),
        false => fast::split(text, shape),
    };
    doc::take_unknown_met();
    if let Some(s) = route.fast(text.len()).then(|| split(text)).flatten()
        && let Some(d) = yaml::parse_quiet(&s.remainder)
    {
        if !doc::take_unknown_met() {
            return Ok((d, Some(s)));
        }
        if let Some(d) = doc::with_key_places(|| yaml::parse_quiet(&s.remainder)) {
            return Ok((d, Some(s)));
        }
    }
    let d = yaml::parse(text, label)?;
    if !doc::take_unknown_met() {
        return Ok((d, None));
    }
    Ok((doc::with_key_places(|| yaml::parse(text, label))?, None))
}

/// Reads a file of at most [`MAX_FILE_BYTES`] as text.
fn read(path: &Path) -> Result<String, Diagnostic> {
    let shown = path.display();
    let too_big = |len: u64| {
        Diagnostic::general(format!(
            "{shown}: the file is {} bytes; at most {} are read",
            thousands(len as usize),
            thousands(MAX_FILE_BYTES as usize)
        ))
        .with_hint("split a large topology into several files of one directory")
    };
    let f = std::fs::File::open(path)
        .map_err(|e| Diagnostic::general(format!("{shown}: cannot read: {e}")))?;
    if let Ok(m) = f.metadata() {
        if m.is_dir() {
            return Err(Diagnostic::general(format!(
                "{shown}: is a directory; expected a file"
            )));
        }
        if m.len() > MAX_FILE_BYTES {
            return Err(too_big(m.len()));
        }
    }
    // Sized from the metadata: growing by doubling would copy an 11 MB
    // file four times over.
    let hint = f
        .metadata()
        .map_or(0, |m| m.len().min(MAX_FILE_BYTES) as usize);
    let mut bytes = Vec::with_capacity(hint + 1);
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Diagnostic::general(format!("{shown}: cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    // Every caller checks the text with `yaml::text` (NUL bytes, empty),
    // so only bytes that are not UTF-8 need its message here.
    String::from_utf8(bytes).map_err(|e| {
        let label: Arc<str> = Arc::from(shown.to_string());
        yaml::text(e.as_bytes(), &label)
            .err()
            .unwrap_or_else(|| Diagnostic::general(format!("{shown}: not UTF-8 text")))
    })
}

/// Problems found while loading: the header's, reported first, and the rest.
#[derive(Default)]
struct Found {
    /// A wrong `apiVersion` or `kind`, or a document of the other kind.
    first: Vec<Diagnostic>,
    /// Everything else.
    rest: Vec<Diagnostic>,
}

impl Found {
    /// The header's problems, then the rest, each sorted by place.
    fn into_diagnostics(self) -> Diagnostics {
        let mut all = Diagnostics(self.first).sorted().0;
        all.extend(Diagnostics(self.rest).sorted().0);
        Diagnostics(all)
    }
}

fn finish<T>(value: T, found: Found) -> Result<T, Diagnostics> {
    if found.first.is_empty() && found.rest.is_empty() {
        Ok(value)
    } else {
        Err(found.into_diagnostics())
    }
}

/// Files of one topology merged, with the places of one-per-topology parts.
#[derive(Default)]
struct Merged {
    topology: Topology,
    group_at: Option<(String, Arc<str>)>,
    policy_at: Option<Pos>,
    /// Where each rule's fields are, parallel to `topology.agent_rules`.
    rule_pos: Vec<RulePos>,
}

impl Merged {
    fn add(
        &mut self,
        t: Topology,
        policy_at: Option<Pos>,
        rules: Vec<RulePos>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let into = &mut self.topology;
        let file = t
            .management_servers
            .first()
            .map(|m| m.pos.file.clone())
            .or_else(|| policy_at.as_ref().map(|p| p.file.clone()))
            .unwrap_or_else(|| Arc::from(""));
        if let Some(g) = t.group {
            match &self.group_at {
                Some((first, at)) if first != &g => diags.push(Diagnostic::general(format!(
                    "metadata.name is {} in {file} but {} in {at}; one topology names one management group",
                    build::quote(&g),
                    build::quote(first)
                ))),
                Some(_) => {}
                None => {
                    self.group_at = Some((g.clone(), file.clone()));
                    into.group = Some(g);
                }
            }
        }
        into.management_servers.extend(t.management_servers);
        into.gateways.extend(t.gateways);
        into.agents.extend(t.agents);
        into.agent_rules.extend(t.agent_rules);
        self.rule_pos.extend(rules);
        if let Some(s) = t.management_store {
            match &into.management_store {
                Some(first) => diags.push(Diagnostic::at(
                    s.pos.clone(),
                    format!(
                        "managementStore is given twice: here and at {}; give it in one file",
                        first.pos
                    ),
                )),
                None => into.management_store = Some(s),
            }
        }
        if let Some(at) = policy_at {
            match &self.policy_at {
                Some(first) => diags.push(Diagnostic::at(
                    at,
                    format!("policy is given twice: here and at {first}; give it in one file"),
                )),
                None => {
                    into.policy = t.policy;
                    into.policy_pos = t.policy_pos;
                    self.policy_at = Some(at);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
