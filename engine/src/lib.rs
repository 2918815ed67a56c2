//! # Picasso Me engine
//!
//! Tensors on a device, reverse-mode automatic differentiation, and the neural-network pieces
//! built from them. Each module is one idea; the book's chapters map onto them.

pub mod autograd;
pub mod cpu;
pub mod cuda;
pub mod device;
pub mod error;
pub mod geometry;
pub mod gradcheck;
pub mod io;
pub mod layout;
pub mod models;
pub mod nn;
pub mod ops;
pub mod rng;
pub mod shared_data;
pub mod storage;
pub mod style;
pub mod tensor;
pub mod vector;
pub mod vis;

pub use autograd::{is_grad_enabled, no_grad, Gradients, NoGradGuard};
pub use device::Device;
pub use error::{Error, Result};
pub use rng::Rng;
pub use tensor::{Tensor, TensorId};
