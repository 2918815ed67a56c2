//! Pictures of what networks compute: plots, filter grids, feature maps.
//!
//! Every function here draws into an in-memory RGB buffer with [plotters] and writes a PNG
//! atomically (a temporary file renamed into place), so a crash never leaves half a picture.
//! Text uses the DejaVu Sans font embedded in the engine, so plots look the same on every
//! machine and need no system fonts.

mod canvas;
mod colors;
mod decision_boundary;
mod font;
mod line_plot;
mod png;
mod surface_plot;

pub mod activation_max;
pub mod colour_bar;
pub mod diagram;
pub mod feature_maps;
pub mod filters;

pub use colors::{class_color, series_color};
pub use decision_boundary::DecisionBoundaryPlot;
pub use line_plot::{save_line_plot_grid, LegendCorner, LinePlot, Series, SeriesStyle};
pub use png::write_rgb_png;
pub use surface_plot::SurfacePlot;
