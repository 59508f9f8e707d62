//! Several runs' error curves on one PNG (`dtp plot RUN_DIR RUN_DIR …`): e.g. DTP and
//! backprop, or the seeds of one preset, side by side.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::metrics::EpochRecord;
use crate::model::ModelKind;
use crate::plot::{FONT, err, register_font};

/// Run colours: the Tableau 10 palette (distinct, all readable on white).
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Draws, for every `(label, records)` run, its test error (thick), its validation error
/// (dashed) and its training error during the epoch (thin) per epoch, one colour per run,
/// with the multi-pass test (dots) and validation (rings) errors of runs that have them
/// (`--eval-every`), into the PNG file `out` (1000 × 600). The error axis stops at 1.1 × the largest test error after epoch 3, so the
/// end of the curves stays readable. When every run is an auto-encoder, the curves are its
/// reconstruction errors instead: test (thick), validation (dashed) and training, of the
/// corrupted inputs during the epoch (thin). Returns a note when the top of the axis clips
/// the first epochs (the caption says it too).
pub fn draw_runs(
    runs: &[(String, Vec<EpochRecord>)],
    title: &str,
    out: &Path,
) -> Result<Option<String>> {
    crate::plot::check_writable(out)?;
    if runs.iter().all(|(_, r)| r.is_empty()) {
        return Err(anyhow!("no epochs to plot"));
    }
    register_font();
    let ae = runs
        .iter()
        .all(|(_, r)| r.first().is_some_and(|e| e.kind == ModelKind::Autoencoder));
    type Value = fn(&EpochRecord) -> f64;
    let (test, valid, train): (Value, Value, Value) = if ae {
        (|r| r.test_loss, |r| r.valid_loss, |r| r.train_loss)
    } else {
        (
            |r| 100.0 * r.test_error,
            |r| 100.0 * r.valid_error,
            |r| 100.0 * r.train_error,
        )
    };
    let last = runs
        .iter()
        .filter_map(|(_, r)| r.last().map(|r| r.epoch))
        .max()
        .unwrap_or(2)
        .max(2);
    let top = runs
        .iter()
        .flat_map(|(_, r)| r.iter().filter(|r| r.epoch >= 3.min(last)))
        .map(test)
        .fold(0.0f64, f64::max)
        * 1.1;
    // The first two epochs' errors are often far above the rest: they are clipped at the top,
    // and the caption says so.
    let highest = runs
        .iter()
        .flat_map(|(_, r)| r.iter())
        .map(test)
        .fold(0.0f64, f64::max);
    let clipped = if highest > top.max(0.5) {
        format!(
            "; epochs 1-2 clipped at {:.3}{}",
            top.max(0.5),
            if ae { "" } else { " %" }
        )
    } else {
        String::new()
    };
    let multi_pass = runs
        .iter()
        .any(|(_, r)| r.iter().any(|e| e.test_error_passes.is_some()));
    let root = BitMapBackend::new(out, (1000, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, (FONT, 22).into_font()).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{}{clipped}",
                if ae {
                    "reconstruction error per image: test (thick), validation (dashed), \
                     training (corrupted input) during the epoch (thin)"
                } else if multi_pass {
                    "error (%): test (thick), validation (dashed), training during the epoch \
                     (thin); averaging sampled passes: test (dots), validation (rings)"
                } else {
                    "error (%): test (thick), validation (dashed), training during the epoch (thin)"
                }
            ),
            (FONT, 16),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(1..last, 0.0..top.max(0.5))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    for (i, (label, records)) in runs.iter().enumerate() {
        let color = COLORS[i % COLORS.len()].to_rgba();
        let clip = |v: f64| v.min(top);
        chart
            .draw_series(LineSeries::new(
                records.iter().map(|r| (r.epoch, clip(test(r)))),
                color.stroke_width(3),
            ))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(DashedLineSeries::new(
                records.iter().map(|r| (r.epoch, clip(valid(r)))),
                6,
                4,
                color.stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                records.iter().map(|r| (r.epoch, clip(train(r)))),
                color.stroke_width(1),
            ))
            .map_err(err)?;
        // Multi-pass evaluations (`--eval-every`): test as dots, validation as rings.
        if !ae {
            let dots = |f: fn(&EpochRecord) -> Option<f64>| {
                records
                    .iter()
                    .filter_map(move |r| f(r).map(|v| (r.epoch, clip(100.0 * v))))
            };
            chart
                .draw_series(
                    dots(|r| r.test_error_passes).map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(err)?;
            chart
                .draw_series(dots(|r| r.valid_error_passes).map(|p| Circle::new(p, 3, color)))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present()
        .map_err(|e| anyhow!("{}: cannot write: {e}", out.display()))?;
    Ok((!clipped.is_empty()).then(|| clipped.trim_start_matches("; ").to_string()))
}
