//! Response-cache durability: concurrent writers and a writer killed with
//! SIGKILL mid-write never leave an entry that reads back torn.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hone_core::cache::CacheStore;
use hone_core::{ChatRequest, ChatResponse, Message, ModelDescriptor};

fn descriptor() -> ModelDescriptor {
    ModelDescriptor {
        backend: "test".into(),
        model: "m".into(),
        endpoint: None,
    }
}

fn request(i: usize) -> ChatRequest {
    ChatRequest::new(vec![Message::user(format!("question {i}"))])
}

/// A response big enough that writing it takes several syscalls.
fn big_response(tag: usize) -> ChatResponse {
    ChatResponse::text("m", format!("{tag}:").repeat(40_000))
}

fn assert_complete(root: &Path) -> usize {
    let store = CacheStore::open(root).unwrap();
    let mut checked = 0;
    for fan in std::fs::read_dir(root).unwrap().flatten() {
        for entry in std::fs::read_dir(fan.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(key) = name.strip_suffix(".json") {
                let response = store
                    .get(key)
                    .unwrap_or_else(|| panic!("entry {name} does not read back"));
                let text = response.first_text();
                let tag = text.split(':').next().unwrap();
                assert_eq!(text, format!("{tag}:").repeat(40_000), "torn entry {name}");
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn concurrent_writers_of_the_same_key_never_tear() {
    let dir = tempfile::tempdir().unwrap();
    let store = CacheStore::open(dir.path()).unwrap();
    let key = CacheStore::key(&descriptor(), &request(0)).unwrap();
    std::thread::scope(|s| {
        for writer in 0..6 {
            let (store, key) = (store.clone(), key.clone());
            s.spawn(move || {
                for round in 0..20 {
                    store
                        .put(
                            &key,
                            &descriptor(),
                            &request(0),
                            &big_response(writer * 100 + round),
                        )
                        .unwrap();
                }
            });
        }
        for _ in 0..2 {
            let (store, key) = (store.clone(), key.clone());
            s.spawn(move || {
                for _ in 0..200 {
                    if let Some(r) = store.get(&key) {
                        let text = r.first_text();
                        let tag = text.split(':').next().unwrap();
                        assert_eq!(text, format!("{tag}:").repeat(40_000));
                    }
                }
            });
        }
    });
    assert_eq!(assert_complete(dir.path()), 1);
}

/// Run as a child process by `writer_killed_mid_write_leaves_no_torn_entry`.
#[test]
#[ignore = "entry point of a child process"]
fn cache_writer_child() {
    let Ok(dir) = std::env::var("HONE_TEST_CACHE_DIR") else {
        return;
    };
    let store = CacheStore::open(&dir).unwrap();
    for i in 0.. {
        let req = request(i % 50);
        let key = CacheStore::key(&descriptor(), &req).unwrap();
        store
            .put(&key, &descriptor(), &req, &big_response(i))
            .unwrap();
    }
}

#[test]
fn writer_killed_mid_write_leaves_no_torn_entry() {
    let dir = tempfile::tempdir().unwrap();
    for attempt in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "cache_writer_child",
                "--test-threads",
                "1",
            ])
            .env("HONE_TEST_CACHE_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300 + attempt * 170));
        child.kill().unwrap(); // SIGKILL: no destructor, no cleanup
        child.wait().unwrap();
        let entries = assert_complete(dir.path());
        assert!(entries > 0, "the writer wrote nothing before it was killed");
    }
    // Partial writes may be left as temporary files; they are never read and
    // can be swept.
    let store = CacheStore::open(dir.path()).unwrap();
    store.sweep_partial_writes(Duration::ZERO);
    assert_complete(dir.path());
}
