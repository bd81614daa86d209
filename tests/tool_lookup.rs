//! The shared lookup of the programs tests drive (`tests/common`): found on
//! `PATH` only when executable, never at a fixed path; skipped with a
//! reason outside CI, a loud failure under `CI=true`.

mod common;

use common::{DOT, decide, on_path_in};
use std::ffi::OsString;
use std::path::Path;

fn write(path: &Path, mode: u32) {
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
}

fn path_of(dirs: &[&Path]) -> OsString {
    std::env::join_paths(dirs).unwrap()
}

#[test]
fn a_program_is_found_in_the_first_path_directory_that_has_it() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let exe = format!("dot{}", std::env::consts::EXE_SUFFIX);
    write(&b.path().join(&exe), 0o755);
    let path = path_of(&[a.path(), b.path()]);
    assert_eq!(on_path_in("dot", Some(&path)), Some(b.path().join(&exe)));
    write(&a.path().join(&exe), 0o755);
    assert_eq!(on_path_in("dot", Some(&path)), Some(a.path().join(&exe)));
}

#[test]
fn nothing_is_found_without_path_or_in_an_empty_one() {
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(on_path_in("dot", None), None);
    assert_eq!(on_path_in("dot", Some(&path_of(&[empty.path()]))), None);
    // A directory of that name is not the program.
    std::fs::create_dir(empty.path().join("dot")).unwrap();
    assert_eq!(on_path_in("dot", Some(&path_of(&[empty.path()]))), None);
}

#[cfg(unix)]
#[test]
fn a_file_that_is_not_executable_is_not_the_program() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("dot"), 0o644);
    assert_eq!(on_path_in("dot", Some(&path_of(&[dir.path()]))), None);
}

#[test]
fn a_name_with_a_directory_is_taken_as_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("chromium");
    write(&exe, 0o755);
    let empty = OsString::new();
    assert_eq!(
        on_path_in(exe.to_str().unwrap(), Some(&empty)),
        Some(exe.clone())
    );
    let missing = dir.path().join("chromedriver");
    assert_eq!(on_path_in(missing.to_str().unwrap(), Some(&empty)), None);
}

#[test]
fn outside_ci_a_missing_tool_skips() {
    assert_eq!(
        decide(&DOT, "a test", None, false),
        Err("a test needs dot (dot on PATH; apt-get install graphviz)".to_string())
    );
    let here = Path::new("/somewhere/dot").to_path_buf();
    assert_eq!(decide(&DOT, "a test", Some(here.clone()), true), Ok(here));
}

#[test]
#[should_panic(expected = "a test needs dot (dot on PATH; apt-get install graphviz): CI=true")]
fn under_ci_a_missing_tool_fails_the_test() {
    let _ = decide(&DOT, "a test", None, true);
}
