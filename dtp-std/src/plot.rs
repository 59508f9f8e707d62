//! Training curves as a PNG (plotters, bitmap backend). Text is drawn with DejaVu Sans
//! embedded in the binary (the `dejavu` crate), so no system font is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::metrics::EpochRecord;

/// File name of the curves inside a run directory.
pub const FILE_NAME: &str = "curves.png";

const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e}")
}

/// Draws error and loss curves of `records` into the PNG file `out` (1200 × 500):
/// left, train/valid/test error (%) per epoch; right, the global training loss, each layer's
/// local loss and each inverse's reconstruction error (log scale).
pub fn draw(records: &[EpochRecord], title: &str, out: &Path) -> Result<()> {
    if records.is_empty() {
        return Err(anyhow!("no epochs to plot"));
    }
    register_font();
    let root = BitMapBackend::new(out, (1200, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, (FONT, 22).into_font()).map_err(err)?;
    let (left, right) = root.split_horizontally(600);
    let last = records.last().map_or(1, |r| r.epoch).max(2);
    let first = records.first().map_or(1, |r| r.epoch).min(last - 1);

    // --- error curves
    let max_err = records
        .iter()
        .flat_map(|r| [r.train_error, r.valid_error, r.test_error])
        .fold(0.0f64, f64::max)
        * 100.0;
    let mut chart = ChartBuilder::on(&left)
        .caption("classification error (%)", (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(first..last, 0.0..(max_err * 1.05).max(1.0))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    type Series = (&'static str, RGBColor, fn(&EpochRecord) -> f64);
    let series: [Series; 3] = [
        ("train (during epoch)", BLUE, |r| r.train_error),
        ("valid", GREEN, |r| r.valid_error),
        ("test", RED, |r| r.test_error),
    ];
    for (name, color, f) in series {
        chart
            .draw_series(LineSeries::new(
                records.iter().map(|r| (r.epoch, 100.0 * f(r))),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    // --- loss curves (log scale)
    let mut lines: Vec<(String, Vec<(u32, f64)>)> = vec![(
        "global loss L".into(),
        records.iter().map(|r| (r.epoch, r.train_loss)).collect(),
    )];
    let layers = records[0].local_loss.len();
    for k in 0..layers {
        lines.push((
            format!("local loss h{}", k + 1),
            records
                .iter()
                .filter_map(|r| r.local_loss.get(k).map(|&v| (r.epoch, f64::from(v))))
                .collect(),
        ));
    }
    for k in 0..records[0].inverse_loss.len() {
        lines.push((
            format!("inverse g{}", k + 2),
            records
                .iter()
                .filter_map(|r| r.inverse_loss.get(k).map(|&v| (r.epoch, f64::from(v))))
                .collect(),
        ));
    }
    let positive = lines
        .iter()
        .flat_map(|(_, l)| l.iter().map(|p| p.1))
        .filter(|v| *v > 0.0 && v.is_finite());
    let (lo, hi) = positive.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo <= hi {
        (lo / 1.5, hi * 1.5)
    } else {
        (1e-3, 1.0)
    };
    let mut chart = ChartBuilder::on(&right)
        .caption("losses (log scale)", (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(65)
        .build_cartesian_2d(first..last, (lo..hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .label_style((FONT, 14))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(err)?;
    for (i, (name, points)) in lines.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let width = if i == 0 { 3 } else { 1 };
        chart
            .draw_series(LineSeries::new(
                points.into_iter().filter(|p| p.1 > 0.0),
                color.stroke_width(width),
            ))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 12))
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present()
        .map_err(|e| anyhow!("{}: cannot write: {e}", out.display()))?;
    Ok(())
}
