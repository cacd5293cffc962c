//! What an execution produced.

use std::time::Duration;

/// How an execution ended. Exactly one applies; output truncation is
/// reported separately (see [`ExecResult::stdout_truncated`]) because it can
/// accompany any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The program ran to completion.
    Ok,
    /// The program exited explicitly (`sys.exit(n)`, `std.exit(n)`), with
    /// this code. `sys.exit()` and `sys.exit(0)` give code 0.
    Exit {
        /// The exit code.
        code: i32,
    },
    /// An uncaught exception (including syntax errors).
    Exception {
        /// Exception type, e.g. `AssertionError`, `SyntaxError`, `TypeError`.
        kind: String,
        /// `str(exception)` / the JavaScript error message.
        message: String,
        /// Traceback with the sandbox's own frames removed; file names are
        /// the cell names given by the caller, so line numbers are the
        /// caller's own.
        traceback: String,
        /// The cell that raised (Python), empty for JavaScript.
        cell: String,
    },
    /// The wall-time limit was reached.
    Timeout,
    /// The memory limit was reached (Python's `MemoryError`, or a guest that
    /// failed after its memory growth was refused).
    OutOfMemory {
        /// Traceback where the guest could produce one, else empty.
        traceback: String,
    },
    /// The fuel limit was reached.
    OutOfFuel,
    /// The guest trapped for another reason (stack exhaustion, an
    /// `unreachable`, an internal guest error).
    GuestFault {
        /// wasmtime's description of the trap.
        message: String,
    },
}

impl Status {
    /// A short stable label: `ok`, `exit`, `exception`, `timeout`,
    /// `out_of_memory`, `out_of_fuel` or `guest_fault`.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Exit { .. } => "exit",
            Status::Exception { .. } => "exception",
            Status::Timeout => "timeout",
            Status::OutOfMemory { .. } => "out_of_memory",
            Status::OutOfFuel => "out_of_fuel",
            Status::GuestFault { .. } => "guest_fault",
        }
    }

    /// `Ok`, or `Exit` with code 0.
    pub fn is_success(&self) -> bool {
        matches!(self, Status::Ok | Status::Exit { code: 0 })
    }
}

/// The result of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// How it ended.
    pub status: Status,
    /// Captured stdout (lossy UTF-8), at most [`crate::Limits::stdout_bytes`].
    pub stdout: String,
    /// Captured stderr (lossy UTF-8), at most [`crate::Limits::stderr_bytes`].
    pub stderr: String,
    /// True when stdout was cut at its cap.
    pub stdout_truncated: bool,
    /// True when stderr was cut at its cap.
    pub stderr_truncated: bool,
    /// Structured reports sent through the Python guest's `report` import
    /// (the test harness uses it), in order.
    pub reports: Vec<String>,
    /// True when reports were dropped at [`crate::Limits::report_bytes`].
    pub reports_truncated: bool,
    /// Wall time of the execution itself (instantiation included, queueing
    /// excluded).
    pub duration: Duration,
    /// Fuel consumed, when fuel metering was on.
    pub fuel_consumed: Option<u64>,
}

impl ExecResult {
    /// A result with no output: the execution never got to run the guest.
    pub(crate) fn empty(status: Status, started: std::time::Instant) -> Self {
        ExecResult {
            status,
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            reports: Vec::new(),
            reports_truncated: false,
            duration: started.elapsed(),
            fuel_consumed: None,
        }
    }

    /// The classification of the run as one label: [`Status::label`], except
    /// that a run that otherwise succeeded but lost output is
    /// `output_truncated`.
    pub fn classification(&self) -> &'static str {
        if self.status.is_success() && (self.stdout_truncated || self.stderr_truncated) {
            "output_truncated"
        } else {
            self.status.label()
        }
    }

    /// True when any captured stream was cut.
    pub fn truncated(&self) -> bool {
        self.stdout_truncated || self.stderr_truncated || self.reports_truncated
    }
}
