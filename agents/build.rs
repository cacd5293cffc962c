//! Embeds the prompt templates of this crate's `templates/` directory.
//!
//! The templates are part of the crate: a copy of hone-agents without them
//! (a packaging mistake) must not build, rather than ship agents that fail
//! at their first prompt.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("templates");
    println!("cargo:rerun-if-changed={}", dir.display());
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "hone-agents: cannot read its prompt templates in {}: {e}",
            dir.display()
        )
    });
    let mut names: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "j2"))
        .collect();
    if names.is_empty() {
        panic!(
            "hone-agents: no prompt templates (*.j2) in {}; the crate is incomplete",
            dir.display()
        );
    }
    names.sort();
    let mut out = String::from("/// Templates embedded from `templates/` at build time.\npub(crate) static EMBEDDED: &[(&str, &str)] = &[\n");
    for path in &names {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("template file names are UTF-8");
        let abs = path.canonicalize().expect("template path resolves");
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_templates.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
