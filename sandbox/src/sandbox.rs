//! The async, tokio-friendly front end.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, Semaphore};

use crate::artifacts;
use crate::error::{Result, SandboxError};
use crate::runtime::{JsRuntime, PyInstance, PythonRuntime, WORKER_STACK_BYTES};
use crate::{ExecResult, HostTools, Limits, Mount};

/// A guest language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// CPython 3.14 (componentize-py), with the stdlib, sympy and mpmath.
    Python,
    /// QuickJS-ng (ES2023), with its `std` and `os` modules as globals.
    JavaScript,
}

/// One unit of source. Python cells run in order in the same globals, each
/// compiled under its own `name`, so tracebacks and `SyntaxError`s carry the
/// cell's own line numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// File name shown in tracebacks, e.g. `candidate.py`.
    pub name: String,
    /// Source code.
    pub code: String,
    /// Print the `repr` of a trailing expression, as a REPL does.
    pub echo: bool,
    /// `code` compiled by the guest ([`Sandbox::compiled_cell`]), so the
    /// guest does not compile it again (Python only; ignored with `echo`).
    pub compiled: Option<Arc<Vec<u8>>>,
}

impl Cell {
    /// A cell that does not echo its last expression.
    pub fn new(name: impl Into<String>, code: impl Into<String>) -> Self {
        Cell {
            name: name.into(),
            code: code.into(),
            echo: false,
            compiled: None,
        }
    }
}

/// A program to run: a language, its cells, stdin and an optional read-only
/// mount.
///
/// ```
/// use hone_sandbox::{Cell, Program};
///
/// let program = Program::python("print(input())")
///     .with_stdin("hello\n")
///     .with_cell(Cell::new("check.py", "assert True"));
/// assert_eq!(program.cells.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Guest language.
    pub language: Language,
    /// Sources, run in order (JavaScript cells are joined with newlines).
    pub cells: Vec<Cell>,
    /// Standard input.
    pub stdin: String,
    /// Read-only directory visible to the guest.
    pub mount: Option<Mount>,
    /// Seed for Python's `random`; `None` draws a fresh one per run.
    pub seed: Option<u64>,
    /// Host functions the Python code may call (none by default; see
    /// [`HostTools`]).
    pub host_tools: HostTools,
}

impl Program {
    /// A Python program in one cell named `main.py`.
    pub fn python(code: impl Into<String>) -> Self {
        Program::new(Language::Python, Cell::new("main.py", code))
    }

    /// A JavaScript program.
    pub fn javascript(code: impl Into<String>) -> Self {
        Program::new(Language::JavaScript, Cell::new("main.js", code))
    }

    /// A program of one cell.
    pub fn new(language: Language, cell: Cell) -> Self {
        Program {
            language,
            cells: vec![cell],
            stdin: String::new(),
            mount: None,
            seed: None,
            host_tools: HostTools::new(),
        }
    }

    /// Appends a cell.
    pub fn with_cell(mut self, cell: Cell) -> Self {
        self.cells.push(cell);
        self
    }

    /// Sets stdin.
    pub fn with_stdin(mut self, stdin: impl Into<String>) -> Self {
        self.stdin = stdin.into();
        self
    }

    /// Mounts a host directory read-only.
    pub fn with_mount(mut self, mount: Mount) -> Self {
        self.mount = Some(mount);
        self
    }

    /// Fixes the `random` seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Lends `tools` to the Python code: each is a function in its globals
    /// (defined before the first cell). JavaScript programs get none.
    pub fn with_host_tools(mut self, tools: HostTools) -> Self {
        self.host_tools = tools;
        self
    }
}

/// How a [`Sandbox`] is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Cache directory (precompiled artifacts, default guest locations).
    /// Default: [`artifacts::default_cache_dir`].
    pub cache_dir: PathBuf,
    /// Python guest; default from `HONE_PYTHON_GUEST` or the cache dir.
    pub python_guest: PathBuf,
    /// JavaScript guest; default from `HONE_JS_GUEST` or the cache dir.
    pub js_guest: PathBuf,
    /// Executions running at once; more wait (asynchronously). Default: the
    /// number of CPUs.
    pub max_concurrency: usize,
    /// Meter fuel, so [`Limits::fuel`] can be used. Costs some speed and a
    /// separate precompiled artifact. Default false.
    pub fuel: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        let cache_dir = artifacts::default_cache_dir();
        SandboxConfig {
            python_guest: artifacts::python_guest_path(&cache_dir),
            js_guest: artifacts::js_guest_path(&cache_dir),
            cache_dir,
            max_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            fuel: false,
        }
    }
}

/// The sandbox: cheap to clone, shareable across tasks.
///
/// Guests are loaded lazily on first use and shared by every sandbox of the
/// process with the same configuration (one wasmtime `Engine` per process and
/// fuel setting; precompiled artifacts cached on disk). Every execution gets
/// a fresh `Store` from a reused `InstancePre`, runs on a dedicated worker
/// thread (never on a tokio worker), and at most
/// [`SandboxConfig::max_concurrency`] run at once.
///
/// ```no_run
/// # async fn demo() -> Result<(), hone_sandbox::SandboxError> {
/// use hone_sandbox::{Limits, Program, Sandbox, Status};
///
/// let sandbox = Sandbox::new(Default::default());
/// let result = sandbox.run(Program::python("print(6 * 7)"), Limits::default()).await?;
/// assert_eq!(result.status, Status::Ok);
/// assert_eq!(result.stdout, "42\n");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sandbox {
    config: Arc<SandboxConfig>,
    permits: Arc<Semaphore>,
    /// Compiled cells by (name, code), see [`Sandbox::compiled_cell`].
    compiled: Arc<Mutex<CompiledCells>>,
}

/// Marshalled code objects by (cell name, code); `None` when the code did
/// not compile.
type CompiledCells = HashMap<(String, String), Option<Arc<Vec<u8>>>>;

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.config)
            .finish()
    }
}

impl Sandbox {
    /// A sandbox with `config`. Loads nothing yet.
    pub fn new(config: SandboxConfig) -> Self {
        let permits = Arc::new(Semaphore::new(config.max_concurrency.max(1)));
        Sandbox {
            config: Arc::new(config),
            permits,
            compiled: Arc::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    fn python(&self) -> Result<Arc<PythonRuntime>> {
        PythonRuntime::get(
            self.config.fuel,
            &self.config.python_guest,
            &self.config.cache_dir,
        )
    }

    fn javascript(&self) -> Result<Arc<JsRuntime>> {
        JsRuntime::get(
            self.config.fuel,
            &self.config.js_guest,
            &self.config.cache_dir,
        )
    }

    /// Loads (and on first use precompiles) the guest for `language` now
    /// rather than on the first run; errors early when it is missing.
    pub fn preload_blocking(&self, language: Language) -> Result<()> {
        match language {
            Language::Python => self.python().map(drop),
            Language::JavaScript => self.javascript().map(drop),
        }
    }

    /// [`Sandbox::preload_blocking`] off the async runtime's workers.
    pub async fn preload(&self, language: Language) -> Result<()> {
        let this = self.clone();
        on_worker(move || async move { this.preload_blocking(language) }).await
    }

    /// Runs `program` under `limits` on the calling thread, which it blocks
    /// (on a runtime of its own) until the execution ends. Not bounded by
    /// [`SandboxConfig::max_concurrency`]; for use outside an async runtime
    /// (benchmarks, scripts). Deep recursion needs a large native stack:
    /// prefer [`Sandbox::run`] on threads with small stacks.
    pub fn run_blocking(&self, program: &Program, limits: &Limits) -> Result<ExecResult> {
        block_on_local(self.execute(program, limits))
    }

    /// Runs one execution on the current thread's runtime.
    async fn execute(&self, program: &Program, limits: &Limits) -> Result<ExecResult> {
        let seed = program.seed.unwrap_or_else(fresh_seed);
        match program.language {
            Language::Python => {
                let with_tools;
                let cells = match program.host_tools.define_cell() {
                    None => &program.cells,
                    Some(define) => {
                        with_tools = std::iter::once(define)
                            .chain(program.cells.iter().cloned())
                            .collect::<Vec<_>>();
                        &with_tools
                    }
                };
                self.python()?
                    .run_once(
                        cells,
                        &program.stdin,
                        seed,
                        limits,
                        program.mount.as_ref(),
                        &program.host_tools,
                    )
                    .await
            }
            Language::JavaScript => {
                let code = join_cells(&program.cells);
                self.javascript()?
                    .run_once(&code, &program.stdin, limits, program.mount.as_ref())
                    .await
            }
        }
    }

    /// Scores a Python program the way the official HumanEval harness does,
    /// with the verdict decided here, by the host: a fresh interpreter runs
    /// `program` as one module and then, when `entry_point` is given,
    /// `check(entry_point)`; the result's status is [`Status::Ok`](crate::Status::Ok) only when
    /// that ran to completion without an exception within `limits`.
    ///
    /// Nothing the program prints, or calls, can turn a failure into a
    /// pass: the guest returns the verdict from a local the program cannot
    /// reach (frame, tracer and garbage-collector introspection are refused
    /// while it runs), and an exit (`sys.exit`, `os._exit`), a trap or a
    /// timeout is a failure whatever was printed before. A returned value
    /// whose `==` holds against an unrelated object fails as a forged
    /// equality. What this shares with the official harness: the program may
    /// still rebind builtins or stdlib functions that the tests themselves
    /// call (`abs`, `math.isclose`), since both run in one namespace.
    ///
    /// Use this for verdicts that are reported as scores; per-test feedback
    /// for a model (hone-tools' `Harness`) runs through [`Sandbox::run`].
    pub async fn score(
        &self,
        program: impl Into<String>,
        entry_point: impl Into<String>,
        seed: u64,
        limits: Limits,
    ) -> Result<ExecResult> {
        let permit = self.permit().await?;
        let this = self.clone();
        let (program, entry_point) = (program.into(), entry_point.into());
        on_worker(move || async move {
            let _permit = permit;
            this.python()?
                .score(&program, &entry_point, seed, &limits)
                .await
        })
        .await
    }

    /// A Python cell whose code the guest compiled once, in a fresh
    /// instance, and which later executions run without compiling: for
    /// large fixed code that runs often (the test harness's driver takes
    /// about 13 ms to compile inside the guest, more than the test it runs).
    /// Compiled code is kept for the life of this sandbox and its clones.
    /// When compiling fails, the cell carries its source as usual.
    pub async fn compiled_cell(&self, name: &str, code: &str) -> Cell {
        let key = (name.to_string(), code.to_string());
        let cached = self
            .compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let compiled = match cached {
            Some(hit) => hit,
            None => {
                let made = self.compile_python(code, name).await.map(Arc::new);
                self.compiled
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, made.clone());
                made
            }
        };
        Cell {
            compiled,
            ..Cell::new(name, code)
        }
    }

    async fn compile_python(&self, code: &str, name: &str) -> Option<Vec<u8>> {
        let permit = self.permit().await.ok()?;
        let this = self.clone();
        let (code, name) = (code.to_string(), name.to_string());
        let limits = Limits {
            wall_time: std::time::Duration::from_secs(30),
            ..Limits::default()
        };
        on_worker(move || async move {
            let _permit = permit;
            this.python()?.compile(&code, &name, &limits).await
        })
        .await
        .ok()
        .flatten()
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| SandboxError::Worker(e.to_string()))
    }

    /// Executions that may start now without waiting: the configured
    /// concurrency minus those running. Equal to
    /// [`SandboxConfig::max_concurrency`] when the sandbox is idle, so a
    /// test can check that no execution leaked its slot.
    pub fn available_slots(&self) -> usize {
        self.permits.available_permits()
    }

    /// Runs `program` under `limits` on a worker thread; waits (without
    /// blocking) for a concurrency permit first. Dropping the future does not
    /// stop the execution early: it still ends within its own limits.
    pub async fn run(&self, program: Program, limits: Limits) -> Result<ExecResult> {
        let permit = self.permit().await?;
        let this = self.clone();
        on_worker(move || async move {
            let _permit = permit;
            this.execute(&program, &limits).await
        })
        .await
    }

    /// Opens a Python session: one interpreter whose globals survive from
    /// call to call, with `limits` applied to every call. Nothing is shared
    /// between sessions.
    pub fn session(&self, limits: Limits) -> Session {
        Session {
            sandbox: self.clone(),
            limits,
            mount: None,
            tools: HostTools::new(),
            instance: None,
            restarts: 0,
            started: false,
        }
    }
}

/// Runs the future `f` makes on a fresh thread with a large stack (and a
/// runtime of its own), and awaits its result. Guests never run on the
/// caller's runtime workers, which they would block for up to their limit.
async fn on_worker<T, F, Fut>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>>,
{
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("hone-sandbox-exec".into())
        .stack_size(WORKER_STACK_BYTES)
        .spawn(move || {
            let _ = tx.send(block_on_local(f()));
        })
        .map_err(|e| SandboxError::io("spawning a sandbox worker", e))?;
    rx.await.map_err(|_| {
        SandboxError::Worker("the worker thread ended without a result (panic)".into())
    })?
}

/// Drives `fut` to completion on a single-threaded runtime owned by the
/// current thread. The runtime is shut down without waiting for anything a
/// guest left behind, so a dropped guest cannot hold the thread.
fn block_on_local<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SandboxError::io("starting a sandbox worker's runtime", e))?;
    let result = runtime.block_on(fut);
    runtime.shutdown_background();
    result
}

fn join_cells(cells: &[crate::Cell]) -> String {
    cells
        .iter()
        .map(|c| c.code.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fresh random seed, from the OS-keyed hasher (no extra dependency).
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// A persistent Python interpreter (REPL-like), created by
/// [`Sandbox::session`].
///
/// Globals survive across [`Session::run`] calls. Each call gets the
/// session's limits afresh (time, fuel, output caps; memory is the total of
/// the interpreter). A call that ends in a timeout, out-of-memory trap,
/// out-of-fuel or guest fault leaves the interpreter unusable: the next call
/// starts a fresh one (globals lost) and [`Session::restarts`] counts it.
///
/// ```no_run
/// # async fn demo() -> Result<(), hone_sandbox::SandboxError> {
/// use hone_sandbox::{Limits, Sandbox};
///
/// let sandbox = Sandbox::new(Default::default());
/// let mut session = sandbox.session(Limits::default());
/// session.run("x = 20").await?;
/// let result = session.run("x + 22").await?;
/// assert_eq!(result.stdout, "42\n");
/// # Ok(()) }
/// ```
pub struct Session {
    sandbox: Sandbox,
    limits: Limits,
    mount: Option<Mount>,
    tools: HostTools,
    instance: Option<PyInstance>,
    restarts: u32,
    started: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("limits", &self.limits)
            .field("live", &self.instance.is_some())
            .field("restarts", &self.restarts)
            .finish()
    }
}

impl Session {
    /// Mounts a read-only directory for interpreters started from now on.
    pub fn with_mount(mut self, mount: Mount) -> Self {
        self.mount = Some(mount);
        self
    }

    /// Lends `tools` to the session's code: each is a function in its
    /// globals, defined again after a restart.
    pub fn with_host_tools(mut self, tools: HostTools) -> Self {
        self.tools = tools;
        self
    }

    /// The limits applied to each call.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many times the interpreter was restarted after a fatal outcome.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Runs `code` in the session's globals; a trailing expression's `repr`
    /// is printed (REPL style). The cell is named `<cell N>`.
    pub async fn run(&mut self, code: impl Into<String>) -> Result<ExecResult> {
        let permit = self.sandbox.permit().await?;
        let runtime = {
            let sandbox = self.sandbox.clone();
            on_worker(move || async move { sandbox.python() }).await?
        };
        if self.instance.is_none() && self.started {
            self.restarts += 1;
        }
        self.started = true;
        let instance = self.instance.take();
        let limits = self.limits.clone();
        let mount = self.mount.clone();
        let tools = self.tools.clone();
        let cell = crate::Cell {
            name: "<cell>".into(),
            code: code.into(),
            echo: true,
            compiled: None,
        };
        let (instance, result) = on_worker(move || async move {
            let _permit = permit;
            let started = std::time::Instant::now();
            // A fresh interpreter defines the tools before the cell.
            let (mut instance, cells) = match instance {
                Some(i) => (i, vec![cell]),
                None => match runtime.instantiate(&limits, mount.as_ref(), &tools).await? {
                    Ok(i) => (i, tools.define_cell().into_iter().chain([cell]).collect()),
                    Err(status) => return Ok((None, ExecResult::empty(status, started))),
                },
            };
            let mut result = runtime
                .call(&mut instance, &cells, "", fresh_seed(), &limits)
                .await?;
            result.duration = started.elapsed();
            let keep = (!instance.is_poisoned()).then_some(instance);
            Ok((keep, result))
        })
        .await?;
        self.instance = instance;
        Ok(result)
    }
}
