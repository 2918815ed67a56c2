//! Reading and writing images and tensors on disk.
