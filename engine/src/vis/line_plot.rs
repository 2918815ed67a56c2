//! Line plots with several labelled series: activation curves, loss curves, training history.

use super::canvas::{padded_range, render_png, Canvas, OrPlotError};
use super::colors::series_color;
use super::font::FAMILY;
use crate::error::{Error, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

/// How one series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesStyle {
    /// A solid line through the points, in order.
    Line,
    /// A dashed line: for a second curve that should be told apart without colour.
    Dashed,
    /// Separate dots: for samples laid over a smooth curve.
    Points,
}

/// Which corner of the plot holds the legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegendCorner {
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

/// One labelled curve.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f32, f32)>,
    pub style: SeriesStyle,
}

/// A 2-D plot of one or more series, with a title, axis labels and a legend.
///
/// ```no_run
/// use engine::vis::LinePlot;
/// let xs: Vec<f32> = (0..50).map(|i| i as f32 / 10.0).collect();
/// LinePlot::new("squares and cubes")
///     .axes("x", "y")
///     .line("x²", xs.iter().map(|&x| (x, x * x)).collect())
///     .dashed("x³/5", xs.iter().map(|&x| (x, x * x * x / 5.0)).collect())
///     .save("powers.png")?;
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LinePlot {
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<Series>,
    y_range: Option<(f32, f32)>,
    legend: LegendCorner,
    size: (u32, u32),
}

impl LinePlot {
    pub fn new(title: impl Into<String>) -> Self {
        LinePlot {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            series: Vec::new(),
            y_range: None,
            legend: LegendCorner::UpperLeft,
            size: (800, 500),
        }
    }

    /// Name the axes.
    pub fn axes(mut self, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        self.x_label = x_label.into();
        self.y_label = y_label.into();
        self
    }

    /// Move the legend out of the way of the curves (default: upper left).
    pub fn legend(mut self, corner: LegendCorner) -> Self {
        self.legend = corner;
        self
    }

    /// Fix the vertical range instead of fitting it to the data. Choose it to contain every
    /// point: plotters pins values outside the range to the frame.
    pub fn y_range(mut self, lo: f32, hi: f32) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// Picture size in pixels when saved on its own (default 800 × 500).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    pub fn line(self, label: impl Into<String>, points: Vec<(f32, f32)>) -> Self {
        self.with_series(label, points, SeriesStyle::Line)
    }

    pub fn dashed(self, label: impl Into<String>, points: Vec<(f32, f32)>) -> Self {
        self.with_series(label, points, SeriesStyle::Dashed)
    }

    pub fn points(self, label: impl Into<String>, points: Vec<(f32, f32)>) -> Self {
        self.with_series(label, points, SeriesStyle::Points)
    }

    pub fn with_series(
        mut self,
        label: impl Into<String>,
        points: Vec<(f32, f32)>,
        style: SeriesStyle,
    ) -> Self {
        self.series.push(Series {
            label: label.into(),
            points,
            style,
        });
        self
    }

    /// Draw the plot and write it to `path` as a PNG.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        render_png(path.as_ref(), self.size, |canvas| self.draw_on(canvas))
    }

    /// Draw the plot into `area` (the whole picture, or one panel of a grid).
    fn draw_on(&self, area: &Canvas) -> Result<()> {
        let (x_range, y_range) = self.ranges()?;
        let decimals = (tick_decimals(&x_range), tick_decimals(&y_range));
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FAMILY, 22))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(x_range, y_range)
            .or_plot_error("line_plot")?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&|v| tick_label(*v, decimals.0))
            .y_label_formatter(&|v| tick_label(*v, decimals.1))
            // A 940 px grid is shown in the book's 830 px column (×0.88): 16 px text reads as 14.
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 17))
            .max_light_lines(1)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .or_plot_error("line_plot")?;

        for (index, series) in self.series.iter().enumerate() {
            let color = series_color(index);
            let points: Vec<(f64, f64)> = finite_points(&series.points).collect();
            let drawn = match series.style {
                SeriesStyle::Line => chart
                    .draw_series(LineSeries::new(points, color.stroke_width(3)))
                    .or_plot_error("line_plot")?,
                SeriesStyle::Dashed => chart
                    .draw_series(DashedLineSeries::new(points, 10, 6, color.stroke_width(3)))
                    .or_plot_error("line_plot")?,
                SeriesStyle::Points => chart
                    .draw_series(
                        points
                            .into_iter()
                            .map(|p| Circle::new(p, 4, color.filled())),
                    )
                    .or_plot_error("line_plot")?,
            };
            drawn.label(&series.label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
        }
        chart
            .configure_series_labels()
            .position(match self.legend {
                LegendCorner::UpperLeft => SeriesLabelPosition::UpperLeft,
                LegendCorner::UpperRight => SeriesLabelPosition::UpperRight,
                LegendCorner::LowerLeft => SeriesLabelPosition::LowerLeft,
                LegendCorner::LowerRight => SeriesLabelPosition::LowerRight,
            })
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FAMILY, 16))
            .draw()
            .or_plot_error("line_plot")
    }

    /// The data's extent, padded a little so no curve touches the frame.
    fn ranges(&self) -> Result<(std::ops::Range<f64>, std::ops::Range<f64>)> {
        let all: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| finite_points(&s.points))
            .collect();
        if all.is_empty() {
            return Err(Error::invalid(
                "line_plot",
                format!("plot `{}` has no finite points to draw", self.title),
            ));
        }
        let extent = |pick: fn(&(f64, f64)) -> f64| {
            all.iter()
                .map(pick)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                })
        };
        let (x_lo, x_hi) = extent(|p| p.0);
        let (y_lo, y_hi) = match self.y_range {
            Some((lo, hi)) => (lo as f64, hi as f64),
            None => extent(|p| p.1),
        };
        let y = if self.y_range.is_some() {
            y_lo..y_hi
        } else {
            padded_range(y_lo, y_hi, 0.06)
        };
        Ok((padded_range(x_lo, x_hi, 0.0), y))
    }
}

/// The number of decimals the tick labels of an axis over `range` need: plotters puts its ticks
/// (`TICKS` at most) at multiples of 1, 2 or 5 times a power of ten, and every label of an axis
/// gets as many decimals as the most precise of them (0.5, 1.0, 1.5 rather than 0.5, 1, 1.5).
fn tick_decimals(range: &std::ops::Range<f64>) -> usize {
    RangedCoordf64::from(range.clone())
        .key_points(TICKS)
        .into_iter()
        .map(decimals_of)
        .max()
        .unwrap_or(0)
}

/// How many labels plotters writes on an axis at most (its default).
const TICKS: usize = 11;

/// The fewest decimals (up to 6) that write `v` exactly, allowing for rounding error.
fn decimals_of(v: f64) -> usize {
    (0..6)
        .find(|&d| {
            let scaled = v * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(6)
}

/// The label of the tick at `v` with `decimals` decimals, a true minus sign, and no "−0.0".
fn tick_label(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text.replace('-', "−")
    }
}

/// NaN or infinite points cannot be placed on an axis; they are left out.
fn finite_points(points: &[(f32, f32)]) -> impl Iterator<Item = (f64, f64)> + '_ {
    points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|&(x, y)| (x as f64, y as f64))
}

/// Several plots in one picture, `columns` per row, each panel `panel_size` pixels.
pub fn save_line_plot_grid(
    path: impl AsRef<Path>,
    plots: &[LinePlot],
    columns: usize,
    panel_size: (u32, u32),
) -> Result<()> {
    if plots.is_empty() || columns == 0 {
        return Err(Error::invalid(
            "save_line_plot_grid",
            "need at least one plot and one column",
        ));
    }
    let rows = plots.len().div_ceil(columns);
    let size = (panel_size.0 * columns as u32, panel_size.1 * rows as u32);
    render_png(path.as_ref(), size, |canvas| {
        let panels = canvas.split_evenly((rows, columns));
        for (plot, panel) in plots.iter().zip(&panels) {
            plot.draw_on(panel)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::{tick_decimals, tick_label};

    #[test]
    fn tick_labels_share_the_decimals_of_their_axis_and_have_no_negative_zero() {
        assert_eq!(tick_label(-0.0000001, 1), "0.0");
        assert_eq!(tick_label(-3.0, 0), "−3");
        assert_eq!(tick_decimals(&(0.0..5.3)), 1); // ticks 0, 0.5, …, 5
        assert_eq!(tick_decimals(&(1.0..8.0)), 0); // ticks 1, 2, …, 8
        assert_eq!(tick_decimals(&(-0.06..1.06)), 1); // ticks 0, 0.1, …, 1
        assert_eq!(tick_decimals(&(0.001..1.0)), 1);
    }
}
