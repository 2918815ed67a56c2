//! The book's teaching figures, drawn with `engine::vis::diagram` from the numbers the
//! examples compute (so a figure can never disagree with what its example prints).

pub mod conv_window;
pub mod gram;
pub mod network;
pub mod rows;
pub mod vgg;
