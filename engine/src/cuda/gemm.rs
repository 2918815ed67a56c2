//! One cuBLAS call, `sgemmStridedBatched`, described as data so that it can be checked before
//! it runs, run on a GPU, or run by the host emulator with exactly cuBLAS's semantics.
//!
//! cuBLAS is column-major (Fortran order): matrix element (i, j) of A is at `a[i + j·lda]`.
//! For every batch b:
//! `C_b = alpha · op(A_b) · op(B_b) + beta · C_b`, with `op(X)` = X or Xᵀ, `C_b` m×n,
//! `op(A_b)` m×k, `op(B_b)` k×n, and `X_b` starting `b · stride_x` floats after `x`.

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GemmCall {
    pub transa: bool,
    pub transb: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub a: u64,
    pub lda: usize,
    pub stride_a: usize,
    pub b: u64,
    pub ldb: usize,
    pub stride_b: usize,
    pub beta: f32,
    pub c: u64,
    pub ldc: usize,
    pub stride_c: usize,
    pub batch: usize,
}

/// Floats from the first to one past the last element a column-major `rows × cols` matrix with
/// leading dimension `ld` touches, over `batch` matrices `stride` apart.
fn span(rows: usize, cols: usize, ld: usize, stride: usize, batch: usize) -> usize {
    if rows == 0 || cols == 0 || batch == 0 {
        return 0;
    }
    (batch - 1) * stride + (cols - 1) * ld + rows
}

impl GemmCall {
    /// The rows and columns of the stored A and B (before `op`).
    fn stored_shapes(&self) -> [(usize, usize); 2] {
        let a = if self.transa {
            (self.k, self.m)
        } else {
            (self.m, self.k)
        };
        let b = if self.transb {
            (self.n, self.k)
        } else {
            (self.k, self.n)
        };
        [a, b]
    }

    /// Floats the call reaches from each of `a`, `b` and `c` (A and B are not read when
    /// `k` = 0).
    pub fn spans(&self) -> [usize; 3] {
        let [(a_rows, a_cols), (b_rows, b_cols)] = self.stored_shapes();
        let read = |rows, cols, ld, stride| {
            if self.k == 0 {
                0
            } else {
                span(rows, cols, ld, stride, self.batch)
            }
        };
        [
            read(a_rows, a_cols, self.lda, self.stride_a),
            read(b_rows, b_cols, self.ldb, self.stride_b),
            span(self.m, self.n, self.ldc, self.stride_c, self.batch),
        ]
    }

    /// Check the call against the lengths (in floats, counted from each base address) of the
    /// buffers behind `a`, `b` and `c`, and against cuBLAS's own rules (`lda ≥ rows`, 32-bit
    /// sizes), so that an indexing mistake is an error here and never a wild memory access.
    pub fn check(&self, a_len: usize, b_len: usize, c_len: usize) -> Result<()> {
        let [(a_rows, _), (b_rows, _)] = self.stored_shapes();
        let fits_i32 = [
            self.m, self.n, self.k, self.lda, self.ldb, self.ldc, self.batch,
        ]
        .iter()
        .all(|&v| v <= i32::MAX as usize);
        let bad = |what: String| Err(Error::invalid("cuda gemm", what));
        if !fits_i32 {
            return bad(format!("sizes exceed cuBLAS's 32-bit limit: {self:?}"));
        }
        if self.lda < a_rows.max(1) || self.ldb < b_rows.max(1) || self.ldc < self.m.max(1) {
            return bad(format!(
                "a leading dimension is smaller than its matrix: {self:?}"
            ));
        }
        let [a_span, b_span, c_span] = self.spans();
        if a_span > a_len {
            return bad(format!(
                "A reaches past its buffer of {a_len} floats: {self:?}"
            ));
        }
        if b_span > b_len {
            return bad(format!(
                "B reaches past its buffer of {b_len} floats: {self:?}"
            ));
        }
        if c_span > c_len {
            return bad(format!(
                "C reaches past its buffer of {c_len} floats: {self:?}"
            ));
        }
        Ok(())
    }

    /// The product on the host, for the emulator: the definition above, with matrixmultiply
    /// doing the arithmetic (it takes any row and column strides).
    ///
    /// # Safety
    /// `a`, `b` and `c` must be host addresses of buffers that passed [`GemmCall::check`].
    pub unsafe fn run_on_host(&self) {
        // Column-major (i, j) at i + j·ld: row stride 1, column stride ld — or swapped for op T.
        let strides = |transposed: bool, ld: usize| -> (isize, isize) {
            if transposed {
                (ld as isize, 1)
            } else {
                (1, ld as isize)
            }
        };
        let (rsa, csa) = strides(self.transa, self.lda);
        let (rsb, csb) = strides(self.transb, self.ldb);
        for batch in 0..self.batch {
            let a = (self.a as *const f32).add(batch * self.stride_a);
            let b = (self.b as *const f32).add(batch * self.stride_b);
            let c = (self.c as *mut f32).add(batch * self.stride_c);
            if self.k == 0 {
                // cuBLAS: C = beta·C when there is nothing to multiply.
                for j in 0..self.n {
                    for i in 0..self.m {
                        let cell = c.add(i + j * self.ldc);
                        *cell = if self.beta == 0.0 {
                            0.0
                        } else {
                            self.beta * *cell
                        };
                    }
                }
                continue;
            }
            matrixmultiply::sgemm(
                self.m,
                self.k,
                self.n,
                self.alpha,
                a,
                rsa,
                csa,
                b,
                rsb,
                csb,
                self.beta,
                c,
                1,
                self.ldc as isize,
            );
        }
    }
}
