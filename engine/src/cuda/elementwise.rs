//! Element-by-element maps on the GPU: the twin of `cpu/elementwise.rs`, kernels in
//! `elementwise.cu`. Each function launches one kernel that reads its inputs through their
//! views (strided, broadcast) and writes a fresh dense output.

use super::buffer::CudaBuffer;
use super::kernels::KernelSource;
use super::launch::{index_width, kernel_args};
use super::strided::view_of;
use crate::error::Result;
use crate::layout::Layout;
use crate::ops::{BinaryOp, UnaryOp};

pub const SOURCE: KernelSource = KernelSource {
    name: "elementwise",
    code: include_str!("elementwise.cu"),
    kernels: &[UNARY[0], UNARY[1], BINARY[0], BINARY[1]],
};

/// Each kernel in its two widths (`[name_32, name_64]`, see `index_width`).
const UNARY: [&str; 2] = ["unary_map_32", "unary_map_64"];
const BINARY: [&str; 2] = ["binary_map_32", "binary_map_64"];

// ANCHOR: unary_args
/// `UnaryArgs` of elementwise.cu, field for field.
#[repr(C)]
#[derive(Clone, Copy)]
struct UnaryArgs {
    x: u64,
    y: u64,
    n: u64,
    x_view: super::strided::Strided,
    op: u32,
    p: f32,
    q: f32,
    unused: u32,
}
// ANCHOR_END: unary_args

#[repr(C)]
#[derive(Clone, Copy)]
struct BinaryArgs {
    a: u64,
    b: u64,
    y: u64,
    n: u64,
    a_view: super::strided::Strided,
    b_view: super::strided::Strided,
    op: u32,
    unused: u32,
}

kernel_args!(UnaryArgs, BinaryArgs);

/// The code of `op` in elementwise.cu, and its two constants.
fn unary_code(op: UnaryOp) -> (u32, f32, f32) {
    match op {
        UnaryOp::Neg => (0, 0.0, 0.0),
        UnaryOp::Exp => (1, 0.0, 0.0),
        UnaryOp::Log => (2, 0.0, 0.0),
        UnaryOp::Sqrt => (3, 0.0, 0.0),
        UnaryOp::Recip => (4, 0.0, 0.0),
        UnaryOp::Abs => (5, 0.0, 0.0),
        UnaryOp::Sign => (6, 0.0, 0.0),
        UnaryOp::Step => (7, 0.0, 0.0),
        UnaryOp::Relu => (8, 0.0, 0.0),
        UnaryOp::Sigmoid => (9, 0.0, 0.0),
        UnaryOp::Tanh => (10, 0.0, 0.0),
        UnaryOp::LeakyRelu(slope) => (11, slope, 0.0),
        UnaryOp::LeakyReluDeriv(slope) => (12, slope, 0.0),
        UnaryOp::Powf(p) => (13, p, 0.0),
        UnaryOp::Affine { mul, add } => (14, mul, add),
        UnaryOp::Clamp { lo, hi } => (15, lo, hi),
        UnaryOp::InRange { lo, hi } => (16, lo, hi),
    }
}

fn binary_code(op: BinaryOp) -> u32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Sub => 1,
        BinaryOp::Mul => 2,
        BinaryOp::Div => 3,
        BinaryOp::Maximum => 4,
        BinaryOp::Minimum => 5,
        BinaryOp::Eq => 6,
        BinaryOp::Gt => 7,
        BinaryOp::MaskPositive => 8,
    }
}

// ANCHOR: unary
pub fn unary(x: &CudaBuffer, layout: &Layout, op: UnaryOp) -> Result<CudaBuffer> {
    let n = layout.numel();
    let y = CudaBuffer::uninit(x.device(), n, "unary map")?;
    let (code, p, q) = unary_code(op);
    let args = UnaryArgs {
        x: x.address(),
        y: y.address(),
        n: n as u64,
        x_view: view_of(x, layout, "unary map")?,
        op: code,
        p,
        q,
        unused: 0,
    };
    // Every offset the view reaches lies inside x (view_of checks), so n and x's length bound
    // every index.
    let kernel = index_width(UNARY, n.max(x.len()));
    x.device().launch(&SOURCE, kernel, n as u64, args)?;
    Ok(y)
}
// ANCHOR_END: unary

pub fn binary(
    a: &CudaBuffer,
    la: &Layout,
    b: &CudaBuffer,
    lb: &Layout,
    op: BinaryOp,
) -> Result<CudaBuffer> {
    a.same_device(b, op.name())?;
    let n = la.numel();
    let y = CudaBuffer::uninit(a.device(), n, op.name())?;
    let args = BinaryArgs {
        a: a.address(),
        b: b.address(),
        y: y.address(),
        n: n as u64,
        a_view: view_of(a, la, op.name())?,
        b_view: view_of(b, lb, op.name())?,
        op: binary_code(op),
        unused: 0,
    };
    let kernel = index_width(BINARY, n.max(a.len()).max(b.len()));
    a.device().launch(&SOURCE, kernel, n as u64, args)?;
    Ok(y)
}
