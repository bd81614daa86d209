//! The units `handover validate` checks: the paths it is given, walked.
//!
//! Owns turning paths into units: each directory (walked to a bounded
//! depth, subdirectories in name order) is a unit of its own, and the
//! files named directly merge into one unit, listed first. Each file is
//! sorted into a unit's topology or observed files by its `kind:`. Must
//! not load the units (the caller does, and reports), nor print.

use crate::diag::Diagnostic;
use crate::load::{self, Kind};
use std::path::{Path, PathBuf};

/// What one unit (a directory, or the files named directly) holds.
#[derive(Debug, Default)]
pub struct Unit {
    /// The directory, or the paths named directly that are not
    /// directories, comma-separated.
    pub label: String,
    /// Its topology files.
    pub topology_files: Vec<PathBuf>,
    /// Its observed-state files.
    pub observed_files: Vec<PathBuf>,
}

impl Unit {
    fn is_empty(&self) -> bool {
        self.topology_files.is_empty() && self.observed_files.is_empty()
    }
}

/// The units of `paths`, and the problems met finding them (a path that
/// does not exist, a directory that cannot be read, a file whose kind
/// cannot be read).
pub fn units(paths: &[PathBuf]) -> (Vec<Unit>, Vec<Diagnostic>) {
    let mut problems: Vec<Diagnostic> = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    let mut loose = Unit::default();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut units, &mut problems, 0);
        } else if !p.exists() {
            problems.push(Diagnostic::general(format!(
                "{}: no such file or directory",
                p.display()
            )));
        } else {
            classify(p, &mut loose, &mut problems);
        }
    }
    if !loose.is_empty() {
        loose.label = paths
            .iter()
            .filter(|p| !p.is_dir())
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        units.insert(0, loose);
    }
    (units, problems)
}

/// Deepest directory tree walked (guards against symlink loops).
const MAX_WALK_DEPTH: usize = 16;

fn walk(dir: &Path, units: &mut Vec<Unit>, problems: &mut Vec<Diagnostic>, depth: usize) {
    if depth > MAX_WALK_DEPTH {
        problems.push(Diagnostic::general(format!(
            "{}: directories nested deeper than {MAX_WALK_DEPTH}; not walked further",
            dir.display()
        )));
        return;
    }
    let mut unit = Unit {
        label: dir.display().to_string(),
        ..Default::default()
    };
    match load::yaml_files(dir) {
        Ok(files) => {
            for f in files {
                classify(&f, &mut unit, problems);
            }
        }
        Err(d) => problems.extend(d.0),
    }
    if !unit.is_empty() {
        units.push(unit);
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    subdirs.sort();
    for d in subdirs {
        walk(&d, units, problems, depth + 1);
    }
}

/// Sorts a file into its unit by `kind:`; a file whose kind cannot be told
/// is loaded as a topology so its real problem gets reported.
fn classify(f: &Path, unit: &mut Unit, problems: &mut Vec<Diagnostic>) {
    match load::kind_of_file(f) {
        Ok(Some(Kind::Observed)) => unit.observed_files.push(f.to_path_buf()),
        Ok(_) => unit.topology_files.push(f.to_path_buf()),
        Err(d) => problems.extend(d.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_units_in_name_order_and_named_files_merge_first() {
        let root = std::env::temp_dir().join(format!("handover-units-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let tree = root.join("tree");
        std::fs::create_dir_all(tree.join("b")).unwrap();
        std::fs::create_dir_all(tree.join("a")).unwrap();
        std::fs::write(tree.join("a/t.yaml"), "kind: Topology\n").unwrap();
        std::fs::write(tree.join("b/o.yaml"), "kind: Observed\n").unwrap();
        let loose = root.join("loose.yaml");
        std::fs::write(&loose, "kind: Topology\n").unwrap();
        let missing = root.join("missing");
        let (units, problems) = units(&[missing.clone(), tree.clone(), loose.clone()]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let labels: Vec<&str> = units.iter().map(|u| u.label.as_str()).collect();
        let a = tree.join("a").display().to_string();
        let b = tree.join("b").display().to_string();
        // The merged unit's label names every path given that is not a
        // directory, as `validate` always printed it.
        let named = format!("{}, {}", missing.display(), loose.display());
        assert_eq!(labels, [named.as_str(), &a, &b]);
        assert_eq!(units[1].topology_files.len(), 1);
        assert_eq!(units[2].observed_files.len(), 1);
        let _ = std::fs::remove_dir_all(&root);
    }
}
