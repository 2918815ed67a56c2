//! Feature maps: what each channel of a layer "sees" in one particular image.
//!
//! A layer's output `[1, C, h, w]` is `C` grey pictures, one per filter: bright where the
//! filter's pattern is present. Each channel is stretched to `0..255` on its own (channels
//! differ in scale by orders of magnitude), enlarged with nearest-neighbour scaling so deep,
//! small maps are as big on the page as shallow ones, and tiled on a grid.

use super::filters::{normalise_to_pixels, tile_grid, GridLayout, Tile};
use crate::error::{Error, Result};
use crate::models::Vgg;
use crate::tensor::Tensor;

/// The first `count` channels of `activations` (`[1, C, h, w]`, one image) as grey tiles, each
/// stretched to `0..=255` on its own. Fewer tiles if the layer has fewer channels.
pub fn activation_tiles(activations: &Tensor, count: usize) -> Result<Vec<Tile>> {
    let [1, channels, h, w] = *activations.shape() else {
        return Err(Error::shape(
            "feature_map_grid",
            format!(
                "expected the activations of one image [1, C, h, w], got {:?}",
                activations.shape()
            ),
        ));
    };
    if count == 0 {
        return Err(Error::invalid(
            "feature_map_grid",
            "asked for 0 channels; ask for at least 1",
        ));
    }
    let data = activations.contiguous()?.to_vec()?;
    Ok(data
        .chunks(h * w)
        .take(count.min(channels))
        .map(|channel| Tile::grey(h, w, &normalise_to_pixels(channel)))
        .collect())
}

/// [`activation_tiles`] as one grid picture `[1, 3, H, W]` with values in `0..=255`.
pub fn activation_grid(activations: &Tensor, count: usize, layout: &GridLayout) -> Result<Tensor> {
    tile_grid(&activation_tiles(activations, count)?, layout)
}

// ANCHOR: feature_map_grid
/// Run `image` (`[1, 3, H, W]`, RGB `0..255`) through `vgg` up to `layer` and return the first
/// `count` channels there as tiles (see [`activation_tiles`]).
pub fn feature_map_tiles(
    vgg: &Vgg,
    image: &Tensor,
    layer: &str,
    count: usize,
) -> Result<Vec<Tile>> {
    // Only looking, not learning: no graph is needed.
    let features = crate::autograd::no_grad(|| vgg.forward(image, &[layer.to_string()]))?;
    let activations = features.get(layer).ok_or_else(|| {
        Error::invalid(
            "feature_map_grid",
            format!("the network returned no activations for `{layer}`"),
        )
    })?;
    activation_tiles(activations, count)
}

/// The same tiles as one grid picture (see [`tile_grid`]).
pub fn feature_map_grid(
    vgg: &Vgg,
    image: &Tensor,
    layer: &str,
    count: usize,
    layout: &GridLayout,
) -> Result<Tensor> {
    tile_grid(&feature_map_tiles(vgg, image, layer, count)?, layout)
}
// ANCHOR_END: feature_map_grid

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_channels_are_black_and_live_ones_span_the_range() {
        let acts =
            Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 5.0], &[1, 2, 2, 2]).unwrap();
        let layout = GridLayout {
            columns: 2,
            tile_size: 2,
            gap: 0,
            background: 255,
        };
        let grid = activation_grid(&acts, 2, &layout).unwrap();
        assert_eq!(grid.shape(), &[1, 3, 2, 4]);
        let red = &grid.to_vec().unwrap()[..8];
        assert_eq!(
            red,
            &[
                0.0,
                0.0,
                0.0,
                255.0 / 4.0,
                0.0,
                0.0,
                2.0 * 255.0 / 4.0,
                255.0
            ]
        );
    }
}
