//! A 2-D scatter of labelled points over the classifier's opinion of every spot in the plane.

use super::canvas::{padded_range, render_png, OrPlotError};
use super::colors::{class_color, mix, pale};
use super::colour_bar::{BarDirection, ColourBar};
use super::diagram::Rgb;
use super::font::FAMILY;
use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// Two classes of points (labels 0 and 1) drawn over a background coloured by the model's
/// probability of class 1: blue where it says 0, orange where it says 1, pale where unsure,
/// and a dark line where the probability crosses ½ — the decision boundary. A colour bar on the
/// right gives the probability each shade stands for.
#[derive(Clone, Debug)]
pub struct DecisionBoundaryPlot {
    title: String,
    points: Vec<[f32; 2]>,
    labels: Vec<usize>,
    resolution: usize,
    size: (u32, u32),
}

impl DecisionBoundaryPlot {
    pub fn new(title: impl Into<String>, points: &[[f32; 2]], labels: &[usize]) -> Result<Self> {
        if points.len() != labels.len() || points.is_empty() {
            return Err(Error::invalid(
                "decision_boundary",
                format!(
                    "need one label per point and at least one point; got {} points, {} labels",
                    points.len(),
                    labels.len()
                ),
            ));
        }
        Ok(DecisionBoundaryPlot {
            title: title.into(),
            points: points.to_vec(),
            labels: labels.to_vec(),
            resolution: 160,
            // Narrower than the book's 830 px column: the text is shown at its own size.
            size: (740, 680),
        })
    }

    /// Background cells per side (default 160): more is smoother and slower.
    pub fn resolution(mut self, cells_per_side: usize) -> Self {
        self.resolution = cells_per_side.max(2);
        self
    }

    /// Draw and save. `probability_of_class_1` gets a batch of plane positions and returns
    /// the model's P(class 1) for each, so a network is evaluated once for the whole grid.
    pub fn save(
        &self,
        path: impl AsRef<Path>,
        probability_of_class_1: impl FnOnce(&[[f32; 2]]) -> Result<Vec<f32>>,
    ) -> Result<()> {
        let (x_range, y_range) = self.ranges();
        let grid = grid_centres(&x_range, &y_range, self.resolution);
        let probabilities = probability_of_class_1(&grid)?;
        if probabilities.len() != grid.len() {
            return Err(Error::invalid(
                "decision_boundary",
                format!(
                    "the model returned {} probabilities for {} grid points",
                    probabilities.len(),
                    grid.len()
                ),
            ));
        }
        render_png(path.as_ref(), self.size, |canvas| {
            let (plot_area, _) = canvas.split_horizontally(self.size.0 - BAR_STRIP);
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(&self.title, (FAMILY, 22))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(x_range.clone(), y_range.clone())
                .or_plot_error("decision_boundary")?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("x₁")
                .y_desc("x₂")
                .label_style((FAMILY, 15))
                .axis_desc_style((FAMILY, 17))
                .draw()
                .or_plot_error("decision_boundary")?;
            let (_, rows) = chart.plotting_area().get_pixel_range();
            let bar_x = self.size.0 as i32 - BAR_STRIP as i32 + 16;
            let bar_size = (22, rows.end - rows.start);
            probability_bar().draw(
                canvas,
                (bar_x, rows.start),
                bar_size,
                BarDirection::Vertical,
                15,
            )?;

            let n = self.resolution;
            let cell = (
                (x_range.end - x_range.start) / n as f64,
                (y_range.end - y_range.start) / n as f64,
            );
            let cells = (0..n * n).map(|k| {
                let (row, col) = (k / n, k % n);
                let p = probabilities[k] as f64;
                let color = if crosses_half(&probabilities, n, row, col) {
                    RGBColor(60, 60, 60)
                } else {
                    background(p)
                };
                let x0 = x_range.start + col as f64 * cell.0;
                let y0 = y_range.start + row as f64 * cell.1;
                Rectangle::new([(x0, y0), (x0 + cell.0, y0 + cell.1)], color.filled())
            });
            chart
                .draw_series(cells)
                .or_plot_error("decision_boundary")?;

            for class in [0, 1] {
                let color = class_color(class);
                let members = self
                    .points
                    .iter()
                    .zip(&self.labels)
                    .filter(move |(_, &label)| label == class)
                    .map(|(p, _)| (p[0] as f64, p[1] as f64));
                chart
                    .draw_series(members.map(|p| {
                        EmptyElement::at(p)
                            + Circle::new((0, 0), 4, color.filled())
                            + Circle::new((0, 0), 4, BLACK.stroke_width(1))
                    }))
                    .or_plot_error("decision_boundary")?
                    .label(format!("class {class}"))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .label_font((FAMILY, 15))
                .draw()
                .or_plot_error("decision_boundary")
        })
    }

    /// The points' bounding box with a margin, so the boundary is visible around the data.
    fn ranges(&self) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
        let extent = |axis: usize| {
            self.points
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), p| {
                    (lo.min(p[axis] as f64), hi.max(p[axis] as f64))
                })
        };
        let (x_lo, x_hi) = extent(0);
        let (y_lo, y_hi) = extent(1);
        (padded_range(x_lo, x_hi, 0.1), padded_range(y_lo, y_hi, 0.1))
    }
}

/// Pixels on the right of the picture for the colour bar and its labels.
const BAR_STRIP: u32 = 100;

/// The background's colour where the model gives class 1 the probability `p`.
fn background(p: f64) -> RGBColor {
    mix(pale(class_color(0), 0.45), pale(class_color(1), 0.45), p)
}

/// The colour scale of the background, with the boundary's ½ marked.
fn probability_bar() -> ColourBar {
    ColourBar::new("P(class 1)", |t| {
        let RGBColor(r, g, b) = background(t as f64);
        Rgb(r, g, b)
    })
    .ticks_between(0.0, 1.0, 5, |p| p)
}

/// Centres of an `n × n` grid of cells covering the ranges, row by row from the bottom.
fn grid_centres(x: &std::ops::Range<f64>, y: &std::ops::Range<f64>, n: usize) -> Vec<[f32; 2]> {
    let step = |r: &std::ops::Range<f64>| (r.end - r.start) / n as f64;
    let (dx, dy) = (step(x), step(y));
    (0..n * n)
        .map(|k| {
            let (row, col) = (k / n, k % n);
            [
                (x.start + (col as f64 + 0.5) * dx) as f32,
                (y.start + (row as f64 + 0.5) * dy) as f32,
            ]
        })
        .collect()
}

/// Whether the model's decision flips between this cell and its right or upper neighbour.
fn crosses_half(p: &[f32], n: usize, row: usize, col: usize) -> bool {
    let side = |v: f32| v >= 0.5;
    let here = side(p[row * n + col]);
    (col + 1 < n && side(p[row * n + col + 1]) != here)
        || (row + 1 < n && side(p[(row + 1) * n + col]) != here)
}
