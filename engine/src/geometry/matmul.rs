//! The shapes a batched matrix product accepts, and the sizes it works with.

use crate::error::{Error, Result};
use crate::layout::Layout;

/// `[batch.., m, k] × [batch.., k, n]`: how many products, and their sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulDims {
    pub batches: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl MatmulDims {
    /// Check that `la` is `[batch.., m, k]` and `lb` is `[batch.., k, n]` with identical batch
    /// dimensions (broadcast them first).
    pub fn of(la: &Layout, lb: &Layout) -> Result<Self> {
        let rank = la.rank();
        if rank < 2 || lb.rank() != rank || la.shape()[..rank - 2] != lb.shape()[..rank - 2] {
            return Err(Error::shape(
                "matmul",
                format!(
                    "expected [.., m, k] x [.., k, n] with equal batch dimensions, got {:?} x {:?}",
                    la.shape(),
                    lb.shape()
                ),
            ));
        }
        let (m, k, n) = (
            la.shape()[rank - 2],
            la.shape()[rank - 1],
            lb.shape()[rank - 1],
        );
        if lb.shape()[rank - 2] != k {
            return Err(Error::shape(
                "matmul",
                format!(
                    "inner dimensions differ: {:?} x {:?} ({k} vs {})",
                    la.shape(),
                    lb.shape(),
                    lb.shape()[rank - 2]
                ),
            ));
        }
        let batches = la.shape()[..rank - 2].iter().product();
        Ok(MatmulDims { batches, m, k, n })
    }
}
