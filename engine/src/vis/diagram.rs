//! Diagrams drawn from code: boxes, circles, arrows, text, heat maps and pictures placed at
//! pixel positions, saved as PNG or JPEG.
//!
//! The book's teaching figures — a network's layers, a convolution's sliding window, VGG's
//! blocks, photo / painting / result rows — are built with this from the numbers an example
//! computed, so they can never disagree with what the example prints.
//!
//! ```no_run
//! use engine::vis::diagram::{Align, Diagram, Rgb};
//! let mut d = Diagram::new(300, 120);
//! d.circle((60, 60), 30, Some(Rgb::LIGHT_BLUE), Some(Rgb::BLACK))
//!     .arrow((90, 60), (200, 60), Rgb::BLACK, 2)
//!     .text((240, 60), "σ(z)", 20, Rgb::BLACK, Align::Center);
//! d.save("neuron.png")?;
//! # Ok::<(), engine::Error>(())
//! ```

use super::canvas::OrPlotError;
use super::colors::height_color;
use super::colour_bar::{BarDirection, ColourBar};
use super::font::{self, FAMILY};
use crate::error::{Error, Result};
use crate::io::save::{save_rgb8_as, OutputFormat};
use image::RgbImage;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;
use std::path::Path;

/// A colour, 0..=255 per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    pub const GREY: Rgb = Rgb(128, 128, 128);
    /// For secondary text: quieter than black, still dark enough to read at small sizes.
    pub const DARK_GREY: Rgb = Rgb(70, 70, 70);
    pub const LIGHT_GREY: Rgb = Rgb(225, 225, 225);
    pub const BLUE: Rgb = Rgb(31, 119, 180);
    pub const LIGHT_BLUE: Rgb = Rgb(198, 219, 239);
    pub const ORANGE: Rgb = Rgb(255, 127, 14);
    pub const LIGHT_ORANGE: Rgb = Rgb(253, 208, 162);
    pub const GREEN: Rgb = Rgb(44, 160, 44);
    pub const RED: Rgb = Rgb(214, 39, 40);

    /// The colour a fraction `t` of the way to `other` (0 gives `self`, 1 gives `other`).
    pub fn mix(self, other: Rgb, t: f32) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let channel = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * t).round() as u8;
        Rgb(
            channel(self.0, other.0),
            channel(self.1, other.1),
            channel(self.2, other.2),
        )
    }

    /// The heat-map colour of `t` in 0..=1: dark blue through green to yellow (viridis-like).
    pub fn heat(t: f32) -> Rgb {
        let c = height_color(t as f64);
        Rgb(c.0, c.1, c.2)
    }

    fn color(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// Where a text's anchor point is: at its left end, its middle, or its right end (it is
/// always centred vertically on the anchor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

#[derive(Clone, Debug)]
enum Item {
    Rect {
        corner: (i32, i32),
        size: (i32, i32),
        fill: Option<Rgb>,
        stroke: Option<(Rgb, u32)>,
    },
    DashedRect {
        corner: (i32, i32),
        size: (i32, i32),
        stroke: Rgb,
        width: u32,
    },
    Circle {
        centre: (i32, i32),
        radius: i32,
        fill: Option<Rgb>,
        stroke: Option<Rgb>,
    },
    Line {
        from: (i32, i32),
        to: (i32, i32),
        color: Rgb,
        width: u32,
        head: bool,
    },
    Text {
        at: (i32, i32),
        text: String,
        size: u32,
        color: Rgb,
        align: Align,
        upright: bool,
    },
    ColourBar {
        corner: (i32, i32),
        size: (i32, i32),
        bar: ColourBar,
        direction: BarDirection,
        text_size: u32,
    },
}

/// A white picture of a fixed size on which items are placed in pixel coordinates (origin at
/// the top left, y downwards). Pictures and heat maps are drawn first, under the other items;
/// the other items are drawn in the order they were added.
#[derive(Clone, Debug)]
pub struct Diagram {
    width: u32,
    height: u32,
    pixels: RgbImage,
    items: Vec<Item>,
}

impl Diagram {
    pub fn new(width: u32, height: u32) -> Self {
        Diagram {
            width,
            height,
            pixels: RgbImage::from_pixel(width.max(1), height.max(1), image::Rgb([255; 3])),
            items: Vec::new(),
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// A rectangle with its top-left corner at `corner`; no fill or no outline when `None`.
    pub fn rect(
        &mut self,
        corner: (i32, i32),
        size: (i32, i32),
        fill: Option<Rgb>,
        stroke: Option<Rgb>,
    ) -> &mut Self {
        self.items.push(Item::Rect {
            corner,
            size,
            fill,
            stroke: stroke.map(|c| (c, 1)),
        });
        self
    }

    /// An unfilled rectangle with a `width`-pixel outline.
    pub fn frame(
        &mut self,
        corner: (i32, i32),
        size: (i32, i32),
        color: Rgb,
        width: u32,
    ) -> &mut Self {
        self.items.push(Item::Rect {
            corner,
            size,
            fill: None,
            stroke: Some((color, width.max(1))),
        });
        self
    }

    /// An unfilled rectangle with a dashed outline.
    pub fn dashed_rect(
        &mut self,
        corner: (i32, i32),
        size: (i32, i32),
        stroke: Rgb,
        width: u32,
    ) -> &mut Self {
        self.items.push(Item::DashedRect {
            corner,
            size,
            stroke,
            width: width.max(1),
        });
        self
    }

    pub fn circle(
        &mut self,
        centre: (i32, i32),
        radius: i32,
        fill: Option<Rgb>,
        stroke: Option<Rgb>,
    ) -> &mut Self {
        self.items.push(Item::Circle {
            centre,
            radius,
            fill,
            stroke,
        });
        self
    }

    /// A straight line `width` pixels wide.
    pub fn line(&mut self, from: (i32, i32), to: (i32, i32), color: Rgb, width: u32) -> &mut Self {
        self.items.push(Item::Line {
            from,
            to,
            color,
            width: width.max(1),
            head: false,
        });
        self
    }

    /// A line ending in an arrowhead at `to`.
    pub fn arrow(&mut self, from: (i32, i32), to: (i32, i32), color: Rgb, width: u32) -> &mut Self {
        self.items.push(Item::Line {
            from,
            to,
            color,
            width: width.max(1),
            head: true,
        });
        self
    }

    fn push_text(
        &mut self,
        at: (i32, i32),
        text: String,
        size: u32,
        color: Rgb,
        align: Align,
        upright: bool,
    ) -> &mut Self {
        self.items.push(Item::Text {
            at,
            text,
            size,
            color,
            align,
            upright,
        });
        self
    }

    /// One line of text of `size` pixels (DejaVu Sans), vertically centred on `at`.
    pub fn text(
        &mut self,
        at: (i32, i32),
        text: impl Into<String>,
        size: u32,
        color: Rgb,
        align: Align,
    ) -> &mut Self {
        self.push_text(at, text.into(), size, color, align, false)
    }

    /// Text running upwards (turned a quarter anticlockwise), for labels under narrow boxes.
    /// `Align::Left` starts it at `at` and runs it up, `Align::Right` ends it there.
    pub fn upright_text(
        &mut self,
        at: (i32, i32),
        text: impl Into<String>,
        size: u32,
        color: Rgb,
        align: Align,
    ) -> &mut Self {
        self.push_text(at, text.into(), size, color, align, true)
    }

    /// A colour scale: `bar`'s colours fill the rectangle at `corner` of `size` pixels, its tick
    /// labels (`text_size` pixels) go right of a vertical bar or under a horizontal one, and its
    /// title above it. Leave room for them: about `text_size + 10` pixels above, and the width of
    /// the longest label plus 10 to the right (vertical) or `text_size + 10` below (horizontal).
    pub fn colour_bar(
        &mut self,
        corner: (i32, i32),
        size: (i32, i32),
        bar: &ColourBar,
        direction: BarDirection,
        text_size: u32,
    ) -> &mut Self {
        self.items.push(Item::ColourBar {
            corner,
            size,
            bar: bar.clone(),
            direction,
            text_size,
        });
        self
    }

    /// Copy `picture` with its top-left corner at `corner` (clipped to the diagram).
    pub fn picture(&mut self, corner: (i32, i32), picture: &RgbImage) -> &mut Self {
        for (x, y, pixel) in picture.enumerate_pixels() {
            let (px, py) = (corner.0 + x as i32, corner.1 + y as i32);
            if px >= 0 && py >= 0 && (px as u32) < self.width && (py as u32) < self.height {
                self.pixels.put_pixel(px as u32, py as u32, *pixel);
            }
        }
        self
    }

    /// A `rows × columns` matrix (row-major `values`) as a heat map of square `cell`-pixel
    /// cells, its top-left corner at `corner`. `range` maps to the colour ramp's ends; values
    /// outside it are clamped.
    pub fn heatmap(
        &mut self,
        corner: (i32, i32),
        values: &[f32],
        (rows, columns): (usize, usize),
        cell: u32,
        (lo, hi): (f32, f32),
    ) -> Result<&mut Self> {
        if values.len() != rows * columns || cell == 0 {
            return Err(Error::invalid(
                "diagram heatmap",
                format!(
                    "{} values cannot fill a {rows}×{columns} matrix (cell {cell} px)",
                    values.len()
                ),
            ));
        }
        let span = if hi > lo { hi - lo } else { 1.0 };
        let mut picture = RgbImage::new(columns as u32 * cell, rows as u32 * cell);
        for (index, value) in values.iter().enumerate() {
            let Rgb(r, g, b) = Rgb::heat((value - lo) / span);
            let (row, column) = ((index / columns) as u32, (index % columns) as u32);
            for dy in 0..cell {
                for dx in 0..cell {
                    picture.put_pixel(column * cell + dx, row * cell + dy, image::Rgb([r, g, b]));
                }
            }
        }
        Ok(self.picture(corner, &picture))
    }

    /// Draw everything and write the diagram to `path`: PNG or JPEG (quality 88) by its
    /// extension, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let format = match OutputFormat::from_path(path)? {
            OutputFormat::Jpeg { .. } => OutputFormat::Jpeg { quality: 88 },
            other => other,
        };
        let picture = self.render()?;
        match format {
            // Through the plots' PNG writer, which stores an all-grey picture as grey.
            OutputFormat::Png => {
                super::png::write_rgb_png(path, picture.width(), picture.height(), picture.as_raw())
            }
            _ => save_rgb8_as(&picture, path, format, &[] as &[&Path]),
        }
    }

    /// The finished picture.
    pub fn render(&self) -> Result<RgbImage> {
        font::ensure_registered()?;
        let (width, height) = (self.pixels.width(), self.pixels.height());
        let mut buffer = self.pixels.clone().into_raw();
        {
            let area = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
            for item in &self.items {
                draw(&area, item)?;
            }
            area.present().or_plot_error("diagram")?;
        }
        RgbImage::from_raw(width, height, buffer).ok_or_else(|| Error::Plot {
            op: "diagram",
            msg: "the drawing buffer changed size".into(),
        })
    }
}

fn draw(area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>, item: &Item) -> Result<()> {
    match item {
        Item::Rect {
            corner,
            size,
            fill,
            stroke,
        } => {
            let far = (corner.0 + size.0, corner.1 + size.1);
            if let Some(fill) = fill {
                area.draw(&Rectangle::new([*corner, far], fill.color().filled()))
                    .or_plot_error("diagram")?;
            }
            if let Some((color, width)) = stroke {
                // plotters strokes a rectangle 1 px wide: thicker outlines are nested frames.
                for inset in 0..*width as i32 {
                    let a = (corner.0 + inset, corner.1 + inset);
                    let b = (far.0 - inset, far.1 - inset);
                    area.draw(&Rectangle::new([a, b], color.color()))
                        .or_plot_error("diagram")?;
                }
            }
        }
        Item::DashedRect {
            corner,
            size,
            stroke,
            width,
        } => {
            let (x0, y0, x1, y1) = (corner.0, corner.1, corner.0 + size.0, corner.1 + size.1);
            let outline = vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
            area.draw(&DashedPathElement::new(
                outline,
                6,
                4,
                stroke.color().stroke_width(*width),
            ))
            .or_plot_error("diagram")?;
        }
        Item::Circle {
            centre,
            radius,
            fill,
            stroke,
        } => {
            if let Some(fill) = fill {
                area.draw(&Circle::new(*centre, *radius, fill.color().filled()))
                    .or_plot_error("diagram")?;
            }
            if let Some(stroke) = stroke {
                area.draw(&Circle::new(
                    *centre,
                    *radius,
                    stroke.color().stroke_width(2),
                ))
                .or_plot_error("diagram")?;
            }
        }
        Item::Line {
            from,
            to,
            color,
            width,
            head,
        } => {
            let style = color.color().stroke_width(*width);
            let (dx, dy) = ((to.0 - from.0) as f64, (to.1 - from.1) as f64);
            let length = (dx * dx + dy * dy).sqrt().max(1e-9);
            let (ux, uy) = (dx / length, dy / length);
            let head_length = if *head {
                6.0 + 3.0 * *width as f64
            } else {
                0.0
            };
            // Stop the shaft where the head begins, so a thick line does not poke through it.
            let shaft_end = (
                to.0 - (ux * head_length * 0.8) as i32,
                to.1 - (uy * head_length * 0.8) as i32,
            );
            area.draw(&PathElement::new(vec![*from, shaft_end], style))
                .or_plot_error("diagram")?;
            if *head {
                let half = head_length * 0.45;
                let base = (
                    to.0 as f64 - ux * head_length,
                    to.1 as f64 - uy * head_length,
                );
                let corners = vec![
                    *to,
                    ((base.0 - uy * half) as i32, (base.1 + ux * half) as i32),
                    ((base.0 + uy * half) as i32, (base.1 - ux * half) as i32),
                ];
                area.draw(&Polygon::new(corners, color.color().filled()))
                    .or_plot_error("diagram")?;
            }
        }
        Item::Text {
            at,
            text,
            size,
            color,
            align,
            upright,
        } => {
            let horizontal = match align {
                Align::Left => HPos::Left,
                Align::Center => HPos::Center,
                Align::Right => HPos::Right,
            };
            let color = color.color();
            let mut font = (FAMILY, *size).into_font();
            if *upright {
                font = font.transform(FontTransform::Rotate270);
            }
            let style = TextStyle::from(font)
                .color(&color)
                .pos(Pos::new(horizontal, VPos::Center));
            area.draw_text(text, &style, *at).or_plot_error("diagram")?;
        }
        Item::ColourBar {
            corner,
            size,
            bar,
            direction,
            text_size,
        } => bar.draw(area, *corner, *size, *direction, *text_size)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_shapes_pictures_and_text_where_asked() {
        let mut d = Diagram::new(100, 60);
        d.rect((0, 0), (10, 10), Some(Rgb::RED), None).text(
            (60, 30),
            "Σ",
            20,
            Rgb::BLACK,
            Align::Center,
        );
        let blue = RgbImage::from_pixel(5, 5, image::Rgb([0, 0, 255]));
        d.picture((90, 50), &blue);
        let picture = d.render().unwrap();
        assert_eq!(picture.dimensions(), (100, 60));
        assert_eq!(picture.get_pixel(5, 5).0, [214, 39, 40]);
        assert_eq!(picture.get_pixel(92, 52).0, [0, 0, 255]);
        assert_eq!(picture.get_pixel(30, 50).0, [255, 255, 255]);
        let inked = (50..70)
            .flat_map(|x| (20..40).map(move |y| (x, y)))
            .filter(|&(x, y)| picture.get_pixel(x, y).0[0] < 128)
            .count();
        assert!(inked > 10, "the text left only {inked} dark pixels");
    }

    #[test]
    fn a_heatmap_needs_one_value_per_cell() {
        let mut d = Diagram::new(10, 10);
        assert!(d.heatmap((0, 0), &[0.0; 5], (2, 3), 1, (0.0, 1.0)).is_err());
        d.heatmap((0, 0), &[0.0, 1.0], (1, 2), 2, (0.0, 1.0))
            .unwrap();
        let picture = d.render().unwrap();
        assert_eq!(Rgb::heat(0.0).0, picture.get_pixel(1, 1).0[0]);
        assert_eq!(Rgb::heat(1.0).0, picture.get_pixel(3, 1).0[0]);
    }
}
