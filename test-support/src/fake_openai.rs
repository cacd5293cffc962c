//! A real HTTP/1.1 server on loopback that speaks enough of the
//! chat-completions protocol to test clients: scripted replies, delays,
//! error statuses, SSE streams and malformed bodies. Keep-alive is supported
//! so clients pool connections as they would against a real server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SeenRequest {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// The text of every message of a chat request, one after another
    /// (empty for a body that is not one).
    pub fn messages_text(&self) -> String {
        self.json()["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|x| x["content"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }
    /// The text of the last message of a chat request: the turn a role
    /// answers (a refiner continuing the critic's conversation carries the
    /// critic's prompt before it). Empty for a body that is not one.
    pub fn last_message_text(&self) -> String {
        self.json()["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_string()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub delay: Duration,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
}

#[derive(Debug, Clone)]
pub enum ReplyBody {
    Raw(String),
    /// Server-sent events: each string is one `data:` payload, sent with the pause between.
    Sse(Vec<String>, Duration),
}

impl Reply {
    pub fn json(value: serde_json::Value) -> Self {
        Reply {
            delay: Duration::ZERO,
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: ReplyBody::Raw(value.to_string()),
        }
    }

    /// A complete chat-completion answer with `text`.
    pub fn completion(text: &str) -> Self {
        Self::json(serde_json::json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "fake-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        }))
    }

    pub fn status(status: u16, body: &str) -> Self {
        Reply {
            delay: Duration::ZERO,
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: ReplyBody::Raw(body.to_string()),
        }
    }

    /// A streamed answer split into `pieces`.
    pub fn stream(pieces: &[&str]) -> Self {
        let mut events: Vec<String> = pieces
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                    "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]
                })
                .to_string()
            })
            .collect();
        events.push(
            serde_json::json!({
                "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]
            })
            .to_string(),
        );
        events.push(
            serde_json::json!({
                "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": pieces.len()}
            })
            .to_string(),
        );
        events.push("[DONE]".into());
        Reply {
            delay: Duration::ZERO,
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: ReplyBody::Sse(events, Duration::from_millis(5)),
        }
    }

    /// A streamed answer made of raw `delta` objects (text, tool-call
    /// fragments…), each in its own chunk, then `finish_reason`, usage and
    /// `[DONE]`.
    pub fn stream_deltas(deltas: &[serde_json::Value], finish_reason: &str) -> Self {
        let chunk = |choices: serde_json::Value| {
            serde_json::json!({
                "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                "choices": choices
            })
        };
        let mut events: Vec<String> = deltas
            .iter()
            .map(|d| {
                chunk(serde_json::json!([{"index": 0, "delta": d, "finish_reason": null}]))
                    .to_string()
            })
            .collect();
        events.push(
            chunk(serde_json::json!([{"index": 0, "delta": {}, "finish_reason": finish_reason}]))
                .to_string(),
        );
        let mut usage = chunk(serde_json::json!([]));
        usage["usage"] = serde_json::json!({"prompt_tokens": 5, "completion_tokens": deltas.len()});
        events.push(usage.to_string());
        events.push("[DONE]".into());
        Reply {
            delay: Duration::ZERO,
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: ReplyBody::Sse(events, Duration::from_millis(2)),
        }
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn with_header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = Arc<dyn Fn(usize, &SeenRequest) -> Reply + Send + Sync>;

/// The running server. Dropping it stops accepting.
pub struct FakeServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    count: Arc<AtomicUsize>,
    gauge: Arc<Gauge>,
    task: tokio::task::JoinHandle<()>,
}

/// Requests being answered right now, and the most ever at once.
#[derive(Default)]
pub struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
    }
    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Starts a server; `handler(n, request)` answers the n-th (0-based) request.
    pub async fn start(
        handler: impl Fn(usize, &SeenRequest) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(handler, true).await
    }

    /// Like [`FakeServer::start`], but keeps no copy of the requests (for
    /// load tests).
    pub async fn start_unrecorded(
        handler: impl Fn(usize, &SeenRequest) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(handler, false).await
    }

    async fn start_with(
        handler: impl Fn(usize, &SeenRequest) -> Reply + Send + Sync + 'static,
        record: bool,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let handler: Handler = Arc::new(handler);
        let gauge = Arc::new(Gauge::default());
        let (s, c, g) = (Some(seen.clone()), count.clone(), gauge.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (h, s, c, g) = (handler.clone(), s.clone(), c.clone(), g.clone());
                tokio::spawn(async move {
                    let _ = serve_connection(stream, h, s.filter(|_| record), c, g).await;
                });
            }
        });
        FakeServer {
            addr,
            seen,
            count,
            gauge,
            task,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.gauge.max.load(Ordering::SeqCst)
    }
}

async fn serve_connection(
    stream: TcpStream,
    handler: Handler,
    seen: Option<Arc<Mutex<Vec<SeenRequest>>>>,
    count: Arc<AtomicUsize>,
    gauge: Arc<Gauge>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut stream = stream;
    // One buffer per connection; requests are parsed in place.
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            if read_more(&mut stream, &mut buf).await? == 0 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split_whitespace();
        let method = first.next().unwrap_or_default().to_string();
        let path = first.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        let mut length = 0usize;
        for h in lines.filter(|l| !l.is_empty()) {
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k.to_string(), v.to_string()));
            }
        }
        while buf.len() < head_end + length {
            if read_more(&mut stream, &mut buf).await? == 0 {
                return Ok(());
            }
        }
        let request = SeenRequest {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned(),
        };
        buf.drain(..head_end + length);
        let n = count.fetch_add(1, Ordering::SeqCst);
        if let Some(seen) = &seen {
            seen.lock().unwrap().push(request.clone());
        }
        let reply = handler(n, &request);
        gauge.enter();
        tokio::time::sleep(reply.delay).await;
        let result = write_reply(&mut stream, &reply).await;
        gauge.leave();
        if !result? {
            return Ok(());
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Writes the reply; returns whether the connection stays open.
async fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<bool> {
    {
        let reason = match reply.status {
            200 => "OK",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason);
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        match &reply.body {
            ReplyBody::Raw(text) => {
                // Head and body in one write: one packet, as real servers do.
                head.push_str(&format!("content-length: {}\r\n\r\n", text.len()));
                head.push_str(text);
                stream.write_all(head.as_bytes()).await?;
                Ok(true)
            }
            ReplyBody::Sse(events, pause) => {
                head.push_str("cache-control: no-cache\r\nconnection: close\r\n\r\n");
                stream.write_all(head.as_bytes()).await?;
                for e in events {
                    stream
                        .write_all(format!("data: {e}\n\n").as_bytes())
                        .await?;
                    stream.flush().await?;
                    tokio::time::sleep(*pause).await;
                }
                Ok(false)
            }
        }
    }
}
