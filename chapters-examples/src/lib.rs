//! Shared helpers for the chapter examples.
