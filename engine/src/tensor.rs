//! The tensor handle: shared storage, a layout that views it, and (when gradients are being
//! tracked) the graph node that produced it.

use crate::autograd::{is_grad_enabled, BackwardFn, Node};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::rng::Rng;
use crate::storage::Storage;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Identifies one tensor in a computation graph; gradients are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

// ANCHOR: tensor
/// An immutable n-dimensional array of f32. Cloning is cheap (a reference count).
#[derive(Clone)]
pub struct Tensor(Arc<Inner>);

struct Inner {
    id: TensorId,
    storage: Arc<Storage>,
    layout: Layout,
    requires_grad: bool,
    node: Option<Node>,
}
// ANCHOR_END: tensor

impl Tensor {
    fn build(
        storage: Arc<Storage>,
        layout: Layout,
        requires_grad: bool,
        node: Option<Node>,
    ) -> Self {
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            storage,
            layout,
            requires_grad,
            node,
        }))
    }

    // ANCHOR: from_storage
    /// A tensor that owns `storage`, laid out densely as `shape`, outside any graph.
    pub(crate) fn from_storage(storage: Storage, shape: &[usize]) -> Self {
        Self::build(Arc::new(storage), Layout::contiguous(shape), false, None)
    }
    // ANCHOR_END: from_storage

    // ANCHOR: from_op
    /// The result of an operation. When gradients are enabled and some input needs one, the
    /// result remembers its inputs and the rule that turns its gradient into theirs.
    pub(crate) fn from_op(
        storage: Arc<Storage>,
        layout: Layout,
        op: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Self {
        if is_grad_enabled() && inputs.iter().any(|t| t.requires_grad_flag()) {
            let node = Node {
                op,
                inputs: inputs.iter().map(|t| (*t).clone()).collect(),
                backward: Box::new(backward) as BackwardFn,
            };
            Self::build(storage, layout, true, Some(node))
        } else {
            Self::build(storage, layout, false, None)
        }
    }

    /// Wrap an already computed (untracked) result as the output of `op`.
    pub(crate) fn with_backward(
        self,
        op: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Self {
        Self::from_op(
            self.0.storage.clone(),
            self.0.layout.clone(),
            op,
            inputs,
            backward,
        )
    }
    // ANCHOR_END: from_op

    // ----- construction -----

    // ANCHOR: from_vec
    /// A tensor of the given shape from row-major data.
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(Error::shape(
                "from_vec",
                format!(
                    "{} values cannot fill shape {shape:?} ({expected} elements)",
                    data.len()
                ),
            ));
        }
        Ok(Self::from_storage(Storage::Cpu(data), shape))
    }
    // ANCHOR_END: from_vec

    /// A tensor of the given shape from a slice.
    pub fn from_slice(data: &[f32], shape: &[usize]) -> Result<Self> {
        Self::from_vec(data.to_vec(), shape)
    }

    /// A rank-0 tensor holding one number.
    pub fn scalar(value: f32) -> Self {
        Self::from_storage(Storage::Cpu(vec![value]), &[])
    }

    pub fn full(shape: &[usize], value: f32) -> Self {
        Self::from_storage(Storage::Cpu(vec![value; shape.iter().product()]), shape)
    }

    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, 0.0)
    }

    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, 1.0)
    }

    /// `value` everywhere, on `device`.
    pub fn full_on(shape: &[usize], value: f32, device: Device) -> Result<Self> {
        let storage = Storage::full(device, shape.iter().product(), value)?;
        Ok(Self::from_storage(storage, shape))
    }

    pub fn zeros_on(shape: &[usize], device: Device) -> Result<Self> {
        Self::full_on(shape, 0.0, device)
    }

    /// A tensor from row-major host data, placed on `device`.
    pub fn from_vec_on(data: Vec<f32>, shape: &[usize], device: Device) -> Result<Self> {
        let cpu = Self::from_vec(data, shape)?;
        match device {
            Device::Cpu => Ok(cpu),
            _ => cpu.to_device(device),
        }
    }

    /// Zeros of this tensor's shape, on its device.
    pub fn zeros_like(&self) -> Result<Self> {
        Self::zeros_on(self.shape(), self.device())
    }

    /// Ones of this tensor's shape, on its device.
    pub fn ones_like(&self) -> Result<Self> {
        Self::full_on(self.shape(), 1.0, self.device())
    }

    /// Standard normal samples.
    pub fn randn(shape: &[usize], rng: &mut Rng) -> Self {
        let n = shape.iter().product();
        Self::from_storage(Storage::Cpu((0..n).map(|_| rng.normal()).collect()), shape)
    }

    /// Uniform samples in [lo, hi).
    pub fn rand_uniform(shape: &[usize], lo: f32, hi: f32, rng: &mut Rng) -> Self {
        let n = shape.iter().product();
        Self::from_storage(
            Storage::Cpu((0..n).map(|_| rng.uniform_in(lo, hi)).collect()),
            shape,
        )
    }

    /// `n` evenly spaced values from `start` to `end` inclusive.
    pub fn linspace(start: f32, end: f32, n: usize) -> Self {
        let step = if n > 1 {
            (end - start) / (n - 1) as f32
        } else {
            0.0
        };
        let data = (0..n).map(|i| start + step * i as f32).collect();
        Self::from_storage(Storage::Cpu(data), &[n])
    }

    // ----- gradient bookkeeping -----

    /// The same values as a new leaf whose gradient `backward()` will report.
    pub fn requires_grad(&self) -> Self {
        Self::build(self.0.storage.clone(), self.0.layout.clone(), true, None)
    }

    /// The same values cut off from the graph: no gradient flows through the result.
    pub fn detach(&self) -> Self {
        Self::build(self.0.storage.clone(), self.0.layout.clone(), false, None)
    }

    /// Whether gradients flow to or through this tensor.
    pub fn requires_grad_flag(&self) -> bool {
        self.0.requires_grad
    }

    /// A leaf is a tensor no tracked operation produced (inputs, weights, images).
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }

    pub(crate) fn node(&self) -> Option<&Node> {
        self.0.node.as_ref()
    }

    // ----- inspection -----

    pub fn id(&self) -> TensorId {
        self.0.id
    }

    pub fn shape(&self) -> &[usize] {
        self.0.layout.shape()
    }

    pub fn rank(&self) -> usize {
        self.0.layout.rank()
    }

    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }

    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }

    pub fn device(&self) -> Device {
        self.0.storage.device()
    }

    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }

    // ANCHOR: to_vec
    /// The values in row-major order, copied to the host.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        self.0.storage.to_host(&self.0.layout)
    }
    // ANCHOR_END: to_vec

    /// The same values on `device`: a copy (this tensor itself when it is already there).
    /// Tracked: the gradient flows back to this tensor's device.
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if self.device() == device {
            return Ok(self.clone());
        }
        let storage = self.0.storage.to_device(&self.0.layout, device)?;
        let home = self.device();
        Ok(Tensor::from_op(
            Arc::new(storage),
            Layout::contiguous(self.shape()),
            "to_device",
            &[self],
            move |g, _| Ok(vec![Some(g.to_device(home)?)]),
        ))
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "item",
                format!(
                    "only one-element tensors have an item; this one has shape {:?}",
                    self.shape()
                ),
            ));
        }
        Ok(self.to_vec()?[0])
    }

    // ANCHOR: get
    /// Value at a multi-index.
    pub fn get(&self, index: &[usize]) -> Result<f32> {
        if index.len() != self.rank() || index.iter().zip(self.shape()).any(|(i, d)| i >= d) {
            return Err(Error::shape(
                "get",
                format!("index {index:?} is outside shape {:?}", self.shape()),
            ));
        }
        let offset = self.layout().offset_of(index);
        // A one-element view of the buffer at that offset, read back to the host.
        let view = Layout::contiguous(&[offset + 1]).narrow(0, offset, 1)?;
        Ok(self.0.storage.to_host(&view)?[0])
    }
    // ANCHOR_END: get

    /// True when no element is NaN or infinite (only the answer leaves the device).
    pub fn all_finite(&self) -> Result<bool> {
        self.0.storage.all_finite(&self.0.layout)
    }

    /// Error naming `op` when any element is NaN or infinite.
    pub fn ensure_finite(&self, op: &'static str, what: &'static str) -> Result<()> {
        if self.all_finite()? {
            Ok(())
        } else {
            Err(Error::NonFinite {
                op,
                what,
                shape: self.shape().to_vec(),
            })
        }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor(shape={:?}, {})", self.shape(), self)
    }
}

/// Prints values like NumPy, nested by axis; long axes are elided in the middle.
impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn write_axis(
            f: &mut fmt::Formatter<'_>,
            data: &[f32],
            shape: &[usize],
            depth: usize,
        ) -> fmt::Result {
            if shape.is_empty() {
                return write!(f, "{:.4}", data[0]);
            }
            let inner: usize = shape[1..].iter().product();
            let n = shape[0];
            let shown: Vec<usize> = if n > 8 {
                (0..3).chain(n - 3..n).collect()
            } else {
                (0..n).collect()
            };
            write!(f, "[")?;
            for (k, &i) in shown.iter().enumerate() {
                if k > 0 {
                    if shape.len() > 1 {
                        write!(f, ",\n{}", " ".repeat(depth + 1))?;
                    } else {
                        write!(f, ", ")?;
                    }
                }
                if n > 8 && k == 3 {
                    write!(f, "...")?;
                    if shape.len() > 1 {
                        write!(f, ",\n{}", " ".repeat(depth + 1))?;
                    } else {
                        write!(f, ", ")?;
                    }
                }
                write_axis(f, &data[i * inner..(i + 1) * inner], &shape[1..], depth + 1)?;
            }
            write!(f, "]")
        }
        match self.to_vec() {
            Ok(values) => write_axis(f, &values, self.shape(), 0),
            Err(e) => write!(f, "<values unreadable: {e}>"),
        }
    }
}
