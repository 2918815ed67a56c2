//! Neural-network building blocks on top of tensors and autodiff.

pub mod activation;
pub mod init;
pub mod linear;
pub mod loss;
pub mod optim;

pub use activation::Activation;
pub use linear::Linear;
pub use optim::{Adam, Optimizer, Sgd};
