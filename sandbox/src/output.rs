//! Capped output capture: keeps the first N bytes, drops the rest and flags
//! truncation. Unlike wasmtime-wasi's `MemoryOutputPipe`, a full buffer never
//! traps the guest: writes keep "succeeding" so a flooding program runs into
//! its time limit, not into a fault.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

#[derive(Debug, Default)]
struct Buffer {
    data: Vec<u8>,
    cap: usize,
    truncated: bool,
    /// Writes from this marker on go to `marked` instead of `data`.
    marker: Option<&'static str>,
    marked: Option<Vec<u8>>,
}

/// A cloneable handle on one capped capture buffer.
#[derive(Debug, Clone, Default)]
pub(crate) struct CappedPipe {
    inner: Arc<Mutex<Buffer>>,
}

impl CappedPipe {
    pub(crate) fn new(cap: usize) -> Self {
        CappedPipe {
            inner: Arc::new(Mutex::new(Buffer {
                data: Vec::new(),
                cap,
                truncated: false,
                marker: None,
                marked: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Buffer> {
        // A poisoned lock only means a panic elsewhere; the bytes are fine.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Diverts everything written from `marker` on (up to a newline) into a
    /// separate slot, read with [`CappedPipe::take_marked`].
    pub(crate) fn set_marker(&self, marker: &'static str) {
        self.lock().marker = Some(marker);
    }

    /// The text written after the marker, if any was written.
    pub(crate) fn take_marked(&self) -> Option<String> {
        self.lock()
            .marked
            .take()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
    }

    fn push(&self, bytes: &[u8]) {
        let mut buf = self.lock();
        let mut bytes = bytes;
        if let Some(marked) = buf.marked.as_mut() {
            if marked.last() != Some(&b'\n') {
                let room = (64 * 1024usize).saturating_sub(marked.len());
                marked.extend_from_slice(&bytes[..bytes.len().min(room)]);
                return;
            }
        }
        if let Some(marker) = buf.marker {
            if let Some(at) = find(bytes, marker.as_bytes()) {
                let tail = &bytes[at + marker.len()..];
                buf.marked = Some(tail[..tail.len().min(64 * 1024)].to_vec());
                bytes = &bytes[..at];
            }
        }
        let room = buf.cap.saturating_sub(buf.data.len());
        if bytes.len() > room {
            buf.truncated = true;
        }
        let take = bytes.len().min(room);
        buf.data.extend_from_slice(&bytes[..take]);
    }

    /// Empties the buffer (for the next call of a session) with a new cap.
    pub(crate) fn reset(&self, cap: usize) {
        let mut buf = self.lock();
        buf.data = Vec::new();
        buf.cap = cap;
        buf.truncated = false;
        buf.marked = None;
    }

    /// Takes the contents as lossy UTF-8, plus the truncation flag.
    pub(crate) fn take(&self) -> (String, bool) {
        let mut buf = self.lock();
        let data = std::mem::take(&mut buf.data);
        let truncated = buf.truncated;
        buf.truncated = false;
        (String::from_utf8_lossy(&data).into_owned(), truncated)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept a full chunk; excess is discarded in `write`.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_prefix_and_flags_truncation() {
        let pipe = CappedPipe::new(5);
        pipe.push(b"abc");
        pipe.push(b"defg");
        assert_eq!(pipe.take(), ("abcde".to_string(), true));
        pipe.reset(10);
        pipe.push(b"xyz");
        assert_eq!(pipe.take(), ("xyz".to_string(), false));
    }

    #[test]
    fn marker_is_diverted() {
        let pipe = CappedPipe::new(100);
        pipe.set_marker("@@");
        pipe.push(b"warn\n@@{\"a\"");
        pipe.push(b":1}\n");
        assert_eq!(pipe.take_marked().as_deref(), Some("{\"a\":1}\n"));
        assert_eq!(pipe.take(), ("warn\n".to_string(), false));
    }

    #[test]
    fn exact_fit_is_not_truncated() {
        let pipe = CappedPipe::new(3);
        pipe.push(b"abc");
        pipe.push(b"");
        assert_eq!(pipe.take(), ("abc".to_string(), false));
    }
}
