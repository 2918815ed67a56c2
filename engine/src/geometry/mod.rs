//! Shape arithmetic of the operations with windows (convolution, pooling) and of the matrix
//! product: how big the output is and which inputs each output sees. It is the same on every
//! device, so it lives here, outside `cpu/` and `cuda/`, and autograd and both backends import
//! it from one place.

mod conv;
mod matmul;
mod pool;

pub use conv::{Conv2dGeometry, Conv2dParams};
pub use matmul::MatmulDims;
pub use pool::Pool2dGeometry;
