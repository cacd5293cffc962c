//! The review development set from HumanEval's canonical solutions: every
//! mutant breaks its hidden tests and every clean change keeps them
//! passing (checked again here by the host's verdict), the expected range
//! covers exactly the changed lines, and the same seed gives the same set.

use hone_bench::datasets::load;
use hone_bench::item::Suite;
use hone_bench::review::{generate, ReviewItem, SOLUTION_FILE};
use hone_sandbox::{Language, Sandbox, SandboxConfig};
use hone_tools::Harness;

fn changed_lines(before: &str, after: &str) -> Vec<u32> {
    let b: Vec<&str> = before.lines().collect();
    let a: Vec<&str> = after.lines().collect();
    // Single-site edits keep the line count, or add one line (a comment).
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while j < a.len() {
        if i < b.len() && a[j] == b[i] {
            i += 1;
            j += 1;
        } else if a.len() > b.len() && (i >= b.len() || a.get(j + 1) == b.get(i)) && out.is_empty()
        {
            out.push(j as u32 + 1); // an inserted line
            j += 1;
        } else {
            out.push(j as u32 + 1);
            i += 1;
            j += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutants_break_the_tests_clean_changes_keep_them_and_seeds_reproduce() {
    let sandbox = Sandbox::new(SandboxConfig::default());
    sandbox
        .preload_blocking(Language::Python)
        .expect("the Python guest (scripts/build-guests.sh)");
    let cache = hone_core::config::cache_dir();
    let humaneval = load("humaneval", &cache, &sandbox, &|_| {}).await.unwrap();
    let suite = Suite {
        items: humaneval.items[..12].to_vec(),
        ..humaneval
    };
    let harness = Harness::new(sandbox);
    let (items, report) = generate(&suite, &harness, 7, 1).await.unwrap();
    assert!(report.mutants >= 8 && report.clean >= 8, "{report:?}");
    assert_eq!(items.len(), report.mutants + report.clean);
    for item in &items {
        let before = &item.files_before[SOLUTION_FILE];
        let after = &item.files_after[SOLUTION_FILE];
        let hidden = &suite
            .items
            .iter()
            .find_map(|i| match i {
                hone_bench::item::Item::Code(c) if item.id.starts_with(&format!("{}/", c.id)) => {
                    Some(c.hidden_tests.clone())
                }
                _ => None,
            })
            .expect("its problem");
        let passes = harness
            .score(Language::Python, after, hidden)
            .await
            .unwrap()
            .passed;
        assert!(
            harness
                .score(Language::Python, before, hidden)
                .await
                .unwrap()
                .passed
        );
        assert_eq!(passes, item.expected.is_empty(), "{}: {}", item.id, after);
        for line in changed_lines(before, after) {
            if let Some(range) = item.expected.first() {
                assert!(
                    range.start_line <= line && line <= range.end_line,
                    "{}: line {line} changed outside {range:?}",
                    item.id
                );
            }
        }
        let json = serde_json::to_string(item).unwrap();
        assert_eq!(&serde_json::from_str::<ReviewItem>(&json).unwrap(), item);
    }
    let (again, _) = generate(&suite, &harness, 7, 1).await.unwrap();
    assert_eq!(again, items, "the same seed, the same set");
    let (other, _) = generate(&suite, &harness, 8, 1).await.unwrap();
    assert_ne!(other, items);
}
