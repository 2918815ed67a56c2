//! Turning strided views into dense buffers, joining buffers, filling: the twin of
//! `cpu/copy.rs`, kernels in `copy.cu`.

use super::buffer::CudaBuffer;
use super::device::CudaDevice;
use super::kernels::KernelSource;
use super::launch::{index_width, kernel_args};
use super::strided::{view_of, Strided};
use crate::error::Result;
use crate::layout::Layout;
use std::sync::Arc;

pub const SOURCE: KernelSource = KernelSource {
    name: "copy",
    code: include_str!("copy.cu"),
    kernels: &[STRIDED_COPY[0], STRIDED_COPY[1], "fill_value"],
};

/// The copy in its two widths (`[name_32, name_64]`, see `index_width`).
const STRIDED_COPY: [&str; 2] = ["strided_copy_32", "strided_copy_64"];

#[repr(C)]
#[derive(Clone, Copy)]
struct CopyArgs {
    x: u64,
    y: u64,
    n: u64,
    x_view: Strided,
    y_view: Strided,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct FillArgs {
    y: u64,
    n: u64,
    value: f32,
    unused: u32,
}

kernel_args!(CopyArgs, FillArgs);

/// Copy the elements of `x` seen through `from` into `y` at the positions of `to` (same
/// number of elements, row-major order of both views).
fn copy_into(
    x: &CudaBuffer,
    from: &Layout,
    y: &CudaBuffer,
    to: &Layout,
    op: &'static str,
) -> Result<()> {
    let n = from.numel();
    let args = CopyArgs {
        x: x.address(),
        y: y.address(),
        n: n as u64,
        x_view: view_of(x, from, op)?,
        y_view: view_of(y, to, op)?,
    };
    // Both views lie inside their buffers (view_of checks): their lengths bound every offset.
    let kernel = index_width(STRIDED_COPY, n.max(x.len()).max(y.len()));
    x.device().launch(&SOURCE, kernel, n as u64, args)
}

/// The elements of `layout` over `x`, densely, in row-major order.
pub fn gather(x: &CudaBuffer, layout: &Layout) -> Result<CudaBuffer> {
    let n = layout.numel();
    let y = CudaBuffer::uninit(x.device(), n, "contiguous copy")?;
    copy_into(
        x,
        layout,
        &y,
        &Layout::contiguous(layout.shape()),
        "contiguous copy",
    )?;
    Ok(y)
}

/// Dense concatenation of the parts along `axis`; all other dimensions must agree (checked by
/// the caller). Each part is one launch writing into its slice of the output.
pub fn concat(parts: &[(&CudaBuffer, &Layout)], axis: usize) -> Result<CudaBuffer> {
    let (first, first_layout) = parts[0];
    let mut shape = first_layout.shape().to_vec();
    shape[axis] = parts.iter().map(|(_, l)| l.shape()[axis]).sum();
    let out = Layout::contiguous(&shape);
    let y = CudaBuffer::uninit(first.device(), out.numel(), "concat")?;
    let mut start = 0;
    for (x, layout) in parts {
        x.same_device(first, "concat")?;
        let len = layout.shape()[axis];
        copy_into(x, layout, &y, &out.narrow(axis, start, len)?, "concat")?;
        start += len;
    }
    Ok(y)
}

/// A view's elements as one dense run of floats: the buffer itself when the view already is
/// dense (from its offset on), else a fresh copy.
pub enum Dense<'a> {
    Borrowed {
        buffer: &'a CudaBuffer,
        offset: usize,
        len: usize,
    },
    Owned(CudaBuffer),
}

impl Dense<'_> {
    pub fn buffer(&self) -> &CudaBuffer {
        match self {
            Dense::Borrowed { buffer, .. } => buffer,
            Dense::Owned(buffer) => buffer,
        }
    }

    /// Device address of the first element.
    pub fn address(&self) -> u64 {
        match self {
            Dense::Borrowed { buffer, offset, .. } => buffer.address() + 4 * *offset as u64,
            Dense::Owned(buffer) => buffer.address(),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Dense::Borrowed { len, .. } => *len,
            Dense::Owned(buffer) => buffer.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The elements of a view as one dense run: borrowed when already dense, copied otherwise.
pub fn dense<'a>(x: &'a CudaBuffer, layout: &Layout) -> Result<Dense<'a>> {
    if layout.is_contiguous() {
        view_of(x, layout, "dense view")?;
        Ok(Dense::Borrowed {
            buffer: x,
            offset: layout.offset(),
            len: layout.numel(),
        })
    } else {
        gather(x, layout).map(Dense::Owned)
    }
}

/// `n` copies of `value`.
pub fn fill(device: &Arc<CudaDevice>, n: usize, value: f32) -> Result<CudaBuffer> {
    let y = CudaBuffer::uninit(device, n, "fill")?;
    let args = FillArgs {
        y: y.address(),
        n: n as u64,
        value,
        unused: 0,
    };
    device.launch(&SOURCE, "fill_value", n as u64, args)?;
    Ok(y)
}
