//! Activation maximisation: the painted picture must excite its channel more than the noise it
//! started from, and bad requests must fail with a clear message.

use engine::models::load_embedded_vgg16;
use engine::vis::activation_max::{maximise_activation, ActivationMaxConfig};

/// A tiny, fast configuration: 32×32 pixels, a dozen steps.
fn small() -> ActivationMaxConfig {
    ActivationMaxConfig {
        height: 32,
        width: 32,
        steps: 12,
        ..ActivationMaxConfig::default()
    }
}

#[test]
fn gradient_ascent_raises_the_target_activation() {
    let vgg = load_embedded_vgg16().unwrap();
    for (layer, channel) in [("relu1_1", 5), ("relu3_1", 42)] {
        let result = maximise_activation(&vgg, layer, channel, &small()).unwrap();
        assert_eq!(result.image.shape(), &[1, 3, 32, 32]);
        assert_eq!(result.history.len(), 12);
        assert!(
            result.final_activation > result.start_activation + 1.0,
            "{layer}:{channel} went from {} to {}",
            result.start_activation,
            result.final_activation
        );
        // The objective climbs overall (jitter makes single steps noisy).
        assert!(result.history.last() > result.history.first());
    }
}

#[test]
fn the_same_seed_paints_the_same_picture() {
    let vgg = load_embedded_vgg16().unwrap();
    let config = ActivationMaxConfig {
        steps: 3,
        ..small()
    };
    let a = maximise_activation(&vgg, "relu2_1", 7, &config).unwrap();
    let b = maximise_activation(&vgg, "relu2_1", 7, &config).unwrap();
    assert_eq!(a.image.to_vec().unwrap(), b.image.to_vec().unwrap());
}

#[test]
fn unknown_layers_and_channels_out_of_range_are_errors() {
    let vgg = load_embedded_vgg16().unwrap();
    let err = maximise_activation(&vgg, "relu6_1", 0, &small()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("unknown layer `relu6_1`") && msg.contains("relu5_1"),
        "{msg}"
    );

    let err = maximise_activation(&vgg, "relu1_1", 64, &small()).unwrap_err();
    assert!(
        err.to_string().contains("`relu1_1` has 64 channels"),
        "{err}"
    );

    let no_steps = ActivationMaxConfig {
        steps: 0,
        ..small()
    };
    assert!(maximise_activation(&vgg, "relu1_1", 0, &no_steps).is_err());
}
