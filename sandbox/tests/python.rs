//! Python guest: good programs, hostile programs, sessions.

mod common;

use common::{quick, roomy, sandbox};
use hone_sandbox::{Cell, Limits, Mount, Program, Status};

fn exception_kind(status: &Status) -> &str {
    match status {
        Status::Exception { kind, .. } => kind,
        _ => "",
    }
}

#[tokio::test]
async fn prints_and_reads_stdin() {
    let sb = sandbox();
    let r = sb
        .run(
            Program::python("name = input()\nprint('hi', name)").with_stdin("bob\n"),
            Limits::default(),
        )
        .await
        .expect("run");
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.stdout, "hi bob\n");
    assert_eq!(r.classification(), "ok");
}

#[tokio::test]
async fn random_is_reseeded_per_run() {
    let sb = sandbox();
    let code = "import random; print(random.random())";
    let a = sb
        .run(Program::python(code), Limits::default())
        .await
        .expect("run");
    let b = sb
        .run(Program::python(code), Limits::default())
        .await
        .expect("run");
    assert_ne!(a.stdout, b.stdout, "random must differ between runs");
    let c = sb
        .run(Program::python(code).with_seed(7), Limits::default())
        .await
        .expect("run");
    let d = sb
        .run(Program::python(code).with_seed(7), Limits::default())
        .await
        .expect("run");
    assert_eq!(c.stdout, d.stdout, "a fixed seed reproduces");
}

#[tokio::test]
async fn sympy_and_stdlib_are_available() {
    let sb = sandbox();
    let code = "import sympy, mpmath, json, fractions, itertools, collections, heapq, re\n\
                x = sympy.symbols('x')\n\
                print(sympy.simplify(sympy.sin(x)**2 + sympy.cos(x)**2))\n\
                print(sympy.integrate(x**2, (x, 0, 3)))\n\
                print(mpmath.mpf(2).sqrt())";
    let r = sb
        .run(Program::python(code), Limits::default())
        .await
        .expect("run");
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.stdout, "1\n9\n1.4142135623731\n");
}

#[tokio::test]
async fn infinite_loop_times_out_and_host_carries_on() {
    let sb = sandbox();
    let r = sb
        .run(Program::python("while True:\n    pass"), quick(300))
        .await
        .expect("run");
    assert_eq!(r.status, Status::Timeout);
    let ok = sb
        .run(Program::python("print(1)"), Limits::default())
        .await
        .expect("run");
    assert_eq!(ok.stdout, "1\n");
}

#[tokio::test]
async fn memory_bomb_is_a_clean_memory_error() {
    let sb = sandbox();
    for code in [
        "x = bytearray(1024**3)",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024**2))",
        "s = 'x' * (10**9)",
    ] {
        let r = sb.run(Program::python(code), roomy()).await.expect("run");
        assert!(
            matches!(r.status, Status::OutOfMemory { .. }),
            "{code}: {r:?}"
        );
        assert_eq!(r.classification(), "out_of_memory");
    }
    let ok = sb
        .run(Program::python("print(sum(range(10)))"), Limits::default())
        .await
        .expect("run");
    assert_eq!(ok.stdout, "45\n");
}

#[tokio::test]
async fn output_flood_truncates_and_flags() {
    let sb = sandbox();
    let limits = Limits {
        stdout_bytes: 1000,
        ..roomy()
    };
    let r = sb
        .run(
            Program::python("for i in range(100000):\n    print('spam', i)\nprint('end')"),
            limits.clone(),
        )
        .await
        .expect("run");
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(r.stdout_truncated);
    assert_eq!(r.stdout.len(), 1000);
    assert!(r.stdout.starts_with("spam 0\nspam 1\n"));
    assert_eq!(r.classification(), "output_truncated");
    let r = sb
        .run(
            Program::python("import sys\nwhile True:\n    sys.stderr.write('x' * 4096)"),
            Limits {
                stderr_bytes: 100,
                ..quick(300)
            },
        )
        .await
        .expect("run");
    assert_eq!(r.status, Status::Timeout);
    assert!(r.stderr_truncated);
    assert_eq!(r.stderr.len(), 100);
}

#[tokio::test]
async fn deep_recursion_is_a_recursion_error() {
    let sb = sandbox();
    let r = sb
        .run(
            Program::python("def f(n):\n    return f(n + 1)\nf(0)"),
            roomy(),
        )
        .await
        .expect("run");
    assert_eq!(exception_kind(&r.status), "RecursionError", "{r:?}");
    // Recursion through C (repr of a deeply nested list) must not take the host down.
    let r = sb
        .run(
            Program::python("x = []\nfor _ in range(100000):\n    x = [x]\nprint(len(repr(x)))"),
            roomy(),
        )
        .await
        .expect("run");
    assert!(
        exception_kind(&r.status) == "RecursionError"
            || matches!(r.status, Status::GuestFault { .. }),
        "{r:?}"
    );
    let ok = sb
        .run(Program::python("print(2)"), Limits::default())
        .await
        .expect("run");
    assert_eq!(ok.stdout, "2\n");
}

#[tokio::test]
async fn sys_exit_codes() {
    let sb = sandbox();
    let cases = [
        ("import sys; sys.exit(3)", 3),
        ("import sys; sys.exit()", 0),
        ("import sys; sys.exit(0)", 0),
        ("raise SystemExit(5)", 5),
        ("import sys; sys.exit('bye')", 1),
    ];
    for (code, expected) in cases {
        let r = sb.run(Program::python(code), roomy()).await.expect("run");
        assert_eq!(r.status, Status::Exit { code: expected }, "{code}: {r:?}");
    }
    let r = sb
        .run(Program::python("import sys; sys.exit('bye')"), roomy())
        .await
        .expect("run");
    assert_eq!(r.stderr, "bye\n");
    // WASI preview 2 carries only success/failure for a hard exit.
    let r = sb
        .run(Program::python("import os; os._exit(4)"), roomy())
        .await
        .expect("run");
    assert_eq!(r.status, Status::Exit { code: 1 }, "{r:?}");
}

#[tokio::test]
async fn syntax_error_points_at_the_cell_line() {
    let sb = sandbox();
    let program = Program::new(
        hone_sandbox::Language::Python,
        Cell::new("candidate.py", "x = 1\ndef f(:\n    pass\n"),
    );
    let r = sb.run(program, Limits::default()).await.expect("run");
    match &r.status {
        Status::Exception {
            kind,
            traceback,
            cell,
            ..
        } => {
            assert_eq!(kind, "SyntaxError");
            assert_eq!(cell, "candidate.py");
            assert!(
                traceback.contains("File \"candidate.py\", line 2"),
                "{traceback}"
            );
            assert!(
                !traceback.contains("app.py"),
                "guest frames must be hidden: {traceback}"
            );
        }
        other => panic!("expected SyntaxError, got {other:?}"),
    }
}

#[tokio::test]
async fn traceback_uses_cell_line_numbers() {
    let sb = sandbox();
    let program = Program::new(
        hone_sandbox::Language::Python,
        Cell::new("candidate.py", "def f(xs):\n    return xs[3]\n"),
    )
    .with_cell(Cell::new("test.py", "f([1])"));
    let r = sb.run(program, Limits::default()).await.expect("run");
    match &r.status {
        Status::Exception {
            kind,
            traceback,
            cell,
            ..
        } => {
            assert_eq!(kind, "IndexError");
            assert_eq!(cell, "test.py");
            assert!(
                traceback.contains("File \"candidate.py\", line 2, in f"),
                "{traceback}"
            );
            assert!(traceback.contains("return xs[3]"), "{traceback}");
        }
        other => panic!("expected IndexError, got {other:?}"),
    }
}

#[tokio::test]
async fn no_host_files_env_or_network() {
    let sb = sandbox();
    for (code, kinds) in [
        (
            "open('/etc/passwd').read()",
            &["FileNotFoundError", "PermissionError", "OSError"][..],
        ),
        (
            "open('../Cargo.toml').read()",
            &["FileNotFoundError", "PermissionError", "OSError"][..],
        ),
        (
            "import os; os.listdir('/')",
            &["FileNotFoundError", "PermissionError", "OSError"][..],
        ),
        (
            "open('/tmp/x', 'w').write('x')",
            &["FileNotFoundError", "PermissionError", "OSError"][..],
        ),
        (
            "import socket; s = socket.socket(); s.connect(('127.0.0.1', 22))",
            &[
                "OSError",
                "PermissionError",
                "AttributeError",
                "ModuleNotFoundError",
                "ImportError",
                "NotImplementedError",
            ][..],
        ),
        (
            "import urllib.request; urllib.request.urlopen('http://127.0.0.1/')",
            &[
                "URLError",
                "OSError",
                "AttributeError",
                "ModuleNotFoundError",
                "ImportError",
                "NotImplementedError",
            ][..],
        ),
        ("import numpy", &["ModuleNotFoundError"][..]),
        (
            "import subprocess; subprocess.run(['ls'])",
            &[
                "OSError",
                "PermissionError",
                "AttributeError",
                "ModuleNotFoundError",
                "RuntimeError",
                "NotImplementedError",
            ][..],
        ),
    ] {
        let r = sb.run(Program::python(code), roomy()).await.expect("run");
        let kind = exception_kind(&r.status);
        assert!(kinds.contains(&kind), "{code}: {r:?}");
    }
    let r = sb
        .run(
            Program::python("import os; print(dict(os.environ)); print(os.getcwd())"),
            roomy(),
        )
        .await
        .expect("run");
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(r.stdout.starts_with("{}\n"), "{r:?}");
}

#[tokio::test]
async fn read_only_mount() {
    let sb = sandbox();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("data.txt"), "hello mount").expect("write");
    let mount = Mount {
        host_path: dir.path().to_path_buf(),
        guest_path: "/data".into(),
    };
    let r = sb
        .run(
            Program::python("print(open('/data/data.txt').read())").with_mount(mount.clone()),
            roomy(),
        )
        .await
        .expect("run");
    assert_eq!(r.stdout, "hello mount\n", "{r:?}");
    let r = sb
        .run(
            Program::python("open('/data/new.txt', 'w').write('x')").with_mount(mount.clone()),
            roomy(),
        )
        .await
        .expect("run");
    assert!(matches!(r.status, Status::Exception { .. }), "{r:?}");
    assert!(!dir.path().join("new.txt").exists());
    let r = sb
        .run(
            Program::python("print(open('/data/../../etc/passwd').read())").with_mount(mount),
            roomy(),
        )
        .await
        .expect("run");
    assert!(matches!(r.status, Status::Exception { .. }), "{r:?}");
}

#[tokio::test]
async fn session_keeps_globals_and_isolates() {
    let sb = sandbox();
    let mut a = sb.session(quick(5000));
    let mut b = sb.session(quick(5000));
    let r = a
        .run("x = 40\ndef inc(v):\n    return v + 1")
        .await
        .expect("run");
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let r = a.run("inc(x) + 1").await.expect("run");
    assert_eq!(r.stdout, "42\n", "{r:?}");
    let r = b.run("x").await.expect("run");
    assert_eq!(exception_kind(&r.status), "NameError", "{r:?}");
    // An exception keeps the interpreter; a timeout restarts it.
    let r = a.run("1 / 0").await.expect("run");
    assert_eq!(exception_kind(&r.status), "ZeroDivisionError");
    let r = a.run("print(x)").await.expect("run");
    assert_eq!(r.stdout, "40\n");
    let r = a.run("while True: pass").await.expect("run");
    assert_eq!(r.status, Status::Timeout);
    let r = a.run("print('alive')").await.expect("run");
    assert_eq!(r.stdout, "alive\n");
    assert_eq!(a.restarts(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_runs_do_not_starve_a_good_one() {
    // Room for all three at once: the good run must not wait for the others.
    let sb = common::sandbox_with(hone_sandbox::SandboxConfig {
        max_concurrency: 3,
        ..hone_sandbox::SandboxConfig::default()
    });
    let good_limits = roomy();
    let bad = |code: &'static str| {
        let sb = sb.clone();
        tokio::spawn(async move { sb.run(Program::python(code), quick(1500)).await })
    };
    let loop_run = bad("while True: pass");
    let bomb = bad("a = []\nwhile True:\n    a.append(bytearray(8 * 1024**2))");
    let good = sb.run(
        Program::python("def f(n):\n    return n * 2\nassert f(2) == 4\nprint('good')"),
        good_limits,
    );
    let good = good.await.expect("good run");
    assert_eq!(good.status, Status::Ok, "{good:?}");
    assert!(
        good.duration < std::time::Duration::from_millis(common::ROOMY_MS),
        "{good:?}"
    );
    assert_eq!(good.stdout, "good\n");
    let loop_run = loop_run.await.expect("join").expect("run");
    assert_eq!(loop_run.status, Status::Timeout);
    let bomb = bomb.await.expect("join").expect("run");
    assert!(
        matches!(bomb.status, Status::OutOfMemory { .. } | Status::Timeout),
        "{bomb:?}"
    );
}

#[tokio::test]
async fn thousand_hostile_runs_keep_host_memory_stable() {
    let sb = sandbox();
    let hostile = [
        "raise ValueError('boom')",
        "import sys; sys.exit(9)",
        "def f(:",
        "open('/etc/passwd')",
        "import does_not_exist",
        "x = bytearray(2**31)",
        "print('x' * 200000)",
        "1/0",
    ];
    let limits = Limits {
        stdout_bytes: 1024,
        ..roomy()
    };
    // Warm up allocator pools before measuring.
    for code in hostile {
        sb.run(Program::python(code), limits.clone())
            .await
            .expect("run");
    }
    let before = common::rss_kib();
    for i in 0..1000 {
        let r = sb
            .run(Program::python(hostile[i % hostile.len()]), limits.clone())
            .await
            .expect("run");
        assert_ne!(r.classification(), "ok", "{i}: {r:?}");
    }
    let after = common::rss_kib();
    println!(
        "RSS before {before} KiB, after {after} KiB, growth {} KiB",
        after as i64 - before as i64
    );
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
}

#[tokio::test]
async fn a_compiled_cell_runs_without_its_source_being_compiled_again() {
    let sb = sandbox();
    let code = "def double(x):\n    return 2 * x\n\n\ndef boom():\n    raise ValueError('from the compiled cell')\n";
    let cell = sb.compiled_cell("<lib>", code).await;
    let bytes = cell.compiled.clone().expect("the guest compiled the cell");
    assert!(!bytes.is_empty());
    // Cached: the second request hands out the same code object.
    let again = sb.compiled_cell("<lib>", code).await;
    assert!(std::sync::Arc::ptr_eq(
        &bytes,
        &again.compiled.expect("cached")
    ));
    // What runs is the compiled code, not the source: a cell whose source
    // says something else still runs the compiled definitions.
    let mut forged = cell.clone();
    forged.code = "def double(x):\n    return 0\n".into();
    let r = sb
        .run(
            Program::python("")
                .with_cell(forged)
                .with_cell(Cell::new("main.py", "print(double(21))\nboom()")),
            roomy(),
        )
        .await
        .expect("run");
    assert_eq!(r.stdout, "42\n", "{r:?}");
    // Tracebacks keep the compiled cell's name and line numbers.
    match &r.status {
        Status::Exception {
            kind, traceback, ..
        } => {
            assert_eq!(kind, "ValueError");
            assert!(traceback.contains("\"<lib>\", line 6"), "{traceback}");
        }
        other => panic!("expected the ValueError, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cell_that_does_not_compile_is_sent_as_source() {
    let sb = sandbox();
    let cell = sb.compiled_cell("<bad>", "def (:\n").await;
    assert!(cell.compiled.is_none());
    let r = sb
        .run(Program::python("").with_cell(cell), roomy())
        .await
        .expect("run");
    assert_eq!(exception_kind(&r.status), "SyntaxError", "{r:?}");
}
