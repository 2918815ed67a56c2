//! A [`Layout`] as the kernels receive it: the `Strided` struct of `prelude.cuh`, field for
//! field (`#[repr(C)]`), passed by value inside each kernel's argument struct.

use super::buffer::CudaBuffer;
use crate::error::{Error, Result};
use crate::layout::Layout;

/// The most axes a kernel view can have (after merging, see [`Strided::new`]).
pub const MAX_RANK: usize = 8;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Strided {
    pub shape: [u64; MAX_RANK],
    pub strides: [u64; MAX_RANK],
    pub offset: u64,
    pub rank: u32,
    /// 1 when the view is dense row-major: element i is at `offset + i`, no index arithmetic.
    pub contiguous: u32,
}

impl Strided {
    /// The kernel view of `layout`, simplified first: size-1 axes are dropped and neighbouring
    /// axes that step through memory as one (stride of the outer = stride × size of the inner)
    /// are merged. A transposed `[m, k]` matrix stays two axes; a dense tensor of any rank
    /// becomes one — so the index arithmetic on the GPU is as short as the view allows.
    pub fn new(layout: &Layout) -> Result<Self> {
        let mut dims: Vec<(u64, u64)> = Vec::new();
        for (&size, &stride) in layout.shape().iter().zip(layout.strides()) {
            if size == 1 {
                continue;
            }
            let (size, stride) = (size as u64, stride as u64);
            match dims.last_mut() {
                Some((outer_size, outer_stride)) if *outer_stride == stride * size => {
                    *outer_size *= size;
                    *outer_stride = stride;
                }
                _ => dims.push((size, stride)),
            }
        }
        if dims.len() > MAX_RANK {
            return Err(Error::invalid(
                "cuda",
                format!(
                    "a view of shape {:?} with strides {:?} has {} independent axes; CUDA kernels take at most {MAX_RANK} (make it contiguous first)",
                    layout.shape(),
                    layout.strides(),
                    dims.len()
                ),
            ));
        }
        let mut view = Strided {
            offset: layout.offset() as u64,
            rank: dims.len() as u32,
            contiguous: u32::from(layout.is_contiguous()),
            ..Default::default()
        };
        for (axis, (size, stride)) in dims.into_iter().enumerate() {
            view.shape[axis] = size;
            view.strides[axis] = stride;
        }
        Ok(view)
    }

    /// A dense view of `n` elements starting at `offset`.
    pub fn dense(n: usize, offset: usize) -> Self {
        let mut view = Strided {
            offset: offset as u64,
            rank: 1,
            contiguous: 1,
            ..Default::default()
        };
        view.shape[0] = n as u64;
        view.strides[0] = 1;
        view
    }

    /// Storage offset of element `i`, computed as `strided_offset` in `prelude.cuh` does (used
    /// by tests to check the merging).
    pub fn offset_of(&self, mut i: u64) -> u64 {
        if self.contiguous == 1 {
            return self.offset + i;
        }
        let mut offset = self.offset;
        for axis in (0..self.rank as usize).rev() {
            offset += (i % self.shape[axis]) * self.strides[axis];
            i /= self.shape[axis];
        }
        offset
    }
}

/// One past the last storage position `layout` reaches (0 for an empty view).
pub fn extent(layout: &Layout) -> usize {
    if layout.numel() == 0 {
        return 0;
    }
    layout.offset()
        + layout
            .shape()
            .iter()
            .zip(layout.strides())
            .map(|(&d, &s)| (d - 1) * s)
            .sum::<usize>()
        + 1
}

/// The kernel view of `buffer` through `layout`, after checking that every element the view
/// reaches lies inside the buffer: a kernel never reads out of bounds.
pub fn view_of(buffer: &CudaBuffer, layout: &Layout, op: &'static str) -> Result<Strided> {
    if extent(layout) > buffer.len() {
        return Err(Error::invalid(
            op,
            format!(
                "view {layout:?} reaches past its buffer of {} floats",
                buffer.len()
            ),
        ));
    }
    Strided::new(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(layout: &Layout) -> Vec<u64> {
        let view = Strided::new(layout).unwrap();
        (0..layout.numel() as u64)
            .map(|i| view.offset_of(i))
            .collect()
    }

    #[test]
    fn merged_view_visits_the_same_elements() {
        let base = Layout::contiguous(&[2, 3, 4, 5]);
        let cases = [
            base.clone(),
            base.transpose(1, 3).unwrap(),
            base.narrow(2, 1, 2).unwrap(),
            base.permute(&[3, 0, 2, 1]).unwrap(),
            Layout::contiguous(&[3, 1])
                .broadcast_to(&[2, 3, 4])
                .unwrap(),
            Layout::contiguous(&[1, 1, 7]),
        ];
        for layout in cases {
            let expected: Vec<u64> = layout.offsets().map(|o| o as u64).collect();
            assert_eq!(offsets(&layout), expected, "{layout:?}");
        }
        let dense = Strided::new(&base).unwrap();
        assert_eq!((dense.rank, dense.contiguous), (1, 1));
    }
}
