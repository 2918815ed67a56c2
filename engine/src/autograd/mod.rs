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

// ANCHOR: node
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
// ANCHOR_END: node

// ANCHOR: no_grad
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
// ANCHOR_END: no_grad

// ANCHOR: gradients
/// Gradients of a scalar with respect to the leaves that required them.
#[derive(Default)]
pub struct Gradients {
    map: HashMap<TensorId, Tensor>,
}

impl Gradients {
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
}
// ANCHOR_END: gradients

impl Gradients {
    /// A map holding one gradient, for optimisers driven by gradients computed elsewhere.
    pub fn single(t: &Tensor, grad: Tensor) -> Self {
        let mut map = HashMap::new();
        map.insert(t.id(), grad);
        Gradients { map }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

// ANCHOR: backward
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

    // ANCHOR: backward_with
    /// Vector–Jacobian product: gradients of `sum(self * seed)`.
    pub fn backward_with(&self, seed: &Tensor) -> Result<Gradients> {
        if seed.shape() != self.shape() {
            return Err(Error::Backward(format!(
                "seed shape {:?} differs from output shape {:?}",
                seed.shape(),
                self.shape()
            )));
        }
        // The rules compute with ordinary tensor ops; they must not record a graph themselves.
        let _guard = NoGradGuard::new();
        // Gradients received by tensors whose own rule has not run yet.
        let mut pending: HashMap<TensorId, Tensor> = HashMap::new();
        pending.insert(self.id(), seed.detach());
        let mut leaves = Gradients::default();
        for t in topological_order(self).iter().rev() {
            let Some(grad) = pending.remove(&t.id()) else {
                continue;
            };
            match t.node() {
                None => {
                    leaves.map.insert(t.id(), grad);
                }
                Some(node) => pass_to_inputs(node, &grad, t, &mut pending)?,
            }
        }
        Ok(leaves)
    }
    // ANCHOR_END: backward_with
}
// ANCHOR_END: backward

/// Reading the graph, for printing and teaching; `backward` itself does not need these.
impl Tensor {
    /// The name of the op that made this tensor; `None` for a leaf or an untracked result.
    pub fn op_name(&self) -> Option<&'static str> {
        self.node().map(|n| n.op)
    }

    /// The tensors this one was computed from (none for a leaf or an untracked result).
    pub fn op_inputs(&self) -> &[Tensor] {
        self.node().map_or(&[], |n| &n.inputs)
    }

    /// The tracked tensors this one depends on, itself last, each after its inputs: the
    /// order whose reverse `backward` walks.
    pub fn tape(&self) -> Vec<Tensor> {
        topological_order(self)
    }
}

// ANCHOR: pass_to_inputs
/// Run `node`'s backward rule and add each input's share to what that input has received
/// already: a tensor that fed several ops gets the sum of their gradients.
fn pass_to_inputs(
    node: &Node,
    grad: &Tensor,
    out: &Tensor,
    pending: &mut HashMap<TensorId, Tensor>,
) -> Result<()> {
    let input_grads = (node.backward)(grad, out)?;
    for (input, g) in node.inputs.iter().zip(input_grads) {
        let Some(g) = g else { continue };
        if !input.requires_grad_flag() {
            continue;
        }
        check_gradient_shape(node, input, &g)?;
        let total = match pending.remove(&input.id()) {
            Some(previous) => previous.add(&g)?,
            None => g,
        };
        pending.insert(input.id(), total);
    }
    Ok(())
}
// ANCHOR_END: pass_to_inputs

/// A rule must return a gradient of its input's shape; anything else is a bug in the rule.
fn check_gradient_shape(node: &Node, input: &Tensor, g: &Tensor) -> Result<()> {
    if g.shape() == input.shape() {
        return Ok(());
    }
    Err(Error::Backward(format!(
        "rule of `{}` returned a gradient of shape {:?} for an input of shape {:?}",
        node.op,
        g.shape(),
        input.shape()
    )))
}

// ANCHOR: topological_order
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
// ANCHOR_END: topological_order
