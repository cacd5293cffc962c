//! The HTML report: one self-contained file (inline CSS and SVG, no script,
//! no network) with the runs' table, SVG charts drawn with `plotters` (score
//! with its interval per run; score against mean calls and against mean
//! tokens), and a per-item table whose cells open each item's trajectory.
//! The page is a minijinja template (`templates/report.html`, autoescaped).

use std::collections::BTreeSet;

use plotters::element::ErrorBarOrientV;
use plotters::prelude::*;
use serde::Serialize;

use crate::results::ItemResult;
use crate::summary::{RunData, RunSummaryRow};

/// Why the report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Drawing a chart failed.
    #[error("drawing the {chart} chart: {detail}")]
    Chart {
        /// Which chart.
        chart: &'static str,
        /// What failed.
        detail: String,
    },
    /// Rendering the page failed.
    #[error("rendering the report page: {0}")]
    Page(#[from] minijinja::Error),
}

const PAGE: &str = include_str!("../templates/report.html");

/// Colours of successive runs (every report's charts use them).
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

#[derive(Serialize)]
struct Chart {
    svg: String,
    caption: String,
}

#[derive(Serialize)]
struct Cell {
    present: bool,
    passed: bool,
    detail: String,
    trajectory: String,
}

#[derive(Serialize)]
struct ItemRow {
    id: String,
    cells: Vec<Cell>,
}

/// The report of `runs`. `trajectory` renders an item's run log (as
/// `hone show` does); `None` leaves it out.
pub fn html_report(
    runs: &[RunData],
    trajectory: &dyn Fn(&RunData, &ItemResult) -> Option<String>,
) -> Result<String, ReportError> {
    let rows: Vec<RunSummaryRow> = runs.iter().map(RunData::summary).collect();
    let charts = vec![
        Chart {
            svg: score_chart(&rows)?,
            caption: "Score per run, with its 95% Wilson interval.".into(),
        },
        Chart {
            svg: cost_chart(&rows, "mean model calls per item", |r| r.mean_calls)?,
            caption: "Score against cost: mean model calls per item.".into(),
        },
        Chart {
            svg: cost_chart(&rows, "mean tokens per item", |r| r.mean_tokens)?,
            caption: "Score against cost: mean tokens (prompt and generated) per item.".into(),
        },
    ];
    // Items in the first run's order of ids, then any others.
    let ids: BTreeSet<&String> = runs.iter().flat_map(|r| r.results.keys()).collect();
    let items: Vec<ItemRow> = ids
        .into_iter()
        .map(|id| ItemRow {
            id: id.clone(),
            cells: runs
                .iter()
                .map(|run| match run.results.get(id) {
                    Some(r) => Cell {
                        present: true,
                        passed: r.passed,
                        detail: format!(
                            "{} · {} call(s) · {:.1} s · {}",
                            r.detail,
                            r.calls,
                            r.wall_ms / 1000.0,
                            r.stop
                        ),
                        trajectory: trajectory(run, r).unwrap_or_default(),
                    },
                    None => Cell {
                        present: false,
                        passed: false,
                        detail: String::new(),
                        trajectory: String::new(),
                    },
                })
                .collect(),
        })
        .collect();
    let title = rows
        .iter()
        .map(|r| r.suite.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(", ");
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report.html", PAGE)?;
    Ok(env
        .get_template("report.html")?
        .render(minijinja::context! {
            title => title,
            version => env!("CARGO_PKG_VERSION"),
            rows => rows,
            charts => charts,
            items => items,
        })?)
}

/// A run's name in the charts: its directory's name (runs are usually
/// named for their strategy), then the strategy when that says more.
fn label_of(r: &RunSummaryRow) -> String {
    let name = std::path::Path::new(&r.dir)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| r.dir.clone());
    if name.contains(&r.strategy) {
        name
    } else {
        format!("{name} ({})", r.strategy)
    }
}

/// A run's score interval as a vertical error bar at `x`, in percent.
fn interval_bar(
    x: f64,
    r: &RunSummaryRow,
    colour: RGBColor,
    width: u32,
    whisker: u32,
) -> ErrorBar<f64, f64, ErrorBarOrientV<f64, f64>> {
    ErrorBar::new_vertical(
        x,
        100.0 * r.score_interval.0,
        100.0 * r.score,
        100.0 * r.score_interval.1,
        colour.stroke_width(width),
        whisker,
    )
}

fn chart_err(chart: &'static str) -> impl Fn(String) -> ReportError {
    move |detail| ReportError::Chart { chart, detail }
}

/// Points with vertical error bars: each run's score and its interval.
fn score_chart(rows: &[RunSummaryRow]) -> Result<String, ReportError> {
    let err = chart_err("score");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let n = rows.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption("score (95% interval)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..100f64)
            .map_err(|e| err(e.to_string()))?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            rows.get(i as usize).map(label_of).unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&label)
            .y_desc("score, %")
            .disable_x_mesh()
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (i, r) in rows.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let x = i as f64;
            chart
                .draw_series(std::iter::once(interval_bar(x, r, colour, 2, 12)))
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x, 100.0 * r.score),
                    5,
                    colour.filled(),
                )))
                .map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

/// Score against a cost, one labelled point (with its score interval) per
/// run.
fn cost_chart(
    rows: &[RunSummaryRow],
    cost_name: &'static str,
    cost: fn(&RunSummaryRow) -> f64,
) -> Result<String, ReportError> {
    let err = chart_err("cost");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let max_cost = rows
            .iter()
            .map(cost)
            .filter(|c| c.is_finite())
            .fold(0.0f64, f64::max);
        // Room on the right for the last point's label.
        let x_max = if max_cost > 0.0 { max_cost * 1.6 } else { 1.0 };
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("score against {cost_name}"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..x_max, 0f64..100f64)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(cost_name)
            .y_desc("score, %")
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (i, r) in rows.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let x = cost(r);
            if !x.is_finite() {
                continue;
            }
            chart
                .draw_series(std::iter::once(interval_bar(x, r, colour, 1, 8)))
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, 100.0 * r.score))
                        + Circle::new((0, 0), 5, colour.filled())
                        + Text::new(label_of(r), (8, -14), ("sans-serif", 13)),
                ))
                .map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{BenchHeader, ItemBudget, Selection};
    use std::collections::BTreeMap;

    fn run(strategy: &str, passed: &[bool]) -> RunData {
        let results = passed
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let id = format!("item-{i}");
                {
                    ItemResult {
                        id,
                        sample: 0,
                        passed: *p,
                        verified: *p,
                        stop: "finished".into(),
                        answer: Some("<script>alert(1)</script>".into()),
                        detail: "hidden tests <ok>".into(),
                        calls: 2,
                        cache_hits: 0,
                        input_tokens: 10,
                        output_tokens: 5,
                        wall_ms: 10.0,
                        log: "runs/x.jsonl".into(),
                        critic: None,
                        mint: None,
                        review: None,
                    }
                }
            })
            .collect();
        RunData::from_results(
            std::path::Path::new(&format!("out/{strategy}")),
            BenchHeader {
                hone_version: "0".into(),
                git_revision: None,
                suite: "suite".into(),
                kind: crate::item::SuiteKind::Code,
                dataset_sha256: "x".into(),
                selected: passed.len(),
                selection: Selection::default(),
                shard: None,
                model: "m".into(),
                model_sha256: None,
                strategy: hone_agents::header::RunHeader::new(strategy, "m"),
                max_rounds: 4,
                mcts: None,
                item_budget: ItemBudget::default(),
                samples: 1,
                templates: BTreeMap::new(),
            },
            results,
        )
    }

    #[test]
    fn the_report_has_every_run_chart_and_item_and_escapes_text() {
        let runs = [
            run("single-shot", &[true, false, false]),
            run("self-refine", &[true, true, false]),
        ];
        let html = html_report(&runs, &|_, r| Some(format!("trajectory of {} <b>", r.id))).unwrap();
        assert_eq!(html.matches("<svg").count(), 3, "three charts");
        assert!(
            html.contains(">\nself-refine\n<"),
            "run labels in the charts"
        );
        assert!(html.contains("33.3% (1/3)") && html.contains("66.7% (2/3)"));
        assert_eq!(
            html.matches("<details>").count(),
            6,
            "a cell per item and run"
        );
        assert!(html.contains("trajectory of item-2 &lt;b&gt;"));
        assert!(html.contains("hidden tests &lt;ok&gt;"));
        assert!(
            !html.contains("<script"),
            "no script, and model text is escaped"
        );
        assert!(
            !html.contains("src=") && !html.contains("<link"),
            "no external assets"
        );
    }
}
