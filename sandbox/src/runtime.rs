//! Engines, loaded guests and single executions.
//!
//! Executions are async (wasmtime's async support) and run on a dedicated
//! worker thread's own single-threaded tokio runtime (see `sandbox.rs`), so
//! a wall-time limit holds whatever the guest does: epoch interruption stops
//! wasm code that runs, and a timer around the whole call drops a guest that
//! is blocked in a host call (a WASI sleep or poll), which epochs cannot
//! reach.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, ResourceTable};
use wasmtime::{
    Config, Engine, InstancePre, Linker, Module, ResourceLimiter, Store, StoreLimits,
    StoreLimitsBuilder, Trap,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::artifacts::{self, GuestBytes};
use crate::error::{Result, SandboxError};
use crate::output::CappedPipe;
use crate::{Cell, ExecResult, HostTools, Limits, Mount, Status};

/// Granularity of wall-time limits: the epoch ticker's period.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Largest wasm stack a guest may use. Worker threads get
/// [`WORKER_STACK_BYTES`], comfortably more.
const MAX_WASM_STACK: usize = 8 << 20;
/// Native stack of the worker threads that run guests.
pub(crate) const WORKER_STACK_BYTES: usize = 32 << 20;

mod bindings {
    wasmtime::component::bindgen!({
        path: "guest/wit",
        world: "python",
        imports: { "call-tool": async },
        exports: { default: async },
    });
}

// ---------------------------------------------------------------------------
// Engines: one per configuration, per process, each with its epoch ticker.

fn engine_registry() -> &'static Mutex<HashMap<bool, Engine>> {
    static ENGINES: OnceLock<Mutex<HashMap<bool, Engine>>> = OnceLock::new();
    ENGINES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The process-wide engine for the given fuel setting (created on first use,
/// together with a ticker thread that advances its epoch every
/// [`EPOCH_TICK`]).
pub(crate) fn engine(fuel: bool) -> Result<Engine> {
    let mut engines = engine_registry().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(engine) = engines.get(&fuel) {
        return Ok(engine.clone());
    }
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .consume_fuel(fuel)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (1 << 20))
        .memory_init_cow(true)
        .parallel_compilation(true);
    let engine = Engine::new(&config).map_err(|e| SandboxError::wasmtime("creating engine", e))?;
    let ticker = engine.clone();
    std::thread::Builder::new()
        .name("hone-sandbox-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            ticker.increment_epoch();
        })
        .map_err(|e| SandboxError::io("spawning the epoch ticker", e))?;
    engines.insert(fuel, engine.clone());
    Ok(engine)
}

/// Loads the precompiled form of `guest` from the cache, compiling and
/// storing it first when absent, stale or not intact. The artifact is native
/// code: it is loaded only from an absolute cache directory and only when it
/// matches the checksum the host wrote beside it (see [`artifacts`]).
fn load_precompiled<T>(
    engine: &Engine,
    cache_dir: &Path,
    guest: &GuestBytes,
    compile: impl Fn(&Engine, &[u8]) -> wasmtime::Result<Vec<u8>>,
    deserialize: impl Fn(&Engine, &Path) -> wasmtime::Result<T>,
    deserialize_bytes: impl Fn(&Engine, &[u8]) -> wasmtime::Result<T>,
) -> Result<T> {
    let compiling = || {
        tracing::info!(guest = %guest.path.display(), "precompiling guest (one-off)");
        compile(engine, &guest.bytes)
            .map_err(|e| SandboxError::wasmtime(&format!("compiling {}", guest.path.display()), e))
    };
    let Some(cached) = artifacts::precompiled_path(cache_dir, &guest.sha256, engine) else {
        tracing::warn!(
            cache_dir = %cache_dir.display(),
            "the cache directory is relative; compiling the guest without caching it"
        );
        let bytes = compiling()?;
        return deserialize_bytes(engine, &bytes)
            .map_err(|e| SandboxError::wasmtime("loading the compiled guest", e));
    };
    if cached.exists() {
        if artifacts::precompiled_is_intact(&cached) {
            match deserialize(engine, &cached) {
                Ok(t) => return Ok(t),
                Err(e) => {
                    tracing::warn!(path = %cached.display(), error = %e, "stale precompiled artifact; recompiling")
                }
            }
        } else {
            tracing::warn!(path = %cached.display(), "precompiled artifact does not match the checksum hone wrote; recompiling");
        }
    }
    let bytes = compiling()?;
    artifacts::write_precompiled(&cached, &bytes)?;
    deserialize(engine, &cached)
        .map_err(|e| SandboxError::wasmtime(&format!("loading {}", cached.display()), e))
}

// ---------------------------------------------------------------------------
// Shared pieces of a store.

/// `StoreLimits` plus a note of whether a growth was refused, so a guest that
/// dies after an allocation failure is classified as out of memory.
struct Limiter {
    inner: StoreLimits,
    denied: bool,
}

impl Limiter {
    fn new(memory_bytes: usize) -> Self {
        Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .trap_on_grow_failure(false)
                .build(),
            denied: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        self.denied |= !ok;
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Captured streams of one store.
#[derive(Clone)]
struct Capture {
    stdout: CappedPipe,
    stderr: CappedPipe,
}

impl Capture {
    fn new(limits: &Limits) -> Self {
        Capture {
            stdout: CappedPipe::new(limits.stdout_bytes),
            stderr: CappedPipe::new(limits.stderr_bytes),
        }
    }

    fn reset(&self, limits: &Limits) {
        self.stdout.reset(limits.stdout_bytes);
        self.stderr.reset(limits.stderr_bytes);
    }
}

/// A WASI context with no environment, no arguments beyond `args`, no
/// network, captured stdio and at most one read-only mount.
fn wasi_builder(capture: &Capture, mount: Option<&Mount>, args: &[&str]) -> Result<WasiCtxBuilder> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(capture.stdout.clone())
        .stderr(capture.stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .args(args);
    if let Some(mount) = mount {
        builder
            .preopened_dir(&mount.host_path, &mount.guest_path, FsPerms::ReadOnly)
            .map_err(|e| {
                SandboxError::wasmtime(&format!("mounting {}", mount.host_path.display()), e)
            })?;
    }
    Ok(builder)
}

fn prepare_store<T>(store: &mut Store<T>, limits: &Limits, fuel_enabled: bool) -> Result<()> {
    let ticks = limits
        .wall_time
        .as_millis()
        .div_ceil(EPOCH_TICK.as_millis())
        .max(1)
        + 1;
    store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
    match (fuel_enabled, limits.fuel) {
        (true, fuel) => store
            .set_fuel(fuel.unwrap_or(u64::MAX))
            .map_err(|e| SandboxError::wasmtime("setting fuel", e))?,
        (false, Some(_)) => {
            return Err(SandboxError::InvalidRequest(
                "a fuel limit needs a sandbox built with SandboxConfig::fuel = true".into(),
            ))
        }
        (false, None) => {}
    }
    Ok(())
}

fn fuel_consumed<T>(store: &Store<T>, limits: &Limits, fuel_enabled: bool) -> Option<u64> {
    if !fuel_enabled {
        return None;
    }
    let start = limits.fuel.unwrap_or(u64::MAX);
    store.get_fuel().ok().map(|left| start.saturating_sub(left))
}

/// Maps a wasmtime error from a guest call to a status.
fn classify_error(err: &wasmtime::Error, memory_denied: bool) -> Status {
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        return Status::Exit { code: exit.0 };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Status::Timeout,
        Some(Trap::OutOfFuel) => Status::OutOfFuel,
        _ if memory_denied => Status::OutOfMemory {
            traceback: String::new(),
        },
        Some(Trap::StackOverflow) => Status::GuestFault {
            message: "stack overflow (wasm call stack exhausted)".into(),
        },
        Some(trap) => Status::GuestFault {
            message: trap.to_string(),
        },
        None => Status::GuestFault {
            message: format!("{err:#}"),
        },
    }
}

/// How far past its limit an execution may run before the host drops it.
/// The epoch deadline fires first for wasm code that runs; this timer is for
/// a guest blocked in a host call.
const DEADLINE_SLACK: Duration = EPOCH_TICK;

/// Runs a guest call under the wall-time limit: `None` when the limit passed
/// while the guest was blocked in a host call (the call is dropped, which
/// leaves its store unusable).
async fn within_limit<T>(
    limit: Duration,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> Option<wasmtime::Result<T>> {
    tokio::time::timeout(limit + DEADLINE_SLACK, call)
        .await
        .ok()
}

// ---------------------------------------------------------------------------
// Python.

/// Store data of a Python execution.
pub(crate) struct PyState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    reports: Vec<String>,
    report_bytes: usize,
    report_cap: usize,
    reports_truncated: bool,
    tools: HostTools,
}

impl WasiView for PyState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::PythonImports for PyState {
    fn report(&mut self, data: String) {
        if self.report_bytes + data.len() > self.report_cap {
            self.reports_truncated = true;
            return;
        }
        self.report_bytes += data.len();
        self.reports.push(data);
    }

    async fn call_tool(&mut self, name: String, arguments: String) -> Result<String, String> {
        let tools = self.tools.clone();
        tools.call(&name, &arguments).await
    }
}

/// The loaded Python guest: its component, pre-linked once.
pub(crate) struct PythonRuntime {
    engine: Engine,
    fuel: bool,
    pre: bindings::PythonPre<PyState>,
}

/// A live Python instance: a store plus its instance. One-shot executions
/// drop it after one call; sessions keep it.
pub(crate) struct PyInstance {
    store: Store<PyState>,
    python: bindings::Python,
    capture: Capture,
    /// Set after a trap: wasmtime forbids re-entering the instance.
    poisoned: bool,
}

type Registry<T> = Mutex<HashMap<(bool, PathBuf), Arc<T>>>;

fn python_registry() -> &'static Registry<PythonRuntime> {
    static MAP: OnceLock<Registry<PythonRuntime>> = OnceLock::new();
    MAP.get_or_init(|| Mutex::new(HashMap::new()))
}

fn js_registry() -> &'static Registry<JsRuntime> {
    static MAP: OnceLock<Registry<JsRuntime>> = OnceLock::new();
    MAP.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Returns the registered runtime for `key`, loading it on first use. The
/// lock is held while loading so concurrent first uses compile only once.
fn get_or_load<T>(
    registry: &Registry<T>,
    key: (bool, PathBuf),
    load: impl FnOnce() -> Result<T>,
) -> Result<Arc<T>> {
    let mut map = registry.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = map.get(&key) {
        return Ok(rt.clone());
    }
    let rt = Arc::new(load()?);
    map.insert(key, rt.clone());
    Ok(rt)
}

impl PythonRuntime {
    /// Loads (once per process and configuration) the Python guest at `path`.
    pub(crate) fn get(fuel: bool, path: &Path, cache_dir: &Path) -> Result<Arc<PythonRuntime>> {
        get_or_load(python_registry(), (fuel, path.to_path_buf()), || {
            Self::load(fuel, path, cache_dir)
        })
    }

    fn load(fuel: bool, path: &Path, cache_dir: &Path) -> Result<PythonRuntime> {
        let engine = engine(fuel)?;
        let guest = artifacts::read_guest(path, "python", artifacts::PYTHON_GUEST_ENV, None)?;
        let component = load_precompiled(
            &engine,
            cache_dir,
            &guest,
            |e, b| e.precompile_component(b),
            // SAFETY: the file was written by `precompile_component` of a
            // compatible engine (wasmtime re-checks the header) and matched
            // the checksum written with it, in the user's own cache
            // directory, which is trusted like the binary itself.
            |e, p| unsafe { Component::deserialize_file(e, p) },
            // SAFETY: the bytes come from `precompile_component` just now.
            |e, b| unsafe { Component::deserialize(e, b) },
        )?;
        let mut linker = wasmtime::component::Linker::<PyState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| SandboxError::wasmtime("linking WASI", e))?;
        bindings::Python::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| SandboxError::wasmtime("linking the report import", e))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| SandboxError::wasmtime("pre-instantiating the Python guest", e))?;
        let pre = bindings::PythonPre::new(pre)
            .map_err(|e| SandboxError::wasmtime("binding the Python guest", e))?;
        Ok(PythonRuntime { engine, fuel, pre })
    }

    /// A fresh store and instance.
    pub(crate) async fn instantiate(
        &self,
        limits: &Limits,
        mount: Option<&Mount>,
        tools: &HostTools,
    ) -> Result<std::result::Result<PyInstance, Status>> {
        let capture = Capture::new(limits);
        let wasi = wasi_builder(&capture, mount, &["python"])?.build();
        let state = PyState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(limits.memory_bytes),
            reports: Vec::new(),
            report_bytes: 0,
            report_cap: limits.report_bytes,
            reports_truncated: false,
            tools: tools.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        prepare_store(&mut store, limits, self.fuel)?;
        let instantiated =
            within_limit(limits.wall_time, self.pre.instantiate_async(&mut store)).await;
        let Some(instantiated) = instantiated else {
            return Ok(Err(Status::Timeout));
        };
        match instantiated {
            Ok(python) => Ok(Ok(PyInstance {
                store,
                python,
                capture,
                poisoned: false,
            })),
            Err(e) => {
                let status = classify_error(&e, store.data().limiter.denied);
                if matches!(status, Status::GuestFault { .. }) && !store.data().limiter.denied {
                    return Err(SandboxError::wasmtime("instantiating the Python guest", e));
                }
                Ok(Err(status))
            }
        }
    }

    /// Resets the per-call state of `instance` for a call under `limits`.
    fn begin_call(&self, instance: &mut PyInstance, limits: &Limits) -> Result<()> {
        instance.capture.reset(limits);
        {
            let data = instance.store.data_mut();
            data.reports.clear();
            data.report_bytes = 0;
            data.report_cap = limits.report_bytes;
            data.reports_truncated = false;
            data.limiter = Limiter::new(limits.memory_bytes);
        }
        prepare_store(&mut instance.store, limits, self.fuel)
    }

    /// The value of a call that returned normally, else the status it ended
    /// with; marks the instance unusable when the call trapped or was
    /// dropped at its deadline.
    fn settle<T>(
        instance: &mut PyInstance,
        outcome: Option<wasmtime::Result<T>>,
    ) -> std::result::Result<T, Status> {
        let denied = instance.store.data().limiter.denied;
        match outcome {
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => {
                instance.poisoned = true;
                Err(classify_error(&e, denied))
            }
            None => {
                instance.poisoned = true;
                Err(Status::Timeout)
            }
        }
    }

    /// Collects what a call left in `instance` into a result.
    fn finish_call(
        &self,
        instance: &mut PyInstance,
        status: Status,
        limits: &Limits,
        started: Instant,
    ) -> ExecResult {
        let fuel_consumed = fuel_consumed(&instance.store, limits, self.fuel);
        let (stdout, stdout_truncated) = instance.capture.stdout.take();
        let (stderr, stderr_truncated) = instance.capture.stderr.take();
        let data = instance.store.data_mut();
        ExecResult {
            status,
            stdout,
            stderr,
            stdout_truncated,
            stderr_truncated,
            reports: std::mem::take(&mut data.reports),
            reports_truncated: data.reports_truncated,
            duration: started.elapsed(),
            fuel_consumed,
        }
    }

    /// Runs `cells` in `instance` under `limits`.
    pub(crate) async fn call(
        &self,
        instance: &mut PyInstance,
        cells: &[Cell],
        stdin: &str,
        seed: u64,
        limits: &Limits,
    ) -> Result<ExecResult> {
        let started = Instant::now();
        self.begin_call(instance, limits)?;
        let cells: Vec<bindings::Cell> = cells
            .iter()
            .map(|c| bindings::Cell {
                name: c.name.clone(),
                code: c.code.clone(),
                echo: c.echo,
                compiled: c.compiled.as_deref().cloned(),
            })
            .collect();
        let outcome = within_limit(
            limits.wall_time,
            instance
                .python
                .call_run(&mut instance.store, &cells, stdin, seed),
        )
        .await;
        let status = match Self::settle(instance, outcome) {
            Err(status) => status,
            Ok(o) => match o.status {
                bindings::Status::Ok => Status::Ok,
                bindings::Status::Exit => Status::Exit { code: o.exit_code },
                bindings::Status::MemoryError => Status::OutOfMemory {
                    traceback: o.traceback,
                },
                bindings::Status::Exception => Status::Exception {
                    kind: o.exception_type,
                    message: o.message,
                    traceback: o.traceback,
                    cell: o.failed_cell,
                },
            },
        };
        Ok(self.finish_call(instance, status, limits, started))
    }

    /// Scores `program` in a fresh instance (see the guest's `score`): the
    /// result's status is `Ok` only when the guest returned normally *and*
    /// said the program ran to completion; a program that failed is an
    /// `Exception` whose details come from the guest's stderr (for display
    /// only: they never decide the verdict).
    pub(crate) async fn score(
        &self,
        program: &str,
        entry_point: &str,
        seed: u64,
        limits: &Limits,
    ) -> Result<ExecResult> {
        let started = Instant::now();
        // Scoring lends no tools: nothing outside decides a verdict.
        let mut instance = match self.instantiate(limits, None, &HostTools::new()).await? {
            Ok(i) => i,
            Err(status) => return Ok(ExecResult::empty(status, started)),
        };
        self.begin_call(&mut instance, limits)?;
        let outcome = within_limit(
            limits.wall_time,
            instance
                .python
                .call_score(&mut instance.store, program, entry_point, seed),
        )
        .await;
        let status = match Self::settle(&mut instance, outcome) {
            Err(status) => status,
            Ok(true) => Status::Ok,
            Ok(false) => Status::Exception {
                kind: "TestFailure".into(),
                message: "the program did not run to completion".into(),
                traceback: String::new(),
                cell: String::new(),
            },
        };
        let mut result = self.finish_call(&mut instance, status, limits, started);
        if let Status::Exception { message, .. } = &mut result.status {
            if let Some(line) = result
                .stderr
                .lines()
                .rev()
                .find(|l| l.starts_with("score: "))
            {
                *message = line.trim_start_matches("score: ").to_string();
            }
        }
        Ok(result)
    }

    /// Compiles `code` as file `name` in a fresh instance and returns the
    /// marshalled code object; `None` when it does not compile or the guest
    /// failed.
    pub(crate) async fn compile(
        &self,
        code: &str,
        name: &str,
        limits: &Limits,
    ) -> Result<Option<Vec<u8>>> {
        let mut instance = match self.instantiate(limits, None, &HostTools::new()).await? {
            Ok(i) => i,
            Err(_) => return Ok(None),
        };
        self.begin_call(&mut instance, limits)?;
        let outcome = within_limit(
            limits.wall_time,
            instance
                .python
                .call_compile(&mut instance.store, code, name),
        )
        .await;
        Ok(match Self::settle(&mut instance, outcome) {
            Ok(bytes) if !bytes.is_empty() => Some(bytes),
            _ => None,
        })
    }

    /// One-shot: fresh instance, one call, dropped.
    pub(crate) async fn run_once(
        &self,
        cells: &[Cell],
        stdin: &str,
        seed: u64,
        limits: &Limits,
        mount: Option<&Mount>,
        tools: &HostTools,
    ) -> Result<ExecResult> {
        let started = Instant::now();
        let mut instance = match self.instantiate(limits, mount, tools).await? {
            Ok(i) => i,
            Err(status) => return Ok(ExecResult::empty(status, started)),
        };
        let mut result = self.call(&mut instance, cells, stdin, seed, limits).await?;
        result.duration = started.elapsed();
        Ok(result)
    }
}

impl PyInstance {
    /// Whether a trap has made this instance unusable.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

// ---------------------------------------------------------------------------
// JavaScript (QuickJS-ng, a WASI preview 1 command).

/// Marker that prefixes the wrapper's structured exception line on stderr.
const JS_EXC_MARKER: &str = "\u{1}HONE_JS_EXCEPTION\u{1}";

/// Store data of a JavaScript execution.
pub(crate) struct JsState {
    wasi: WasiP1Ctx,
    limiter: Limiter,
}

/// The loaded QuickJS guest.
pub(crate) struct JsRuntime {
    engine: Engine,
    fuel: bool,
    pre: InstancePre<JsState>,
}

impl JsRuntime {
    /// Loads (once per process and configuration) the QuickJS guest.
    pub(crate) fn get(fuel: bool, path: &Path, cache_dir: &Path) -> Result<Arc<JsRuntime>> {
        get_or_load(js_registry(), (fuel, path.to_path_buf()), || {
            Self::load(fuel, path, cache_dir)
        })
    }

    fn load(fuel: bool, path: &Path, cache_dir: &Path) -> Result<JsRuntime> {
        let engine = engine(fuel)?;
        let guest = artifacts::read_guest(
            path,
            "javascript",
            artifacts::JS_GUEST_ENV,
            Some(artifacts::QUICKJS_SHA256),
        )?;
        let module = load_precompiled(
            &engine,
            cache_dir,
            &guest,
            |e, b| e.precompile_module(b),
            // SAFETY: as for the Python component above.
            |e, p| unsafe { Module::deserialize_file(e, p) },
            // SAFETY: as for the Python component above.
            |e, b| unsafe { Module::deserialize(e, b) },
        )?;
        let mut linker = Linker::<JsState>::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut JsState| &mut s.wasi)
            .map_err(|e| SandboxError::wasmtime("linking WASI preview 1", e))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| SandboxError::wasmtime("pre-instantiating QuickJS", e))?;
        Ok(JsRuntime { engine, fuel, pre })
    }

    /// Runs `code` as a script in a fresh instance.
    pub(crate) async fn run_once(
        &self,
        code: &str,
        stdin: &str,
        limits: &Limits,
        mount: Option<&Mount>,
    ) -> Result<ExecResult> {
        let started = Instant::now();
        let capture = Capture::new(limits);
        capture.stderr.set_marker(JS_EXC_MARKER);
        let script = js_wrapper(code);
        let mut builder = wasi_builder(&capture, mount, &["qjs", "--std", "-e", &script])?;
        builder.stdin(MemoryInputPipe::new(stdin.as_bytes().to_vec()));
        let state = JsState {
            wasi: builder.build_p1(),
            limiter: Limiter::new(limits.memory_bytes),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        prepare_store(&mut store, limits, self.fuel)?;
        let run = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
            start.call_async(&mut store, ()).await
        };
        let outcome = within_limit(limits.wall_time, run).await;
        let denied = store.data().limiter.denied;
        let exception = capture.stderr.take_marked();
        let mut status = match outcome {
            Some(Ok(())) => Status::Ok,
            Some(Err(e)) => classify_error(&e, denied),
            None => Status::Timeout,
        };
        if let (Status::Exit { code: 1 }, Some(line)) = (&status, exception) {
            status = parse_js_exception(&line, denied);
        }
        let fuel_consumed = fuel_consumed(&store, limits, self.fuel);
        let (stdout, stdout_truncated) = capture.stdout.take();
        let (stderr, stderr_truncated) = capture.stderr.take();
        Ok(ExecResult {
            status,
            stdout,
            stderr,
            stdout_truncated,
            stderr_truncated,
            reports: Vec::new(),
            reports_truncated: false,
            duration: started.elapsed(),
            fuel_consumed,
        })
    }
}

/// Wraps user code so an uncaught exception is reported as one structured
/// line (see [`JS_EXC_MARKER`]) and exits with code 1.
fn js_wrapper(code: &str) -> String {
    let literal = serde_json::to_string(code).unwrap_or_else(|_| "\"\"".to_string());
    format!(
        "try {{ (0, eval)({literal}); }} catch (e) {{ \
           let kind = (e && e.name) ? String(e.name) : typeof e; \
           let message = (e && e.message !== undefined) ? String(e.message) : String(e); \
           let stack = (e && e.stack) ? String(e.stack) : ''; \
           std.out.flush(); std.err.flush(); \
           std.err.puts({marker} + JSON.stringify({{kind, message, stack}}) + '\\n'); \
           std.err.flush(); std.exit(1); }}",
        marker = serde_json::to_string(JS_EXC_MARKER).unwrap_or_else(|_| "\"\"".to_string()),
    )
}

fn parse_js_exception(line: &str, memory_denied: bool) -> Status {
    let value: serde_json::Value = match serde_json::from_str(line.trim()) {
        Ok(v) => v,
        Err(_) => return Status::Exit { code: 1 },
    };
    let field = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let kind = field("kind");
    let message = field("message");
    let stack = field("stack");
    if memory_denied || (kind == "InternalError" && message.contains("out of memory")) {
        return Status::OutOfMemory { traceback: stack };
    }
    let traceback = if stack.is_empty() {
        format!("{kind}: {message}\n")
    } else {
        format!("{kind}: {message}\n{stack}")
    };
    Status::Exception {
        kind,
        message,
        traceback,
        cell: String::new(),
    }
}
