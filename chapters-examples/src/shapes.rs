//! A tiny image data set drawn in code: grey pictures of circles, squares and triangles.
//!
//! Every shape gets a random size, position, rotation and brightness, and every picture gets
//! random pixel noise, so a network cannot memorise a few templates: it has to learn what
//! makes a corner a corner and a curve a curve. Nothing is downloaded, and the same seed always
//! draws the same pictures.

use engine::{Error, Result, Rng, Tensor};
use std::f32::consts::PI;

/// The three classes, in label order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeKind {
    Circle,
    Square,
    Triangle,
}

impl ShapeKind {
    pub const ALL: [ShapeKind; 3] = [ShapeKind::Circle, ShapeKind::Square, ShapeKind::Triangle];

    /// The class index a network predicts for this shape.
    pub fn label(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            ShapeKind::Circle => "circle",
            ShapeKind::Square => "square",
            ShapeKind::Triangle => "triangle",
        }
    }
}

/// How the pictures are drawn. The defaults make a task a small CNN masters in a few epochs.
#[derive(Clone, Debug)]
pub struct ShapeStyle {
    /// Pictures are `side × side` pixels.
    pub side: usize,
    /// The shape's "radius" (distance from centre to the farthest point), in pixels.
    pub min_radius: f32,
    pub max_radius: f32,
    /// Standard deviation of the Gaussian noise added to every pixel (shapes are 0.5–1.0 bright).
    pub noise: f32,
}

impl Default for ShapeStyle {
    fn default() -> Self {
        ShapeStyle {
            side: 24,
            min_radius: 5.0,
            max_radius: 10.0,
            noise: 0.15,
        }
    }
}

/// Pictures and their labels, stored flat: picture `i` is
/// `pixels[i·side² .. (i+1)·side²]`, row by row.
#[derive(Clone, Debug)]
pub struct ShapeImages {
    pub side: usize,
    pub pixels: Vec<f32>,
    pub labels: Vec<usize>,
}

impl ShapeImages {
    /// `count` pictures, classes taking turns so every prefix is balanced.
    pub fn generate(count: usize, style: &ShapeStyle, rng: &mut Rng) -> Result<ShapeImages> {
        if style.side < 8 || !(style.min_radius > 0.0 && style.min_radius <= style.max_radius) {
            return Err(Error::invalid(
                "ShapeImages::generate",
                format!("need side ≥ 8 and 0 < min_radius ≤ max_radius, got {style:?}"),
            ));
        }
        if 2.0 * style.max_radius + 2.0 > style.side as f32 {
            return Err(Error::invalid(
                "ShapeImages::generate",
                format!(
                    "a shape of radius {} does not fit in a {}×{} picture",
                    style.max_radius, style.side, style.side
                ),
            ));
        }
        let mut images = ShapeImages {
            side: style.side,
            pixels: Vec::with_capacity(count * style.side * style.side),
            labels: Vec::with_capacity(count),
        };
        for i in 0..count {
            let kind = ShapeKind::ALL[i % ShapeKind::ALL.len()];
            images.pixels.extend(draw_shape(kind, style, rng));
            images.labels.push(kind.label());
        }
        Ok(images)
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of picture `index`.
    pub fn image(&self, index: usize) -> &[f32] {
        let size = self.side * self.side;
        &self.pixels[index * size..(index + 1) * size]
    }

    /// The pictures at `indices` as a `[batch, 1, side, side]` tensor (one grey channel), and
    /// their labels.
    pub fn batch(&self, indices: &[usize]) -> Result<(Tensor, Vec<usize>)> {
        let mut pixels = Vec::with_capacity(indices.len() * self.side * self.side);
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        let images = Tensor::from_vec(pixels, &[indices.len(), 1, self.side, self.side])?;
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Ok((images, labels))
    }
}

/// Each pixel is split into this many sub-pixels per side, so edges are anti-aliased.
const SUBSAMPLES: usize = 4;

/// One noisy picture of `kind`, `side²` values, row by row.
fn draw_shape(kind: ShapeKind, style: &ShapeStyle, rng: &mut Rng) -> Vec<f32> {
    let side = style.side as f32;
    let radius = rng.uniform_in(style.min_radius, style.max_radius);
    // Keep the whole shape (plus a one-pixel margin) inside the picture.
    let margin = radius + 1.0;
    let centre = (
        rng.uniform_in(margin, side - margin),
        rng.uniform_in(margin, side - margin),
    );
    let angle = rng.uniform_in(0.0, 2.0 * PI);
    let brightness = rng.uniform_in(0.5, 1.0);
    let outline = polygon(kind, centre, radius, angle);

    let mut pixels = Vec::with_capacity(style.side * style.side);
    for row in 0..style.side {
        for col in 0..style.side {
            let covered = coverage(kind, &outline, centre, radius, row, col);
            pixels.push(brightness * covered + style.noise * rng.normal());
        }
    }
    pixels
}

/// The corners of a square or triangle with the given centre, circumradius and rotation
/// (empty for a circle, which needs none).
fn polygon(kind: ShapeKind, centre: (f32, f32), radius: f32, angle: f32) -> Vec<(f32, f32)> {
    let corners = match kind {
        ShapeKind::Circle => 0,
        ShapeKind::Square => 4,
        ShapeKind::Triangle => 3,
    };
    (0..corners)
        .map(|k| {
            let a = angle + 2.0 * PI * k as f32 / corners as f32;
            (centre.0 + radius * a.cos(), centre.1 + radius * a.sin())
        })
        .collect()
}

/// Fraction of pixel (`row`, `col`) that the shape covers, from a grid of sub-pixel samples.
fn coverage(
    kind: ShapeKind,
    outline: &[(f32, f32)],
    centre: (f32, f32),
    radius: f32,
    row: usize,
    col: usize,
) -> f32 {
    let mut inside = 0;
    for sy in 0..SUBSAMPLES {
        for sx in 0..SUBSAMPLES {
            let x = col as f32 + (sx as f32 + 0.5) / SUBSAMPLES as f32;
            let y = row as f32 + (sy as f32 + 0.5) / SUBSAMPLES as f32;
            let hit = match kind {
                ShapeKind::Circle => {
                    (x - centre.0).powi(2) + (y - centre.1).powi(2) <= radius.powi(2)
                }
                _ => inside_convex_polygon(outline, (x, y)),
            };
            inside += usize::from(hit);
        }
    }
    inside as f32 / (SUBSAMPLES * SUBSAMPLES) as f32
}

/// A point is inside a convex polygon when it lies on the same side of every edge: the cross
/// products of each edge with the vector to the point all have the same sign.
fn inside_convex_polygon(corners: &[(f32, f32)], point: (f32, f32)) -> bool {
    let mut sign = 0.0f32;
    for (i, &(ax, ay)) in corners.iter().enumerate() {
        let (bx, by) = corners[(i + 1) % corners.len()];
        let cross = (bx - ax) * (point.1 - ay) - (by - ay) * (point.0 - ax);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_seeded_and_shaped() {
        let style = ShapeStyle::default();
        let a = ShapeImages::generate(30, &style, &mut Rng::new(5)).unwrap();
        let b = ShapeImages::generate(30, &style, &mut Rng::new(5)).unwrap();
        assert_eq!(a.pixels, b.pixels);
        for kind in ShapeKind::ALL {
            assert_eq!(a.labels.iter().filter(|&&l| l == kind.label()).count(), 10);
        }
        let (x, y) = a.batch(&[0, 4]).unwrap();
        assert_eq!(x.shape(), &[2, 1, 24, 24]);
        assert_eq!(y, vec![0, 1]);
    }

    #[test]
    fn noiseless_shapes_have_the_expected_area() {
        let style = ShapeStyle {
            noise: 0.0,
            min_radius: 8.0,
            max_radius: 8.0,
            ..ShapeStyle::default()
        };
        let images = ShapeImages::generate(3, &style, &mut Rng::new(1)).unwrap();
        // Area / brightness ≈ πr², 2r², (3√3/4)r² for circle, square, triangle.
        let expected = [PI * 64.0, 2.0 * 64.0, 3.0 * 3f32.sqrt() / 4.0 * 64.0];
        for (i, want) in expected.iter().enumerate() {
            let pixels = images.image(i);
            let brightness = pixels.iter().cloned().fold(0.0, f32::max);
            let area: f32 = pixels.iter().sum::<f32>() / brightness;
            assert!(
                (area - want).abs() / want < 0.05,
                "shape {i}: area {area}, want {want}"
            );
        }
    }

    #[test]
    fn refuses_shapes_that_do_not_fit() {
        let style = ShapeStyle {
            max_radius: 12.0,
            ..ShapeStyle::default()
        };
        assert!(ShapeImages::generate(3, &style, &mut Rng::new(1)).is_err());
    }
}
