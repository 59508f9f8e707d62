//! Training curves as a PNG (plotters, bitmap backend). Text is drawn with DejaVu Sans
//! embedded in the binary (the `dejavu` crate), so no system font is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::metrics::EpochRecord;
use crate::model::{Model, ModelKind};

/// File name of the curves inside a run directory.
pub const FILE_NAME: &str = "curves.png";
/// File name of the auto-encoder's first-layer filters inside a run directory.
pub const FILTERS: &str = "filters.png";

/// Family name the embedded DejaVu Sans is registered under.
pub(crate) const FONT: &str = "sans-serif";

/// Registers the embedded font (once per process).
pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Fails, with one readable line, when the PNG file `out` cannot be written (its folder
/// missing, or `out` a directory): checked before drawing, as the drawing backend would report
/// it as a debug dump of its nested error types.
pub(crate) fn check_writable(out: &Path) -> Result<()> {
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(anyhow!(
            "{}: cannot write: {} is not an existing directory",
            out.display(),
            dir.display()
        ));
    }
    if out.is_dir() {
        return Err(anyhow!(
            "{}: cannot write: it is a directory",
            out.display()
        ));
    }
    Ok(())
}

/// A plotters error as an `anyhow` one.
pub(crate) fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e}")
}

/// Draws error and loss curves of `records` into the PNG file `out` (1200 × 500):
/// left, train/valid/test error (%) per epoch; right, the global training loss, each layer's
/// local loss and each inverse's reconstruction error (log scale). For an auto-encoder's
/// records: left, the online linear probe's error; right, the reconstruction error of the
/// training (corrupted), validation and test images and the encoder's local loss.
pub fn draw(records: &[EpochRecord], title: &str, out: &Path) -> Result<()> {
    if records.is_empty() {
        return Err(anyhow!("no epochs to plot"));
    }
    check_writable(out)?;
    register_font();
    let root = BitMapBackend::new(out, (1200, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, (FONT, 22).into_font()).map_err(err)?;
    let (left, right) = root.split_horizontally(600);
    let last = records.last().map_or(1, |r| r.epoch).max(2);
    let first = records.first().map_or(1, |r| r.epoch).min(last - 1);
    // A line through one or two epochs is hardly visible (through one, nothing): dots too.
    let dots = if records.len() <= 2 { 4 } else { 0 };

    // --- error curves
    let max_err = records
        .iter()
        .flat_map(|r| [r.train_error, r.valid_error, r.test_error])
        .fold(0.0f64, f64::max)
        * 100.0;
    let ae = records[0].kind == ModelKind::Autoencoder;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            if ae {
                "online linear probe on the codes: error (%)"
            } else {
                "classification error (%)"
            },
            (FONT, 18),
        )
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
            .draw_series(
                LineSeries::new(
                    records.iter().map(|r| (r.epoch, 100.0 * f(r))),
                    color.stroke_width(2),
                )
                .point_size(dots),
            )
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    // Multi-pass evaluations (`--eval-every`), where the run has them: lines through dots.
    type Passes = (&'static str, RGBColor, fn(&EpochRecord) -> Option<f64>);
    let passes: [Passes; 2] = [
        ("valid (multi-pass)", RGBColor(0, 100, 0), |r| {
            r.valid_error_passes
        }),
        ("test (multi-pass)", RGBColor(140, 0, 0), |r| {
            r.test_error_passes
        }),
    ];
    for (name, color, f) in passes {
        let points: Vec<(u32, f64)> = records
            .iter()
            .filter_map(|r| f(r).map(|v| (r.epoch, 100.0 * v)))
            .collect();
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(3))
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
    let curve = |f: fn(&EpochRecord) -> f64| records.iter().map(|r| (r.epoch, f(r))).collect();
    let mut lines: Vec<(String, Vec<(u32, f64)>)> = if ae {
        vec![
            (
                "reconstruction, train (corrupted input)".into(),
                curve(|r| r.train_loss),
            ),
            ("reconstruction, valid".into(), curve(|r| r.valid_loss)),
            ("reconstruction, test".into(), curve(|r| r.test_loss)),
        ]
    } else {
        vec![("global loss L".into(), curve(|r| r.train_loss))]
    };
    // The auto-encoder's second local loss is the decoder's, the training reconstruction.
    let layers = if ae { 1 } else { records[0].local_loss.len() };
    for k in 0..layers {
        lines.push((
            if ae {
                "encoder local loss (to the DTP target)".into()
            } else {
                format!("local loss h{}", k + 1)
            },
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
        .caption(
            if ae {
                "reconstruction error per image (log scale)"
            } else {
                "losses (log scale)"
            },
            (FONT, 18),
        )
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
        let width = if i == 0 || (ae && i < 3) { 3 } else { 1 };
        chart
            .draw_series(
                LineSeries::new(
                    points.into_iter().filter(|p| p.1 > 0.0),
                    color.stroke_width(width),
                )
                .point_size(dots),
            )
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

/// Draws the first (up to) 100 rows of the first layer's weights `net.f1.weight` of `model`,
/// each reshaped to a square image (28 × 28 for MNIST), scaled to its own [min, max] (black
/// to white) and enlarged 2×, in a 10-column grid on a dark grey background, into the
/// 8-bit grayscale PNG file `out` (written atomically).
pub fn draw_filters(model: &Model, out: &Path) -> Result<()> {
    let tensors = model.tensors();
    let w = tensors
        .iter()
        .find(|t| t.name == "net.f1.weight")
        .ok_or_else(|| anyhow!("no tensor net.f1.weight"))?;
    let side = (w.cols as f64).sqrt().round() as usize;
    if side * side != w.cols {
        return Err(anyhow!("{} inputs are not a square image", w.cols));
    }
    let count = w.rows.min(100);
    let (grid, scale, gap) = (10usize, 2usize, 2usize);
    let cell = side * scale + gap;
    let (width, height) = (grid * cell + gap, count.div_ceil(grid) * cell + gap);
    let mut pixels = vec![40u8; width * height];
    for k in 0..count {
        // Row k of the column-major `[rows, cols]` weight matrix.
        let row: Vec<f32> = (0..w.cols).map(|c| w.data[k + c * w.rows]).collect();
        let (lo, hi) = row
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        let (x0, y0) = (gap + (k % grid) * cell, gap + (k / grid) * cell);
        for (p, &v) in row.iter().enumerate() {
            let g = (255.0 * (v - lo) / span).round().clamp(0.0, 255.0) as u8;
            for dy in 0..scale {
                let y = y0 + (p / side) * scale + dy;
                let x = x0 + (p % side) * scale;
                pixels[y * width + x..y * width + x + scale].fill(g);
            }
        }
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&pixels).map_err(err)?;
    }
    crate::checkpoint::write_atomic(out, &bytes)
        .map_err(|e| anyhow!("{}: cannot write: {e}", out.display()))
}
