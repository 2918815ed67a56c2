//! Reverse-mode automatic differentiation.
//!
//! Every tracked operation stores its inputs and a backward rule (written right next to its
//! forward, in the files of this folder). `backward()` sorts the graph topologically and runs the
//! rules in reverse, returning the gradients in a map: nothing is stored inside tensors, and no
//! tape outlives the call.

mod binary;
mod broadcast;
mod conv;
mod matmul;
mod pool;
mod reduce;
mod shape_ops;
mod softmax;
mod unary;

pub use crate::geometry::Conv2dParams;

use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorId};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// Turns the gradient of an op's output into the gradients of its inputs.
/// Arguments: the output's gradient, the output itself. One entry per input; `None` means the
/// input gets no gradient from this op.
pub(crate) type BackwardFn =
    Box<dyn Fn(&Tensor, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

/// How a tracked tensor was made.
pub(crate) struct Node {
    pub op: &'static str,
    pub inputs: Vec<Tensor>,
    pub backward: BackwardFn,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether new operations on this thread record a graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// While alive, operations on this thread record no graph (inference, optimiser updates).
pub struct NoGradGuard {
    previous: bool,
}

impl NoGradGuard {
    pub fn new() -> Self {
        let previous = GRAD_ENABLED.with(|g| g.replace(false));
        NoGradGuard { previous }
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Run `f` without recording a graph.
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    let _guard = NoGradGuard::new();
    f()
}

/// Gradients of a scalar with respect to the leaves that required them.
#[derive(Default)]
pub struct Gradients {
    map: HashMap<TensorId, Tensor>,
}

impl Gradients {
    /// A map holding one gradient, for optimisers driven by gradients computed elsewhere.
    pub fn single(t: &Tensor, grad: Tensor) -> Self {
        let mut map = HashMap::new();
        map.insert(t.id(), grad);
        Gradients { map }
    }

    /// The gradient for `t`, if `t` was a leaf that the output depends on.
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.map.get(&t.id())
    }

    /// The gradient for `t`; zeros (on `t`'s device) when the output does not depend on it.
    pub fn get_or_zeros(&self, t: &Tensor) -> Result<Tensor> {
        match self.get(t) {
            Some(g) => Ok(g.clone()),
            None => t.zeros_like(),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl Tensor {
    /// Gradients of this one-element tensor with respect to every leaf that requires one.
    pub fn backward(&self) -> Result<Gradients> {
        if self.numel() != 1 {
            return Err(Error::Backward(format!(
                "backward() needs a one-element output (a loss), got shape {:?}; \
                 use backward_with(seed) for other outputs",
                self.shape()
            )));
        }
        self.backward_with(&self.ones_like()?)
    }

    /// Vector–Jacobian product: gradients of `sum(self * seed)`.
    pub fn backward_with(&self, seed: &Tensor) -> Result<Gradients> {
        if seed.shape() != self.shape() {
            return Err(Error::Backward(format!(
                "seed shape {:?} differs from output shape {:?}",
                seed.shape(),
                self.shape()
            )));
        }
        let _guard = NoGradGuard::new();
        let order = topological_order(self);
        let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
        grads.insert(self.id(), seed.detach());
        let mut leaves = Gradients::default();
        for t in order.iter().rev() {
            let Some(grad) = grads.remove(&t.id()) else {
                continue;
            };
            let Some(node) = t.node() else {
                leaves.map.insert(t.id(), grad);
                continue;
            };
            let input_grads = (node.backward)(&grad, t)?;
            for (input, g) in node.inputs.iter().zip(input_grads) {
                let Some(g) = g else { continue };
                if !input.requires_grad_flag() {
                    continue;
                }
                if g.shape() != input.shape() {
                    return Err(Error::Backward(format!(
                        "rule of `{}` returned a gradient of shape {:?} for an input of shape {:?}",
                        node.op,
                        g.shape(),
                        input.shape()
                    )));
                }
                let total = match grads.remove(&input.id()) {
                    Some(previous) => previous.add(&g)?,
                    None => g,
                };
                grads.insert(input.id(), total);
            }
        }
        Ok(leaves)
    }
}

/// Tensors that need gradients, each after all of its inputs (iterative DFS, no recursion so
/// deep graphs cannot overflow the stack).
fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut visited = HashSet::new();
    let mut stack: Vec<(Tensor, bool)> = vec![(root.clone(), false)];
    while let Some((t, inputs_done)) = stack.pop() {
        if inputs_done {
            order.push(t);
            continue;
        }
        if !t.requires_grad_flag() || !visited.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(node) = t.node() {
            for input in &node.inputs {
                if input.requires_grad_flag() && !visited.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}
