//! Security of `hone serve` and of the configuration, through the binary:
//! serve never forwards to an endpoint and refuses to be exposed without a
//! key; a hone.toml found in the working directory cannot collect the
//! user's API key.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use hone_test_support::{FakeServer, Reply};

/// `hone` with no model settings inherited from the environment.
fn hone(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hone"));
    cmd.current_dir(dir)
        .arg("--runs-dir")
        .arg(dir.join("runs"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("HONE_MODEL")
        .env_remove("HONE_CONFIG")
        .env_remove("HONE_SERVE_API_KEY");
    cmd
}

/// Kills the child when dropped, so a failing test leaves no server behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn post(addr: SocketAddr, auth: Option<&str>, body: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: Bearer {a}\r\n"))
        .unwrap_or_default();
    write!(
        conn,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, raw)
}

#[test]
fn serve_refuses_a_non_loopback_address_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    // An empty cache: the refusal must come before any model is loaded.
    let out = hone(dir.path())
        .env("HONE_CACHE_DIR", dir.path().join("empty"))
        .args(["serve", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0") && err.contains("HONE_SERVE_API_KEY"),
        "{err}"
    );
    assert!(!err.contains("loading local model"), "{err}");
}

#[test]
fn serve_refuses_a_parallelism_of_zero_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let out = hone(dir.path())
        .env("HONE_CACHE_DIR", dir.path().join("empty"))
        .args(["serve", "--parallel", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--parallel"), "{err}");
    assert!(!err.contains("loading local model"), "{err}");
}

#[test]
fn serve_help_hides_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = hone(dir.path())
        .env("HONE_SERVE_API_KEY", "sk-serve-help-secret")
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--api-key"), "{text}");
    assert!(!text.contains("sk-serve-help-secret"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_local_model_whatever_openai_base_url_says() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = FakeServer::start(|_, _| Reply::completion("FROM THE ENDPOINT")).await;
    let child = hone(dir.path())
        .env("OPENAI_BASE_URL", endpoint.base_url())
        .env("OPENAI_API_KEY", "sk-operator-secret")
        .env("HONE_SERVE_API_KEY", "serve-key")
        .args(["--model", "smollm2-135m", "--threads", "1"])
        // Two requests decoding together: the flag reaches the model's load.
        .args(["serve", "--addr", "127.0.0.1:0", "--parallel", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let addr = tokio::task::spawn_blocking({
        let stderr = child.0.stderr.take().unwrap();
        move || {
            let mut seen = String::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                seen.push_str(&line);
                seen.push('\n');
                if let Some(rest) = line.split(" at http://").nth(1) {
                    if let Some(addr) = rest.split("/v1").next() {
                        return addr.parse::<SocketAddr>().unwrap();
                    }
                }
            }
            panic!("hone serve exited without serving:\n{seen}");
        }
    })
    .await
    .unwrap();
    let body =
        r#"{"messages":[{"role":"user","content":"Say hi."}],"max_tokens":2,"temperature":0}"#;
    let (status, raw) = tokio::task::spawn_blocking(move || post(addr, None, body))
        .await
        .unwrap();
    assert_eq!(status, 401, "{raw}");
    let (status, raw) = tokio::task::spawn_blocking(move || post(addr, Some("serve-key"), body))
        .await
        .unwrap();
    assert_eq!(status, 200, "{raw}");
    assert!(!raw.contains("FROM THE ENDPOINT"), "{raw}");
    assert!(raw.to_lowercase().contains("smollm2"), "{raw}");
    assert_eq!(
        endpoint.request_count(),
        0,
        "serve forwarded to OPENAI_BASE_URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_found_hone_toml_cannot_collect_the_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let collector = FakeServer::start(|_, _| Reply::completion("OK")).await;
    std::fs::write(
        dir.path().join("hone.toml"),
        format!(
            "[model]\nbase_url = \"{}\"\nmodel = \"m\"\n",
            collector.base_url()
        ),
    )
    .unwrap();
    let models = |extra: &[&str]| {
        hone(dir.path())
            .env("OPENAI_API_KEY", "sk-user-secret")
            .arg("--no-cache")
            .args(extra)
            .arg("models")
            .output()
            .unwrap()
    };
    let out = models(&[]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("not trusted") && text.contains("--trust-config"),
        "{text}"
    );
    assert!(!text.contains("sk-user-secret"), "{text}");
    assert_eq!(
        collector.request_count(),
        0,
        "the key went to the file's host"
    );

    // The user says so: with --trust-config, or by naming the file.
    for flags in [&["--trust-config"][..], &["--config", "hone.toml"][..]] {
        let out = models(flags);
        assert!(
            out.status.success(),
            "{flags:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let seen = collector.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer sk-user-secret")));
}
