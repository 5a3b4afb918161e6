/**
 * GPT-1 (Radford et al. 2018) in TensorFlow.js: parameters named as HuggingFace `openai-gpt`,
 * the forward pass, the LM / classification / multiple-choice / similarity heads, and layer
 * transfer.
 *
 * Architecture (paper.md §1.1, finetune-transformer-lm `train.py`):
 * - `h0 = tokens_embed[ids] + positions_embed[0..T-1]` (learned positions), dropout `embdPdrop`;
 * - `nLayer` **post-LN** blocks: `n = LN1(x + Attn(x)); h = LN2(n + MLP(n))`; no final LN;
 * - attention: fused `c_attn` projection split into q, k, v (in that order), heads are
 *   contiguous column slices, `softmax(q·kᵀ/√d + causal mask)`, dropout `attnPdrop`, `·v`,
 *   merge heads, `c_proj`, dropout `residPdrop`;
 * - MLP: `c_fc` → tanh-approximation GELU → `c_proj` → dropout `residPdrop`;
 * - LM head tied to the token embedding: `logits = h · tokens_embedᵀ`.
 *
 * Speed on CPU (wasm): every weight matMul is 2-D `[B*T, C]·W` with a custom gradient that uses
 * explicit transposes (plain 2-D matMuls run on XNNPACK); LayerNorm, GELU, the tied logits and
 * the cross-entropy have fused custom gradients; the cross-entropy gathers the target logit
 * instead of building a one-hot over the vocabulary; dropout masks come from a fast seeded
 * hash, not `tf.dropout`. See `backend.ts` for the kernel shims. With the system BLAS
 * (`blas.ts`, `nativeProducts()`) the gradients pass transpose flags to the products instead.
 *
 * Determinism: initialization is a pure function of `seed`; each dropout mask is a pure
 * function of (model seed, the `seed` passed to the forward call, layer, site), computed in JS,
 * so the masks are the same on every backend.
 *
 * Where this differs from the released TF code (paper.md §1.6), following HF `transformers`:
 * embedding dropout acts on `tokens + positions` after the sum (TF drops entries of the whole
 * embedding matrix, also used by the LM head); the LM softmax runs over the `vocabSize +
 * nSpecial` token rows (TF's merged table also offers the position rows); positions are a
 * separate table. The causal mask is added (`+ -1e9`) rather than multiplied in; after the
 * softmax both give exactly 0.
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * import { Gpt1Model } from "./model.ts";
 * const model = new Gpt1Model(makeConfig("tiny"), { seed: 42 });
 * const loss = await model.lmLoss([[1, 2, 3, 4]]);   // ≈ ln(512) at init
 * const logits = await model.logits([[1, 2, 3]]);     // [1][3][512]
 * model.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ensureKernels, mutableFloat32, nativeProducts, requireBackend } from "./backend.ts";
import {
  fusedAttention,
  fusedAttentionCore,
  fusedCausalSoftmax,
  fusedKernels,
  GELU_K0,
  GELU_K1,
} from "./_wasm_fused_kernels.ts";
import type { Gpt1Config } from "./config.ts";
import { CheckpointError, ConfigError } from "./errors.ts";
import { dropoutMask, mixModelSeed, randn } from "./random.ts";

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
function headScores(qkv: tf.Tensor2D, B: number, T: number, H: number, alpha: number) {
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
function attentionCore(
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
function causalSoftmax(s: tf.Tensor3D): tf.Tensor3D {
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
function headMix(a: tf.Tensor3D, qkv: tf.Tensor2D, B: number, T: number, H: number) {
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
function fusedDropout(x: tf.Tensor, p: number, seed: number): tf.Tensor {
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

// ---------------------------------------------------------------------------------------------
// the model

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Training mode: dropout on (default false = eval, no dropout). */
  training?: boolean;
  /**
   * Dropout seed of this call (e.g. the step number): the masks are a pure function of it and
   * the model seed. Without it, training calls draw from a per-model counter.
   */
  seed?: number;
}

/** Options of the LM loss. */
export interface LmLossOptions extends ForwardOptions {
  /**
   * `[B, T]` float weights of the tokens (1 real, 0 padding). With a mask the loss is, as in
   * the original, the per-sequence mean of the CE of the masked next tokens, then the batch
   * mean; a sequence with no masked token counts 0.
   */
  mask?: tf.Tensor2D;
}

/** Options of {@link Gpt1Model}. */
export interface ModelOptions {
  /** Seed of the initialization and of the dropout masks (default 0). */
  seed?: number;
}

/** The 12 tensors of block `l` in `params_shapes.json` order, with their shapes (width C, FFN F). */
const BLOCK_TENSORS: readonly [string, (C: number, F: number) => number[]][] = [
  ["attn.c_attn.weight", (C) => [C, 3 * C]],
  ["attn.c_attn.bias", (C) => [3 * C]],
  ["attn.c_proj.weight", (C) => [C, C]],
  ["attn.c_proj.bias", (C) => [C]],
  ["ln_1.weight", (C) => [C]],
  ["ln_1.bias", (C) => [C]],
  ["mlp.c_fc.weight", (C, F) => [C, F]],
  ["mlp.c_fc.bias", (_, F) => [F]],
  ["mlp.c_proj.weight", (C, F) => [F, C]],
  ["mlp.c_proj.bias", (C) => [C]],
  ["ln_2.weight", (C) => [C]],
  ["ln_2.bias", (C) => [C]],
];

/**
 * The parameter names and shapes of the base model in the order of the released
 * `params_shapes.json` (conv1d weights squeezed to `[in, out]`), HuggingFace `openai-gpt` names.
 *
 * @example
 * ```ts
 * parameterShapes(PRESETS.gpt1)[2]; // ["h.0.attn.c_attn.weight", [768, 2304]]
 * ```
 */
export function parameterShapes(c: Gpt1Config): [string, number[]][] {
  const out: [string, number[]][] = [
    ["positions_embed.weight", [c.nCtx, c.nEmbd]],
    ["tokens_embed.weight", [c.vocabSize + c.nSpecial, c.nEmbd]],
  ];
  for (let l = 0; l < c.nLayer; l++) {
    for (const [n, shape] of BLOCK_TENSORS) out.push([`h.${l}.${n}`, shape(c.nEmbd, c.nInner)]);
  }
  return out;
}

/** Token ids or positions: an int32 tensor or nested plain arrays. */
export type Ids = tf.Tensor | number[] | number[][] | number[][][];

/** `x` as an int32 tensor: an int32 tensor as is, another tensor cast, plain arrays converted. */
export function asInt32(x: Ids): tf.Tensor {
  if (x instanceof tf.Tensor) return x.dtype === "int32" ? x : tf.cast(x, "int32");
  return tf.tensor(x as number[], undefined, "int32");
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** Drops leading 1s (`[1, 768, 2304]` of the released conv1d weights → `[768, 2304]`). */
const squeezeLead = (s: readonly number[]) => {
  let i = 0;
  while (i < s.length - 1 && s[i] === 1) i++;
  return s.slice(i);
};

/** The config fields {@link TiedLmModel} reads (both GPT-1's and the LSTM's configs have them). */
export interface TiedLmConfig {
  /** BPE vocabulary size (tied LM head rows, with `nSpecial`). */
  readonly vocabSize: number;
  /** Special tokens appended to the vocabulary. */
  readonly nSpecial: number;
  /** Width of the features the heads read. */
  readonly nEmbd: number;
  /** Dropout before the classifier. */
  readonly clfPdrop: number;
  /** Std of the N(0, initStd) initialization (the classifier's too). */
  readonly initStd: number;
}

/**
 * What every language model of the lab shares around its own `hidden()`: named parameters in a
 * fixed order (+ `clf.*`), seeded dropout, the tied LM head and loss ({@link tiedLmLoss}),
 * pooling, the classifier head, named gradients, plain-array readers, weight reads and
 * `dispose`. {@link Gpt1Model} and the LSTM baseline extend it; each gives its parameter
 * list, their initialization and the forward pass.
 */
export abstract class TiedLmModel<C extends TiedLmConfig> {
  /** The frozen configuration. */
  readonly config: C;
  /** Trainable weights by name, in the order of the model's parameter list (+ `clf.*`). */
  readonly params: Map<string, tf.Variable> = new Map();
  /** The seed of the initialization and of the dropout masks. */
  readonly seed: number;
  #dropoutCalls = 0;
  /** Parameters of the base model (the classifier's init indices follow them). */
  #nBase: number;

  /** Sets the config and seed, then initializes `shapes` in order with {@link initParam}. */
  protected constructor(config: C, opts: ModelOptions, shapes: [string, number[]][]) {
    this.config = config;
    this.seed = opts.seed ?? 0;
    this.#nBase = shapes.length;
    shapes.forEach(([name, shape], i) => this.params.set(name, this.initParam(name, shape, i)));
  }

  /** A fresh variable for parameter `name` (the `index`-th of the model's list). */
  protected abstract initParam(name: string, shape: number[], index: number): tf.Variable;

  /** Features `[B, T, nEmbd]` of int32 `ids [B, T]` (causal: position t sees tokens ≤ t). */
  abstract hidden(ids: Ids, opts?: ForwardOptions): tf.Tensor3D;

  /** Number of scalar parameters (base model + classifier when added). */
  numParams(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.size;
    return n;
  }

  /**
   * Adds (or replaces) the task classifier `clf.weight [nEmbd, nOut]` ~ N(0, initStd) and
   * `clf.bias [nOut]` = 0. Multiple choice uses `nOut = 1`.
   */
  addClassifier(nOut: number): void {
    if (!Number.isInteger(nOut) || nOut < 1) {
      throw new ConfigError(`classifier needs an integer nOut >= 1, got ${nOut}`);
    }
    for (const k of ["clf.weight", "clf.bias"]) {
      this.params.get(k)?.dispose();
      this.params.delete(k);
    }
    const base = this.#nBase;
    this.params.set("clf.weight", this.initParam("clf.weight", [this.config.nEmbd, nOut], base));
    this.params.set("clf.bias", this.initParam("clf.bias", [nOut], base + 1));
  }

  /** The parameter `name`; a ConfigError when the model has none (e.g. no classifier yet). */
  protected param(name: string): tf.Variable {
    const p = this.params.get(name);
    if (!p) throw new ConfigError(`model has no parameter ${name}`, { fix: "addClassifier()" });
    return p;
  }

  /** Dropout `p` in training mode, its mask a pure function of the model seed, call seed, site. */
  protected dropout(
    x: tf.Tensor,
    p: number,
    opts: ForwardOptions,
    site: number,
    shape?: number[],
  ): tf.Tensor {
    if (!opts.training || p === 0) return x;
    const s = shape ?? x.shape;
    const n = s.reduce((a, b) => a * b, 1);
    const seed = mixModelSeed(this.seed, opts.seed ?? 0, site);
    if (n === x.size && fusedKernels() && x.dtype === "float32") return fusedDropout(x, p, seed);
    const mask = dropoutMask(n, p, seed);
    return tf.mul(x, tf.tensor(mask, s, "float32"));
  }

  /** `opts` with a dropout seed: training calls without one draw from a per-model counter. */
  protected forwardOpts(opts: ForwardOptions): ForwardOptions {
    if (!opts.training || opts.seed !== undefined) return opts;
    return { ...opts, seed: 0x7fff0000 + this.#dropoutCalls++ };
  }

  /** LM logits `[..., V + nSpecial]` of features `h [..., nEmbd]` (tied to `tokens_embed`). */
  lmHead(h: tf.Tensor): tf.Tensor {
    const C = this.config.nEmbd;
    const z = tiedLogits(
      tf.reshape(h, [-1, C]) as tf.Tensor2D,
      this.param("tokens_embed.weight") as tf.Tensor2D,
    );
    return tf.reshape(z, [...h.shape.slice(0, -1), z.shape[1]]);
  }

  /** LM logits `[B, T, V + nSpecial]` of int32 `ids [B, T]`. */
  lmLogitsTensor(ids: Ids, opts: ForwardOptions = {}): tf.Tensor3D {
    return this.lmHead(this.hidden(ids, opts)) as tf.Tensor3D;
  }

  /**
   * Mean next-token cross-entropy of features `h [B, T, C]` against `ids [B, T]`
   * (positions 0..T-2 predict 1..T-1); see {@link LmLossOptions} for the mask. Computed in
   * row chunks when the logits would exceed `maxElements` (see {@link tiedLmLoss}).
   */
  lmLossFromHidden(
    h: tf.Tensor3D,
    ids: Ids,
    mask?: tf.Tensor2D,
    maxElements?: number,
  ): tf.Scalar {
    const e = this.param("tokens_embed.weight") as tf.Tensor2D;
    return tiedLmLoss(h, ids, e, mask, maxElements);
  }

  /** Mean next-token cross-entropy of int32 `ids [B, T]` (see {@link LmLossOptions}). */
  lmLossTensor(ids: Ids, opts: LmLossOptions = {}): tf.Scalar {
    const t = asInt32(ids);
    return this.lmLossFromHidden(this.hidden(t, opts), t, opts.mask);
  }

  /** Features at position `pos[b]` of each sequence: `h [B, T, C]`, int32 `pos [B]` → `[B, C]`. */
  pool(h: tf.Tensor3D, pos: Ids): tf.Tensor2D {
    const [B, T, C] = h.shape;
    const idx = tf.add(tf.mul(tf.range(0, B, 1, "int32"), tf.scalar(T, "int32")), asInt32(pos));
    return tf.gather(tf.reshape(h, [B * T, C]), idx) as tf.Tensor2D;
  }

  /**
   * The classifier on features `[M, C]` → `[M, nOut]`: dropout `clfPdrop` (mask shape
   * `maskShape`, default the features' shape) then `clf`.
   */
  classifierHead(feats: tf.Tensor, opts: ForwardOptions = {}, maskShape?: number[]): tf.Tensor2D {
    const o = this.forwardOpts(opts);
    const d = this.dropout(feats, this.config.clfPdrop, o, 0x7f0, maskShape);
    return linear(
      tf.reshape(d, [-1, this.config.nEmbd]) as tf.Tensor2D,
      this.param("clf.weight") as tf.Tensor2D,
      this.param("clf.bias") as tf.Tensor1D,
    );
  }

  /**
   * Value and gradients of `f` with respect to every parameter, keyed by parameter name.
   * Run inside `tf.tidy` (or dispose the results).
   *
   * @example
   * ```ts
   * const { value, grads } = model.valueAndGrads(() => model.lmLossTensor(ids, { training: true, seed: step }));
   * ```
   */
  valueAndGrads(f: () => tf.Scalar): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
    return namedValueAndGrads(this.params, f);
  }

  /** LM logits `[B][T][V + nSpecial]` of `ids` in eval mode, as plain arrays. */
  async logits(ids: number[][]): Promise<number[][][]> {
    checkPlainIds(ids, this.config.vocabSize + this.config.nSpecial);
    return await readTensor(
      () => this.lmLogitsTensor(ids),
      (z) => z.array() as Promise<number[][][]>,
    );
  }

  /** Mean next-token cross-entropy over all shifted positions of `ids`, eval mode. */
  async lmLoss(ids: number[][]): Promise<number> {
    checkPlainIds(ids, this.config.vocabSize + this.config.nSpecial);
    return await readTensor(() => this.lmLossTensor(ids), async (l) => (await l.data())[0]);
  }

  /** All weights as `Float32Array`s (cpu/wasm/tensorflow; on webgpu use {@link readWeights}). */
  getWeights(): Map<string, Float32Array> {
    return weightsSync(this.params);
  }

  /** All weights as `Float32Array`s, read asynchronously (works on every backend). */
  async readWeights(): Promise<Map<string, Float32Array>> {
    return await weightsAsync(this.params);
  }

  /** Frees every parameter. */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
    this.params.clear();
  }
}

/**
 * GPT-1 with its task heads. All tensor methods return new tensors the caller owns (run them
 * inside `tf.tidy`); the plain-array helpers `logits` and `lmLoss` clean up after themselves.
 */
export class Gpt1Model extends TiedLmModel<Gpt1Config> {
  /**
   * Creates the base model with N(0, initStd) weights, zero biases and unit LN gains; its
   * `params` follow `params_shapes.json` order with HuggingFace names.
   */
  constructor(config: Gpt1Config, opts: ModelOptions = {}) {
    super(config, opts, parameterShapes(config));
  }

  protected initParam(name: string, shape: number[], index: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith(".bias")) data = new Float32Array(n);
    else if (/ln_\d\.weight$/.test(name)) data = new Float32Array(n).fill(1);
    else data = randn(n, mixModelSeed(this.seed, 0x1417, index), this.config.initStd);
    return tf.tidy(() => tf.variable(tf.tensor(data, shape, "float32"), true));
  }

  // -- forward pieces (2-D inside: x [N, C], N = B*T) --------------------------------------

  /** Token + position embedding of int32 `ids [B, T]` → `[B*T, C]` (before dropout). */
  #embed(ids: tf.Tensor2D): tf.Tensor2D {
    const [B, T] = ids.shape, C = this.config.nEmbd, nCtx = this.config.nCtx;
    const V = this.config.vocabSize + this.config.nSpecial;
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [wte, wpe, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
      const flat = tf.reshape(ids, [B * T]) as tf.Tensor1D;
      save([flat]);
      const tok = tf.reshape(tf.gather(wte, flat), [B, T, C]);
      const h = tf.add(tok, tf.slice(wpe, [0, 0], [T, C])); // [B, T, C]
      return {
        value: tf.reshape(h, [B * T, C]),
        gradFunc: (dy: tf.Tensor, [flat]: tf.Tensor[]) => {
          const dTok = tf.unsortedSegmentSum(dy, flat as tf.Tensor1D, V); // [V, C]
          const dPos = tf.reshape(sumRows(tf.reshape(dy, [B, T * C]) as tf.Tensor2D), [T, C]);
          return [dTok, T < nCtx ? tf.pad(dPos, [[0, nCtx - T], [0, 0]]) : dPos];
        },
      };
    });
    return f(
      this.param("tokens_embed.weight"),
      this.param("positions_embed.weight"),
    ) as tf.Tensor2D;
  }

  /** The linear layer `name` (`name.weight [in, out]`, `name.bias [out]`) on `x [N, in]`. */
  #linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const w = this.param(`${name}.weight`) as tf.Tensor2D,
      b = this.param(`${name}.bias`) as tf.Tensor1D;
    return linear(x, w, b);
  }

  #attention(x: tf.Tensor2D, l: number, B: number, T: number, o: ForwardOptions): tf.Tensor2D {
    const { nEmbd: C, nHead: H } = this.config, D = C / H;
    const qkv = this.#linear(x, `h.${l}.attn.c_attn`); // [N, 3C]
    if (fusedAttentionCore()) {
      const p = o.training ? this.config.attnPdrop : 0;
      const seed = p > 0 ? mixModelSeed(this.seed, o.seed ?? 0, 10 * l + 1) : 0;
      const y = attentionCore(qkv, { B, T, H, alpha: 1 / Math.sqrt(D), p, seed }); // [N, C]
      const out = this.#linear(y, `h.${l}.attn.c_proj`);
      return this.dropout(out, this.config.residPdrop, o, 10 * l + 2) as tf.Tensor2D;
    }
    if (fusedAttention()) {
      const scores = headScores(qkv, B, T, H, 1 / Math.sqrt(D)); // [B*H, T, T]
      const probs = fusedCausalSoftmax()
        ? causalSoftmax(scores)
        : tf.softmax(tf.add(scores, causalBias(T)));
      const a = this.dropout(
        probs,
        this.config.attnPdrop,
        o,
        10 * l + 1,
      );
      const y = headMix(a as tf.Tensor3D, qkv, B, T, H); // [N, C], heads side by side
      const out = this.#linear(y, `h.${l}.attn.c_proj`);
      return this.dropout(out, this.config.residPdrop, o, 10 * l + 2) as tf.Tensor2D;
    }
    const heads = (t: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, D]), [0, 2, 1, 3]), [B * H, T, D]);
    const [q, k, v] = tf.split(qkv, 3, 1).map(heads); // [B*H, T, D] each
    const w = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)), causalBias(T));
    const a = this.dropout(tf.softmax(w), this.config.attnPdrop, o, 10 * l + 1); // [B*H, T, T]
    const y = tf.reshape(
      tf.transpose(tf.reshape(tf.matMul(a, v), [B, H, T, D]), [0, 2, 1, 3]),
      [B * T, C],
    ) as tf.Tensor2D; // heads merged back: [N, C]
    const out = this.#linear(y, `h.${l}.attn.c_proj`);
    return this.dropout(out, this.config.residPdrop, o, 10 * l + 2) as tf.Tensor2D;
  }

  #mlp(x: tf.Tensor2D, l: number, o: ForwardOptions): tf.Tensor2D {
    const hid = gelu(this.#linear(x, `h.${l}.mlp.c_fc`)); // [N, F]
    const out = this.#linear(hid, `h.${l}.mlp.c_proj`);
    return this.dropout(out, this.config.residPdrop, o, 10 * l + 3) as tf.Tensor2D;
  }

  #ln(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return layerNorm(
      x,
      this.param(name + ".weight") as tf.Tensor1D,
      this.param(name + ".bias") as tf.Tensor1D,
      this.config.layerNormEps,
    );
  }

  #block(x: tf.Tensor2D, l: number, B: number, T: number, o: ForwardOptions): tf.Tensor2D {
    const n = this.#ln(tf.add(x, this.#attention(x, l, B, T, o)), `h.${l}.ln_1`);
    return this.#ln(tf.add(n, this.#mlp(n, l, o)), `h.${l}.ln_2`);
  }

  #checkIds(ids: tf.Tensor): [number, number] {
    if (ids.rank !== 2) throw new ConfigError(`ids must be [B, T], got [${ids.shape}]`);
    const [B, T] = ids.shape;
    if (T > this.config.nCtx || T < 1) {
      throw new ConfigError(`sequence length ${T} not in [1, nCtx=${this.config.nCtx}]`, {
        fix: "truncate the input or use a config with a longer context",
      });
    }
    return [B, T];
  }

  /**
   * The post-LN block `l` on `x [B, T, C]`: `n = LN1(x + Attn(x)); LN2(n + MLP(n))`.
   * Exposed for tests and analysis.
   */
  block(x: tf.Tensor3D, l: number, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T, C] = x.shape;
    return tf.reshape(
      this.#block(tf.reshape(x, [B * T, C]), l, B, T, this.forwardOpts(opts)),
      [B, T, C],
    );
  }

  /** The attention sub-layer of block `l` (with its output projection) on `x [B, T, C]`. */
  attention(x: tf.Tensor3D, l: number, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T, C] = x.shape;
    return tf.reshape(
      this.#attention(tf.reshape(x, [B * T, C]), l, B, T, this.forwardOpts(opts)),
      [B, T, C],
    );
  }

  /** The MLP sub-layer of block `l` on `x [B, T, C]`. */
  mlp(x: tf.Tensor3D, l: number, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T, C] = x.shape;
    return tf.reshape(this.#mlp(tf.reshape(x, [B * T, C]), l, this.forwardOpts(opts)), [B, T, C]);
  }

  /** LayerNorm `name` (e.g. `h.0.ln_1`) of the model on `x [..., C]`. */
  layerNorm<T extends tf.Tensor>(x: T, name: string): T {
    const C = this.config.nEmbd;
    return tf.reshape(this.#ln(tf.reshape(x, [-1, C]) as tf.Tensor2D, name), x.shape) as T;
  }

  /** The embedding `tokens_embed[ids] + positions_embed[:T]` of int32 `ids [B, T]` (no dropout). */
  embed(ids: Ids): tf.Tensor3D {
    ensureKernels();
    const t = asInt32(ids) as tf.Tensor2D;
    const [B, T] = this.#checkIds(t);
    return tf.reshape(this.#embed(t), [B, T, this.config.nEmbd]);
  }

  /**
   * Final hidden states `[B, T, C]` (output of the last block, no final LayerNorm) of int32
   * `ids [B, T]`.
   */
  hidden(ids: Ids, opts: ForwardOptions = {}): tf.Tensor3D {
    ensureKernels();
    const o = this.forwardOpts(opts);
    const t = asInt32(ids) as tf.Tensor2D;
    const [B, T] = this.#checkIds(t);
    let x = this.dropout(this.#embed(t), this.config.embdPdrop, o, 0) as tf.Tensor2D;
    for (let l = 0; l < this.config.nLayer; l++) x = this.#block(x, l, B, T, o);
    return tf.reshape(x, [B, T, this.config.nEmbd]);
  }

  /**
   * Classification / entailment logits `[B, nOut]` from the hidden state at the `_classify_`
   * token: int32 `ids [B, T]`, `clfPos [B]` (index of the first `_classify_` of each row).
   */
  classifyLogits(ids: Ids, clfPos: Ids, opts: ForwardOptions = {}): tf.Tensor2D {
    const o = this.forwardOpts(opts);
    return this.classifierHead(this.pool(this.hidden(ids, o), clfPos), o);
  }

  /**
   * Multiple choice: int32 `ids [B, K, T]`, `clfPos [B, K]` → one scalar per candidate
   * `[B, K]` (softmax over K is the caller's loss). Needs `addClassifier(1)`. The classifier
   * dropout mask `[B, 1, C]` is shared by the K candidates, as in the original.
   */
  multipleChoiceLogits(ids: Ids, clfPos: Ids, opts: ForwardOptions = {}): tf.Tensor2D {
    const o = this.forwardOpts(opts);
    const t = asInt32(ids);
    if (t.rank !== 3) throw new ConfigError(`ids must be [B, K, T], got [${t.shape}]`);
    const [B, K, T] = t.shape, C = this.config.nEmbd;
    const h = this.hidden(tf.reshape(t, [B * K, T]), o);
    const feats = tf.reshape(this.pool(h, tf.reshape(asInt32(clfPos), [B * K])), [B, K, C]);
    const z = this.classifierHead(feats, o, [B, 1, C]); // [B*K, 1]
    return tf.reshape(z, [B, K]);
  }

  /**
   * Similarity features `[B, C]`: the `_classify_` states of both orderings (`ids1 [B, T]` =
   * `[s] a [$] b [e]`, `ids2` = `[s] b [$] a [e]`, positions `pos1`, `pos2 [B]`) summed.
   */
  similarityFeatures(
    ids1: Ids,
    ids2: Ids,
    pos1: Ids,
    pos2: Ids,
    opts: ForwardOptions = {},
  ): tf.Tensor2D {
    const a = asInt32(ids1), b = asInt32(ids2);
    const B = a.shape[0];
    const h = this.hidden(tf.concat([a, b], 0), this.forwardOpts(opts)); // [2B, T, C]
    const f = this.pool(h, tf.concat([asInt32(pos1), asInt32(pos2)], 0)); // [2B, C]
    return tf.add(tf.slice(f, [0, 0], [B, -1]), tf.slice(f, [B, 0], [B, -1]));
  }

  /** Similarity logits `[B, nOut]`: {@link similarityFeatures} then the classifier. */
  similarityLogits(
    ids1: Ids,
    ids2: Ids,
    pos1: Ids,
    pos2: Ids,
    opts: ForwardOptions = {},
  ): tf.Tensor2D {
    const o = this.forwardOpts(opts);
    return this.classifierHead(this.similarityFeatures(ids1, ids2, pos1, pos2, o), o);
  }

  // -- weights -----------------------------------------------------------------------------

  /**
   * Sets weights by name. Every name must be a parameter and every shape must match (a
   * `Float32Array` by length, a tensor by shape after dropping leading 1s); everything is
   * checked before anything is written. Throws CheckpointError naming the tensor and shapes.
   */
  setWeights(named: Map<string, Float32Array | tf.Tensor>): void {
    for (const [name, v] of named) {
      const p = this.params.get(name);
      if (!p) {
        throw new CheckpointError(`unknown tensor "${name}" for this model`, {
          fix: name.startsWith("clf.")
            ? "call addClassifier(nOut) first"
            : "map the checkpoint to openai-gpt names (see parameterShapes())",
        });
      }
      const ok = v instanceof tf.Tensor
        ? sameShape(squeezeLead(v.shape), squeezeLead(p.shape))
        : v.length === p.size;
      if (!ok) {
        const got = v instanceof tf.Tensor ? `shape [${v.shape}]` : `${v.length} values`;
        throw new CheckpointError(
          `tensor "${name}" has ${got}, the model expects [${p.shape}] (${p.size} values)`,
          { fix: "check the config (vocabSize, nSpecial, nCtx, nEmbd, nInner) of the checkpoint" },
        );
      }
    }
    assignWeights(this.params, named);
  }

  /**
   * Layer transfer as in the original `n_transfer`: `-1` transfers nothing, `0` the
   * embeddings, `n` the embeddings and blocks `0..n-1`. Positions copy `min` of both tables'
   * rows; tokens copy `min(source rows, vocabSize)` rows so the special tokens keep their fresh
   * N(0, initStd) init. Returns the names written.
   */
  transferFrom(src: Map<string, Float32Array>, nTransfer: number): string[] {
    const L = this.config.nLayer, C = this.config.nEmbd;
    if (!Number.isInteger(nTransfer) || nTransfer < -1 || nTransfer > L) {
      throw new ConfigError(`nTransfer must be an integer in [-1, ${L}], got ${nTransfer}`);
    }
    if (nTransfer < 0) return [];
    const need = (name: string) => {
      const a = src.get(name);
      if (!a) throw new CheckpointError(`source weights lack "${name}"`);
      return a;
    };
    const blocks: [string, Float32Array][] = [];
    for (let l = 0; l < nTransfer; l++) {
      for (const [t] of BLOCK_TENSORS) blocks.push([`h.${l}.${t}`, need(`h.${l}.${t}`)]);
    }
    const updates = new Map<string, Float32Array | tf.Tensor>();
    try {
      for (
        const [name, maxRows] of [
          ["positions_embed.weight", this.config.nCtx],
          ["tokens_embed.weight", this.config.vocabSize],
        ] as const
      ) {
        const a = need(name);
        if (a.length % C !== 0) {
          throw new CheckpointError(`"${name}" has ${a.length} values, not a multiple of C=${C}`, {
            fix: "transfer between models of the same width",
          });
        }
        const p = this.params.get(name)!, rows = Math.min(a.length / C, maxRows);
        // the rows past the source's (and the special tokens) keep their current values
        updates.set(
          name,
          tf.tidy(() =>
            tf.concat([
              tf.tensor2d(a.subarray(0, rows * C), [rows, C]),
              tf.slice(p, [rows, 0], [p.shape[0] - rows, C]),
            ], 0)
          ),
        );
      }
      for (const [name, a] of blocks) updates.set(name, a);
      this.setWeights(updates);
    } finally {
      for (const v of updates.values()) if (v instanceof tf.Tensor) v.dispose();
    }
    return [...updates.keys()];
  }
}

// ---------------------------------------------------------------------------------------------
// helpers shared by the lab's language models (Gpt1Model here, LstmModel in lstm.ts)

/**
 * Value and gradients of `f` with respect to every variable of `params`, keyed by parameter
 * name. Run inside `tf.tidy` (or dispose the results).
 */
export function namedValueAndGrads(
  params: Map<string, tf.Variable>,
  f: () => tf.Scalar,
): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const byVar = new Map<string, string>();
  for (const [name, v] of params) byVar.set(v.name, name);
  const { value, grads } = tf.variableGrads(f, [...params.values()]);
  const out = new Map<string, tf.Tensor>();
  for (const [vname, g] of Object.entries(grads)) out.set(byVar.get(vname)!, g);
  return { value, grads: out };
}

/** Throws ConfigError unless `ids` is a non-empty rectangular `number[][]` of ids in `[0, V)`. */
export function checkPlainIds(ids: number[][], V: number): void {
  if (!Array.isArray(ids) || ids.length === 0 || !Array.isArray(ids[0])) {
    throw new ConfigError("ids must be a non-empty number[][]");
  }
  const T = ids[0].length;
  for (const row of ids) {
    if (row.length !== T) throw new ConfigError("all rows of ids must have the same length");
    for (const v of row) {
      if (!Number.isInteger(v) || v < 0 || v >= V) {
        throw new ConfigError(`token id ${v} is not in [0, ${V - 1}]`);
      }
    }
  }
}

/** Computes `f()` inside `tf.tidy`, reads the result with `read`, and disposes it. */
export async function readTensor<T>(
  f: () => tf.Tensor,
  read: (t: tf.Tensor) => Promise<T>,
): Promise<T> {
  const t = tf.tidy(f);
  try {
    return await read(t);
  } finally {
    t.dispose();
  }
}

/** Writes already-checked weights into `params` (reshaped to each parameter, cast to float32). */
export function assignWeights(
  params: Map<string, tf.Variable>,
  named: Map<string, Float32Array | tf.Tensor>,
): void {
  for (const [name, v] of named) {
    const p = params.get(name)!;
    tf.tidy(() => {
      const t = v instanceof tf.Tensor ? v : tf.tensor(v, p.shape, "float32");
      p.assign(tf.reshape(tf.cast(t, "float32"), p.shape));
    });
  }
}

/** Every parameter as a `Float32Array`, read synchronously (not on webgpu). */
export function weightsSync(params: Map<string, tf.Variable>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of params) out.set(name, p.dataSync() as Float32Array);
  return out;
}

/** Every parameter as a `Float32Array`, read asynchronously (works on every backend). */
export async function weightsAsync(
  params: Map<string, tf.Variable>,
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of params) out.set(name, (await p.data()) as Float32Array);
  return out;
}

/** `new Gpt1Model(config, opts)`. */
export function createModel(config: Gpt1Config, opts: ModelOptions = {}): Gpt1Model {
  requireBackend("createModel");
  return new Gpt1Model(config, opts);
}

/** The additive causal mask `[T, T]`: 0 on and below the diagonal, -1e9 above (`w·b - 1e9(1-b)`). */
function causalBias(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tf.tensor2d(m, [T, T]);
}
