//! The report of RealCritic runs: one self-contained HTML page (inline CSS
//! and SVG, no script, no network) with, per run, the accuracy of each set
//! with its interval and the transitions drawn as stacked bars per set
//! (C→C, C→I, I→C, I→I as shares of the set's items), then the tables.

use std::path::Path;

use plotters::prelude::*;
use serde::Serialize;

use super::metrics::{markdown, CriticSummary};
use super::record::CriticHeader;
use crate::html::ReportError;

const PAGE: &str = include_str!("../../templates/realcritic_report.html");

/// The four transitions, in stacking order, with their colours.
const SEGMENTS: [(&str, RGBColor); 4] = [
    ("C→C", RGBColor(44, 160, 44)),
    ("C→I", RGBColor(214, 39, 40)),
    ("I→C", RGBColor(31, 119, 180)),
    ("I→I", RGBColor(170, 170, 170)),
];

/// One RealCritic run as the report shows it.
#[derive(Debug, Clone)]
pub struct CriticRunData {
    /// Its directory.
    pub dir: String,
    /// Its header.
    pub header: CriticHeader,
    /// Its figures.
    pub summary: CriticSummary,
}

#[derive(Serialize)]
struct RunView {
    dir: String,
    mode: String,
    model: String,
    sets: usize,
    items: u64,
    mean_acc: f64,
    charts: Vec<String>,
    tables: String,
}

fn chart_err(detail: String) -> ReportError {
    ReportError::Chart {
        chart: "realcritic",
        detail,
    }
}

/// Accuracy per set with its Wilson interval.
fn accuracy_chart(summary: &CriticSummary) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(e.to_string()))?;
        let n = summary.sets.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption("accuracy per set (95% interval)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..100f64)
            .map_err(|e| chart_err(e.to_string()))?;
        let label = |x: &f64| set_label(summary, *x);
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&label)
            .y_desc("acc, %")
            .disable_x_mesh()
            .draw()
            .map_err(|e| chart_err(e.to_string()))?;
        // Purple: none of the transitions' colours.
        let colour = RGBColor(148, 103, 189);
        for (i, s) in summary.sets.iter().enumerate() {
            let x = i as f64;
            chart
                .draw_series(std::iter::once(ErrorBar::new_vertical(
                    x,
                    s.interval.0,
                    s.acc,
                    s.interval.1,
                    colour.stroke_width(2),
                    12,
                )))
                .map_err(|e| chart_err(e.to_string()))?;
            chart
                .draw_series(std::iter::once(Circle::new((x, s.acc), 5, colour.filled())))
                .map_err(|e| chart_err(e.to_string()))?;
        }
        root.present().map_err(|e| chart_err(e.to_string()))?;
    }
    Ok(svg)
}

fn set_label(summary: &CriticSummary, x: f64) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    summary
        .sets
        .get(i as usize)
        .map(|s| s.set.clone())
        .unwrap_or_default()
}

/// Transitions per set as stacked bars of the set's items, in percent.
fn transitions_chart(summary: &CriticSummary) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(e.to_string()))?;
        let n = summary.sets.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption("transitions per set (share of items)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..100f64)
            .map_err(|e| chart_err(e.to_string()))?;
        let label = |x: &f64| set_label(summary, *x);
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&label)
            .y_desc("items, %")
            .disable_x_mesh()
            .draw()
            .map_err(|e| chart_err(e.to_string()))?;
        for (k, (name, colour)) in SEGMENTS.iter().enumerate() {
            let bars: Vec<Rectangle<(f64, f64)>> = summary
                .sets
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let t = s.transitions?;
                    let counts = [t.cc, t.ci, t.ic, t.ii];
                    let total: u64 = counts.iter().sum();
                    if total == 0 {
                        return None;
                    }
                    let share = |c: u64| 100.0 * c as f64 / total as f64;
                    let bottom: f64 = counts[..k].iter().map(|c| share(*c)).sum();
                    let top = bottom + share(counts[k]);
                    let x = i as f64;
                    Some(Rectangle::new(
                        [(x - 0.35, bottom), (x + 0.35, top)],
                        colour.filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)
                .map_err(|e| chart_err(e.to_string()))?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| chart_err(e.to_string()))?;
        root.present().map_err(|e| chart_err(e.to_string()))?;
    }
    Ok(svg)
}

/// The page of `runs`.
pub fn html_report(runs: &[CriticRunData]) -> Result<String, ReportError> {
    let views = runs
        .iter()
        .map(|r| {
            let mut charts = vec![accuracy_chart(&r.summary)?];
            if r.summary.transitions.is_some() {
                charts.push(transitions_chart(&r.summary)?);
            }
            Ok(RunView {
                dir: Path::new(&r.dir)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| r.dir.clone()),
                mode: r.header.mode.name().to_string(),
                model: r.header.model.clone(),
                sets: r.summary.sets.len(),
                items: r.summary.sets.iter().map(|s| s.n).sum(),
                mean_acc: r.summary.mean_acc,
                charts,
                tables: markdown(&r.summary),
            })
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("realcritic_report.html", PAGE)?;
    Ok(env
        .get_template("realcritic_report.html")?
        .render(minijinja::context! {
            version => env!("CARGO_PKG_VERSION"),
            runs => views,
        })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realcritic::metrics::summarize;
    use crate::realcritic::protocol::Mode;
    use crate::realcritic::CriticRecord;
    use crate::results::ItemResult;

    fn result(set: &str, previous: bool, passed: bool) -> ItemResult {
        ItemResult {
            id: format!("{set}/0"),
            sample: 0,
            passed,
            verified: false,
            stop: "finished".into(),
            answer: None,
            detail: String::new(),
            calls: 1,
            cache_hits: 0,
            input_tokens: 1,
            output_tokens: 1,
            wall_ms: 1.0,
            log: String::new(),
            mint: None,
            review: None,
            critic: Some(CriticRecord {
                set: set.into(),
                previous: Some(previous),
                direct_answer: None,
                reference: "1".into(),
                strict: passed,
                says_correct: None,
                corrected: false,
                post_check: None,
                timed_out: false,
            }),
        }
    }

    #[test]
    fn the_page_draws_a_stacked_bar_per_set_and_loads_nothing() {
        let results = vec![
            result("gsm8k", true, true),
            result("gsm8k", false, true),
            result("math", true, false),
            result("math", false, false),
        ];
        let header = CriticHeader {
            protocol: "realcritic".into(),
            hone_version: "0".into(),
            git_revision: None,
            mode: Mode::Cross,
            rounds: 1,
            sets: vec!["gsm8k".into(), "math".into()],
            dataset_sha256: "x".into(),
            limit_per_set: None,
            model: "model <b>".into(),
            model_sha256: None,
            max_tokens: 2048,
            post_check: None,
            critic: Default::default(),
            templates: Default::default(),
            shard: None,
        };
        let page = html_report(&[CriticRunData {
            dir: "out/rc-cross".into(),
            header,
            summary: summarize(&results),
        }])
        .unwrap();
        assert!(page.contains("transitions per set"), "no transitions chart");
        // Two non-empty segments per set (gsm8k: C→C, I→C; math: C→I, I→I).
        let bars = page.matches("<rect").count();
        assert!(bars >= 4, "{bars} rects");
        for colour in ["#2CA02C", "#D62728", "#1F77B4", "#AAAAAA"] {
            assert!(page.to_uppercase().contains(colour), "no {colour} segment");
        }
        assert!(
            page.contains("model &lt;b&gt;"),
            "the model name is escaped"
        );
        assert_eq!(page.matches("<svg").count(), 2, "accuracy and transitions");
        assert!(!page.contains("<script"));
        assert!(
            !page.contains("src=") && !page.contains("<link"),
            "no external assets"
        );
    }
}
