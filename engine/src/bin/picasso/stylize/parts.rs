//! The pieces of a `stylize` run that `picasso serve` runs the same way, one job at a time:
//! the checked plan, the size and memory checks, the pictures of each scale, the report.

pub(crate) use super::diagnose::{advice as diagnose_advice, unusable_start};
pub(crate) use super::fit::check as fit_check;
pub(crate) use super::images::{finished_image, load_scale, starting_image, Handover};
pub(crate) use super::plan::{Init, Plan};
pub(crate) use super::report::{write_report, MemoryStats, ScaleStats};
pub(crate) use super::LastGood;
