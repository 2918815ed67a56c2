//! The first-layer filter grid: its size follows from the layout, and it shows the filters.

use engine::models::load_embedded_vgg16;
use engine::vis::filters::{filter_grid, GridLayout};
use engine::{Rng, Tensor};

#[test]
fn vgg16_filter_grid_is_eight_by_eight_tiles_of_24_pixels() {
    let vgg = load_embedded_vgg16().unwrap();
    let grid = filter_grid(vgg.first_layer_weights(), &GridLayout::new(8, 24)).unwrap();
    // 8 tiles of 3·8 = 24 px and 9 gaps of 2 px in each direction.
    assert_eq!(grid.shape(), &[1, 3, 210, 210]);
    let pixels = grid.to_vec().unwrap();
    assert!(pixels.iter().all(|p| (0.0..=255.0).contains(p)));
    // Every filter is stretched to the full range, so both ends appear.
    assert!(pixels.contains(&0.0) && pixels.contains(&255.0));
}

#[test]
fn a_partial_last_row_and_the_gaps_are_background() {
    let weights = Tensor::randn(&[5, 3, 3, 3], &mut Rng::new(1));
    let layout = GridLayout {
        columns: 3,
        tile_size: 9,
        gap: 1,
        background: 255,
    };
    let grid = filter_grid(&weights, &layout).unwrap();
    // 2 rows × 3 columns of 9-px tiles (3×3 enlarged 3×), gaps of 1 px.
    assert_eq!(grid.shape(), &[1, 3, 2 * 9 + 3, 3 * 9 + 4]);
    let (h, w) = (21, 31);
    let red = &grid.to_vec().unwrap()[..h * w];
    // The border, and the empty sixth cell (bottom right), are white.
    assert_eq!(red[0], 255.0);
    assert_eq!(red[(h - 2) * w + (w - 2)], 255.0);
}

#[test]
fn weights_that_are_not_rgb_filters_are_rejected() {
    let grey_filters = Tensor::zeros(&[8, 1, 3, 3]);
    let err = filter_grid(&grey_filters, &GridLayout::default()).unwrap_err();
    assert!(err.to_string().contains("[out, 3, kh, kw]"), "{err}");
    let no_columns = GridLayout::new(0, 24);
    assert!(filter_grid(&Tensor::zeros(&[2, 3, 3, 3]), &no_columns).is_err());
}
