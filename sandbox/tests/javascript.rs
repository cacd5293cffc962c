//! JavaScript guest (QuickJS-ng): good and hostile programs, fuel.

mod common;

use common::{quick, roomy, sandbox, sandbox_for};
use hone_sandbox::{Language, Limits, Program, SandboxConfig, Status};

#[tokio::test]
async fn prints_and_reads_stdin() {
    let sb = sandbox();
    let r = sb
        .run(
            Program::javascript("const s = std.in.readAsString().trim(); console.log('hi ' + s);")
                .with_stdin("ann\n"),
            Limits::default(),
        )
        .await
        .expect("run");
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.stdout, "hi ann\n");
}

#[tokio::test]
async fn exceptions_are_classified() {
    let sb = sandbox();
    let r = sb
        .run(
            Program::javascript("function f() { return undefinedThing; }\nf();"),
            Limits::default(),
        )
        .await
        .expect("run");
    match &r.status {
        Status::Exception {
            kind,
            message,
            traceback,
            ..
        } => {
            assert_eq!(kind, "ReferenceError");
            assert!(message.contains("undefinedThing"), "{message}");
            assert!(traceback.contains("at f"), "{traceback}");
        }
        other => panic!("expected ReferenceError, got {other:?}"),
    }
    let r = sb
        .run(Program::javascript("function (x {"), Limits::default())
        .await
        .expect("run");
    assert!(
        matches!(&r.status, Status::Exception { kind, .. } if kind == "SyntaxError"),
        "{r:?}"
    );
    let r = sb
        .run(Program::javascript("throw 42;"), Limits::default())
        .await
        .expect("run");
    assert!(
        matches!(&r.status, Status::Exception { message, .. } if message == "42"),
        "{r:?}"
    );
}

#[tokio::test]
async fn hostile_programs() {
    let sb = sandbox();
    let r = sb
        .run(Program::javascript("for (;;) {}"), quick(300))
        .await
        .expect("run");
    assert_eq!(r.status, Status::Timeout);
    let r = sb
        .run(
            Program::javascript("let a = []; for (;;) a.push(new Array(1e6).fill(1));"),
            Limits {
                memory_bytes: 64 << 20,
                ..roomy()
            },
        )
        .await
        .expect("run");
    assert!(matches!(r.status, Status::OutOfMemory { .. }), "{r:?}");
    let r = sb
        .run(
            Program::javascript("for (let i = 0; i < 1e5; i++) console.log('flood', i);"),
            Limits {
                stdout_bytes: 500,
                ..roomy()
            },
        )
        .await
        .expect("run");
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(r.stdout_truncated && r.stdout.len() == 500);
    let r = sb
        .run(
            Program::javascript("function f(n) { return f(n + 1) + 1; } f(0);"),
            roomy(),
        )
        .await
        .expect("run");
    assert!(
        matches!(&r.status, Status::Exception { kind, .. } if kind == "RangeError" || kind == "InternalError")
            || matches!(r.status, Status::GuestFault { .. }),
        "{r:?}"
    );
    let r = sb
        .run(Program::javascript("std.exit(3)"), roomy())
        .await
        .expect("run");
    assert_eq!(r.status, Status::Exit { code: 3 });
    let r = sb
        .run(Program::javascript("const f = std.open('/etc/passwd', 'r'); console.log(f === null ? 'null' : f.readAsString());"), roomy())
        .await
        .expect("run");
    assert_eq!(r.stdout, "null\n", "{r:?}");
    let r = sb
        .run(Program::javascript("const f = std.open('../Cargo.toml', 'r'); console.log(f === null ? 'null' : 'leak');"), roomy())
        .await
        .expect("run");
    assert_eq!(r.stdout, "null\n", "{r:?}");
    let r = sb
        .run(
            Program::javascript("console.log(JSON.stringify(std.getenviron()));"),
            roomy(),
        )
        .await
        .expect("run");
    assert_eq!(r.stdout, "{}\n", "{r:?}");
    let r = sb
        .run(
            Program::javascript("console.log(typeof fetch, typeof require);"),
            roomy(),
        )
        .await
        .expect("run");
    assert_eq!(r.stdout, "undefined undefined\n", "{r:?}");
    let ok = sb
        .run(Program::javascript("console.log(1 + 1)"), Limits::default())
        .await
        .expect("run");
    assert_eq!(ok.stdout, "2\n");
}

#[tokio::test]
async fn fuel_limits_work_on_a_fuel_engine() {
    let sb = sandbox_for(
        SandboxConfig {
            fuel: true,
            ..SandboxConfig::default()
        },
        &[Language::JavaScript],
    );
    let limits = Limits {
        fuel: Some(5_000_000),
        ..roomy()
    };
    let r = sb
        .run(Program::javascript("for (;;) {}"), limits.clone())
        .await
        .expect("run");
    assert_eq!(r.status, Status::OutOfFuel);
    assert_eq!(r.classification(), "out_of_fuel");
    let r = sb
        .run(
            Program::javascript("console.log('small')"),
            Limits {
                fuel: Some(50_000_000),
                ..limits
            },
        )
        .await
        .expect("run");
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(r.fuel_consumed.is_some_and(|f| f > 0));
}

#[tokio::test]
async fn fuel_on_a_plain_engine_is_rejected() {
    let sb = sandbox();
    let err = sb
        .run(
            Program::javascript("1"),
            Limits {
                fuel: Some(1),
                ..Limits::default()
            },
        )
        .await
        .expect_err("must be rejected");
    assert!(err.to_string().contains("fuel"), "{err}");
}
