//! The plot of a sweep: a metric against a swept field.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{PALETTE, Plot, PlotError, axes, canvas, err, legend, line_key, message, padded};

/// One line of a sweep plot: per x position, (median, min, max).
#[derive(Clone, Debug)]
pub struct SweepLine {
    /// Legend label (the second parameter's value).
    pub label: String,
    /// (x position, median, min, max); a time that never came is
    /// `f64::INFINITY` (drawn at the top).
    pub points: Vec<(f64, f64, f64, f64)>,
    /// Where some seeds never got there: (x position, how many, runs).
    pub never: Vec<(f64, usize, usize)>,
}

/// A metric against the first swept parameter, one line per value of the
/// second, median with a min–max band across seeds.
#[derive(Clone, Debug)]
pub struct SweepPlot {
    /// Title.
    pub title: String,
    /// X axis name.
    pub x_desc: String,
    /// Y axis name.
    pub y_desc: String,
    /// Labels of categorical x positions (empty: x is numeric).
    pub x_labels: Vec<String>,
    /// The lines.
    pub lines: Vec<SweepLine>,
}

impl Plot for SweepPlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let all = self.lines.iter().flat_map(|l| l.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, med, lo, hi) in all {
            x0 = x0.min(*x);
            x1 = x1.max(*x);
            for v in [med, lo, hi] {
                if v.is_finite() {
                    y0 = y0.min(*v);
                    y1 = y1.max(*v);
                }
            }
        }
        if x0 > x1 {
            return message(root, &self.title, "no values of this metric in the sweep");
        }
        let nevers: usize = self.lines.iter().flat_map(|l| &l.never).map(|n| n.1).sum();
        if y0 > y1 {
            // Only "never": any scale will do, the markers sit at its top.
            (y0, y1) = (0.0, 1.0);
        }
        // "Never" sits in a band above every value.
        let range = padded(y0.min(0.0), y1);
        // One row per line in the band, so that markers at one x do not hide
        // each other.
        let span = range.end - range.start;
        let rows = self
            .lines
            .iter()
            .filter(|l| !l.never.is_empty())
            .count()
            .max(1);
        let row_y = |k: usize| range.end + (0.06 + 0.07 * k as f64) * span;
        let y_never = row_y(0);
        let y_top = if nevers > 0 {
            row_y(rows - 1) + 0.05 * span
        } else {
            range.end
        };
        let top = |v: f64| if v.is_finite() { v } else { y_never };
        let xr = padded(x0, x1);
        // Narrower label area than the other plots' (kept as first drawn).
        let mut chart = canvas(root, &self.title)?
            .y_label_area_size(60)
            .build_cartesian_2d(xr.clone(), range.start..y_top)
            .map_err(err)?;
        let labels = &self.x_labels;
        let fmt_x = |x: &f64| {
            if labels.is_empty() {
                format!("{x}")
            } else {
                let k = x.round();
                if (x - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < labels.len() {
                    labels[k as usize].clone()
                } else {
                    String::new()
                }
            }
        };
        let fmt_y = |y: &f64| {
            if nevers > 0 && *y > range.end {
                String::new()
            } else {
                format!("{y}")
            }
        };
        let mut mesh = axes(&mut chart, &self.x_desc, &self.y_desc);
        mesh.x_label_formatter(&fmt_x);
        mesh.y_label_formatter(&fmt_y);
        if !self.x_labels.is_empty() {
            mesh.x_labels(self.x_labels.len().max(2) * 4 + 1);
        }
        mesh.draw().map_err(err)?;
        let mut never_row = 0;
        for (k, line) in self.lines.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let y_mark = row_y(never_row);
            if !line.never.is_empty() {
                never_row += 1;
            }
            if line.points.len() > 1 {
                let band: Vec<(f64, f64)> = line
                    .points
                    .iter()
                    .map(|p| (p.0, top(p.3)))
                    .chain(line.points.iter().rev().map(|p| (p.0, top(p.2))))
                    .collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18))))
                    .map_err(err)?;
            } else {
                chart
                    .draw_series(line.points.iter().map(|p| {
                        PathElement::new(
                            vec![(p.0, top(p.2)), (p.0, top(p.3))],
                            colour.stroke_width(2),
                        )
                    }))
                    .map_err(err)?;
            }
            chart
                .draw_series(LineSeries::new(
                    line.points
                        .iter()
                        .filter(|p| p.1.is_finite())
                        .map(|p| (p.0, p.1)),
                    colour.stroke_width(2),
                ))
                .map_err(err)?
                .label(line.label.clone())
                .legend(line_key(colour.stroke_width(2)));
            chart
                .draw_series(
                    line.points
                        .iter()
                        .filter(|p| p.1.is_finite())
                        .map(|p| Circle::new((p.0, p.1), 4, colour.filled())),
                )
                .map_err(err)?;
            // Never: a cross at the top, with how many of the runs.
            chart
                .draw_series(line.never.iter().map(|(x, k, runs)| {
                    EmptyElement::at((*x, y_mark))
                        + Cross::new((0, 0), 7, colour.stroke_width(3))
                        + Text::new(
                            format!("never {k}/{runs}"),
                            (-30, 9),
                            (super::FAMILY, 14).into_font().color(&colour),
                        )
                }))
                .map_err(err)?;
        }
        if nevers > 0 {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(xr.start, range.end), (xr.end, range.end)],
                    BLACK.mix(0.3),
                )))
                .map_err(err)?
                .label(format!(
                    "× at the top: never (seeds that never got there / runs; {nevers} in all)"
                ))
                .legend(|(x, y)| Cross::new((x + 9, y), 6, BLACK.stroke_width(3)));
        }
        // Below the "never" band, where the markers are not.
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}
