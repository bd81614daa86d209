//! One lock per estate on a host, so a second `apply` or `reconcile` on the
//! same target refuses at once, from whatever directory it is run.
//!
//! Owns the lock's key and place. The key is the normalised target
//! ([`LockKey`]): a `sim:` target by the canonical path of its state file,
//! an `exec:` target by its program resolved to a canonical absolute path
//! (as the operating system would find it: relative to the working
//! directory, or on `PATH`) plus every argument as written. The lock file
//! lives in one host-wide directory ([`lock_dir`]: `$HANDOVER_LOCK_DIR`,
//! else `/run/lock/handover`, else `/tmp/handover-locks`), never in the
//! working directory or the state directory, so two working directories
//! cannot both take "the" lock.
//!
//! The lock is an OS advisory lock (`flock` on Unix, `LockFileEx` on
//! Windows) held for as long as the process runs. The kernel releases it
//! when the process dies, even by `kill -9`, so a stale lock cannot block
//! anyone: the next process takes it and notes whose it was. The file's
//! text names the holder (pid, user, host, since when, command, target) for
//! the refusal message. Protects one host only: two hosts are kept apart by
//! `reconcile --ha` (docs/apply.md). Must not touch the journal.

use crate::provider::TargetSpec;
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

/// The environment variable that overrides [`lock_dir`].
pub const LOCK_DIR_ENV: &str = "HANDOVER_LOCK_DIR";

/// Who holds (or held) a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// The operating-system user that runs it (`USER`, `USERNAME` or
    /// `LOGNAME`; empty when none is set, and in files written before this
    /// field existed).
    #[serde(default)]
    pub user: String,
    /// Host name.
    pub host: String,
    /// When it took the lock, RFC 3339.
    pub since: String,
    /// What it was doing (`apply`, `reconcile`).
    pub command: String,
    /// The normalised target it locked ([`LockKey`]'s text); empty in files
    /// written before this field existed.
    #[serde(default)]
    pub target: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let user = if self.user.is_empty() {
            "an unknown user"
        } else {
            &self.user
        };
        write!(
            f,
            "{} (pid {}, user {}, on {}, since {})",
            self.command, self.pid, user, self.host, self.since
        )
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds it.
    #[error(
        "target {target} is locked by {holder}; wait for it to finish, or stop that process (the lock frees itself when it exits; lock file {})",
        path.display()
    )]
    Held {
        /// The target (its normalised text, or the lock file's path).
        target: String,
        /// Who holds it.
        holder: Box<Holder>,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created or read.
    #[error("cannot use lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The lock directory is not a plain directory (a symbolic link, or a
    /// file), which another user could have put there.
    #[error(
        "lock directory {path} is not a plain directory; remove it, or set {LOCK_DIR_ENV} to a directory every handover on this host can use"
    )]
    NotADirectory {
        /// The lock directory.
        path: PathBuf,
    },
}

/// The normalised identity of the estate a target reaches: what the lock
/// is keyed by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockKey {
    /// `sim` or `exec`.
    kind: &'static str,
    /// The canonical state file or program, then (exec) the arguments.
    parts: Vec<String>,
}

impl LockKey {
    /// The key of `spec` as seen from this process: relative paths against
    /// the working directory, a bare program name on `PATH`.
    pub fn for_target(spec: &TargetSpec) -> LockKey {
        let cwd = std::env::current_dir().unwrap_or_default();
        let path = std::env::var_os("PATH");
        LockKey::resolve(spec, &cwd, path.as_deref())
    }

    /// The key of `spec` with `cwd` as the working directory and `path_var`
    /// as `PATH`. A path that exists is canonicalised (symbolic links
    /// resolved); one that does not is made absolute and cleaned of `.`
    /// and `..`. A bare program found nowhere on `PATH` keys by its name.
    pub fn resolve(spec: &TargetSpec, cwd: &Path, path_var: Option<&OsStr>) -> LockKey {
        match spec {
            TargetSpec::Sim(file) => LockKey {
                kind: "sim",
                parts: vec![text(&canonical(&cwd.join(file)))],
            },
            TargetSpec::Exec { program, args } => {
                let program = resolve_program(program, cwd, path_var);
                LockKey {
                    kind: "exec",
                    parts: std::iter::once(text(&program))
                        .chain(args.iter().cloned())
                        .collect(),
                }
            }
        }
    }

    /// The lock file's name: readable (kind and the file name of the state
    /// file or program) and unique (a digest of the whole key), e.g.
    /// `exec-scom-provider-0123456789abcdef.lock`.
    pub fn file_name(&self) -> String {
        let h = crate::hash::Fnv1a::new()
            .iter(
                self.kind.bytes().chain(
                    self.parts
                        .iter()
                        .flat_map(|p| std::iter::once(0u8).chain(p.bytes())),
                ),
            )
            .finish();
        let base = self
            .parts
            .first()
            .and_then(|p| Path::new(p).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let safe: String = base
            .chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}-{safe}-{h:016x}.lock", self.kind)
    }
}

impl std::fmt::Display for LockKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.parts.join(" "))
    }
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `p` (absolute) with symbolic links resolved where it exists: the whole
/// path, else its parent directory plus its file name, else `p` cleaned
/// of `.` and `..`.
fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let clean = lexical(p);
    match (clean.parent(), clean.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(clean),
        _ => clean,
    }
}

/// `p` without `.` components and with each `..` removing the component
/// before it (no file system access).
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The program an `exec:` target runs, as the OS finds it: a path with a
/// directory part against `cwd`; a bare name in the first `PATH` directory
/// that has it; canonicalised. A bare name not found stays as written.
fn resolve_program(program: &Path, cwd: &Path, path_var: Option<&OsStr>) -> PathBuf {
    let bare = program.components().count() == 1 && !program.is_absolute();
    if !bare {
        return canonical(&cwd.join(program));
    }
    for dir in path_var.map(std::env::split_paths).into_iter().flatten() {
        let candidate = cwd.join(dir).join(program);
        if candidate.is_file() {
            return canonical(&candidate);
        }
    }
    program.to_path_buf()
}

/// The host-wide directory of lock files: `$HANDOVER_LOCK_DIR` when set;
/// else, on Unix, `/run/lock/handover` when `/run/lock` is writable by
/// every user (the usual `drwxrwxrwt`), else `/tmp/handover-locks`; on
/// Windows `%ProgramData%\handover\locks`, else the temporary directory.
/// The choice does not depend on the working directory, the state
/// directory or (on Unix) the user, so every handover on a host meets in
/// the same place.
pub fn lock_dir() -> PathBuf {
    match std::env::var_os(LOCK_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => default_lock_dir(),
    }
}

#[cfg(unix)]
fn default_lock_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let run_lock = Path::new("/run/lock");
    match std::fs::metadata(run_lock) {
        Ok(m) if m.is_dir() && m.permissions().mode() & 0o002 != 0 => run_lock.join("handover"),
        _ => PathBuf::from("/tmp/handover-locks"),
    }
}

#[cfg(not(unix))]
fn default_lock_dir() -> PathBuf {
    match std::env::var_os("ProgramData") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("handover").join("locks"),
        _ => std::env::temp_dir().join("handover-locks"),
    }
}

/// Creates the lock directory if it is missing, open to every user (with
/// the sticky bit on Unix, like `/tmp`), and checks it is a plain
/// directory.
fn ensure_dir(dir: &Path) -> Result<(), LockError> {
    let io = |source| LockError::Io {
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(LockError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // Every user's handover must be able to add its lock files.
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777));
            }
            Ok(())
        }
        // Another process made it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => ensure_dir(dir),
        Err(e) => Err(io(e)),
    }
}

/// Opens (creating) a lock file without following a symbolic link, readable
/// and writable by every user so any user's handover can record itself;
/// read-only when another user made it unwritable (the lock works on a
/// read-only handle, only the holder's name cannot be written).
fn open_lock_file(path: &Path) -> std::io::Result<(File, bool)> {
    let mut rw = OpenOptions::new();
    rw.read(true).write(true).create(true).truncate(false);
    let mut ro = OpenOptions::new();
    ro.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        rw.mode(0o666).custom_flags(libc::O_NOFOLLOW);
        ro.custom_flags(libc::O_NOFOLLOW);
    }
    match rw.open(path) {
        Ok(f) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // The umask narrowed the mode; widen it (only the owner can).
                let _ = f.set_permissions(std::fs::Permissions::from_mode(0o666));
            }
            Ok((f, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            ro.open(path).map(|f| (f, false))
        }
        Err(e) => Err(e),
    }
}

/// The operating-system user running this process, from the environment.
fn user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_default()
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct TargetLock {
    file: File,
    path: PathBuf,
    writable: bool,
    /// The previous holder, when it had died without releasing cleanly.
    pub recovered_from: Option<Holder>,
}

impl TargetLock {
    /// Takes the host-wide lock of `spec`'s estate ([`LockKey::for_target`]
    /// in [`lock_dir`]) for `command`, or says who holds it.
    pub fn acquire_target(spec: &TargetSpec, command: &str) -> Result<TargetLock, LockError> {
        let key = LockKey::for_target(spec);
        let dir = lock_dir();
        ensure_dir(&dir)?;
        TargetLock::acquire_as(&dir.join(key.file_name()), command, &key.to_string())
    }

    /// Takes the lock at `path` for `command`, or says who holds it.
    pub fn acquire(path: &Path, command: &str) -> Result<TargetLock, LockError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| LockError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        TargetLock::acquire_as(path, command, &path.display().to_string())
    }

    /// Takes the lock at `path` for `command` on `target` (its text, for
    /// the holder and the refusal).
    fn acquire_as(path: &Path, command: &str, target: &str) -> Result<TargetLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (mut file, writable) = open_lock_file(path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file).unwrap_or_else(|| Holder {
                    pid: 0,
                    user: String::new(),
                    host: "unknown host".into(),
                    since: "an unknown time".into(),
                    command: "another handover process".into(),
                    target: String::new(),
                });
                return Err(LockError::Held {
                    target: target.to_string(),
                    holder: Box::new(holder),
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // We hold it. A holder still written in the file died without
        // cleaning up (a clean release empties the file).
        let recovered_from = read_holder(&mut file);
        if writable {
            let me = Holder {
                pid: std::process::id(),
                user: user(),
                host: gethostname::gethostname().to_string_lossy().into_owned(),
                since: super::rfc3339(std::time::SystemTime::now()),
                command: command.to_string(),
                target: target.to_string(),
            };
            let text = serde_json::to_string(&me).map_err(|e| io(e.into()))?;
            file.set_len(0).map_err(io)?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            file.write_all(text.as_bytes()).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        Ok(TargetLock {
            file,
            path: path.to_path_buf(),
            writable,
            recovered_from,
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TargetLock {
    fn drop(&mut self) {
        // Empty the file first so the next holder knows this was a clean
        // release; the kernel drops the lock with the handle.
        if self.writable {
            let _ = self.file.set_len(0);
        }
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(64 * 1024).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lock");
        let first = TargetLock::acquire(&path, "apply").unwrap();
        assert!(first.recovered_from.is_none());
        let err = TargetLock::acquire(&path, "reconcile").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("locked by apply"), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        let again = TargetLock::acquire(&path, "reconcile").unwrap();
        assert!(
            again.recovered_from.is_none(),
            "a clean release leaves no holder"
        );
    }

    #[test]
    fn a_dead_holders_lock_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lock");
        // What a process killed with -9 leaves behind: its holder text, no
        // lock (written by a release that did not know users or targets).
        std::fs::write(
            &path,
            r#"{"pid":999999,"host":"old-host","since":"2026-01-01T00:00:00Z","command":"apply"}"#,
        )
        .unwrap();
        let lock = TargetLock::acquire(&path, "apply").unwrap();
        let dead = lock.recovered_from.clone().unwrap();
        assert_eq!((dead.pid, dead.host.as_str()), (999_999, "old-host"));
        assert_eq!(
            dead.to_string(),
            "apply (pid 999999, user an unknown user, on old-host, since 2026-01-01T00:00:00Z)"
        );
    }

    fn exec(program: &str, args: &[&str]) -> TargetSpec {
        TargetSpec::Exec {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_key_does_not_depend_on_the_working_directory() {
        let root = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(root.path()).unwrap();
        let (a, b, bin) = (root.join("a"), root.join("b"), root.join("bin"));
        for d in [&a, &b, &bin] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(bin.join("prov"), "").unwrap();
        std::fs::write(a.join("estate.yaml"), "").unwrap();
        let path = std::env::join_paths([&bin]).unwrap();
        let abs = LockKey::resolve(&exec(&text(&bin.join("prov")), &["--x"]), &a, None);
        // Relative to each working directory, through `..`, or on PATH.
        for (cwd, program) in [(&a, "../bin/prov"), (&b, "./../bin/prov"), (&b, "prov")] {
            let k = LockKey::resolve(&exec(program, &["--x"]), cwd, Some(&path));
            assert_eq!(k, abs, "{program} from {}", cwd.display());
            assert_eq!(k.file_name(), abs.file_name());
        }
        assert_eq!(
            abs.to_string(),
            format!("exec:{} --x", bin.join("prov").display())
        );
        // Other arguments are another estate.
        let other = LockKey::resolve(&exec(&text(&bin.join("prov")), &["--y"]), &a, None);
        assert_ne!(other.file_name(), abs.file_name());
        assert!(
            abs.file_name().starts_with("exec-prov-"),
            "{}",
            abs.file_name()
        );
        // A sim: file, from its own directory and from a sibling; also one
        // that does not exist yet.
        let here = LockKey::resolve(&TargetSpec::Sim("estate.yaml".into()), &a, None);
        let there = LockKey::resolve(&TargetSpec::Sim("../a/estate.yaml".into()), &b, None);
        assert_eq!(here, there);
        assert_eq!(
            here.to_string(),
            format!("sim:{}", a.join("estate.yaml").display())
        );
        let new_here = LockKey::resolve(&TargetSpec::Sim("new.yaml".into()), &a, None);
        let new_there = LockKey::resolve(&TargetSpec::Sim("../a/./new.yaml".into()), &b, None);
        assert_eq!(new_here, new_there);
        assert_ne!(new_here, here);
    }

    #[test]
    fn a_bare_program_not_on_path_keys_by_its_name() {
        let k = LockKey::resolve(&exec("no-such-provider", &[]), Path::new("/"), None);
        assert_eq!(k.to_string(), "exec:no-such-provider");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_lock_directory_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            ensure_dir(&link),
            Err(LockError::NotADirectory { .. })
        ));
        let fresh = root.path().join("fresh");
        ensure_dir(&fresh).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o1777);
    }
}
