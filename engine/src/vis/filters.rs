//! The first layer's filters as a picture: every `3×3×3` filter of VGG's `conv1_1` *is* a tiny
//! RGB image, so we can simply look at it.
//!
//! Weights are small signed numbers (around ±0.5), not pixels. Each filter is stretched on its
//! own to the full `0..255` range — its most negative weight becomes black, its most positive
//! white — then enlarged with nearest-neighbour scaling (blurring would invent detail that a
//! 3×3 filter does not have) and placed on a grid with gaps between the tiles.
//!
//! [`GridLayout`] and [`tile_grid`] are shared with the feature-map pictures.

use super::diagram::{Align, Diagram, Rgb};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// How tiles are arranged on a grid picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    /// Tiles per row (the last row may be shorter).
    pub columns: usize,
    /// Target length in pixels of a tile's longer side. Tiles are enlarged by the largest whole
    /// factor that stays within it (at least 1×, never shrunk), so pixels stay sharp squares.
    pub tile_size: usize,
    /// Pixels of background between tiles and around the border.
    pub gap: usize,
    /// Background grey, 0 (black) to 255 (white).
    pub background: u8,
}

impl GridLayout {
    /// `columns` tiles per row, each about `tile_size` pixels, 2-pixel white gaps.
    pub fn new(columns: usize, tile_size: usize) -> Self {
        GridLayout {
            columns,
            tile_size,
            gap: 2,
            background: 255,
        }
    }

    /// The whole-number enlargement for a tile `height × width`.
    pub fn scale_for(&self, height: usize, width: usize) -> usize {
        (self.tile_size / height.max(width).max(1)).max(1)
    }
}

impl Default for GridLayout {
    /// Eight columns of 24-pixel tiles: a 3×3 filter enlarged 8×.
    fn default() -> Self {
        GridLayout::new(8, 24)
    }
}

/// One small RGB picture to place on a grid: `3 × height × width` values in `0..=255`, stored
/// channel by channel (the same order as an image tensor).
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    pub height: usize,
    pub width: usize,
    pub rgb: Vec<f32>,
}

impl Tile {
    /// A grey tile: the same plane copied into R, G and B.
    pub fn grey(height: usize, width: usize, values: &[f32]) -> Self {
        let rgb = values.iter().chain(values).chain(values).copied().collect();
        Tile { height, width, rgb }
    }
}

/// Stretch `values` linearly so their minimum maps to 0 and their maximum to 255. A constant
/// input (for example a channel that is zero everywhere after its ReLU) becomes all black:
/// there is no contrast to show, and mid-grey would suggest there were.
pub fn normalise_to_pixels(values: &[f32]) -> Vec<f32> {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let range = hi - lo;
    if !range.is_finite() || range <= 0.0 {
        return vec![0.0; values.len()];
    }
    values.iter().map(|v| (v - lo) / range * 255.0).collect()
}

// ANCHOR: filter_grid
/// The filters of a first convolution layer, `weights` of shape `[out, 3, kh, kw]`, as one RGB
/// image tensor `[1, 3, H, W]` with values in `0..=255`, ready for [`crate::io::save_image`].
pub fn filter_grid(weights: &Tensor, layout: &GridLayout) -> Result<Tensor> {
    let [count, 3, kh, kw] = *weights.shape() else {
        return Err(Error::shape(
            "filter_grid",
            format!(
                "expected first-layer weights [out, 3, kh, kw] (filters that see RGB), got {:?}",
                weights.shape()
            ),
        ));
    };
    let data = weights.contiguous()?.to_vec()?;
    let per_filter = 3 * kh * kw;
    let tiles: Vec<Tile> = data
        .chunks(per_filter)
        .take(count)
        .map(|filter| Tile {
            height: kh,
            width: kw,
            // One scale per filter: compares the colours *within* a filter, which is what
            // shows its preferred pattern, at the cost of hiding how strong it is overall.
            rgb: normalise_to_pixels(filter),
        })
        .collect();
    tile_grid(&tiles, layout)
}
// ANCHOR_END: filter_grid

/// Place `tiles` row by row on a background, each enlarged by nearest-neighbour scaling, and
/// return the picture as `[1, 3, H, W]` with values in `0..=255`. Every cell is as big as the
/// largest tile; smaller tiles sit in the top-left corner of their cell.
pub fn tile_grid(tiles: &[Tile], layout: &GridLayout) -> Result<Tensor> {
    if tiles.is_empty() {
        return Err(Error::invalid("tile_grid", "there are no tiles to draw"));
    }
    if layout.columns == 0 || layout.tile_size == 0 {
        return Err(Error::invalid(
            "tile_grid",
            format!(
                "columns and tile_size must be at least 1, got {} and {}",
                layout.columns, layout.tile_size
            ),
        ));
    }
    for (i, t) in tiles.iter().enumerate() {
        if t.height == 0 || t.width == 0 || t.rgb.len() != 3 * t.height * t.width {
            return Err(Error::shape(
                "tile_grid",
                format!(
                    "tile {i} is {}×{} but holds {} values (expected 3·h·w = {})",
                    t.height,
                    t.width,
                    t.rgb.len(),
                    3 * t.height * t.width
                ),
            ));
        }
    }
    let (cell_h, cell_w) = cell_size(tiles, layout);
    let columns = layout.columns.min(tiles.len());
    let rows = tiles.len().div_ceil(columns);
    let gap = layout.gap;
    let height = rows * cell_h + (rows + 1) * gap;
    let width = columns * cell_w + (columns + 1) * gap;
    let plane = height * width;
    let mut canvas = vec![f32::from(layout.background); 3 * plane];

    for (i, tile) in tiles.iter().enumerate() {
        let scale = layout.scale_for(tile.height, tile.width);
        let top = gap + (i / columns) * (cell_h + gap);
        let left = gap + (i % columns) * (cell_w + gap);
        let tile_plane = tile.height * tile.width;
        for c in 0..3 {
            for y in 0..tile.height * scale {
                for x in 0..tile.width * scale {
                    // Nearest neighbour: output pixel (y, x) shows tile pixel (y/s, x/s).
                    let v = tile.rgb[c * tile_plane + (y / scale) * tile.width + x / scale];
                    canvas[c * plane + (top + y) * width + left + x] = v;
                }
            }
        }
    }
    Tensor::from_vec(canvas, &[1, 3, height, width])
}

/// The size of a grid cell, `(height, width)`: the largest enlarged tile.
fn cell_size(tiles: &[Tile], layout: &GridLayout) -> (usize, usize) {
    let enlarged = |t: &Tile| {
        let scale = layout.scale_for(t.height, t.width);
        (t.height * scale, t.width * scale)
    };
    let cell_h = tiles.iter().map(|t| enlarged(t).0).max().unwrap_or(1);
    let cell_w = tiles.iter().map(|t| enlarged(t).1).max().unwrap_or(1);
    (cell_h, cell_w)
}

/// The grid of [`tile_grid`] with a caption under every tile (which channel it shows, say), in
/// dark grey text `text_size` pixels high on white. Save it with [`Diagram::save`].
pub fn captioned_tile_grid(
    tiles: &[Tile],
    captions: &[String],
    layout: &GridLayout,
    text_size: u32,
) -> Result<Diagram> {
    if captions.len() != tiles.len() {
        return Err(Error::invalid(
            "captioned_tile_grid",
            format!("{} captions for {} tiles", captions.len(), tiles.len()),
        ));
    }
    let grid = crate::io::tensor_to_rgb8(&tile_grid(tiles, layout)?)?;
    let (cell_h, cell_w) = cell_size(tiles, layout);
    let (gap, band) = (layout.gap as u32, text_size + 10);
    let columns = layout.columns.min(tiles.len());
    let rows = tiles.len().div_ceil(columns) as u32;
    let row_height = cell_h as u32 + gap;
    let mut d = Diagram::new(grid.width(), grid.height() + rows * band);
    for row in 0..rows {
        // Each row of tiles moves down by the caption bands above it.
        let strip = image::imageops::crop_imm(&grid, 0, row * row_height, grid.width(), row_height);
        let top = (row * (row_height + band)) as i32;
        d.picture((0, top), &strip.to_image());
    }
    for (i, caption) in captions.iter().enumerate() {
        let (row, column) = ((i / columns) as u32, (i % columns) as u32);
        let x = gap + column * (cell_w as u32 + gap) + cell_w as u32 / 2;
        let y = row * (row_height + band) + gap + cell_h as u32 + band / 2;
        d.text(
            (x as i32, y as i32),
            caption,
            text_size,
            Rgb::DARK_GREY,
            Align::Center,
        );
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_spans_the_full_range_and_handles_constants() {
        assert_eq!(normalise_to_pixels(&[-1.0, 0.0, 1.0]), [0.0, 127.5, 255.0]);
        assert_eq!(normalise_to_pixels(&[3.0, 3.0]), [0.0, 0.0]);
    }

    #[test]
    fn nearest_neighbour_copies_each_pixel_into_a_square() {
        let tile = Tile::grey(1, 2, &[0.0, 255.0]);
        let layout = GridLayout {
            columns: 1,
            tile_size: 4,
            gap: 0,
            background: 255,
        };
        let grid = tile_grid(&[tile], &layout).unwrap();
        assert_eq!(grid.shape(), &[1, 3, 2, 4]);
        assert_eq!(
            &grid.to_vec().unwrap()[..8],
            &[0.0, 0.0, 255.0, 255.0, 0.0, 0.0, 255.0, 255.0]
        );
    }

    #[test]
    fn captions_add_a_band_under_each_row_of_tiles() {
        let tiles = vec![Tile::grey(2, 2, &[0.0; 4]); 3];
        let layout = GridLayout::new(2, 20);
        let captions: Vec<String> = (0..3).map(|i| format!("channel {i}")).collect();
        let picture = captioned_tile_grid(&tiles, &captions, &layout, 14)
            .unwrap()
            .render()
            .unwrap();
        // Two rows of 20-pixel tiles, 2-pixel gaps, and a 24-pixel caption band per row.
        assert_eq!(picture.dimensions(), (2 + 2 * 22, 2 + 2 * 22 + 2 * 24));
        assert_eq!(picture.get_pixel(5, 5).0, [0, 0, 0]);
        assert_eq!(picture.get_pixel(5, 22 + 24 + 5).0, [0, 0, 0]);
        assert!(captioned_tile_grid(&tiles, &captions[..2], &layout, 14).is_err());
    }
}
