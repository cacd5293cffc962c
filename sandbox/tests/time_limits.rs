//! Wall-time limits hold whatever the guest does: run wasm, or block in a
//! host call (sleep, poll, a timer chain) where epoch interruption cannot
//! reach it. The bounds asserted here are generous ("it did not hang"); the
//! exact overshoot past the limit is measured by the `exec_latency` bench.

mod common;

use std::time::{Duration, Instant};

use common::{quick, sandbox};
use hone_sandbox::{Program, Sandbox, Status};

/// The limit the hostile programs run under.
const LIMIT_MS: u64 = 300;
/// How long a run may take before the test calls it a hang: far above the
/// limit so a loaded machine cannot make it flaky, far below the hour the
/// old host waited.
const HANG: Duration = Duration::from_secs(10);

/// Runs `program` and checks that it ends, as a timeout unless the guest
/// itself refuses the call at once (`refusal_ok`: an exception, or libc
/// aborting a call it cannot make), and never as a success.
async fn ends_by_limit(sb: &Sandbox, program: Program, refusal_ok: bool) -> Status {
    let started = Instant::now();
    let r = sb.run(program.clone(), quick(LIMIT_MS)).await.expect("run");
    let took = started.elapsed();
    assert!(
        took < HANG,
        "{:?} ran {took:?}: {r:?}",
        program.cells[0].code
    );
    match &r.status {
        Status::Timeout => {}
        Status::Exception { .. } | Status::GuestFault { .. } if refusal_ok => {}
        other => panic!(
            "{:?} ended as {other:?}, not a timeout",
            program.cells[0].code
        ),
    }
    r.status
}

#[tokio::test]
async fn python_sleeps_end_at_the_limit() {
    let sb = sandbox();
    for code in [
        "import time\ntime.sleep(3600)",
        "import time\nwhile True:\n    time.sleep(0.05)",
        "for _ in range(10**5):\n    pass\nimport time\ntime.sleep(3600)",
    ] {
        ends_by_limit(&sb, Program::python(code), false).await;
    }
    // A huge duration may be refused by the guest's libc (OverflowError) or
    // block; either way it ends by the limit.
    ends_by_limit(&sb, Program::python("import time\ntime.sleep(2**40)"), true).await;
}

#[tokio::test]
async fn python_polls_and_reads_end_at_the_limit() {
    let sb = sandbox();
    // select with no timeout and nothing to wait for: the guest's libc
    // aborts it at once; waiting on stdin (empty) with no timeout.
    ends_by_limit(
        &sb,
        Program::python("import select\nselect.select([], [], [])"),
        true,
    )
    .await;
    ends_by_limit(
        &sb,
        Program::python("import select\nwhile True:\n    select.select([0], [], [], None)"),
        true,
    )
    .await;
    // No stdin: input() sees end of file at once.
    let r = sb
        .run(Program::python("input()"), quick(LIMIT_MS))
        .await
        .expect("run");
    assert!(
        matches!(&r.status, Status::Exception { kind, .. } if kind == "EOFError"),
        "{r:?}"
    );
    let r = sb
        .run(
            Program::python("import os\nprint(os.read(0, 10))"),
            quick(LIMIT_MS),
        )
        .await
        .expect("run");
    assert!(
        r.status == Status::Ok || r.status == Status::Timeout,
        "{r:?}"
    );
}

#[tokio::test]
async fn javascript_sleeps_and_timer_chains_end_at_the_limit() {
    let sb = sandbox();
    ends_by_limit(&sb, Program::javascript("os.sleep(1e12);"), false).await;
    ends_by_limit(
        &sb,
        Program::javascript("function again() { os.setTimeout(again, 1000); }\nagain();"),
        false,
    )
    .await;
    ends_by_limit(
        &sb,
        Program::javascript("for (let i = 0; i < 1e5; i++) {}\nos.sleep(1e9);"),
        false,
    )
    .await;
}

#[tokio::test]
async fn a_sleeping_session_cell_times_out_and_the_session_restarts() {
    let sb = sandbox();
    let mut session = sb.session(quick(LIMIT_MS));
    session.run("x = 41").await.expect("run");
    let r = session
        .run("import time\ntime.sleep(3600)")
        .await
        .expect("run");
    assert_eq!(r.status, Status::Timeout);
    let r = session.run("'x' in globals()").await.expect("run");
    assert_eq!(r.stdout, "False\n", "a fresh interpreter after the timeout");
    assert_eq!(session.restarts(), 1);
}
