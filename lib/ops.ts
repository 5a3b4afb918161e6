/**
 * The fused custom-gradient ops of both models, all 2-D inside (`[N, C]`, N = B·T): tanh-GELU,
 * LayerNorm, linear layers and the tied LM head with transpose-free gradients, the softmax
 * cross-entropy (in row chunks when the vocabulary is large), dropout from a seed, and the
 * attention pieces. Each uses the fused wasm kernels of `_wasm_fused_kernels.ts` when they are
 * installed, else the tensor formulas here (the `cpu` backend always: the tests' reference).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { mutableFloat32, nativeProducts } from "./backend.ts";
import { fusedKernels, GELU_K0, GELU_K1 } from "./_wasm_fused_kernels.ts";
import { ConfigError } from "./errors.ts";

/** Token ids or positions: an int32 tensor or nested plain arrays. */
export type Ids = tf.Tensor | number[] | number[][] | number[][][];

/** `x` as an int32 tensor: an int32 tensor as is, another tensor cast, plain arrays converted. */
export function asInt32(x: Ids): tf.Tensor {
  if (x instanceof tf.Tensor) return x.dtype === "int32" ? x : tf.cast(x, "int32");
  return tf.tensor(x as number[], undefined, "int32");
}

// ---------------------------------------------------------------------------------------------
// ops with fused custom gradients (all 2-D: [N, C] with N = B*T)

/**
 * GELU, tanh approximation `0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))`, computed as the
 * identical `x·sigmoid(2√(2/π)(x + 0.044715x³))` (sigmoid is vectorized on wasm, tanh is not).
 *
 * @example
 * ```ts
 * gelu(tf.tensor([1, -1])).dataSync(); // [0.8411920, -0.1588080]
 * ```
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (fusedKernels()) return fusedGelu(x);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const x2 = tf.mul(x, x);
    const s = tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, GELU_K1), GELU_K0)));
    save([x, x2, s]);
    return {
      value: tf.mul(x, s),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, x2, s] = saved;
        // d/dx x·s(u) = s + x·s·(1-s)·u',  u' = k0 + 3·k1·x²
        const du = tf.add(tf.mul(x2, 3 * GELU_K1), GELU_K0);
        const ds = tf.mul(tf.mul(s, tf.sub(1, s)), tf.mul(x, du));
        return [tf.mul(dy, tf.add(s, ds))];
      },
    };
  });
  return f(x) as T;
}

/** {@link gelu} on the fused wasm kernels: forward and backward in one pass each. */
function fusedGelu<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [y, s] = tf.engine().runKernel("Gpt1Gelu", { x }) as tf.Tensor[]; // x·σ(u), σ(u)
    save([x, s]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [x, s]: tf.Tensor[]) => [
        tf.engine().runKernel("Gpt1GeluGrad", { dy, x, s }) as tf.Tensor,
      ],
    };
  });
  return f(x) as T;
}

/**
 * Column sums of a 2-D tensor, `[N, C] → [C]`, as a last-axis sum of the transpose: on wasm a
 * sum over axis 0 goes through the slow stock transpose, and `ones[1, N]·x` makes XNNPACK pack
 * all of `x` for one output row.
 */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  // with the BLAS, `ones[1, N]·x` is one sgemm and needs no transpose
  if (tf.getBackend() === "wasm" && nativeProducts()) {
    return tf.reshape(tf.matMul(tf.ones([1, x.shape[0]]), x), [x.shape[1]]) as tf.Tensor1D;
  }
  return tf.sum(tf.transpose(x), 1);
}

/**
 * LayerNorm over the last axis of `[N, C]` with biased variance and eps inside the square root,
 * `(x - mean) / sqrt(var + eps) · g + b`, as in the original `norm()`.
 *
 * @example
 * ```ts
 * layerNorm(tf.tensor2d([[1, 2, 3, 4]]), tf.ones([4]), tf.zeros([4]), 1e-5);
 * // [[-1.3416354, -0.4472118, 0.4472118, 1.3416354]]
 * ```
 */
export function layerNorm(
  x: tf.Tensor2D,
  g: tf.Tensor1D,
  b: tf.Tensor1D,
  eps: number,
): tf.Tensor2D {
  if (fusedKernels()) return fusedLayerNorm(x, g, b, eps);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, g, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const xc = tf.sub(x, tf.mean(x, -1, true)); // [N, C]
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), -1, true), eps)); // [N, 1]
    const xhat = tf.mul(xc, rstd); // [N, C]
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat, rstd, g] = saved;
        const dxhat = tf.mul(dy, g);
        const a = tf.mean(dxhat, -1, true), c = tf.mean(tf.mul(dxhat, xhat), -1, true);
        const dx = tf.mul(tf.sub(tf.sub(dxhat, a), tf.mul(xhat, c)), rstd);
        return [dx, sumRows(tf.mul(dy, xhat) as tf.Tensor2D), sumRows(dy as tf.Tensor2D)];
      },
    };
  });
  return f(x, g, b) as tf.Tensor2D;
}

/** {@link layerNorm} on the fused wasm kernels (one pass forward, one backward). */
function fusedLayerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number) {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, g, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, xhat, rstd] = tf.engine().runKernel("Gpt1LayerNorm", { x, g, b }, {
      eps,
    }) as tf.Tensor[]; // [N, C], [N, C], [N, 1]
    save([xhat, rstd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xhat, rstd, g]: tf.Tensor[]) =>
        tf.engine().runKernel("Gpt1LayerNormGrad", { dy, xhat, rstd, g }) as tf.Tensor[],
    };
  });
  return f(x, g, b) as tf.Tensor2D;
}

/** `x·W + b` for `x [N, in]`, `W [in, out]`, `b [out]` with explicit-transpose gradients. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([x, w]);
    return {
      value: tf.fused.matMul({ a: x, b: w, bias: b }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, w] = saved as tf.Tensor2D[];
        const d = dy as tf.Tensor2D; // [N, out]
        if (nativeProducts()) {
          // BLAS (or cpu): the transposes are sgemm flags, no copy
          return [tf.matMul(d, w, false, true), tf.matMul(x, d, true, false), sumRows(d)];
        }
        const dx = tf.matMul(d, tf.transpose(w));
        if (w.shape[1] <= w.shape[0]) return [dx, tf.matMul(tf.transpose(x), d), sumRows(d)];
        // out > in: dW = (dyᵀ·x)ᵀ, so that the second operand (packed by XNNPACK on every
        // call) is the narrower x; dyᵀ also gives the bias gradient
        const dt = tf.transpose(d); // [out, N]
        return [dx, tf.transpose(tf.matMul(dt, x)), tf.sum(dt, 1)];
      },
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}

/** Tied LM head `x·Eᵀ` for `x [N, C]`, `E [V, C]` → `[N, V]`, with plain-matMul gradients. */
export function tiedLogits(x: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, e, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x, e]);
    return {
      value: nativeProducts() ? tf.matMul(x, e, false, true) : tf.matMul(x, tf.transpose(e)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, e] = saved as tf.Tensor2D[];
        const d = dy as tf.Tensor2D; // [N, V]
        if (nativeProducts()) return [tf.matMul(d, e), tf.matMul(d, x, true, false)];
        // dE = dyᵀ·x: transposing dy costs less than XNNPACK streaming a packed [N, V] operand
        return [tf.matMul(d, e), tf.matMul(tf.transpose(d), x)];
      },
    };
  });
  return f(x, e) as tf.Tensor2D;
}

/**
 * `Σ_i w_i · CE(logits_i, targets_i)` for `logits [N, V]`, int32 `targets [N]`, `w [N]` (pass
 * `1/N` everywhere for the mean). The target logit is gathered, no one-hot is built; the
 * gradient `(softmax - onehot)·w` subtracts in place on cpu/wasm.
 */
export function crossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  w: tf.Tensor1D,
): tf.Scalar {
  if (fusedKernels()) return fusedCrossEntropy(logits, targets, w);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [z, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const p = tf.softmax(z); // [N, V]
    // tensors made outside are gone by backward time (variableGrads tidies the forward): save
    save([p, w, targets]);
    return {
      value: weightedCe(z, p, targets, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [p, w, targets] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        return [softmaxCeGrad(p, targets, tf.mul(w, dy) as tf.Tensor1D)];
      },
    };
  });
  return f(logits) as tf.Scalar;
}

/** {@link crossEntropy} on the fused wasm kernels: softmax + loss, then the gradient, one pass each. */
function fusedCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, w: tf.Tensor1D): tf.Scalar {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [z, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    // the loss and its gradient (softmax - onehot)·w in the same pass
    const [loss, g] = tf.engine().runKernel("Gpt1SoftmaxCe", { z, targets, w }) as tf.Tensor[];
    save([g]);
    return {
      value: loss as tf.Scalar,
      gradFunc: (dy: tf.Tensor, [g]: tf.Tensor[]) => [
        // the usual dy = 1 (the loss itself): the gradient as it is (clone: no copy)
        dy.dataSync()[0] === 1 ? tf.clone(g) : tf.mul(g, dy),
      ],
    };
  });
  return f(logits) as tf.Scalar;
}

/** `Σ_i w_i · (logsumexp(z_i) - z_i[y_i])` of logits `z [N, V]` and their softmax `p`. */
function weightedCe(z: tf.Tensor2D, p: tf.Tensor2D, targets: tf.Tensor1D, w: tf.Tensor1D) {
  const [N, V] = z.shape;
  const flat = tf.add(tf.mul(tf.range(0, N, 1, "int32"), tf.scalar(V, "int32")), targets);
  // logsumexp = max + log Σ exp(z - max) = max - log(max softmax): exact, never underflows
  const lse = tf.sub(tf.max(z, 1), tf.log(tf.max(p, 1))); // [N]
  const zy = tf.gather(tf.reshape(z, [N * V]), flat); // [N]
  return tf.sum(tf.mul(tf.sub(lse, zy), w)) as tf.Scalar;
}

/** The CE gradient `(p - onehot(targets))·c` of softmax `p [N, V]` and row weights `c [N]`. */
function softmaxCeGrad(p: tf.Tensor2D, targets: tf.Tensor1D, c: tf.Tensor1D): tf.Tensor2D {
  const [N, V] = p.shape;
  const g = tf.mul(p, tf.reshape(c, [N, 1])) as tf.Tensor2D; // [N, V], new and ours alone
  if (tf.getBackend() !== "cpu" && tf.getBackend() !== "wasm") {
    return tf.sub(g, tf.mul(tf.oneHot(targets, V), tf.reshape(c, [N, 1])));
  }
  const cv = c.dataSync(), tv = targets.dataSync(); // synchronous backends: cheap
  const live = mutableFloat32(g)!; // taken after the reads: a heap view dies on growth
  for (let i = 0; i < N; i++) {
    const y = tv[i];
    // a raw heap write: never let a bad target id write outside this row
    if (!(y >= 0 && y < V)) throw new ConfigError(`target id ${y} not in [0, ${V - 1}]`);
    live[i * V + y] -= cv[i];
  }
  return g;
}

/**
 * Per-head scores `alpha · Q_bh · K_bhᵀ` → `[B·H, T, T]` straight from `qkv [B·T, 3C]` (the
 * fused wasm kernel: sgemm with leading dimension 3C, no head split or transpose).
 */
export function headScores(qkv: tf.Tensor2D, B: number, T: number, H: number, alpha: number) {
  const attrs = { B, T, H, alpha };
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qkv, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([qkv]);
    return {
      value: tf.engine().runKernel("Gpt1HeadScores", { qkv }, attrs) as tf.Tensor3D,
      gradFunc: (dS: tf.Tensor, [qkv]: tf.Tensor[]) => [
        tf.engine().runKernel("Gpt1HeadScoresGrad", { dS, qkv }, attrs) as tf.Tensor,
      ],
    };
  });
  return f(qkv) as tf.Tensor3D;
}

/**
 * Causal self-attention of `qkv [B·T, 3C]` → `[B·T, C]` (scores, softmax, dropout `p` with
 * `seed`, mix; heads side by side) as one native kernel forward and one backward: the same
 * numbers as {@link headScores} → causal softmax → dropout → {@link headMix}, with one gradient
 * buffer for `qkv` instead of a sum of two.
 */
export function attentionCore(
  qkv: tf.Tensor2D,
  attrs: { B: number; T: number; H: number; alpha: number; p: number; seed: number },
): tf.Tensor2D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qkv, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const outs = tf.engine().runKernel("Gpt1Attention", { qkv }, attrs) as tf.Tensor[];
    const [y, P] = outs, A = outs[2] ?? P; // [N, C], [B·H, T, T] before and after dropout
    save([qkv, P, A]);
    return {
      value: y as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, [qkv, P, A]: tf.Tensor[]) => [
        tf.engine().runKernel("Gpt1AttentionGrad", { dy, P, A, qkv }, attrs) as tf.Tensor,
      ],
    };
  });
  return f(qkv) as tf.Tensor2D;
}

/** `softmax(s + causal bias)` of scores `s [G, T, T]` on the native kernel, with its gradient. */
export function causalSoftmax(s: tf.Tensor3D): tf.Tensor3D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [s, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
    const p = tf.engine().runKernel("Gpt1CausalSoftmax", { s }) as tf.Tensor3D;
    save([p]);
    return {
      value: p,
      gradFunc: (dp: tf.Tensor, [p]: tf.Tensor[]) => [
        tf.engine().runKernel("Gpt1CausalSoftmaxGrad", { p, dp }) as tf.Tensor,
      ],
    };
  });
  return f(s) as tf.Tensor3D;
}

/**
 * Per-head `A_bh · V_bh` with the heads merged side by side → `[B·T, C]`, from the attention
 * `a [B·H, T, T]` and `qkv [B·T, 3C]` (fused wasm kernel, no transpose).
 */
export function headMix(a: tf.Tensor3D, qkv: tf.Tensor2D, B: number, T: number, H: number) {
  const attrs = { B, T, H, alpha: 1 };
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, qkv, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.GradSaveFunc];
    save([a, qkv]);
    return {
      value: tf.engine().runKernel("Gpt1HeadMix", { a, qkv }, attrs) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, [a, qkv]: tf.Tensor[]) =>
        tf.engine().runKernel("Gpt1HeadMixGrad", { dy, a, qkv }, attrs) as tf.Tensor[],
    };
  });
  return f(a, qkv) as tf.Tensor2D;
}

/**
 * `x · dropoutMask(x.size, p, seed)` on the fused wasm kernel: the same numbers as the mask
 * tensor times `x`, with the mask recomputed in the backward instead of kept.
 */
export function fusedDropout(x: tf.Tensor, p: number, seed: number): tf.Tensor {
  const attrs = { p, seed };
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x] = args as [tf.Tensor];
    return {
      value: tf.engine().runKernel("Gpt1Dropout", { x }, attrs) as tf.Tensor,
      gradFunc: (
        dy: tf.Tensor,
      ) => [tf.engine().runKernel("Gpt1Dropout", { x: dy }, attrs) as tf.Tensor],
    };
  });
  return f(x);
}

/**
 * The most elements one LM-head logits tensor `[rows, V]` may have in {@link tiedLmLoss}
 * before the loss is computed in row chunks (2^24 floats = 64 MiB). A `small` pre-training
 * batch (16·127 rows × 8,176) fits in one chunk; a fine-tuning batch of long multiple-choice
 * sequences or the `gpt1` preset's 64·511 rows × 40,478 (5 GiB) does not. Large single
 * tensors exhaust the wasm heap (it surfaces as "memory access out of bounds" or "Aborted()").
 */
export const LM_HEAD_MAX_ELEMENTS = 2 ** 24;

/**
 * Mean next-token cross-entropy of the tied LM head, shared by `Gpt1Model` and `LstmModel`:
 * hidden states `h [B, T, C]`, int32 `ids [B, T]` (positions 0..T-2 predict 1..T-1), the
 * token embedding `E [V, C]` (the head is `h·Eᵀ`) and an optional `[B, T]` mask (see
 * {@link LmLossOptions}).
 *
 * When `B·(T-1)·V` exceeds `maxElements` the head and the loss run over row chunks of at most
 * `maxElements` logits, forward and backward (the backward recomputes each chunk's logits),
 * so no `[B·T, V]` tensor is ever built; the value and gradients equal the one-shot ones up to
 * float summation order.
 */
export function tiedLmLoss(
  h: tf.Tensor3D,
  ids: Ids,
  e: tf.Tensor2D,
  mask?: tf.Tensor2D,
  maxElements: number = LM_HEAD_MAX_ELEMENTS,
): tf.Scalar {
  const [B, T, C] = h.shape;
  if (T < 2) throw new ConfigError("the LM loss needs sequences of at least 2 tokens");
  const t = asInt32(ids) as tf.Tensor2D;
  const N = B * (T - 1);
  const hs = tf.reshape(tf.slice(h, [0, 0, 0], [B, T - 1, C]), [N, C]) as tf.Tensor2D;
  const targets = tf.reshape(tf.slice(t, [0, 1], [B, T - 1]), [N]) as tf.Tensor1D;
  let w: tf.Tensor1D;
  if (mask) {
    const m = tf.slice(tf.cast(mask, "float32"), [0, 1], [B, T - 1]); // [B, T-1]
    const den = tf.maximum(tf.sum(m, 1, true), 1e-30); // [B, 1]
    w = tf.reshape(tf.div(m, tf.mul(den, B)), [N]) as tf.Tensor1D;
  } else {
    w = tf.fill([N], 1 / N) as tf.Tensor1D;
  }
  const V = e.shape[0];
  const rows = Math.max(1, Math.floor(maxElements / V));
  if (N <= rows) return crossEntropy(tiedLogits(hs, e), targets, w); // [N, V] in one piece
  return chunkedTiedCe(hs, e, targets, w, rows);
}

/**
 * `Σ_i w_i · CE(x_i·Eᵀ, y_i)` over row chunks of `rows`: `x [N, C]`, `E [V, C]`. Only `x`,
 * `E`, the targets and the weights are kept for the backward, which recomputes each chunk's
 * logits and accumulates `dx` and `dE` chunk by chunk.
 */
function chunkedTiedCe(
  x: tf.Tensor2D,
  e: tf.Tensor2D,
  targets: tf.Tensor1D,
  w: tf.Tensor1D,
  rows: number,
): tf.Scalar {
  const N = x.shape[0];
  const chunks: [number, number][] = [];
  for (let s = 0; s < N; s += rows) chunks.push([s, Math.min(rows, N - s)]);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, e, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x, e, targets, w]);
    let acc = tf.scalar(0);
    for (const [s, n] of chunks) {
      const next = tf.tidy(() => {
        const z = tf.matMul(tf.slice(x, [s, 0], [n, -1]), e, false, true) as tf.Tensor2D; // [n, V]
        const ts = tf.slice(targets, s, n), ws = tf.slice(w, s, n);
        const ce = fusedKernels()
          ? (tf.engine().runKernel("Gpt1SoftmaxCe", { z, targets: ts, w: ws }) as tf.Tensor[])[0]
          : weightedCe(z, tf.softmax(z) as tf.Tensor2D, ts, ws);
        return tf.add(acc, ce);
      });
      acc.dispose();
      acc = next as tf.Scalar;
    }
    return {
      value: acc,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, e, targets, w] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const dxs: tf.Tensor[] = [];
        let de = tf.zerosLike(e);
        for (const [s, n] of chunks) {
          const [dx, next] = tf.tidy(() => {
            const xc = tf.slice(x, [s, 0], [n, -1]); // [n, C]
            const z = tf.matMul(xc, e, false, true) as tf.Tensor2D; // [n, V]
            const c = tf.mul(tf.slice(w, s, n), dy) as tf.Tensor1D, ts = tf.slice(targets, s, n);
            let g: tf.Tensor2D; // [n, V]
            if (fusedKernels()) { // (softmax - onehot)·c, the loss computed along is dropped
              g = (tf.engine().runKernel("Gpt1SoftmaxCe", { z, targets: ts, w: c }) as tf.Tensor[])[
                1
              ] as tf.Tensor2D;
            } else g = softmaxCeGrad(tf.softmax(z) as tf.Tensor2D, ts, c);
            const dec = nativeProducts()
              ? tf.matMul(g, xc, true, false)
              : tf.matMul(tf.transpose(g), xc);
            return [tf.matMul(g, e), tf.add(de, dec)]; // dx [n, C], dE [V, C]
          });
          de.dispose();
          de = next;
          dxs.push(dx);
        }
        return [tf.concat(dxs, 0), de];
      },
    };
  });
  return f(x, e) as tf.Scalar;
}

/** The additive causal mask `[T, T]`: 0 on and below the diagonal, -1e9 above (`w·b - 1e9(1-b)`). */
export function causalBias(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tf.tensor2d(m, [T, T]);
}
