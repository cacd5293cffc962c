//! The graph runtime: routing, fan-out/fan-in, budgets, failures, events,
//! checkpoints and exact resume.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hone_core::graph::{
    node_fn, Graph, GraphBuilder, NodeContext, NodeError, Route, RunEvent, RunOptions, StopReason,
};
use hone_core::{Budget, BudgetKind, ChatRequest, Message, ScriptedModel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
struct Draft {
    text: String,
    round: u32,
    verdicts: Vec<String>,
    parts: Vec<String>,
}

type Counts = Arc<Mutex<BTreeMap<String, usize>>>;

fn count(counts: &Counts, node: &str) {
    *counts.lock().unwrap().entry(node.to_string()).or_default() += 1;
}

/// actor -> critic -> router(refine | end); refine -> critic. A fan-out of
/// three reviewers after the actor, and a dynamic map over the draft's words.
fn refine_graph(counts: Counts) -> Graph<Draft> {
    let c1 = counts.clone();
    let c2 = counts.clone();
    let c3 = counts.clone();
    let c4 = counts.clone();
    let c5 = counts.clone();
    let c6 = counts.clone();
    let c7 = counts;
    GraphBuilder::new("refine")
        .node(
            "actor",
            node_fn(move |mut s: Draft, _ctx| {
                let c = c1.clone();
                async move {
                    count(&c, "actor");
                    s.text = "draft one two".into();
                    Ok(s)
                }
            }),
        )
        .fan_out(
            "actor",
            &["style", "facts", "tone"],
            "split",
            |mut base: Draft, outs: Vec<Draft>| {
                for o in outs {
                    base.verdicts.extend(o.verdicts);
                }
                base
            },
        )
        .node(
            "style",
            node_fn(move |mut s: Draft, _ctx| {
                let c = c2.clone();
                async move {
                    count(&c, "style");
                    s.verdicts = vec!["style ok".into()];
                    Ok(s)
                }
            }),
        )
        .node(
            "facts",
            node_fn(move |mut s: Draft, _ctx| {
                let c = c3.clone();
                async move {
                    count(&c, "facts");
                    s.verdicts = vec!["facts ok".into()];
                    Ok(s)
                }
            }),
        )
        .node(
            "tone",
            node_fn(move |mut s: Draft, _ctx| {
                let c = c4.clone();
                async move {
                    count(&c, "tone");
                    s.verdicts = vec!["tone ok".into()];
                    Ok(s)
                }
            }),
        )
        .node(
            "split",
            node_fn(move |s: Draft, _ctx| {
                let c = c7.clone();
                async move {
                    count(&c, "split");
                    Ok(s)
                }
            }),
        )
        .map(
            "split",
            "word",
            "critic",
            |s: &Draft| {
                s.text
                    .split_whitespace()
                    .map(|w| Draft {
                        text: w.to_string(),
                        ..Default::default()
                    })
                    .collect()
            },
            |mut base: Draft, outs: Vec<Draft>| {
                base.parts = outs.into_iter().map(|o| o.text).collect();
                base
            },
        )
        .node(
            "word",
            node_fn(move |mut s: Draft, _ctx| {
                let c = c5.clone();
                async move {
                    count(&c, "word");
                    s.text = s.text.to_uppercase();
                    Ok(s)
                }
            }),
        )
        .node(
            "critic",
            node_fn(move |mut s: Draft, _ctx| {
                let c = c6.clone();
                async move {
                    count(&c, "critic");
                    s.round += 1;
                    s.verdicts.push(format!("round {}", s.round));
                    Ok(s)
                }
            }),
        )
        .router("critic", &["critic"], |s: &Draft| {
            if s.round < 4 {
                Route::to("critic")
            } else {
                Route::End
            }
        })
        .entry("actor")
        .build()
        .expect("valid graph")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn static_and_dynamic_fan_out_and_router_loop() {
    rt().block_on(async {
        let counts = Counts::default();
        let g = refine_graph(counts.clone());
        let out = g
            .run(Draft::default(), RunOptions::default())
            .await
            .unwrap();
        assert_eq!(out.stop, StopReason::Finished);
        assert_eq!(out.state.parts, vec!["DRAFT", "ONE", "TWO"]);
        assert_eq!(
            &out.state.verdicts[..3],
            &["style ok", "facts ok", "tone ok"],
            "branch outputs merge in branch order"
        );
        assert_eq!(out.state.round, 4);
        assert_eq!(out.node_runs["word"], 3, "map sized at run time");
        assert_eq!(out.node_runs["critic"], 4);
        assert_eq!(out.steps, 1 + 3 + 1 + 3 + 4);
    });
}

#[test]
fn step_budget_returns_last_committed_state_with_reason() {
    rt().block_on(async {
        let g = refine_graph(Counts::default());
        let out = g
            .run(
                Draft::default(),
                RunOptions::default().with_budget(Budget::unlimited().with_steps(10)),
            )
            .await
            .unwrap();
        match out.stop {
            StopReason::Budget { exhausted } => {
                assert_eq!(exhausted.kind, BudgetKind::Steps);
                assert_eq!(exhausted.limit, 10);
            }
            other => panic!("expected a budget stop, got {other:?}"),
        }
        assert_eq!(out.steps, 10);
        assert_eq!(out.state.round, 2, "the state after the 10th step is kept");
    });
}

#[test]
fn model_call_budget_inside_a_node_ends_the_run_gracefully() {
    rt().block_on(async {
        let model = Arc::new(ScriptedModel::new().with_rule(|_| true, |_| "answer"));
        let m = model.clone();
        let g = GraphBuilder::new("calls")
            .node(
                "ask",
                node_fn(move |mut n: Vec<String>, ctx: NodeContext| {
                    let m = m.clone();
                    async move {
                        let r = ctx
                            .chat(&*m, &ChatRequest::new(vec![Message::user("q")]))
                            .await?;
                        n.push(r.first_text().to_string());
                        Ok(n)
                    }
                }),
            )
            .edge("ask", "ask")
            .entry("ask")
            .build()
            .unwrap();
        let out = g
            .run(
                Vec::new(),
                RunOptions::default().with_budget(Budget::unlimited().with_model_calls(3)),
            )
            .await
            .unwrap();
        assert!(
            matches!(out.stop, StopReason::Budget { exhausted } if exhausted.kind == BudgetKind::ModelCalls)
        );
        assert_eq!(out.state.len(), 3);
        assert_eq!(out.usage.total.calls, 3);
        assert_eq!(out.usage.by_node["ask"].calls, 3);
        assert_eq!(model.requests().len(), 3);
    });
}

#[test]
fn failing_and_panicking_nodes_end_with_the_last_state() {
    rt().block_on(async {
        let g = GraphBuilder::new("fail")
            .node("a", node_fn(|n: u32, _| async move { Ok(n + 1) }))
            .node(
                "b",
                node_fn(|_: u32, _| async move { Err(NodeError::failed("bad model output")) }),
            )
            .edge("a", "b")
            .entry("a")
            .build()
            .unwrap();
        let out = g.run(0, RunOptions::default()).await.unwrap();
        assert_eq!(out.state, 1);
        assert!(
            matches!(&out.stop, StopReason::NodeFailed { node, error } if node == "b" && error.contains("bad model output"))
        );

        let g = GraphBuilder::new("panic")
            .node("a", node_fn(|n: u32, _| async move { Ok(n + 1) }))
            .node(
                "b",
                node_fn(|n: u32, _| async move {
                    if n > 0 {
                        panic!("index out of range");
                    }
                    Ok(n)
                }),
            )
            .edge("a", "b")
            .entry("a")
            .build()
            .unwrap();
        let out = g.run(0, RunOptions::default()).await.unwrap();
        assert_eq!(out.state, 1);
        assert!(
            matches!(&out.stop, StopReason::NodeFailed { error, .. } if error.contains("index out of range"))
        );
    });
}

#[test]
fn a_resume_runs_a_failed_node_again_and_keeps_what_was_committed() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.jsonl");
        let a_runs = Arc::new(AtomicUsize::new(0));
        let b_runs = Arc::new(AtomicUsize::new(0));
        // `b` fails on its first call only, like an endpoint that was down.
        let graph = || {
            let (a_runs, b_runs) = (a_runs.clone(), b_runs.clone());
            GraphBuilder::new("retry")
                .node(
                    "a",
                    node_fn(move |n: u32, _| {
                        a_runs.fetch_add(1, Ordering::SeqCst);
                        async move { Ok(n + 1) }
                    }),
                )
                .node(
                    "b",
                    node_fn(move |n: u32, _| {
                        let first = b_runs.fetch_add(1, Ordering::SeqCst) == 0;
                        async move {
                            if first {
                                Err(NodeError::failed("endpoint down"))
                            } else {
                                Ok(n * 10)
                            }
                        }
                    }),
                )
                .edge("a", "b")
                .entry("a")
                .build()
                .unwrap()
        };
        let out = graph()
            .run(1, RunOptions::default().with_log(&log))
            .await
            .unwrap();
        assert!(matches!(out.stop, StopReason::NodeFailed { .. }));
        assert_eq!(out.state, 2);
        let resumed = graph().resume(&log, RunOptions::default()).await.unwrap();
        assert_eq!(resumed.stop, StopReason::Finished);
        assert_eq!(resumed.state, 20);
        assert_eq!(resumed.steps, 2);
        assert_eq!(a_runs.load(Ordering::SeqCst), 1, "a was committed");
        assert_eq!(b_runs.load(Ordering::SeqCst), 2);
        // The log now ends finished: a second resume runs nothing.
        let again = graph().resume(&log, RunOptions::default()).await.unwrap();
        assert_eq!(again.state, 20);
        assert_eq!(again.stop, StopReason::Finished);
        assert_eq!(b_runs.load(Ordering::SeqCst), 2);
        let summary = hone_core::graph::read_run_log(&log).unwrap();
        assert_eq!(summary.stop, Some(StopReason::Finished));
    });
}

#[test]
fn undeclared_route_is_reported() {
    rt().block_on(async {
        let g = GraphBuilder::new("route")
            .node("a", node_fn(|n: u32, _| async move { Ok(n) }))
            .node("b", node_fn(|n: u32, _| async move { Ok(n) }))
            .router("a", &["b"], |_| Route::to("c"))
            .entry("a")
            .build()
            .unwrap();
        let out = g.run(0, RunOptions::default()).await.unwrap();
        assert_eq!(
            out.stop,
            StopReason::InvalidRoute {
                from: "a".into(),
                target: "c".into()
            }
        );
    });
}

#[test]
fn invalid_definitions_are_rejected_with_names() {
    let err = GraphBuilder::<u8>::new("g")
        .node("a", node_fn(|n: u8, _| async move { Ok(n) }))
        .edge("a", "missing")
        .entry("a")
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("\"missing\""), "{err}");
    let err = GraphBuilder::<u8>::new("g")
        .node("a", node_fn(|n: u8, _| async move { Ok(n) }))
        .node("a", node_fn(|n: u8, _| async move { Ok(n) }))
        .entry("a")
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("two nodes are named \"a\""), "{err}");
    let err = GraphBuilder::<u8>::new("g")
        .node("a", node_fn(|n: u8, _| async move { Ok(n) }))
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no entry"), "{err}");
}

#[test]
fn events_describe_the_run() {
    rt().block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let model = Arc::new(ScriptedModel::in_order(["x"]));
        let m = model.clone();
        let g = GraphBuilder::new("ev")
            .node(
                "a",
                node_fn(move |n: u32, ctx: NodeContext| {
                    let m = m.clone();
                    async move {
                        ctx.chat(&*m, &ChatRequest::new(vec![Message::user("q")]))
                            .await?;
                        ctx.emit("attempt", serde_json::json!({"n": n}));
                        Ok(n + 1)
                    }
                }),
            )
            .entry("a")
            .build()
            .unwrap();
        g.run(0, RunOptions::default().with_events(tx))
            .await
            .unwrap();
        let mut kinds = Vec::new();
        while let Ok(e) = rx.try_recv() {
            kinds.push(match e {
                RunEvent::RunStarted { .. } => "run_started",
                RunEvent::NodeStarted { .. } => "node_started",
                RunEvent::ModelCall { .. } => "model_call",
                RunEvent::Custom { .. } => "custom",
                RunEvent::NodeFinished { .. } => "node_finished",
                RunEvent::RunFinished { .. } => "run_finished",
                _ => "other",
            });
        }
        assert_eq!(
            kinds,
            [
                "run_started",
                "node_started",
                "model_call",
                "custom",
                "node_finished",
                "run_finished"
            ]
        );
    });
}

/// Simulates a kill after every possible number of log lines (and with a
/// torn last line), resumes, and checks that the final state and the number
/// of completed executions per node equal those of an uninterrupted run, and
/// that no node that had finished runs again.
#[test]
fn resume_from_every_kill_point_is_exact() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let full_log = dir.path().join("full.jsonl");
        let counts = Counts::default();
        let g = refine_graph(counts.clone());
        let full = g
            .run(Draft::default(), RunOptions::default().with_log(&full_log))
            .await
            .unwrap();
        let text = std::fs::read_to_string(&full_log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 20);
        for cut in 1..lines.len() {
            for torn in [false, true] {
                let path = dir.path().join(format!("cut-{cut}-{torn}.jsonl"));
                let mut prefix = lines[..cut].join("\n");
                prefix.push('\n');
                if torn {
                    prefix.push_str(&lines[cut][..lines[cut].len() / 2]);
                }
                std::fs::write(&path, &prefix).unwrap();
                let replay_counts = Counts::default();
                let g2 = refine_graph(replay_counts.clone());
                let resumed = g2.resume(&path, RunOptions::default()).await.unwrap();
                assert_eq!(resumed.state, full.state, "cut after {cut} lines");
                assert_eq!(resumed.stop, full.stop);
                assert_eq!(resumed.node_runs, full.node_runs, "cut after {cut} lines");
                assert_eq!(resumed.steps, full.steps);
                // Executions in the resumed process: only what the prefix had
                // not finished. Finished = Finished records in the prefix.
                let finished_in_prefix: usize = lines[..cut]
                    .iter()
                    .filter(|l| l.contains("\"record\":\"finished\""))
                    .count();
                let executed: usize = replay_counts.lock().unwrap().values().sum();
                let total: usize = full.node_runs.values().map(|&n| n as usize).sum();
                assert_eq!(
                    executed,
                    total - finished_in_prefix,
                    "cut after {cut} lines: finished nodes must not re-run"
                );
                // The resumed log is itself complete and resumable to the same end.
                let again = refine_graph(Counts::default())
                    .resume(&path, RunOptions::default())
                    .await
                    .unwrap();
                assert_eq!(again.state, full.state);
            }
        }
    });
}

#[test]
fn resume_rejects_a_log_of_another_graph() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.jsonl");
        let g = refine_graph(Counts::default());
        g.run(Draft::default(), RunOptions::default().with_log(&log))
            .await
            .unwrap();
        let other = GraphBuilder::<Draft>::new("other")
            .node("a", node_fn(|s: Draft, _| async move { Ok(s) }))
            .entry("a")
            .build()
            .unwrap();
        let err = other
            .resume(&log, RunOptions::default())
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("line 1") && err.contains("refine"), "{err}");
    });
}

#[test]
fn budget_usage_survives_resume() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.jsonl");
        let calls = Arc::new(AtomicUsize::new(0));
        let build = |calls: Arc<AtomicUsize>| {
            let model = Arc::new(ScriptedModel::new().with_rule(|_| true, |_| "a"));
            GraphBuilder::new("budgeted")
                .node(
                    "ask",
                    node_fn(move |n: u32, ctx: NodeContext| {
                        let (m, calls) = (model.clone(), calls.clone());
                        async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            ctx.chat(&*m, &ChatRequest::new(vec![Message::user("q")]))
                                .await?;
                            Ok(n + 1)
                        }
                    }),
                )
                .edge("ask", "ask")
                .entry("ask")
                .build()
                .unwrap()
        };
        let budget = Budget::unlimited().with_model_calls(5);
        build(calls.clone())
            .run(0, RunOptions::default().with_log(&log).with_budget(budget))
            .await
            .unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        let keep: Vec<&str> = text.lines().take(6).collect(); // header + 2.5 steps
        std::fs::write(&log, keep.join("\n") + "\n").unwrap();
        let out = build(calls.clone())
            .resume(&log, RunOptions::default())
            .await
            .unwrap();
        assert_eq!(out.state, 5);
        assert_eq!(
            out.usage.total.calls, 5,
            "calls replayed from the log count"
        );
        assert!(matches!(out.stop, StopReason::Budget { .. }));
    });
}

/// fast -> slow -> end over a list of finished node names. `slow` sleeps
/// for `nap` (far beyond any deadline in these tests, unless zero).
fn fast_then_slow(nap: std::time::Duration) -> Graph<Vec<String>> {
    GraphBuilder::new("deadline")
        .node(
            "fast",
            node_fn(|mut s: Vec<String>, _ctx| async move {
                s.push("fast".into());
                Ok(s)
            }),
        )
        .node(
            "slow",
            node_fn(move |mut s: Vec<String>, _ctx| async move {
                tokio::time::sleep(nap).await;
                s.push("slow".into());
                Ok(s)
            }),
        )
        .edge("fast", "slow")
        .entry("fast")
        .build()
        .unwrap()
}

/// The run must come back well within this (a generous bound: "did not
/// wait for the sleeping step").
const HANG: std::time::Duration = std::time::Duration::from_secs(20);

#[test]
fn wall_time_is_a_hard_limit_that_cancels_the_running_step() {
    use std::time::{Duration, Instant};
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.jsonl");
        let limit = Duration::from_millis(500);
        let started = Instant::now();
        let out = tokio::time::timeout(
            HANG,
            fast_then_slow(Duration::from_secs(3600)).run(
                Vec::new(),
                RunOptions::default()
                    .with_log(&log)
                    .with_budget(Budget::unlimited().with_wall_time(limit)),
            ),
        )
        .await
        .expect("the run waited for its sleeping step past the wall-time limit")
        .unwrap();
        assert!(
            started.elapsed() < limit + Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        match out.stop {
            StopReason::Budget { exhausted } => {
                assert_eq!(exhausted.kind, BudgetKind::WallTime);
                assert_eq!(exhausted.limit, 500);
                assert!(exhausted.used >= 500);
            }
            other => panic!("expected a wall-time stop, got {other:?}"),
        }
        assert_eq!(out.state, vec!["fast"], "the last committed state");
        assert_eq!(
            out.node_runs.get("slow"),
            None,
            "the cancelled step is not counted"
        );

        // The cancelled step is in the log as started and failed, never
        // finished; the run ended with the same reason.
        let text = std::fs::read_to_string(&log).unwrap();
        let records: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let of_slow: Vec<&str> = records
            .iter()
            .filter(|r| r["node"] == "slow")
            .map(|r| r["record"].as_str().unwrap())
            .collect();
        assert_eq!(of_slow, ["started", "failed"]);
        let ended = records.last().unwrap();
        assert_eq!(ended["record"], "ended");
        assert_eq!(ended["stop"]["exhausted"]["kind"], "wall_time");

        // Resuming the ended run returns its outcome without running anything.
        let again = fast_then_slow(Duration::from_secs(3600))
            .resume(&log, RunOptions::default())
            .await
            .unwrap();
        assert_eq!(again.state, out.state);
        assert_eq!(again.stop, out.stop);

        // Killed before the end was written, the cancelled step is
        // uncommitted: a resume runs it again (here, quickly) and finishes.
        let keep: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("\"record\":\"ended\""))
            .collect();
        std::fs::write(&log, keep.join("\n") + "\n").unwrap();
        let resumed = fast_then_slow(Duration::ZERO)
            .resume(&log, RunOptions::default())
            .await
            .unwrap();
        assert_eq!(resumed.stop, StopReason::Finished);
        assert_eq!(resumed.state, vec!["fast", "slow"]);
        assert_eq!(
            resumed.node_runs["fast"], 1,
            "the committed step is not re-run"
        );
    });
}

#[test]
fn wall_time_cancels_fan_out_jobs_in_flight() {
    use std::time::{Duration, Instant};
    rt().block_on(async {
        // start -> map over [0, 1, 2] (job 1 sleeps) -> join.
        let g = GraphBuilder::<Vec<u32>>::new("map-deadline")
            .node("start", node_fn(|s: Vec<u32>, _| async move { Ok(s) }))
            .map(
                "start",
                "job",
                "join",
                |_: &Vec<u32>| vec![vec![0], vec![1], vec![2]],
                |_, outs: Vec<Vec<u32>>| outs.concat(),
            )
            .node(
                "job",
                node_fn(|s: Vec<u32>, _| async move {
                    if s == [1] {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    Ok(s)
                }),
            )
            .node("join", node_fn(|s: Vec<u32>, _| async move { Ok(s) }))
            .entry("start")
            .build()
            .unwrap();
        let limit = Duration::from_millis(500);
        let started = Instant::now();
        let out = tokio::time::timeout(
            HANG,
            g.run(
                vec![7],
                RunOptions::default().with_budget(Budget::unlimited().with_wall_time(limit)),
            ),
        )
        .await
        .expect("the fan-out waited for its sleeping job past the wall-time limit")
        .unwrap();
        assert!(started.elapsed() < limit + Duration::from_secs(2));
        assert!(
            matches!(out.stop, StopReason::Budget { exhausted } if exhausted.kind == BudgetKind::WallTime),
            "{:?}",
            out.stop
        );
        assert_eq!(out.state, vec![7], "the state before the fan-out");
        assert_eq!(out.node_runs["job"], 2, "the two quick jobs finished");
    });
}

#[test]
fn a_log_torn_inside_a_multibyte_character_resumes() {
    rt().block_on(async {
        let g = || {
            GraphBuilder::<String>::new("accents")
                .node(
                    "add",
                    node_fn(|mut s: String, _| async move {
                        s.push_str("é日");
                        Ok(s)
                    }),
                )
                .router("add", &["add"], |s: &String| {
                    if s.chars().count() < 8 {
                        Route::to("add")
                    } else {
                        Route::End
                    }
                })
                .entry("add")
                .build()
                .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let full_log = dir.path().join("full.jsonl");
        let full = g()
            .run(String::new(), RunOptions::default().with_log(&full_log))
            .await
            .unwrap();
        assert_eq!(full.state, "é日é日é日é日");
        let bytes = std::fs::read(&full_log).unwrap();
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let mut checked = 0;
        for cut in 1..lines.len() {
            // Tear the next line inside its first multi-byte character.
            let Some(at) = lines[cut].iter().position(|&b| b >= 0x80) else {
                continue;
            };
            let path = dir.path().join(format!("cut-{cut}.jsonl"));
            let mut torn = lines[..cut].concat();
            torn.extend_from_slice(&lines[cut][..at + 1]);
            std::fs::write(&path, &torn).unwrap();
            let resumed = g()
                .resume(&path, RunOptions::default())
                .await
                .unwrap_or_else(|e| panic!("cut after {cut} lines: {e}"));
            assert_eq!(resumed.state, full.state, "cut after {cut} lines");
            assert_eq!(resumed.node_runs, full.node_runs);
            checked += 1;
        }
        assert!(checked >= 4, "{checked} torn lines checked");
    });
}

#[test]
fn a_second_writer_of_the_same_log_is_refused() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.jsonl");
        let gate = Arc::new(tokio::sync::Notify::new());
        let entered = Arc::new(tokio::sync::Notify::new());
        let (g1, e1) = (gate.clone(), entered.clone());
        let graph = GraphBuilder::<u32>::new("gated")
            .node(
                "wait",
                node_fn(move |n: u32, _| {
                    let (gate, entered) = (g1.clone(), e1.clone());
                    async move {
                        entered.notify_one();
                        gate.notified().await;
                        Ok(n + 1)
                    }
                }),
            )
            .entry("wait")
            .build()
            .unwrap();
        let first = tokio::spawn({
            let (graph, log) = (graph.clone(), log.clone());
            async move { graph.run(0, RunOptions::default().with_log(&log)).await }
        });
        entered.notified().await; // the first run is writing its log
        let second = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            graph.resume(&log, RunOptions::default()),
        )
        .await;
        let err = match second {
            Ok(Err(e)) => e.to_string(),
            _ => panic!("a second writer of a log in use must be refused"),
        };
        assert!(
            err.contains("being written by another process") && err.contains("run.jsonl"),
            "{err}"
        );
        gate.notify_one();
        let out = first.await.unwrap().unwrap();
        assert_eq!(out.state, 1);
        // Once the writer is done, the log is free again.
        let again = graph.resume(&log, RunOptions::default()).await.unwrap();
        assert_eq!(again.state, 1);
        // One file per run: the lock is on the log itself.
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(files, ["run.jsonl"]);
    });
}
