//! A content-addressed response cache on disk.
//!
//! [`CachedModel`] wraps any [`LanguageModel`]. The key of a call is the
//! SHA-256 of the canonical JSON of the model's identity (backend, model,
//! endpoint) and the whole [`ChatRequest`] — sampling parameters and
//! [`ChatRequest::sample_index`] included — so re-running anything makes zero
//! model calls, while the k-th sample of a deliberately repeated request gets
//! its own entry.
//!
//! Entries are written to a temporary file in the target directory, synced,
//! then renamed into place: a reader sees either no entry or a complete one,
//! with any number of concurrent writers and with a writer killed mid-write.
//! An entry that fails to parse or whose recorded key does not match is
//! treated as a miss and overwritten. Credentials are never part of a request,
//! so they never reach the cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{
    ChatRequest, ChatResponse, ChatStream, LanguageModel, ModelDescriptor, ModelError, StreamEvent,
};

/// Version of the entry format; part of the key so a format change never
/// reads old entries.
const FORMAT_VERSION: u32 = 1;

/// Errors of the cache store itself (a cache failure never fails a model call:
/// [`CachedModel`] logs it and carries on uncached).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The cache directory could not be created or written.
    #[error("response cache at {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A request could not be serialised into a key.
    #[error("response cache key: {0}")]
    Key(#[from] serde_json::Error),
}

#[derive(Serialize)]
struct KeyMaterial<'a> {
    v: u32,
    backend: &'a str,
    model: &'a str,
    endpoint: Option<&'a str>,
    request: &'a ChatRequest,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    model: ModelDescriptor,
    request: ChatRequest,
    response: ChatResponse,
}

/// The on-disk store: one JSON file per entry, under a two-level fan-out
/// directory (`ab/abcdef….json`).
///
/// ```
/// use hone_core::cache::CacheStore;
/// let dir = tempfile::tempdir().unwrap();
/// let store = CacheStore::open(dir.path()).unwrap();
/// assert_eq!(store.entry_count(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct CacheStore {
    root: PathBuf,
}

impl CacheStore {
    /// Opens (creating if needed) a cache rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|source| CacheError::Io {
            path: root.clone(),
            source,
        })?;
        Ok(CacheStore { root })
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The key of `request` sent to the model described by `model`.
    ///
    /// ```
    /// use hone_core::{cache::CacheStore, ChatRequest, Message, ModelDescriptor};
    /// let m = ModelDescriptor { backend: "openai".into(), model: "gpt".into(), endpoint: None };
    /// let a = ChatRequest::new(vec![Message::user("hi")]);
    /// let b = a.clone().with_sample_index(1);
    /// assert_ne!(CacheStore::key(&m, &a).unwrap(), CacheStore::key(&m, &b).unwrap());
    /// ```
    pub fn key(model: &ModelDescriptor, request: &ChatRequest) -> Result<String, CacheError> {
        let material = KeyMaterial {
            v: FORMAT_VERSION,
            backend: &model.backend,
            model: &model.model,
            endpoint: model.endpoint.as_deref(),
            request,
        };
        let bytes = serde_json::to_vec(&material)?;
        Ok(hex::encode(Sha256::digest(&bytes)))
    }

    fn path_of(&self, key: &str) -> PathBuf {
        let (fan, _) = key.split_at(2.min(key.len()));
        self.root.join(fan).join(format!("{key}.json"))
    }

    /// Looks up an entry; a missing, torn or mismatching entry is `None`.
    pub fn get(&self, key: &str) -> Option<ChatResponse> {
        let path = self.path_of(key);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unreadable cache entry ignored");
                return None;
            }
        };
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(entry) if entry.key == key => Some(entry.response),
            Ok(_) => {
                tracing::warn!(path = %path.display(), "cache entry with a foreign key ignored");
                None
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "corrupt cache entry ignored");
                None
            }
        }
    }

    /// Stores an entry atomically (temporary file, fsync, rename).
    pub fn put(
        &self,
        key: &str,
        model: &ModelDescriptor,
        request: &ChatRequest,
        response: &ChatResponse,
    ) -> Result<(), CacheError> {
        let path = self.path_of(key);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let io = |source| CacheError::Io {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let entry = Entry {
            key: key.to_string(),
            model: model.clone(),
            request: request.clone(),
            response: response.clone(),
        };
        let bytes = serde_json::to_vec(&entry)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".part")
            .tempfile_in(&dir)
            .map_err(io)?;
        tmp.write_all(&bytes).map_err(io)?;
        tmp.as_file().sync_data().map_err(io)?;
        tmp.persist(&path).map_err(|e| CacheError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Number of complete entries.
    pub fn entry_count(&self) -> usize {
        let Ok(fans) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        fans.flatten()
            .filter_map(|fan| std::fs::read_dir(fan.path()).ok())
            .flat_map(|entries| entries.flatten())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count()
    }

    /// Removes temporary files left by writers that were killed mid-write and
    /// are older than `age`. Returns how many were removed.
    pub fn sweep_partial_writes(&self, age: std::time::Duration) -> usize {
        let mut removed = 0;
        let Ok(fans) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        for fan in fans.flatten() {
            let Ok(entries) = std::fs::read_dir(fan.path()) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|a| a >= age);
                if name.starts_with(".tmp-") && old && std::fs::remove_file(e.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }
}

/// Hit and miss counts of a [`CachedModel`].
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheStats {
    /// Calls answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
    /// Calls that reached the model.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

/// A [`LanguageModel`] that answers repeated requests from a [`CacheStore`].
///
/// ```
/// use hone_core::{cache::{CacheStore, CachedModel}, ChatRequest, LanguageModel, Message, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let inner = ScriptedModel::in_order(["42"]);
/// let model = CachedModel::new(inner.clone(), CacheStore::open(dir.path()).unwrap());
/// let req = ChatRequest::new(vec![Message::user("answer?")]);
/// assert_eq!(model.chat(&req).await.unwrap().first_text(), "42");
/// let again = model.chat(&req).await.unwrap(); // the script is empty: this is the cache
/// assert!(again.from_cache);
/// assert_eq!(inner.requests().len(), 1);
/// # });
/// ```
pub struct CachedModel<M> {
    inner: M,
    store: CacheStore,
    stats: Arc<CacheStats>,
}

impl<M: LanguageModel> CachedModel<M> {
    /// Wraps `inner` with `store`.
    pub fn new(inner: M, store: CacheStore) -> Self {
        CachedModel {
            inner,
            store,
            stats: Arc::new(CacheStats::default()),
        }
    }

    /// Hit and miss counts.
    pub fn stats(&self) -> Arc<CacheStats> {
        self.stats.clone()
    }

    fn key_for(&self, request: &ChatRequest) -> Option<String> {
        match CacheStore::key(&self.inner.descriptor(), request) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(error = %e, "request cannot be cached");
                None
            }
        }
    }

    fn store_response(&self, key: &str, request: &ChatRequest, response: &ChatResponse) {
        if let Err(e) = self
            .store
            .put(key, &self.inner.descriptor(), request, response)
        {
            tracing::warn!(error = %e, "response not cached");
        }
    }
}

#[async_trait]
impl<M: LanguageModel> LanguageModel for CachedModel<M> {
    fn descriptor(&self) -> ModelDescriptor {
        self.inner.descriptor()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let key = self.key_for(request);
        if let Some(key) = &key {
            if let Some(mut hit) = self.store.get(key) {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                hit.from_cache = true;
                return Ok(hit);
            }
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let response = self.inner.chat(request).await?;
        if let Some(key) = &key {
            self.store_response(key, request, &response);
        }
        Ok(response)
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ModelError> {
        let Some(key) = self.key_for(request) else {
            return self.inner.chat_stream(request).await;
        };
        if let Some(mut hit) = self.store.get(&key) {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            hit.from_cache = true;
            return Ok(hit.into_stream());
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let inner = self.inner.chat_stream(request).await?;
        let store = self.store.clone();
        let descriptor = self.inner.descriptor();
        let request = request.clone();
        // Only a stream that reaches its final `Done` event is cached, so an
        // interrupted stream never leaves a partial answer behind.
        let stream = inner.inspect(move |event| {
            if let Ok(StreamEvent::Done(response)) = event {
                if let Err(e) = store.put(&key, &descriptor, &request, response) {
                    tracing::warn!(error = %e, "streamed response not cached");
                }
            }
        });
        Ok(Box::pin(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, ScriptedModel};

    fn req(text: &str) -> ChatRequest {
        ChatRequest::new(vec![Message::user(text)])
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn hit_and_miss() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let inner = ScriptedModel::in_order(["a", "b"]);
            let model = CachedModel::new(inner.clone(), CacheStore::open(dir.path()).unwrap());
            assert_eq!(model.chat(&req("x")).await.unwrap().first_text(), "a");
            assert_eq!(model.chat(&req("y")).await.unwrap().first_text(), "b");
            let hit = model.chat(&req("x")).await.unwrap();
            assert_eq!(hit.first_text(), "a");
            assert!(hit.from_cache);
            assert_eq!(model.stats().hits(), 1);
            assert_eq!(model.stats().misses(), 2);
            assert_eq!(inner.requests().len(), 2);
        });
    }

    #[test]
    fn key_covers_sampling_and_sample_index_and_model() {
        let m = ModelDescriptor {
            backend: "openai".into(),
            model: "a".into(),
            endpoint: None,
        };
        let base = req("q");
        let k = CacheStore::key(&m, &base).unwrap();
        assert_eq!(k, CacheStore::key(&m, &base.clone()).unwrap());
        assert_ne!(
            k,
            CacheStore::key(&m, &base.clone().with_temperature(0.7)).unwrap()
        );
        assert_ne!(
            k,
            CacheStore::key(&m, &base.clone().with_sample_index(2)).unwrap()
        );
        let other = ModelDescriptor {
            model: "b".into(),
            ..m.clone()
        };
        assert_ne!(k, CacheStore::key(&other, &base).unwrap());
    }

    #[test]
    fn torn_entry_is_a_miss_and_gets_rewritten() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = CacheStore::open(dir.path()).unwrap();
            let inner = ScriptedModel::in_order(["fresh"]);
            let key = CacheStore::key(&inner.descriptor(), &req("x")).unwrap();
            let path = store.path_of(&key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, br#"{"key":"abc","model":{"backend""#).unwrap();
            let model = CachedModel::new(inner, store.clone());
            let r = model.chat(&req("x")).await.unwrap();
            assert_eq!(r.first_text(), "fresh");
            assert!(!r.from_cache);
            assert_eq!(store.get(&key).unwrap().first_text(), "fresh");
        });
    }

    #[test]
    fn errors_are_not_cached() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let inner = ScriptedModel::new();
            inner.push_error(ModelError::Server {
                status: 500,
                message: "boom".into(),
            });
            inner.push_text("ok");
            let model = CachedModel::new(inner, CacheStore::open(dir.path()).unwrap());
            assert!(model.chat(&req("x")).await.is_err());
            assert_eq!(model.chat(&req("x")).await.unwrap().first_text(), "ok");
            assert!(model.chat(&req("x")).await.unwrap().from_cache);
        });
    }

    #[test]
    fn streamed_responses_are_cached_once_complete() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let inner = ScriptedModel::in_order(["streamed"]);
            let model = CachedModel::new(inner, CacheStore::open(dir.path()).unwrap());
            let events: Vec<_> = model.chat_stream(&req("s")).await.unwrap().collect().await;
            assert!(matches!(events.last(), Some(Ok(StreamEvent::Done(_)))));
            let again = model.chat(&req("s")).await.unwrap();
            assert!(again.from_cache);
            assert_eq!(again.first_text(), "streamed");
        });
    }

    #[test]
    fn sweep_removes_only_old_partial_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = CacheStore::open(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("ab")).unwrap();
        std::fs::write(dir.path().join("ab/.tmp-x.part"), b"{").unwrap();
        std::fs::write(dir.path().join("ab/abcd.json"), b"{}").unwrap();
        assert_eq!(
            store.sweep_partial_writes(std::time::Duration::from_secs(3600)),
            0
        );
        assert_eq!(store.sweep_partial_writes(std::time::Duration::ZERO), 1);
        assert_eq!(store.entry_count(), 1);
    }
}
