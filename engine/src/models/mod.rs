//! Pretrained networks.

pub mod input;
pub mod memory;
pub mod vgg;

pub use input::InputConvention;
pub use vgg::{LayerInfo, LayerKind, Pooling, Vgg, VggArch};
pub use weights::{load_embedded_vgg16, load_vgg, load_vgg_or_default};
pub mod weights;
