//! Feature-map grids: one grey tile per channel, enlarged to a common size.

use engine::models::load_embedded_vgg16;
use engine::vis::feature_maps::{activation_grid, feature_map_grid};
use engine::vis::filters::GridLayout;
use engine::{Rng, Tensor};

/// A 48×32 test picture: noise around mid-grey.
fn picture() -> Tensor {
    Tensor::rand_uniform(&[1, 3, 32, 48], 0.0, 255.0, &mut Rng::new(3))
}

#[test]
fn relu2_1_grid_has_one_enlarged_tile_per_channel() {
    let vgg = load_embedded_vgg16().unwrap();
    let grid = feature_map_grid(&vgg, &picture(), "relu2_1", 16, &GridLayout::new(8, 96)).unwrap();
    // relu2_1 is after one pooling: 16×24 maps, enlarged 4× to 64×96; 2 rows of 8.
    assert_eq!(grid.shape(), &[1, 3, 2 * 64 + 3 * 2, 8 * 96 + 9 * 2]);
    assert!(grid
        .to_vec()
        .unwrap()
        .iter()
        .all(|p| (0.0..=255.0).contains(p)));
}

#[test]
fn asking_for_more_channels_than_exist_draws_them_all() {
    let acts = Tensor::rand_uniform(&[1, 3, 4, 4], 0.0, 1.0, &mut Rng::new(4));
    let layout = GridLayout {
        columns: 8,
        tile_size: 4,
        gap: 0,
        background: 0,
    };
    let grid = activation_grid(&acts, 100, &layout).unwrap();
    assert_eq!(grid.shape(), &[1, 3, 4, 12]);
    // Grey tiles: R, G and B are equal.
    let v = grid.to_vec().unwrap();
    assert_eq!(&v[..48], &v[48..96]);
}

#[test]
fn unknown_layers_and_bad_shapes_are_errors() {
    let vgg = load_embedded_vgg16().unwrap();
    let err =
        feature_map_grid(&vgg, &picture(), "relu9_9", 8, &GridLayout::new(8, 96)).unwrap_err();
    assert!(err.to_string().contains("unknown layer `relu9_9`"), "{err}");
    let batch_of_two = Tensor::zeros(&[2, 4, 3, 3]);
    assert!(activation_grid(&batch_of_two, 4, &GridLayout::default()).is_err());
    assert!(activation_grid(&Tensor::zeros(&[1, 4, 3, 3]), 0, &GridLayout::default()).is_err());
}
