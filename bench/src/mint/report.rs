//! The report of MINT runs: one self-contained HTML page (inline CSS and
//! SVG, no script, no network) with the SR-vs-k curve of each model and
//! feedback mode (overall SR with its Wilson interval at every k), then
//! each run's table.

use std::collections::BTreeMap;

use plotters::prelude::*;
use serde::Serialize;

use super::metrics::{markdown, MintSummary};
use super::record::MintHeader;
use crate::html::{ReportError, PALETTE};

const PAGE: &str = include_str!("../../templates/mint_report.html");

/// One MINT run as the report shows it.
#[derive(Debug, Clone)]
pub struct MintRunData {
    /// Its directory.
    pub dir: String,
    /// Its header.
    pub header: MintHeader,
    /// Its figures.
    pub summary: MintSummary,
}

#[derive(Serialize)]
struct RunView {
    dir: String,
    k: u32,
    feedback: String,
    model: String,
    table: String,
}

fn chart_err(detail: String) -> ReportError {
    ReportError::Chart {
        chart: "mint SR against k",
        detail,
    }
}

/// The curves: one per (model, feedback mode), points at each k.
fn curves(runs: &[MintRunData]) -> BTreeMap<String, Vec<(u32, f64, f64, f64)>> {
    let mut curves: BTreeMap<String, Vec<(u32, f64, f64, f64)>> = BTreeMap::new();
    for r in runs {
        let label = format!("{}, feedback {}", r.header.model, r.header.feedback.name());
        let o = &r.summary.overall;
        curves
            .entry(label)
            .or_default()
            .push((r.header.k, o.sr, o.interval.0, o.interval.1));
    }
    for points in curves.values_mut() {
        points.sort_by_key(|p| p.0);
    }
    curves
}

fn sr_against_k(runs: &[MintRunData]) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("success rate against k (95% interval)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.5f64..5.5f64, 0f64..100f64)
            .map_err(|e| chart_err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_labels(5)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("k (chances to act)")
            .y_desc("SR, %")
            .draw()
            .map_err(|e| chart_err(e.to_string()))?;
        for (i, (label, points)) in curves(runs).into_iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (f64::from(p.0), p.1)),
                    colour.stroke_width(2),
                ))
                .map_err(|e| chart_err(e.to_string()))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(points.iter().map(|p| {
                    ErrorBar::new_vertical(f64::from(p.0), p.2, p.1, p.3, colour.filled(), 10)
                }))
                .map_err(|e| chart_err(e.to_string()))?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new((f64::from(p.0), p.1), 4, colour.filled())),
                )
                .map_err(|e| chart_err(e.to_string()))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| chart_err(e.to_string()))?;
        root.present().map_err(|e| chart_err(e.to_string()))?;
    }
    Ok(svg)
}

/// The page of `runs`.
pub fn html_report(runs: &[MintRunData]) -> Result<String, ReportError> {
    let chart = sr_against_k(runs)?;
    let views: Vec<RunView> = runs
        .iter()
        .map(|r| RunView {
            dir: r.dir.clone(),
            k: r.header.k,
            feedback: r.header.feedback.name().to_string(),
            model: r.header.model.clone(),
            table: markdown(&r.summary),
        })
        .collect();
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("mint_report.html", PAGE)?;
    Ok(env
        .get_template("mint_report.html")?
        .render(minijinja::context! {
            version => env!("CARGO_PKG_VERSION"),
            chart => chart,
            runs => views,
        })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mint::data::Family;
    use crate::mint::episode::{Feedback, Termination};
    use crate::mint::metrics::summarize;
    use crate::mint::MintRecord;
    use crate::results::ItemResult;

    fn run(k: u32, solved: usize, feedback: Feedback) -> MintRunData {
        let results: Vec<ItemResult> = (0..4)
            .map(|i| ItemResult {
                id: format!("gsm8k/{i}"),
                sample: 0,
                passed: i < solved,
                verified: false,
                stop: "max_steps".into(),
                answer: None,
                detail: String::new(),
                calls: 1,
                cache_hits: 0,
                input_tokens: 1,
                output_tokens: 1,
                wall_ms: 1.0,
                log: String::new(),
                critic: None,
                review: None,
                mint: Some(MintRecord {
                    set: "gsm8k".into(),
                    family: Family::Reasoning,
                    termination: Termination::MaxSteps,
                    proposals: 1,
                    tool_uses: 0,
                    invalid: 0,
                    feedback_turns: 0,
                    other_check: None,
                }),
            })
            .collect();
        MintRunData {
            dir: format!("mint/k{k}"),
            header: MintHeader {
                protocol: "mint".into(),
                hone_version: "0".into(),
                git_revision: None,
                k,
                max_proposals: 2,
                feedback,
                strict_checks: false,
                feedback_model: None,
                sets: vec!["gsm8k".into()],
                dataset_sha256: "x".into(),
                limit_per_set: None,
                model: "m <i>".into(),
                model_sha256: None,
                templates: Default::default(),
                shard: None,
            },
            summary: summarize(&results),
        }
    }

    #[test]
    fn one_curve_per_model_and_feedback_mode_with_a_point_per_k() {
        let runs = vec![
            run(1, 1, Feedback::None),
            run(3, 2, Feedback::None),
            run(5, 3, Feedback::None),
            run(5, 4, Feedback::NoGtTextual),
        ];
        let c = curves(&runs);
        assert_eq!(c.len(), 2);
        let none = &c["m <i>, feedback none"];
        assert_eq!(none.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 3, 5]);
        assert_eq!(none[2].1, 75.0);
        let page = html_report(&runs).unwrap();
        assert_eq!(page.matches("<svg").count(), 1);
        assert!(page.contains("m &lt;i&gt;"), "escaped");
        assert!(!page.contains("<script") && !page.contains("src="));
    }
}
