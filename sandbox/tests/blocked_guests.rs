//! A hundred guests stopped at their limit, many of them blocked in a host
//! call, leave the worker pool, the threads and the host's memory as they
//! were. In a test binary of its own: the process-wide figures it reads
//! would count other tests running beside it.

mod common;

use std::time::{Duration, Instant};

use common::sandbox;
use hone_sandbox::{Limits, Program, Status};

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_blocked_guests_leave_the_pool_and_memory_as_they_were() {
    let sb = sandbox();
    let idle_slots = sb.config().max_concurrency;
    let programs = [
        Program::python("import time\ntime.sleep(3600)"),
        Program::python("while True:\n    pass"),
        Program::javascript("os.sleep(1e12);"),
        Program::python("import time\nfor _ in range(10**4):\n    pass\ntime.sleep(10**6)"),
    ];
    let limits = Limits {
        wall_time: Duration::from_millis(50),
        ..Limits::default()
    };
    // Warm up: guests loaded, allocator pools filled.
    for p in &programs {
        sb.run(p.clone(), limits.clone()).await.expect("run");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (threads_before, rss_before) = (thread_count(), common::rss_kib());
    assert!(threads_before > 0 && rss_before > 0, "/proc is readable");
    let started = Instant::now();
    for i in 0..100 {
        let r = sb
            .run(programs[i % programs.len()].clone(), limits.clone())
            .await
            .expect("run");
        assert_eq!(r.status, Status::Timeout, "{i}: {r:?}");
        assert_eq!(sb.available_slots(), idle_slots, "{i}: a slot leaked");
    }
    let took = started.elapsed();
    // Worker threads exit when their execution ends; give them a moment.
    let mut threads_after = thread_count();
    for _ in 0..50 {
        if threads_after <= threads_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        threads_after = thread_count();
    }
    let rss_after = common::rss_kib();
    println!(
        "100 blocked guests in {took:?}; threads {threads_before} -> {threads_after}; \
         RSS {rss_before} -> {rss_after} KiB"
    );
    assert!(
        took < Duration::from_secs(60),
        "100 runs of 50 ms took {took:?}"
    );
    assert!(
        threads_after <= threads_before,
        "threads grew from {threads_before} to {threads_after}"
    );
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    assert_eq!(sb.available_slots(), idle_slots);
}
