//! Reading and writing weight files.
