// Reverse-mode automatic differentiation.
//
// Every op that produces a tensor from inputs that require grad attaches a `Node` to its
// output: the op's name, its inputs, and a closure that maps the output's gradient to the
// inputs' gradients. `backward()` walks these nodes once, from the output back to the
// leaves, in reverse topological order, and adds each leaf's gradient into its `.grad`.
//
// Memory: a node's closure holds the tensors the gradient needs (saved activations). After
// a node has run, it drops its closure and its inputs, so the whole graph becomes garbage
// as soon as backward() returns, and a training loop does not grow its memory.
import type { Tensor } from "./tensor.js";
import { shapeStr, sameShape } from "./shape.js";

/**
 * Computes the gradients of an op's inputs from the gradient of its output.
 * `needs[i]` says whether input i wants a gradient (skip the work otherwise).
 * Returns one entry per input: a tensor of the input's shape, or null.
 */
export type BackwardFn = (gradOutput: Tensor, needs: readonly boolean[]) => (Tensor | null)[];

/** One recorded op in the graph. */
export class Node {
  inputs: (Tensor | null)[];
  backwardFn: BackwardFn | null;

  constructor(
    readonly name: string,
    inputs: (Tensor | null)[],
    backwardFn: BackwardFn,
  ) {
    this.inputs = inputs;
    this.backwardFn = backwardFn;
  }

  /** Forget the saved tensors and inputs (done after the node's gradient ran). */
  release(): void {
    this.inputs = [];
    this.backwardFn = null;
  }
}

let gradEnabled = true;

/** Whether ops record the graph now (false inside noGrad). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Turn graph recording on or off globally; prefer noGrad(fn). */
export function setGradEnabled(enabled: boolean): void {
  gradEnabled = enabled;
}

/**
 * Runs `fn` without recording the graph (inference, optimizer updates). Like torch.no_grad().
 * `fn` must be synchronous: grad mode is restored as soon as it returns.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` with graph recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op on these inputs must be recorded. */
export function needsGraph(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/**
 * Attaches a graph node to `out` when grad mode is on and an input requires grad.
 * Returns `out` so ops can `return record(out, ...)`.
 */
export function record(out: Tensor, name: string, inputs: (Tensor | null)[], backwardFn: BackwardFn): Tensor {
  if (!needsGraph(...inputs)) return out;
  out._setGradFn(new Node(name, inputs, backwardFn));
  return out;
}

/** Tensors reachable from `root` through grad-requiring nodes, each after all its consumers. */
function reverseTopologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = []; // post-order: inputs before the tensors made from them
  const visited = new Set<Tensor>();
  // Iterative DFS so a graph thousands of ops deep does not overflow the stack.
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top.t.gradFn?.inputs ?? [];
    if (top.next < inputs.length) {
      const child = inputs[top.next++];
      if (child && child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(top.t);
      stack.pop();
    }
  }
  return order.reverse();
}

/**
 * Backpropagates `grad` (the gradient of some scalar with respect to `root`) through the graph,
 * accumulating into `.grad` of every leaf that requires grad. Runs in no-grad mode.
 */
export function runBackward(root: Tensor, grad: Tensor): void {
  const order = reverseTopologicalOrder(root);
  const pending = new Map<Tensor, Tensor>([[root, grad]]);
  noGrad(() => {
    for (const t of order) {
      const g = pending.get(t);
      pending.delete(t); // free intermediate gradients as soon as they are used
      if (!g) continue;
      const node = t.gradFn;
      if (!node) {
        t._accumulateGrad(g);
        continue;
      }
      if (!node.backwardFn) {
        throw new Error(`backward: the graph through ${node.name} was already used by an earlier backward() (recompute the forward pass)`);
      }
      const inputs = node.inputs;
      const needs = inputs.map((x) => !!x && x.requiresGrad);
      const grads = node.backwardFn(g, needs);
      node.release();
      for (let i = 0; i < inputs.length; i++) {
        const x = inputs[i];
        const gx = grads[i];
        if (!x || !needs[i] || !gx) continue;
        if (!sameShape(gx.shape, x.shape)) {
          throw new Error(
            `backward: ${node.name} produced a gradient of shape ${shapeStr(gx.shape)} for an input of shape ${shapeStr(x.shape)}`,
          );
        }
        const prev = pending.get(x);
        pending.set(x, prev ? prev.add(gx) : gx);
      }
    }
  });
}
