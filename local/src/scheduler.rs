//! The decoding loop: continuous batching over one llama.cpp context.
//!
//! One thread owns the model's only context. Every request in flight is a
//! *sequence* of that context (up to [`LocalOptions::slots`] of them), and
//! each step of the loop evaluates one batch that holds the next token of
//! every generating sequence plus a chunk of at most `batch_size` prompt
//! tokens of the requests still reading their prompts. On two cores a
//! step's cost grows much slower than its token count (the weights are
//! read once per step), so concurrent requests — best-of-n's samples,
//! `hone bench --jobs`, `hone serve`'s clients — share the work instead of
//! queueing behind each other.
//!
//! Requests join between steps and leave when they finish or their
//! requester goes away. Each sequence has its own stream of KV cells
//! (llama.cpp's split cache, not the unified one), so its attention never
//! reads the others' cells: with the unified cache, greedy answers changed
//! with whatever else was in the batch. A request whose prompt starts like
//! another sequence's tokens (its own earlier turn, a sibling sample) copies
//! that stream and keeps the common prefix instead of evaluating it again;
//! a sequence that is idle keeps its tokens for the next request.
//!
//! Sampling is per sequence (temperature, top-p, seed, grammar, stop
//! strings). llama.cpp does not promise bit-identical logits across batch
//! compositions (large batches take other kernels), so the text of a
//! greedy request can in principle depend on what shared its batches;
//! `tests/model.rs` checks that concurrent greedy requests answer as they
//! do alone.
//!
//! [`LocalOptions::slots`]: crate::LocalOptions::slots

use std::num::NonZeroU32;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Instant;

use hone_core::{FinishReason, ModelError, Usage};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::DecodeError;

use crate::engine::{backend, sampler, Job, LocalStats, Shared, WorkerEvent};
use crate::text::{StopMatcher, Utf8Decoder};

/// A joining request waits for another sequence's prompt evaluation only
/// when that saves at least this many tokens.
const FOLLOW_MIN_TOKENS: usize = 16;

/// Length of the common prefix of two token lists.
pub(crate) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// One sequence of the context: the tokens its KV cells hold (positions
/// `0..cached.len()`, all evaluated) and the request using it, if any.
struct Sequence {
    id: i32,
    cached: Vec<LlamaToken>,
    active: Option<Active>,
}

/// A request being served by a sequence.
struct Active {
    job: Job,
    stats: LocalStats,
    usage: Usage,
    /// The choice (of `n`) being generated.
    choice: u32,
    /// Set once the prompt is evaluated for the current choice.
    generation: Option<Generation>,
    /// When its prompt evaluation started (first chunk in a batch).
    prompt_started: Option<Instant>,
    /// Arrival order, so prompts are read first come, first served.
    arrival: u64,
    /// Waits for another sequence to evaluate the first `.1` tokens of
    /// this prompt, to copy them instead of evaluating them twice.
    follow: Option<(usize, usize)>,
}

/// The state of one choice's generation.
struct Generation {
    sampler: LlamaSampler,
    decoder: Utf8Decoder,
    stops: StopMatcher,
    generated: u32,
    started: Instant,
    /// The token sampled last, to evaluate in the next batch.
    next: Option<LlamaToken>,
}

/// What one batch entry was for.
#[derive(Clone, Copy)]
struct Entry {
    seq: usize,
    /// Number of tokens this sequence has in the batch.
    tokens: usize,
    /// Batch index of the logits to sample from, if any.
    logits: Option<i32>,
}

/// The engine thread: owns the context and serves jobs until every sender
/// is gone.
pub(crate) fn engine_main(
    shared: Arc<Shared>,
    jobs: std_mpsc::Receiver<Job>,
    ready: std_mpsc::Sender<Result<(), String>>,
) {
    let sequences = shared.sequences;
    let Some(n_ctx) = u32::try_from(sequences)
        .ok()
        .and_then(|s| shared.n_ctx.checked_mul(s))
        .and_then(NonZeroU32::new)
    else {
        let _ = ready.send(Err("context length or sequence count out of range".into()));
        return;
    };
    let params = LlamaContextParams::default()
        .with_n_ctx(Some(n_ctx))
        .with_n_batch(shared.n_batch)
        .with_n_ubatch(shared.n_batch)
        .with_n_seq_max(sequences as u32)
        .with_kv_unified(false)
        .with_n_threads(shared.threads)
        .with_n_threads_batch(shared.threads);
    let backend = match backend() {
        Ok(b) => b,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let ctx = match shared.model.new_context(backend, params) {
        Ok(ctx) => ctx,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot create a context: {e}")));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    let mut engine = Engine {
        batch: LlamaBatch::new(shared.n_batch as usize, 1),
        shared: Arc::clone(&shared),
        ctx,
        seqs: (0..sequences)
            .map(|id| Sequence {
                id: id as i32,
                cached: Vec::new(),
                active: None,
            })
            .collect(),
        waiting: std::collections::VecDeque::new(),
        arrivals: 0,
    };
    engine.run(&jobs);
}

struct Engine<'m> {
    shared: Arc<Shared>,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'m>,
    seqs: Vec<Sequence>,
    /// Jobs that found no free sequence (cannot happen while the request
    /// semaphore matches the sequence count; kept for safety).
    waiting: std::collections::VecDeque<Job>,
    arrivals: u64,
}

impl Engine<'_> {
    fn run(&mut self, jobs: &std_mpsc::Receiver<Job>) {
        loop {
            let busy = self.seqs.iter().any(|s| s.active.is_some());
            if !busy && self.waiting.is_empty() {
                match jobs.recv() {
                    Ok(job) => self.waiting.push_back(job),
                    Err(_) => return,
                }
            }
            while let Ok(job) = jobs.try_recv() {
                self.waiting.push_back(job);
            }
            while let Some(job) = self.waiting.pop_front() {
                if let Err(job) = self.admit(job) {
                    self.waiting.push_front(job);
                    break;
                }
            }
            self.drop_cancelled();
            self.step();
        }
    }

    /// Gives `job` a free sequence holding as much of its prompt as any
    /// sequence does; hands the job back when every sequence is busy.
    fn admit(&mut self, job: Job) -> Result<(), Job> {
        let prompt = &job.prompt;
        let Some(dest) = self
            .seqs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.active.is_none())
            .max_by_key(|(i, s)| (common_prefix(&s.cached, prompt), std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
        else {
            return Err(job);
        };
        // Always evaluate at least the last prompt token: its logits start
        // generation.
        let limit = prompt.len() - 1;
        let mut keep = 0;
        if self.shared.prefix_reuse {
            keep = common_prefix(&self.seqs[dest].cached, prompt).min(limit);
            // Another sequence (busy or idle) may hold a longer prefix: share
            // its cells.
            let donor = self
                .seqs
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != dest)
                .map(|(i, s)| (common_prefix(&s.cached, prompt).min(limit), i))
                .max();
            if let Some((len, src)) = donor.filter(|(len, _)| *len > keep) {
                keep = if self.share_prefix(src, dest, len) {
                    len
                } else {
                    0
                };
            }
        }
        self.truncate(dest, keep);
        // A sequence still reading a prompt that starts like this one
        // (best-of-n's samples arrive together): wait for it and copy.
        let follow = if self.shared.prefix_reuse {
            self.seqs
                .iter()
                .enumerate()
                .filter(|(i, s)| {
                    *i != dest && s.active.as_ref().is_some_and(|a| a.generation.is_none())
                })
                .filter_map(|(i, s)| {
                    let a = s.active.as_ref()?;
                    Some((common_prefix(&a.job.prompt, prompt).min(limit), i))
                })
                .max()
                .filter(|(len, _)| *len >= keep + FOLLOW_MIN_TOKENS)
                .map(|(len, i)| (i, len))
        } else {
            None
        };
        let stats = LocalStats {
            requests: 1,
            prompt_tokens: prompt.len() as u64,
            ..Default::default()
        };
        let usage = Usage {
            input_tokens: prompt.len() as u64,
            output_tokens: 0,
        };
        self.arrivals += 1;
        self.seqs[dest].active = Some(Active {
            job,
            stats,
            usage,
            choice: 0,
            generation: None,
            prompt_started: None,
            arrival: self.arrivals,
            follow,
        });
        Ok(())
    }

    /// Makes sequence `dest` hold the first `len` tokens of `src`. The split
    /// cache copies whole streams only: copy, then cut after `len`. False
    /// when the cache refused, with `dest` left empty.
    fn share_prefix(&mut self, src: usize, dest: usize, len: usize) -> bool {
        let (src_id, dest_id) = (self.seqs[src].id, self.seqs[dest].id);
        self.clear_seq(dest);
        if self
            .ctx
            .copy_kv_cache_seq(src_id, dest_id, None, None)
            .is_err()
        {
            return false;
        }
        self.seqs[dest].cached = self.seqs[src].cached.clone();
        self.truncate(dest, len);
        self.seqs[dest].cached.len() == len
    }

    /// Drops the cells of sequence `seq` from position `keep` on.
    fn truncate(&mut self, seq: usize, keep: usize) {
        if keep >= self.seqs[seq].cached.len() {
            return;
        }
        let id = self.seqs[seq].id as u32;
        let removed = u32::try_from(keep)
            .ok()
            .and_then(|p| self.ctx.clear_kv_cache_seq(Some(id), Some(p), None).ok())
            .unwrap_or(false);
        if removed {
            self.seqs[seq].cached.truncate(keep);
        } else {
            self.clear_seq(seq);
        }
    }

    /// Empties sequence `seq`'s cells.
    fn clear_seq(&mut self, seq: usize) {
        let id = self.seqs[seq].id as u32;
        let _ = self.ctx.clear_kv_cache_seq(Some(id), None, None);
        self.seqs[seq].cached.clear();
    }

    /// Ends the requests whose requester went away.
    fn drop_cancelled(&mut self) {
        for seq in 0..self.seqs.len() {
            let cancelled = self.seqs[seq]
                .active
                .as_ref()
                .is_some_and(|a| a.job.events.is_closed());
            if cancelled {
                tracing::debug!(seq, "local request cancelled");
                self.end(seq, None);
            }
        }
    }

    /// One batch: the next token of every generating sequence, then prompt
    /// chunks first come, first served, up to the batch size.
    fn step(&mut self) {
        self.resolve_follows();
        let n_batch = self.shared.n_batch as usize;
        self.batch.clear();
        let mut entries: Vec<Entry> = Vec::new();
        let mut failed: Option<(usize, ModelError)> = None;
        for (i, s) in self.seqs.iter().enumerate() {
            let Some(token) = s
                .active
                .as_ref()
                .and_then(|a| a.generation.as_ref())
                .and_then(|g| g.next)
            else {
                continue;
            };
            let index = self.batch.n_tokens();
            match self.batch.add(token, s.cached.len() as i32, &[s.id], true) {
                Ok(()) => entries.push(Entry {
                    seq: i,
                    tokens: 1,
                    logits: Some(index),
                }),
                Err(e) => failed = failed.or(Some((i, batch_err(e)))),
            }
        }
        let mut readers: Vec<(u64, usize)> = self
            .seqs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.active
                    .as_ref()
                    .filter(|a| a.generation.is_none() && a.follow.is_none())
                    .map(|a| (a.arrival, i))
            })
            .collect();
        readers.sort_unstable();
        for (_, i) in readers {
            let room = n_batch.saturating_sub(self.batch.n_tokens() as usize);
            if room == 0 {
                break;
            }
            let s = &self.seqs[i];
            let Some(active) = s.active.as_ref() else {
                continue;
            };
            let prompt = &active.job.prompt;
            let start = s.cached.len();
            let take = room.min(prompt.len() - start);
            let mut logits = None;
            for (k, &token) in prompt[start..start + take].iter().enumerate() {
                let last = start + k + 1 == prompt.len();
                let index = self.batch.n_tokens();
                if let Err(e) = self.batch.add(token, (start + k) as i32, &[s.id], last) {
                    failed = failed.or(Some((i, batch_err(e))));
                    break;
                }
                if last {
                    logits = Some(index);
                }
            }
            entries.push(Entry {
                seq: i,
                tokens: take,
                logits,
            });
        }
        if let Some((seq, e)) = failed {
            // A batch that does not fit its buffer is a bug, not a state to
            // continue from: fail the request it happened to.
            self.end(seq, Some(e));
            return;
        }
        if entries.is_empty() {
            return;
        }
        if let Ok(mut total) = self.shared.stats.lock() {
            total.peak_batch_requests = total.peak_batch_requests.max(entries.len() as u64);
        }
        let decode_only = entries.iter().all(|e| {
            self.seqs[e.seq]
                .active
                .as_ref()
                .is_some_and(|a| a.generation.is_some())
        });
        let now = Instant::now();
        for e in &entries {
            if let Some(a) = self.seqs[e.seq].active.as_mut() {
                if a.generation.is_none() && a.prompt_started.is_none() {
                    a.prompt_started = Some(now);
                }
            }
        }
        if let Err(e) = self.decode() {
            for entry in &entries {
                let s = &self.seqs[entry.seq];
                let keep = s.cached.len();
                // Whatever the failed batch left in the cache goes.
                let id = s.id as u32;
                if let Ok(p) = u32::try_from(keep) {
                    let _ = self.ctx.clear_kv_cache_seq(Some(id), Some(p), None);
                }
                self.end(entry.seq, Some(ModelError::Backend(format!("decode: {e}"))));
            }
            return;
        }
        let sampled = entries.len() as u64;
        for entry in entries {
            self.advance(entry);
        }
        if decode_only {
            if let Ok(mut total) = self.shared.stats.lock() {
                total.decode_only_tokens += sampled;
                total.decode_only_seconds += now.elapsed().as_secs_f64();
            }
        }
    }

    /// Followers whose leader has evaluated the shared prefix copy it; those
    /// whose leader is gone or took another turn read their prompt alone.
    fn resolve_follows(&mut self) {
        for i in 0..self.seqs.len() {
            let Some((leader, len)) = self.seqs[i].active.as_ref().and_then(|a| a.follow) else {
                continue;
            };
            let prompt_prefix = self.seqs[i].active.as_ref().map_or(0, |a| {
                common_prefix(&self.seqs[leader].cached, &a.job.prompt)
            });
            let leader_reading = self.seqs[leader]
                .active
                .as_ref()
                .is_some_and(|a| a.generation.is_none());
            if prompt_prefix >= len {
                // On failure the follower simply reads its whole prompt.
                self.share_prefix(leader, i, len);
            } else if leader_reading && self.seqs[leader].cached.len() < len {
                continue;
            }
            if let Some(a) = self.seqs[i].active.as_mut() {
                a.follow = None;
            }
        }
    }

    /// Decodes the batch; when the cache is full, evicts the idle
    /// sequences' cells and tries once more.
    fn decode(&mut self) -> Result<(), DecodeError> {
        match self.ctx.decode(&mut self.batch) {
            Err(DecodeError::NoKvCacheSlot) => {
                let idle: Vec<usize> = (0..self.seqs.len())
                    .filter(|&i| self.seqs[i].active.is_none() && !self.seqs[i].cached.is_empty())
                    .collect();
                if idle.is_empty() {
                    return Err(DecodeError::NoKvCacheSlot);
                }
                for i in idle {
                    self.clear_seq(i);
                }
                self.ctx.decode(&mut self.batch)
            }
            other => other,
        }
    }

    /// Records what the batch evaluated for `entry`'s sequence and samples
    /// its next token when the batch produced its logits.
    fn advance(&mut self, entry: Entry) {
        match self.sample(entry) {
            None => {}
            Some(Ok(finish)) => self.finish_choice(entry.seq, finish),
            Some(Err(e)) => self.end(entry.seq, Some(e)),
        }
    }

    /// [`Engine::advance`]'s work: how the current choice ended, if it did.
    fn sample(&mut self, entry: Entry) -> Option<Result<FinishReason, ModelError>> {
        let shared = &self.shared;
        let n_ctx = shared.n_ctx as usize;
        let s = &mut self.seqs[entry.seq];
        let active = s.active.as_mut()?;
        match active.generation.as_mut().and_then(|g| g.next.take()) {
            Some(token) => s.cached.push(token),
            None => {
                let start = s.cached.len();
                s.cached
                    .extend_from_slice(&active.job.prompt[start..start + entry.tokens]);
                if active.choice == 0 {
                    active.stats.prompt_tokens_evaluated += entry.tokens as u64;
                }
            }
        }
        let logits = entry.logits?;
        if active.generation.is_none() {
            // The prompt is evaluated: time it and start sampling.
            if active.choice == 0 {
                active.stats.prompt_tokens_reused = active
                    .stats
                    .prompt_tokens
                    .saturating_sub(active.stats.prompt_tokens_evaluated);
                active.stats.prompt_seconds = active
                    .prompt_started
                    .map_or(0.0, |t| t.elapsed().as_secs_f64());
            }
            let sampler = match sampler(&shared.model, &active.job.params, active.choice) {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            active.generation = Some(Generation {
                sampler,
                decoder: Utf8Decoder::default(),
                stops: StopMatcher::new(active.job.params.stop.clone()),
                generated: 0,
                started: Instant::now(),
                next: None,
            });
        }
        let generation = active.generation.as_mut()?;
        let vocab = shared.model.vocab();
        if active
            .job
            .params
            .max_tokens
            .is_some_and(|m| generation.generated >= m)
            || s.cached.len() >= n_ctx
        {
            return Some(Ok(FinishReason::Length));
        }
        let token = generation.sampler.sample(&self.ctx, logits);
        if vocab.is_eog(token) {
            return Some(Ok(FinishReason::Stop));
        }
        generation.generated += 1;
        let piece = generation
            .decoder
            .push(&vocab.token_to_piece(token, false, None));
        let (text, stopped) = generation.stops.push(&piece);
        if !text.is_empty() {
            let _ = active.job.events.send(WorkerEvent::Delta {
                choice: active.choice,
                text,
            });
        }
        if stopped {
            return Some(Ok(FinishReason::Stop));
        }
        generation.next = Some(token);
        None
    }

    /// Ends the current choice; starts the next one or ends the request.
    fn finish_choice(&mut self, seq: usize, finish: FinishReason) {
        let Some(active) = self.seqs[seq].active.as_mut() else {
            return;
        };
        let Some(mut generation) = active.generation.take() else {
            return;
        };
        // Flush an incomplete character and text held back for a stop
        // sequence that never came (both empty after a stop sequence).
        let (rest, _) = generation.stops.push(&generation.decoder.finish());
        let tail = format!("{rest}{}", generation.stops.finish());
        if !tail.is_empty() {
            let _ = active.job.events.send(WorkerEvent::Delta {
                choice: active.choice,
                text: tail,
            });
        }
        active.stats.generated_tokens += u64::from(generation.generated);
        active.stats.generation_seconds += generation.started.elapsed().as_secs_f64();
        active.usage.output_tokens += u64::from(generation.generated);
        let _ = active.job.events.send(WorkerEvent::Finished {
            text: generation.stops.text().to_string(),
            finish,
        });
        active.choice += 1;
        if active.choice < active.job.params.n {
            // Rewind to the end of the prompt for the next alternative; the
            // last prompt token is evaluated again for fresh logits.
            let last = active.job.prompt.len() - 1;
            self.truncate(seq, last);
            return;
        }
        self.end(seq, None);
    }

    /// Ends `seq`'s request: with its usage when it finished (`None`
    /// error), an error, or nothing when cancelled. Counters are added
    /// before the requester hears the answer; dropping the job releases
    /// its permit once the sequence is free.
    fn end(&mut self, seq: usize, error: Option<ModelError>) {
        let Some(active) = self.seqs[seq].active.take() else {
            return;
        };
        if let Ok(mut total) = self.shared.stats.lock() {
            total.requests += active.stats.requests;
            total.prompt_tokens += active.stats.prompt_tokens;
            total.prompt_tokens_evaluated += active.stats.prompt_tokens_evaluated;
            total.prompt_tokens_reused += active.stats.prompt_tokens_reused;
            total.generated_tokens += active.stats.generated_tokens;
            total.prompt_seconds += active.stats.prompt_seconds;
            total.generation_seconds += active.stats.generation_seconds;
        }
        let cancelled = active.job.events.is_closed();
        let event = match error {
            Some(e) => {
                tracing::warn!(seq, error = %e, "local generation failed");
                Some(WorkerEvent::Error(e))
            }
            None if cancelled => None,
            None if active.generation.is_none() && active.choice >= active.job.params.n => {
                Some(WorkerEvent::Done {
                    usage: active.usage,
                })
            }
            None => None,
        };
        if let Some(event) = event {
            let _ = active.job.events.send(event);
        }
        drop(active);
    }
}

fn batch_err(e: llama_cpp_2::llama_batch::BatchAddError) -> ModelError {
    ModelError::Backend(format!("batch: {e}"))
}
