//! A loss surface over two parameters, seen in 3-D and from above, with the path an optimiser
//! took across it.

use super::canvas::{render_png, Canvas, OrPlotError};
use super::colors::height_color;
use super::colour_bar::{BarDirection, ColourBar};
use super::diagram::Rgb;
use super::font::FAMILY;
use crate::error::{Error, Result};
use plotters::coord::ranged3d::Cartesian3d;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// Heights h(a, b) sampled on a grid of two parameters a (across) and b (into the picture),
/// plus an optional path of (a, b, h) points. Saved as two panels: the surface in perspective
/// with the path on it, and a top view (colour = height) where the path is easy to follow.
#[derive(Clone, Debug)]
pub struct SurfacePlot {
    title: String,
    a_label: String,
    b_label: String,
    a_values: Vec<f32>,
    b_values: Vec<f32>,
    /// `heights[j * a_values.len() + i]` = h(a_values[i], b_values[j]).
    heights: Vec<f32>,
    path: Vec<(f32, f32, f32)>,
    size: (u32, u32),
}

impl SurfacePlot {
    /// Sample `height(a, b)` on the grid `a_values × b_values`.
    pub fn from_fn(
        title: impl Into<String>,
        a_values: Vec<f32>,
        b_values: Vec<f32>,
        mut height: impl FnMut(f32, f32) -> Result<f32>,
    ) -> Result<Self> {
        if a_values.len() < 2 || b_values.len() < 2 {
            return Err(Error::invalid(
                "surface_plot",
                "each parameter needs at least two grid values",
            ));
        }
        let mut heights = Vec::with_capacity(a_values.len() * b_values.len());
        for &b in &b_values {
            for &a in &a_values {
                heights.push(height(a, b)?);
            }
        }
        if heights.iter().any(|h| !h.is_finite()) {
            return Err(Error::invalid(
                "surface_plot",
                "the surface has NaN or infinite heights",
            ));
        }
        Ok(SurfacePlot {
            title: title.into(),
            a_label: "a".into(),
            b_label: "b".into(),
            a_values,
            b_values,
            heights,
            path: Vec::new(),
            // Close to the book's column (830 px), so the text is read near its own size.
            size: (1000, 470),
        })
    }

    /// Name the two parameters.
    pub fn labels(mut self, a_label: impl Into<String>, b_label: impl Into<String>) -> Self {
        self.a_label = a_label.into();
        self.b_label = b_label.into();
        self
    }

    /// The optimiser's path: (a, b, height) after each step.
    pub fn path(mut self, points: Vec<(f32, f32, f32)>) -> Self {
        self.path = points;
        self
    }

    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        render_png(path.as_ref(), self.size, |root| {
            let canvas = root
                .titled(&self.title, (FAMILY, 26))
                .or_plot_error("surface_plot")?;
            let (left, right) = canvas.split_horizontally(self.size.0 * 51 / 100);
            self.draw_perspective(&left)?;
            let (top_view, _) = right.split_horizontally(right.dim_in_pixel().0 - BAR_STRIP);
            let rows = self.draw_top_view(&top_view)?;
            let bar_x = self.size.0 as i32 - BAR_STRIP as i32 + 12;
            let bar_size = (22, rows.end - rows.start);
            self.height_bar().draw(
                root,
                (bar_x, rows.start),
                bar_size,
                BarDirection::Vertical,
                16,
            )
        })
    }

    fn a_range(&self) -> Range<f64> {
        span(&self.a_values)
    }

    fn b_range(&self) -> Range<f64> {
        span(&self.b_values)
    }

    fn height_range(&self) -> Range<f64> {
        let lo = self.heights.iter().copied().fold(f32::INFINITY, f32::min) as f64;
        let hi = self
            .heights
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max) as f64;
        if hi > lo {
            lo..hi
        } else {
            lo..lo + 1.0
        }
    }

    /// The top view's colour scale, ticked at round heights.
    fn height_bar(&self) -> ColourBar {
        let r = self.height_range();
        let (lo, hi) = (r.start as f32, r.end as f32);
        let t_of = |h: f32| ((h - lo) / (hi - lo)).max(0.0).sqrt();
        ColourBar::new("loss", |t| {
            let c = height_color(t as f64);
            Rgb(c.0, c.1, c.2)
        })
        .ticks_between(lo, hi, 6, t_of)
    }

    /// Colour for a height: dark blue at the bottom of the surface, yellow at the top. The
    /// square root spends more of the colour ramp on low heights, where the minimum and the
    /// end of the path lie.
    fn color_of(&self, h: f64) -> RGBColor {
        let r = self.height_range();
        height_color(((h - r.start) / (r.end - r.start)).max(0.0).sqrt())
    }

    fn height(&self, i: usize, j: usize) -> f64 {
        self.heights[j * self.a_values.len() + i] as f64
    }

    /// The surface in perspective. plotters' 3-D charts put the height on their y axis, so the
    /// parameters are x (a) and z (b).
    fn draw_perspective(&self, area: &Canvas) -> Result<()> {
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .caption(
                format!("loss over ({}, {})", self.a_label, self.b_label),
                (FAMILY, 20),
            )
            .build_cartesian_3d(self.a_range(), self.height_range(), self.b_range())
            .or_plot_error("surface_plot")?;
        chart.with_projection(|mut projection| {
            projection.yaw = 0.75;
            projection.pitch = 0.45;
            projection.scale = 0.85;
            projection.into_matrix()
        });
        chart
            .configure_axes()
            .light_grid_style(RGBColor(225, 225, 225))
            .label_style((FAMILY, 16))
            .max_light_lines(4)
            .draw()
            .or_plot_error("surface_plot")?;

        // Painter's algorithm: draw the cells farthest from the viewer first, so nearer
        // ones cover them.
        let coord = chart.as_coord_spec();
        let mut cells: Vec<SurfaceCell> = Vec::new();
        for j in 0..self.b_values.len() - 1 {
            for i in 0..self.a_values.len() - 1 {
                let corner = |di: usize, dj: usize| {
                    (
                        self.a_values[i + di] as f64,
                        self.height(i + di, j + dj),
                        self.b_values[j + dj] as f64,
                    )
                };
                let corners = vec![corner(0, 0), corner(1, 0), corner(1, 1), corner(0, 1)];
                let mean_height = corners.iter().map(|c| c.1).sum::<f64>() / 4.0;
                let (a, b) = (
                    (corners[0].0 + corners[2].0) / 2.0,
                    (corners[0].2 + corners[2].2) / 2.0,
                );
                cells.push(SurfaceCell {
                    depth: coord.projected_depth(&a, &mean_height, &b),
                    corners,
                    mean_height,
                });
            }
        }
        cells.sort_by_key(|cell| std::cmp::Reverse(cell.depth));
        let polygons: Vec<_> = cells
            .into_iter()
            .map(|cell| {
                let color = self.color_of(cell.mean_height);
                Polygon::new(cell.corners, color.mix(0.9).filled())
            })
            .collect();
        chart.draw_series(polygons).or_plot_error("surface_plot")?;

        self.name_axes(&mut chart)?;
        if !self.path.is_empty() {
            let lifted: Vec<(f64, f64, f64)> = self
                .path
                .iter()
                .map(|&(a, b, h)| (a as f64, h as f64, b as f64))
                .collect();
            draw_path(&mut chart, lifted)?;
        }
        Ok(())
    }

    /// plotters' 3-D axes have no titles: write each parameter's name beside its axis.
    fn name_axes<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<
            '_,
            DB,
            Cartesian3d<RangedCoordf64, RangedCoordf64, RangedCoordf64>,
        >,
    ) -> Result<()> {
        let (a, b, h) = (self.a_range(), self.b_range(), self.height_range());
        let style = TextStyle::from((FAMILY, 22)).color(&BLACK);
        let labels = [
            (
                self.a_label.clone(),
                (
                    (a.start + a.end) / 2.0,
                    h.start,
                    b.end + 0.25 * (b.end - b.start),
                ),
            ),
            (
                self.b_label.clone(),
                (
                    a.end + 0.25 * (a.end - a.start),
                    h.start,
                    (b.start + b.end) / 2.0,
                ),
            ),
        ];
        chart
            .draw_series(
                labels
                    .into_iter()
                    .map(|(text, at)| Text::new(text, at, style.clone())),
            )
            .or_plot_error("surface_plot")?;
        Ok(())
    }

    /// The same surface from above: colour shows height, the path shows the optimiser's steps.
    /// Returns the rows of pixels the plot covers, for the colour bar beside it.
    fn draw_top_view(&self, area: &Canvas) -> Result<Range<i32>> {
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .caption("seen from above", (FAMILY, 20))
            .x_label_area_size(48)
            .y_label_area_size(58)
            .build_cartesian_2d(self.a_range(), self.b_range())
            .or_plot_error("surface_plot")?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.a_label)
            .y_desc(&self.b_label)
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .draw()
            .or_plot_error("surface_plot")?;

        let (na, nb) = (self.a_values.len(), self.b_values.len());
        let cells = (0..nb - 1).flat_map(|j| (0..na - 1).map(move |i| (i, j)));
        chart
            .draw_series(cells.map(|(i, j)| {
                let mean = (self.height(i, j)
                    + self.height(i + 1, j)
                    + self.height(i, j + 1)
                    + self.height(i + 1, j + 1))
                    / 4.0;
                let low = (self.a_values[i] as f64, self.b_values[j] as f64);
                let high = (self.a_values[i + 1] as f64, self.b_values[j + 1] as f64);
                Rectangle::new([low, high], self.color_of(mean).filled())
            }))
            .or_plot_error("surface_plot")?;

        if !self.path.is_empty() {
            let flat: Vec<(f64, f64)> = self
                .path
                .iter()
                .map(|&(a, b, _)| (a as f64, b as f64))
                .collect();
            draw_path(&mut chart, flat)?;
        }
        Ok(chart.plotting_area().get_pixel_range().1)
    }
}

/// Pixels on the right of the picture for the colour bar and its labels.
const BAR_STRIP: u32 = 86;

/// The path as a white-edged red line with a dot per step, a green start and a black end:
/// it must stand out on any colour of the surface.
fn draw_path<'a, DB, CT, P>(chart: &mut ChartContext<'a, DB, CT>, points: Vec<P>) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = P>,
    P: Clone + 'static,
{
    let red = RGBColor(220, 20, 20);
    chart
        .draw_series(LineSeries::new(points.clone(), WHITE.stroke_width(5)))
        .or_plot_error("surface_plot")?;
    chart
        .draw_series(LineSeries::new(points.clone(), red.stroke_width(2)))
        .or_plot_error("surface_plot")?;
    chart
        .draw_series(
            points
                .iter()
                .cloned()
                .map(|p| Circle::new(p, 2, red.filled())),
        )
        .or_plot_error("surface_plot")?;
    let ends = [
        (points[0].clone(), RGBColor(0, 170, 0)),
        (points[points.len() - 1].clone(), BLACK),
    ];
    chart
        .draw_series(ends.into_iter().map(|(p, color)| {
            EmptyElement::at(p)
                + Circle::new((0, 0), 6, color.filled())
                + Circle::new((0, 0), 6, WHITE.stroke_width(2))
        }))
        .or_plot_error("surface_plot")?;
    Ok(())
}

/// One quadrilateral of the 3-D surface, with its distance from the viewer for sorting.
struct SurfaceCell {
    depth: i32,
    corners: Vec<(f64, f64, f64)>,
    mean_height: f64,
}

fn span(values: &[f32]) -> Range<f64> {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min) as f64;
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    lo..hi
}
