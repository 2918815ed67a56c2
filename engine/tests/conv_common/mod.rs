//! Helpers shared by the convolution tests that compare the algorithms (`conv_algorithms`,
//! `conv_bf16`).

use engine::autograd::Conv2dParams;
use engine::cpu::conv::{set_algorithm, ConvAlgorithm};
use engine::Tensor;

/// The output and the input gradient (for a fixed output gradient) of one convolution, with
/// `algo` forced for it (process-wide, so each caller is a test binary of its own).
pub fn output_and_input_gradient(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    p: Conv2dParams,
    algo: ConvAlgorithm,
) -> [Vec<f32>; 2] {
    set_algorithm(algo);
    let x = x.requires_grad();
    let y = x.conv2d(w, b, p).unwrap();
    let dx = y.backward_with(&seed(&y)).unwrap().get_or_zeros(&x);
    set_algorithm(ConvAlgorithm::Auto);
    [y.to_vec().unwrap(), dx.unwrap().to_vec().unwrap()]
}

/// A fixed, non-constant output gradient.
fn seed(like: &Tensor) -> Tensor {
    let data = (0..like.numel())
        .map(|i| ((i * 7919) % 17) as f32 / 8.0 - 1.0)
        .collect();
    Tensor::from_vec(data, like.shape()).unwrap()
}
