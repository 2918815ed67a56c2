//! Shapes and strides: how a flat buffer is seen as an n-dimensional tensor.
//!
//! Views (transpose, permute, narrow, broadcast) only change this metadata; the data stays put.

use crate::error::{Error, Result};

// ANCHOR: layout
/// Where each element of a tensor lives in its storage buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
}
// ANCHOR_END: layout

// ANCHOR: packing
/// How a dense vector's values sit in its buffer of 32-bit words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// One f32 per word.
    F32,
    /// Two bf16 per word, the even element in the low 16 bits: half the memory of f32 for
    /// about three significant digits (L-BFGS's history keeps its vectors so).
    Bf16Pairs,
}
// ANCHOR_END: packing

impl Packing {
    /// Words that hold `n` values.
    pub fn words(self, n: usize) -> usize {
        match self {
            Packing::F32 => n,
            Packing::Bf16Pairs => n.div_ceil(2),
        }
    }
}

// ANCHOR: contiguous_strides
/// Row-major strides for a shape: the last axis moves fastest.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut step = 1;
    for (stride, &dim) in strides.iter_mut().zip(shape).rev() {
        *stride = step;
        step *= dim;
    }
    strides
}
// ANCHOR_END: contiguous_strides

impl Layout {
    /// A dense row-major layout starting at offset 0.
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    // ANCHOR: offset_of
    /// Where element `index` (one entry per axis) lives in the buffer: offset + Σ index·stride.
    pub fn offset_of(&self, index: &[usize]) -> usize {
        let steps: usize = index.iter().zip(&self.strides).map(|(i, s)| i * s).sum();
        self.offset + steps
    }
    // ANCHOR_END: offset_of

    // ANCHOR: is_contiguous
    /// True when the elements are laid out densely in row-major order.
    pub fn is_contiguous(&self) -> bool {
        let mut step = 1;
        for (&dim, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if dim != 1 && stride != step {
                return false;
            }
            step *= dim;
        }
        true
    }
    // ANCHOR_END: is_contiguous

    // ANCHOR: transpose
    /// Swap two axes.
    pub fn transpose(&self, a: usize, b: usize) -> Result<Self> {
        self.check_axis("transpose", a)?;
        self.check_axis("transpose", b)?;
        let mut out = self.clone();
        out.shape.swap(a, b);
        out.strides.swap(a, b);
        Ok(out)
    }
    // ANCHOR_END: transpose

    // ANCHOR: permute
    /// Reorder the axes: output axis `i` is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Self> {
        self.check_permutation(perm)?;
        Ok(Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        })
    }
    // ANCHOR_END: permute

    /// An error unless `perm` names every axis exactly once.
    fn check_permutation(&self, perm: &[usize]) -> Result<()> {
        let mut seen = vec![false; self.rank()];
        if perm.len() != self.rank() {
            return Err(Error::shape(
                "permute",
                format!(
                    "permutation {perm:?} has {} axes but the tensor has shape {:?}",
                    perm.len(),
                    self.shape
                ),
            ));
        }
        for &p in perm {
            if p >= self.rank() || seen[p] {
                return Err(Error::shape(
                    "permute",
                    format!("{perm:?} is not a permutation of 0..{}", self.rank()),
                ));
            }
            seen[p] = true;
        }
        Ok(())
    }

    // ANCHOR: narrow
    /// Keep `len` entries of `axis` starting at `start`.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Self> {
        self.check_axis("narrow", axis)?;
        if start + len > self.shape[axis] {
            return Err(Error::shape(
                "narrow",
                format!(
                    "range {start}..{} is outside axis {axis} of shape {:?}",
                    start + len,
                    self.shape
                ),
            ));
        }
        let mut out = self.clone();
        out.offset += start * self.strides[axis];
        out.shape[axis] = len;
        Ok(out)
    }
    // ANCHOR_END: narrow

    // ANCHOR: broadcast_to
    /// Repeat size-1 axes (and add leading axes) to reach `shape`, with stride 0: no copy.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        let bad = || Error::Broadcast {
            op: "broadcast_to",
            lhs: self.shape.clone(),
            rhs: shape.to_vec(),
        };
        if shape.len() < self.rank() {
            return Err(bad());
        }
        let extra = shape.len() - self.rank();
        let mut strides = vec![0; shape.len()];
        for (i, &dim) in self.shape.iter().enumerate() {
            let target = shape[extra + i];
            strides[extra + i] = if dim == target {
                self.strides[i]
            } else if dim == 1 {
                0
            } else {
                return Err(bad());
            };
        }
        Ok(Layout {
            shape: shape.to_vec(),
            strides,
            offset: self.offset,
        })
    }
    // ANCHOR_END: broadcast_to

    // ANCHOR: reshape
    /// The same elements under a new shape; only possible without a copy when contiguous.
    pub fn reshape(&self, shape: &[usize]) -> Option<Self> {
        if !self.is_contiguous() {
            return None;
        }
        Some(Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: self.offset,
        })
    }
    // ANCHOR_END: reshape

    /// Storage offsets of every element, in row-major order of the view.
    pub fn offsets(&self) -> StridedOffsets<'_> {
        StridedOffsets {
            layout: self,
            index: vec![0; self.rank()],
            next: if self.numel() == 0 {
                None
            } else {
                Some(self.offset)
            },
        }
    }

    fn check_axis(&self, op: &'static str, axis: usize) -> Result<()> {
        if axis >= self.rank() {
            return Err(Error::Axis {
                op,
                axis,
                shape: self.shape.clone(),
            });
        }
        Ok(())
    }
}

// ANCHOR: strided_offsets
/// Iterator over the storage offsets of a (possibly strided) layout.
pub struct StridedOffsets<'a> {
    layout: &'a Layout,
    index: Vec<usize>,
    next: Option<usize>,
}

impl Iterator for StridedOffsets<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let current = self.next?;
        // Advance the multi-index like an odometer, last axis first.
        let mut offset = current;
        let mut axis = self.layout.rank();
        loop {
            if axis == 0 {
                self.next = None;
                break;
            }
            axis -= 1;
            self.index[axis] += 1;
            offset += self.layout.strides[axis];
            if self.index[axis] < self.layout.shape[axis] {
                self.next = Some(offset);
                break;
            }
            offset -= self.layout.strides[axis] * self.index[axis];
            self.index[axis] = 0;
        }
        Some(current)
    }
}
// ANCHOR_END: strided_offsets

/// The shape two shapes broadcast to (NumPy rules), or an error naming the op.
pub fn broadcast_shape(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Vec<usize>> {
    let rank = lhs.len().max(rhs.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() >= rank {
            s[i + s.len() - rank]
        } else {
            1
        }
    };
    (0..rank)
        .map(|i| match (dim(lhs, i), dim(rhs, i)) {
            (a, b) if a == b => Ok(a),
            (1, b) => Ok(b),
            (a, 1) => Ok(a),
            _ => Err(Error::Broadcast {
                op,
                lhs: lhs.to_vec(),
                rhs: rhs.to_vec(),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_view_walks_columns() {
        let l = Layout::contiguous(&[2, 3]).transpose(0, 1).unwrap();
        assert_eq!(l.offsets().collect::<Vec<_>>(), vec![0, 3, 1, 4, 2, 5]);
        assert!(!l.is_contiguous());
    }

    #[test]
    fn broadcast_uses_zero_strides() {
        let l = Layout::contiguous(&[3, 1])
            .broadcast_to(&[2, 3, 4])
            .unwrap();
        assert_eq!(l.strides(), &[0, 1, 0]);
        assert_eq!(l.offsets().count(), 24);
        assert!(Layout::contiguous(&[3]).broadcast_to(&[4]).is_err());
    }

    #[test]
    fn broadcast_shape_follows_numpy() {
        assert_eq!(
            broadcast_shape("t", &[4, 1, 3], &[5, 1]).unwrap(),
            vec![4, 5, 3]
        );
        assert!(broadcast_shape("t", &[2, 3], &[4]).is_err());
    }

    #[test]
    fn offset_of_adds_index_times_stride() {
        let l = Layout::contiguous(&[3, 4]);
        assert_eq!(l.offset_of(&[2, 1]), 9);
        let t = l.transpose(0, 1).unwrap();
        assert_eq!(t.offset_of(&[1, 2]), 9);
        let n = l.narrow(1, 1, 2).unwrap();
        assert_eq!(n.offset_of(&[2, 0]), 9);
        let walked: Vec<usize> = t.offsets().collect();
        let by_rule: Vec<usize> = (0..4)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .map(|(i, j)| t.offset_of(&[i, j]))
            .collect();
        assert_eq!(walked, by_rule);
    }

    #[test]
    fn narrow_moves_offset() {
        let l = Layout::contiguous(&[4, 5]).narrow(1, 2, 2).unwrap();
        assert_eq!(
            l.offsets().collect::<Vec<_>>(),
            vec![2, 3, 7, 8, 12, 13, 17, 18]
        );
        assert!(Layout::contiguous(&[4]).narrow(0, 3, 2).is_err());
    }
}
