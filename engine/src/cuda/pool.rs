//! Max and average pooling on the GPU, forward and backward: the twin of `cpu/pool.rs`,
//! kernels in `pool.cu`.

use super::buffer::CudaBuffer;
use super::copy::dense;
use super::kernels::KernelSource;
use super::launch::{index_width, kernel_args};
use crate::error::Result;
use crate::geometry::Pool2dGeometry;
use crate::layout::Layout;

/// Each kernel in its two widths (`[name_32, name_64]`, see `index_width`).
const MAX_FORWARD: [&str; 2] = ["max_pool2d_forward_32", "max_pool2d_forward_64"];
const MAX_BACKWARD: [&str; 2] = ["max_pool2d_backward_32", "max_pool2d_backward_64"];
const AVG_FORWARD: [&str; 2] = ["avg_pool2d_forward_32", "avg_pool2d_forward_64"];
const AVG_BACKWARD: [&str; 2] = ["avg_pool2d_backward_32", "avg_pool2d_backward_64"];

pub const SOURCE: KernelSource = KernelSource {
    name: "pool",
    code: include_str!("pool.cu"),
    kernels: &[
        MAX_FORWARD[0],
        MAX_FORWARD[1],
        MAX_BACKWARD[0],
        MAX_BACKWARD[1],
        AVG_FORWARD[0],
        AVG_FORWARD[1],
        AVG_BACKWARD[0],
        AVG_BACKWARD[1],
    ],
};

#[repr(C)]
#[derive(Clone, Copy)]
struct PoolGeometry {
    planes: u64,
    in_h: u64,
    in_w: u64,
    kernel: u64,
    stride: u64,
    padding: u64,
    out_h: u64,
    out_w: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct PoolArgs {
    x: u64,
    dy: u64,
    y: u64,
    g: PoolGeometry,
}

kernel_args!(PoolArgs);

impl From<&Pool2dGeometry> for PoolGeometry {
    fn from(g: &Pool2dGeometry) -> Self {
        let u = |v: usize| v as u64;
        PoolGeometry {
            planes: u(g.batch * g.channels),
            in_h: u(g.in_h),
            in_w: u(g.in_w),
            kernel: u(g.kernel),
            stride: u(g.stride),
            padding: u(g.padding),
            out_h: u(g.out_h),
            out_w: u(g.out_w),
        }
    }
}

fn input_len(g: &Pool2dGeometry) -> usize {
    g.batch * g.channels * g.in_h * g.in_w
}

fn output_len(g: &Pool2dGeometry) -> usize {
    g.batch * g.channels * g.out_h * g.out_w
}

/// One launch of `kernel` (in the width its indices need) writing `out_len` floats, one thread
/// each.
fn launch(
    kernel: [&'static str; 2],
    (x, dy): (u64, u64),
    like: &CudaBuffer,
    out_len: usize,
    g: &Pool2dGeometry,
) -> Result<CudaBuffer> {
    let kernel = index_width(kernel, input_len(g).max(output_len(g)));
    let y = CudaBuffer::uninit(like.device(), out_len, kernel)?;
    let args = PoolArgs {
        x,
        dy,
        y: y.address(),
        g: g.into(),
    };
    like.device()
        .launch(&SOURCE, kernel, out_len as u64, args)?;
    Ok(y)
}

/// Max pooling forward: dense `[n, c, out_h, out_w]`.
pub fn max_pool2d(x: &CudaBuffer, l: &Layout, g: &Pool2dGeometry) -> Result<CudaBuffer> {
    let x = dense(x, l)?;
    launch(MAX_FORWARD, (x.address(), 0), x.buffer(), output_len(g), g)
}

/// Max pooling backward: each output's gradient goes to the input that won its window (found
/// again from `x`, so no index buffer has to be kept from the forward pass).
pub fn max_pool2d_backward(
    x: &CudaBuffer,
    l: &Layout,
    dy: &CudaBuffer,
    dyl: &Layout,
    g: &Pool2dGeometry,
) -> Result<CudaBuffer> {
    x.same_device(dy, "max_pool2d backward")?;
    let (x, dy) = (dense(x, l)?, dense(dy, dyl)?);
    let addresses = (x.address(), dy.address());
    launch(MAX_BACKWARD, addresses, x.buffer(), input_len(g), g)
}

/// Average pooling forward; the divisor is always kernel² (padding counts).
pub fn avg_pool2d(x: &CudaBuffer, l: &Layout, g: &Pool2dGeometry) -> Result<CudaBuffer> {
    let x = dense(x, l)?;
    launch(AVG_FORWARD, (x.address(), 0), x.buffer(), output_len(g), g)
}

/// Average pooling backward: each output's gradient is shared equally by its kernel² cells.
pub fn avg_pool2d_backward(dy: &CudaBuffer, l: &Layout, g: &Pool2dGeometry) -> Result<CudaBuffer> {
    let dy = dense(dy, l)?;
    launch(
        AVG_BACKWARD,
        (0, dy.address()),
        dy.buffer(),
        input_len(g),
        g,
    )
}
