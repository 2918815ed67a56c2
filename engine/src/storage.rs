//! The buffer behind a tensor, and the one place that dispatches kernels to a device.
//!
//! Every method matches on where the data lives and calls the twin function of `cpu/` or
//! `cuda/`. Operands on two different devices are an error naming both; nothing is ever
//! copied between devices behind the caller's back (that is [`Storage::to_device`], and the
//! tracked op `Tensor::to_device`).

use crate::cpu;
use crate::cpu::conv::Weight;
use crate::cpu::copy::dense;
use crate::cpu::winograd_cache::WeightOwner;
use crate::cuda;
use crate::cuda::{CudaBuffer, CudaDevice};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::geometry::{Conv2dGeometry, Pool2dGeometry};
use crate::layout::{Layout, Packing};
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};
use std::borrow::Cow;
use std::sync::Arc;

// ANCHOR: storage
/// A flat buffer of f32 on some device. Knows nothing about gradients.
#[derive(Debug)]
pub enum Storage {
    Cpu(Vec<f32>),
    Cuda(CudaBuffer),
}
// ANCHOR_END: storage

/// The error for two operands on different devices.
fn mismatch(op: &'static str, a: &Storage, b: &Storage) -> Error {
    Error::DeviceMismatch {
        op,
        lhs: a.device().to_string(),
        rhs: b.device().to_string(),
    }
}

impl Storage {
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Cuda(b) => b.device().device(),
        }
    }

    /// Host data placed on `device`.
    pub fn from_host(device: Device, data: Vec<f32>) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(data)),
            Device::Cuda(ordinal) => {
                let gpu = CudaDevice::get(ordinal)?;
                Ok(Storage::Cuda(CudaBuffer::from_host(&gpu, &data)?))
            }
        }
    }

    /// `n` copies of `value` on `device`.
    pub fn full(device: Device, n: usize, value: f32) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(cpu::copy::fill(n, value))),
            Device::Cuda(ordinal) => {
                let gpu = CudaDevice::get(ordinal)?;
                Ok(Storage::Cuda(cuda::copy::fill(&gpu, n, value)?))
            }
        }
    }

    /// Elements seen through `layout`, copied into a new row-major vector on the host.
    pub fn to_host(&self, layout: &Layout) -> Result<Vec<f32>> {
        match self {
            Storage::Cpu(data) => Ok(cpu::copy::gather(data, layout)),
            Storage::Cuda(data) => {
                if layout.is_contiguous() {
                    data.read(layout.offset(), layout.numel())
                } else {
                    cuda::copy::gather(data, layout)?.to_host()
                }
            }
        }
    }

    /// A dense copy of the elements seen through `layout`, on `device`.
    pub fn to_device(&self, layout: &Layout, device: Device) -> Result<Storage> {
        if self.device() == device {
            return self.contiguous(layout);
        }
        // Through the host: a CPU↔GPU copy goes there anyway, and GPU↔GPU is rare here.
        Storage::from_host(device, self.to_host(layout)?)
    }

    // ANCHOR: contiguous
    /// A dense copy of the elements seen through `layout`.
    pub fn contiguous(&self, layout: &Layout) -> Result<Storage> {
        match self {
            Storage::Cpu(data) => Ok(Storage::Cpu(cpu::copy::gather(data, layout))),
            Storage::Cuda(data) => Ok(Storage::Cuda(cuda::copy::gather(data, layout)?)),
        }
    }
    // ANCHOR_END: contiguous

    // ANCHOR: dispatch
    pub fn unary(&self, layout: &Layout, op: UnaryOp) -> Result<Storage> {
        match self {
            Storage::Cpu(data) => Ok(Storage::Cpu(cpu::elementwise::unary(data, layout, op))),
            Storage::Cuda(data) => Ok(Storage::Cuda(cuda::elementwise::unary(data, layout, op)?)),
        }
    }

    /// `lhs` and `rhs` must have the same shape (broadcasting happens before, as a view).
    pub fn binary(
        &self,
        lhs: &Layout,
        rhs: &Storage,
        rhs_layout: &Layout,
        op: BinaryOp,
    ) -> Result<Storage> {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(cpu::elementwise::binary(
                a, lhs, b, rhs_layout, op,
            ))),
            (Storage::Cuda(a), Storage::Cuda(b)) => Ok(Storage::Cuda(cuda::elementwise::binary(
                a, lhs, b, rhs_layout, op,
            )?)),
            _ => Err(mismatch(op.name(), self, rhs)),
        }
    }
    // ANCHOR_END: dispatch

    /// Reduce the axes flagged in `reduce` (same rank as the layout) to size 1.
    pub fn reduce(&self, layout: &Layout, reduce: &[bool], op: ReduceOp) -> Result<Storage> {
        match self {
            Storage::Cpu(data) => Ok(Storage::Cpu(cpu::reduce::reduce(data, layout, reduce, op))),
            Storage::Cuda(data) => Ok(Storage::Cuda(cuda::reduce::reduce(
                data, layout, reduce, op,
            )?)),
        }
    }

    /// Batched matrix product; see [`cpu::matmul::matmul`] for the shape contract.
    pub fn matmul(&self, lhs: &Layout, rhs: &Storage, rhs_layout: &Layout) -> Result<Storage> {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Ok(Storage::Cpu(cpu::matmul::matmul(a, lhs, b, rhs_layout)?))
            }
            (Storage::Cuda(a), Storage::Cuda(b)) => {
                Ok(Storage::Cuda(cuda::matmul::matmul(a, lhs, b, rhs_layout)?))
            }
            _ => Err(mismatch("matmul", self, rhs)),
        }
    }

    /// `F·Fᵀ` for the `[m, k]` matrix `F` this view holds (a Gram matrix, up to scale).
    pub fn gram(&self, layout: &Layout) -> Result<Storage> {
        let &[m, k] = layout.shape() else {
            return Err(Error::shape(
                "gram",
                format!("expected an [m, k] matrix, got shape {:?}", layout.shape()),
            ));
        };
        match self {
            Storage::Cpu(f) => {
                let kernel = cpu::packed_gemm::Kernel::best();
                Ok(Storage::Cpu(cpu::gram::gram(
                    &dense(f, layout),
                    m,
                    k,
                    kernel,
                )))
            }
            // cuBLAS's general product with the transposed view; its symmetric one (SYRK)
            // waits for a GPU to measure it on.
            Storage::Cuda(f) => Ok(Storage::Cuda(cuda::matmul::matmul(
                f,
                layout,
                f,
                &layout.transpose(0, 1)?,
            )?)),
        }
    }

    /// The gradient of a Gram product `G = F·Fᵀ`: `(Ḡ + Ḡᵀ)·F`, where this view holds the
    /// `[m, m]` gradient `Ḡ` and `f` the `[m, k]` matrix `F`.
    pub fn gram_backward(
        &self,
        layout: &Layout,
        f: &Storage,
        f_layout: &Layout,
    ) -> Result<Storage> {
        let (&[m, m2], &[fm, k]) = (layout.shape(), f_layout.shape()) else {
            return Err(Error::shape(
                "gram_backward",
                format!(
                    "expected [m, m] and [m, k] matrices, got {:?} and {:?}",
                    layout.shape(),
                    f_layout.shape()
                ),
            ));
        };
        if m != m2 || m != fm {
            return Err(Error::shape(
                "gram_backward",
                format!("Ḡ is {m}×{m2} but F has {fm} rows"),
            ));
        }
        match (self, f) {
            (Storage::Cpu(g), Storage::Cpu(fd)) => {
                let kernel = cpu::packed_gemm::Kernel::best();
                Ok(Storage::Cpu(cpu::gram_backward::gram_backward(
                    &dense(g, layout),
                    &dense(fd, f_layout),
                    m,
                    k,
                    kernel,
                )))
            }
            // The sum with the transposed view, then cuBLAS's general product.
            (Storage::Cuda(g), Storage::Cuda(fd)) => {
                let sum = cuda::elementwise::binary(
                    g,
                    layout,
                    g,
                    &layout.transpose(0, 1)?,
                    BinaryOp::Add,
                )?;
                Ok(Storage::Cuda(cuda::matmul::matmul(
                    &sum,
                    &Layout::contiguous(&[m, m]),
                    fd,
                    f_layout,
                )?))
            }
            _ => Err(mismatch("gram_backward", self, f)),
        }
    }

    /// Convolution forward (`self` is the input), followed by a ReLU when `relu`; see
    /// [`cpu::conv`].
    pub fn conv2d(
        &self,
        l: &Layout,
        w: (&Arc<Storage>, &Layout),
        b: Option<(&Storage, &Layout)>,
        g: &Conv2dGeometry,
        relu: bool,
    ) -> Result<Storage> {
        if let Some((bias, _)) = b {
            if bias.device() != self.device() {
                return Err(mismatch("conv2d", self, bias));
            }
        }
        match (self, w.0.as_ref()) {
            (Storage::Cpu(x), Storage::Cpu(wd)) => {
                let bias = match b {
                    Some((Storage::Cpu(bd), bl)) => Some(dense(bd, bl)),
                    _ => None,
                };
                let values = dense(wd, w.1);
                let owner: WeightOwner = w.0.clone();
                let weight = Weight {
                    values: &values,
                    source: Some((&owner, w.1)),
                };
                let x = dense(x, l);
                let mut y = cpu::conv::conv2d(&x, weight, bias.as_deref(), g);
                if relu {
                    // In place, on the fresh output: no second buffer.
                    cpu::elementwise::relu_in_place(&mut y);
                }
                Ok(Storage::Cpu(y))
            }
            (Storage::Cuda(x), Storage::Cuda(wd)) => {
                let bias = match b {
                    Some((Storage::Cuda(bd), bl)) => Some((bd, bl)),
                    _ => None,
                };
                // The bias and the ReLU in one pass after the GEMMs.
                Ok(Storage::Cuda(cuda::conv::conv2d(
                    x, l, wd, w.1, bias, g, relu,
                )?))
            }
            _ => Err(mismatch("conv2d", self, w.0)),
        }
    }

    /// Convolution input gradient (`self` is the output gradient); with `relu_output`, of the
    /// gradient masked to where that is positive (the backward of a fused ReLU).
    pub fn conv2d_backward_input(
        &self,
        l: &Layout,
        relu_output: Option<(&Storage, &Layout)>,
        w: (&Arc<Storage>, &Layout),
        g: &Conv2dGeometry,
    ) -> Result<Storage> {
        match (self, w.0.as_ref()) {
            (Storage::Cpu(dy), Storage::Cpu(wd)) => {
                let values = dense(wd, w.1);
                let owner: WeightOwner = w.0.clone();
                let weight = Weight {
                    values: &values,
                    source: Some((&owner, w.1)),
                };
                let mask = match relu_output {
                    Some((Storage::Cpu(y), yl)) => Some(dense(y, yl)),
                    Some((other, _)) => return Err(mismatch("conv2d backward", self, other)),
                    None => None,
                };
                let dy = dense(dy, l);
                Ok(Storage::Cpu(cpu::conv::conv2d_backward_input(
                    &dy,
                    mask.as_deref(),
                    weight,
                    g,
                )))
            }
            (Storage::Cuda(dy), Storage::Cuda(wd)) => {
                // The GPU masks in a pass of its own first (one more kernel, same numbers).
                let masked = match relu_output {
                    Some((Storage::Cuda(y), yl)) => Some(cuda::elementwise::binary(
                        dy,
                        l,
                        y,
                        yl,
                        BinaryOp::MaskPositive,
                    )?),
                    Some((other, _)) => return Err(mismatch("conv2d backward", self, other)),
                    None => None,
                };
                let contiguous = Layout::contiguous(l.shape());
                let (dy, l) = match &masked {
                    Some(m) => (m, &contiguous),
                    None => (dy, l),
                };
                Ok(Storage::Cuda(cuda::conv::conv2d_backward_input(
                    dy, l, wd, w.1, g,
                )?))
            }
            _ => Err(mismatch("conv2d backward", self, w.0)),
        }
    }

    /// Convolution weight gradient (`self` is the input).
    pub fn conv2d_backward_weight(
        &self,
        l: &Layout,
        dy: (&Storage, &Layout),
        g: &Conv2dGeometry,
    ) -> Result<Storage> {
        match (self, dy.0) {
            (Storage::Cpu(x), Storage::Cpu(d)) => Ok(Storage::Cpu(
                cpu::conv::conv2d_backward_weight(&dense(x, l), &dense(d, dy.1), g),
            )),
            (Storage::Cuda(x), Storage::Cuda(d)) => Ok(Storage::Cuda(
                cuda::conv::conv2d_backward_weight(x, l, d, dy.1, g)?,
            )),
            _ => Err(mismatch("conv2d backward", self, dy.0)),
        }
    }

    /// Convolution bias gradient (`self` is the output gradient).
    pub fn conv2d_backward_bias(&self, l: &Layout, g: &Conv2dGeometry) -> Result<Storage> {
        match self {
            Storage::Cpu(dy) => Ok(Storage::Cpu(cpu::conv::conv2d_backward_bias(
                &dense(dy, l),
                g,
            ))),
            Storage::Cuda(dy) => Ok(Storage::Cuda(cuda::conv::conv2d_backward_bias(dy, l, g)?)),
        }
    }

    /// Max pooling forward (`self` is the input).
    pub fn max_pool2d(&self, l: &Layout, g: &Pool2dGeometry) -> Result<Storage> {
        match self {
            Storage::Cpu(x) => Ok(Storage::Cpu(cpu::pool::max_pool2d(&dense(x, l), g))),
            Storage::Cuda(x) => Ok(Storage::Cuda(cuda::pool::max_pool2d(x, l, g)?)),
        }
    }

    /// Max pooling input gradient (`self` is the input, `dy` the output gradient).
    pub fn max_pool2d_backward(
        &self,
        l: &Layout,
        dy: (&Storage, &Layout),
        g: &Pool2dGeometry,
    ) -> Result<Storage> {
        match (self, dy.0) {
            (Storage::Cpu(x), Storage::Cpu(d)) => Ok(Storage::Cpu(cpu::pool::max_pool2d_backward(
                &dense(x, l),
                &dense(d, dy.1),
                g,
            ))),
            (Storage::Cuda(x), Storage::Cuda(d)) => Ok(Storage::Cuda(
                cuda::pool::max_pool2d_backward(x, l, d, dy.1, g)?,
            )),
            _ => Err(mismatch("max_pool2d backward", self, dy.0)),
        }
    }

    /// Average pooling forward (`self` is the input).
    pub fn avg_pool2d(&self, l: &Layout, g: &Pool2dGeometry) -> Result<Storage> {
        match self {
            Storage::Cpu(x) => Ok(Storage::Cpu(cpu::pool::avg_pool2d(&dense(x, l), g))),
            Storage::Cuda(x) => Ok(Storage::Cuda(cuda::pool::avg_pool2d(x, l, g)?)),
        }
    }

    /// Average pooling input gradient (`self` is the output gradient).
    pub fn avg_pool2d_backward(&self, l: &Layout, g: &Pool2dGeometry) -> Result<Storage> {
        match self {
            Storage::Cpu(dy) => Ok(Storage::Cpu(cpu::pool::avg_pool2d_backward(
                &dense(dy, l),
                g,
            ))),
            Storage::Cuda(dy) => Ok(Storage::Cuda(cuda::pool::avg_pool2d_backward(dy, l, g)?)),
        }
    }

    /// Concatenate dense copies of the parts along `axis`.
    pub fn concat(parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid("concat", "needs at least one tensor"))?
            .0;
        match first {
            Storage::Cpu(_) => {
                let host = parts
                    .iter()
                    .map(|(s, l)| match s {
                        Storage::Cpu(d) => Ok((d.as_slice(), *l)),
                        other => Err(mismatch("concat", first, other)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Storage::Cpu(cpu::copy::concat(&host, axis)))
            }
            Storage::Cuda(_) => {
                let gpu = parts
                    .iter()
                    .map(|(s, l)| match s {
                        Storage::Cuda(d) => Ok((d, *l)),
                        other => Err(mismatch("concat", first, other)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Storage::Cuda(cuda::copy::concat(&gpu, axis)?))
            }
        }
    }

    // ----- whole-vector arithmetic for optimisers (see cpu/vector.rs) -----

    /// Σ aᵢ·bᵢ in f64.
    pub fn dot(&self, l: &Layout, other: &Storage, other_layout: &Layout) -> Result<f64> {
        match (self, other) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(cpu::vector::dot(a, l, b, other_layout)),
            (Storage::Cuda(a), Storage::Cuda(b)) => cuda::vector::dot(a, l, b, other_layout),
            _ => Err(mismatch("dot", self, other)),
        }
    }

    /// Every product `rows[i]·cols[j]` in f64, row-major (one round trip on a GPU): rows of
    /// `len` f32 values, columns of `len` values packed as each says.
    pub fn dots(
        rows: &[(&Storage, &Layout)],
        cols: &[(&Storage, &Layout, Packing)],
        len: usize,
    ) -> Result<Vec<f64>> {
        let Some(first) = rows.first().map(|r| r.0).or(cols.first().map(|c| c.0)) else {
            return Ok(Vec::new());
        };
        match first {
            Storage::Cpu(_) => {
                let rows = host_views("dots", rows)?;
                let row_slices: Vec<&[f32]> = rows.iter().map(|x| x.as_ref()).collect();
                let words = host_words("dots", cols)?;
                Ok(cpu::vector::dots(&row_slices, &values(&words, len)))
            }
            Storage::Cuda(_) => cuda::vector::dots(
                &cuda_views("dots", rows)?,
                &cuda_packed_views("dots", cols)?,
                len,
            ),
        }
    }

    /// `Σ coefs[j]·vectors[j]` over vectors of `len` values, packed as each says; each element
    /// formed in f64 and rounded once.
    pub fn combination(
        coefs: &[f64],
        vectors: &[(&Storage, &Layout, Packing)],
        len: usize,
    ) -> Result<Storage> {
        let first = vectors
            .first()
            .ok_or_else(|| Error::invalid("combination", "needs at least one vector"))?
            .0;
        match first {
            Storage::Cpu(_) => {
                let words = host_words("combination", vectors)?;
                Ok(Storage::Cpu(cpu::vector::combination(
                    coefs,
                    &values(&words, len),
                )))
            }
            Storage::Cuda(_) => Ok(Storage::Cuda(cuda::vector::combination(
                coefs,
                &cuda_packed_views("combination", vectors)?,
                len,
            )?)),
        }
    }

    /// The elements seen through `l`, rounded to bf16 and packed two to a word.
    pub fn pack_bf16(&self, l: &Layout) -> Result<Storage> {
        match self {
            Storage::Cpu(d) => Ok(Storage::Cpu(cpu::vector::pack_bf16(&dense(d, l)))),
            Storage::Cuda(d) => Ok(Storage::Cuda(cuda::vector::pack_bf16(d, l)?)),
        }
    }

    /// The `len` values of bf16 pairs (the words seen through `l`), widened to f32.
    pub fn unpack_bf16(&self, l: &Layout, len: usize) -> Result<Storage> {
        match self {
            Storage::Cpu(d) => Ok(Storage::Cpu(cpu::vector::unpack_bf16(&dense(d, l), len))),
            Storage::Cuda(d) => Ok(Storage::Cuda(cuda::vector::unpack_bf16(d, l, len)?)),
        }
    }

    /// Σ |aᵢ| in f64.
    pub fn sum_abs(&self, l: &Layout) -> Result<f64> {
        match self {
            Storage::Cpu(a) => Ok(cpu::vector::sum_abs(a, l)),
            Storage::Cuda(a) => cuda::vector::sum_abs(a, l),
        }
    }

    /// max |aᵢ| (NaN skipped).
    pub fn max_abs(&self, l: &Layout) -> Result<f64> {
        match self {
            Storage::Cpu(a) => Ok(cpu::vector::max_abs(a, l)),
            Storage::Cuda(a) => cuda::vector::max_abs(a, l),
        }
    }

    /// True when no element is NaN or infinite.
    pub fn all_finite(&self, l: &Layout) -> Result<bool> {
        match self {
            Storage::Cpu(a) => Ok(cpu::vector::all_finite(a, l)),
            Storage::Cuda(a) => cuda::vector::all_finite(a, l),
        }
    }

    /// `y + alpha·x` with `self` as x (or `alpha·x` without y), formed in f64.
    pub fn axpy(&self, alpha: f64, l: &Layout, y: Option<(&Storage, &Layout)>) -> Result<Storage> {
        match (self, y) {
            (Storage::Cpu(x), None) => Ok(Storage::Cpu(cpu::vector::axpy(alpha, x, l, None))),
            (Storage::Cpu(x), Some((Storage::Cpu(y), ly))) => {
                Ok(Storage::Cpu(cpu::vector::axpy(alpha, x, l, Some((y, ly)))))
            }
            (Storage::Cuda(x), None) => Ok(Storage::Cuda(cuda::vector::axpy(alpha, x, l, None)?)),
            (Storage::Cuda(x), Some((Storage::Cuda(y), ly))) => Ok(Storage::Cuda(
                cuda::vector::axpy(alpha, x, l, Some((y, ly)))?,
            )),
            (_, Some((y, _))) => Err(mismatch("axpy", self, y)),
        }
    }

    /// 1 where `self` (as x) is free, 0 where it is at a bound with `g` pointing out of the box.
    pub fn free_mask(
        &self,
        l: &Layout,
        g: &Storage,
        lg: &Layout,
        lo: f32,
        hi: f32,
    ) -> Result<Storage> {
        match (self, g) {
            (Storage::Cpu(x), Storage::Cpu(gd)) => {
                Ok(Storage::Cpu(cpu::vector::free_mask(x, l, gd, lg, lo, hi)))
            }
            (Storage::Cuda(x), Storage::Cuda(gd)) => Ok(Storage::Cuda(cuda::vector::free_mask(
                x, l, gd, lg, lo, hi,
            )?)),
            _ => Err(mismatch("free_mask", self, g)),
        }
    }
}

/// Host views of CPU storages, borrowed where dense (L-BFGS's history always is): an error
/// naming both devices if one is elsewhere.
fn host_views<'a>(
    op: &'static str,
    list: &[(&'a Storage, &Layout)],
) -> Result<Vec<Cow<'a, [f32]>>> {
    list.iter()
        .map(|(s, l)| match s {
            Storage::Cpu(d) => Ok(dense(d, l)),
            other => Err(mismatch(op, list[0].0, other)),
        })
        .collect()
}

/// The host words behind packed vectors, each with its packing.
fn host_words<'a>(
    op: &'static str,
    list: &[(&'a Storage, &Layout, Packing)],
) -> Result<Vec<(Cow<'a, [f32]>, Packing)>> {
    list.iter()
        .map(|(s, l, p)| match s {
            Storage::Cpu(d) => Ok((dense(d, l), *p)),
            other => Err(mismatch(op, list[0].0, other)),
        })
        .collect()
}

/// Host words read as vectors of `len` values.
fn values<'a>(words: &'a [(Cow<'a, [f32]>, Packing)], len: usize) -> Vec<cpu::vector::Values<'a>> {
    words
        .iter()
        .map(|(w, p)| match p {
            Packing::F32 => cpu::vector::Values::F32(w),
            Packing::Bf16Pairs => cpu::vector::Values::Bf16Pairs { words: w, len },
        })
        .collect()
}

/// The CUDA buffers behind packed vectors, each with its packing.
fn cuda_packed_views<'a>(
    op: &'static str,
    list: &[(&'a Storage, &'a Layout, Packing)],
) -> Result<Vec<(&'a CudaBuffer, &'a Layout, Packing)>> {
    list.iter()
        .map(|(s, l, p)| match s {
            Storage::Cuda(d) => Ok((d, *l, *p)),
            other => Err(mismatch(op, list[0].0, other)),
        })
        .collect()
}

/// The CUDA buffers behind `list`, or an error naming both devices if one is elsewhere.
fn cuda_views<'a>(
    op: &'static str,
    list: &[(&'a Storage, &'a Layout)],
) -> Result<Vec<(&'a CudaBuffer, &'a Layout)>> {
    list.iter()
        .map(|(s, l)| match s {
            Storage::Cuda(d) => Ok((d, *l)),
            other => Err(mismatch(op, list[0].0, other)),
        })
        .collect()
}
