//! Neural style transfer (Gatys, Ecker & Bethge): optimise an image so that a pretrained
//! network sees the content of one picture and the textures of another.

pub mod bounds;
pub mod gram;
pub mod lbfgs;
mod lbfgs_history;
pub mod line_search;
pub mod masks;
pub mod objective;
pub mod preconditioner;
pub mod total_variation;
pub mod transfer;

pub use bounds::Bounds;
pub use gram::gram_matrix;
pub use lbfgs::{Converged, HistoryPrecision, Iteration, Lbfgs, LbfgsConfig, LineSearch, Sample};
pub use objective::{
    Evaluation, FeatureExtractor, LayerWeight, LossTerms, Objective, ObjectiveConfig,
};
pub use preconditioner::CoarseLift;
pub use total_variation::total_variation;
pub use transfer::{optimise, Control, ImageOptimizer, Outcome, Progress, StopReason};
