/**
 * Fused kernels for the tfjs `wasm` backend, written as plain JS loops over `Float32Array` views
 * of the wasm heap (no copy), for the pieces of a GPT step that otherwise run as chains of small
 * elementwise kernels, each reading and writing the whole tensor:
 *
 * - `Gpt1LayerNorm` / `Gpt1LayerNormGrad`: LayerNorm forward (y, x̂, 1/σ) and backward
 *   (dx, dg, db) in one pass each instead of ~9 and ~12 kernels; row statistics in float64.
 * - `Gpt1Gelu` / `Gpt1GeluGrad`: tanh-GELU `[y, σ(u)]` and its backward (in JS the sigmoid stays
 *   on the wasm kernel, ~10× faster than `Math.exp`).
 * - `Gpt1SoftmaxCe`: the loss `Σ_i w_i · CE(z_i, y_i)` and its gradient `(softmax - onehot)·w`
 *   together; in JS the loss is `-log p` at the targets (no max over the vocabulary), a row
 *   whose target probability underflows falling back to the exact log-sum-exp.
 * - `Gpt1Dropout`: `x · dropoutMask(n, p, seed)`, the mask recomputed, never stored.
 * - `Gpt1CausalSoftmax` / `Gpt1CausalSoftmaxGrad` (native only): the causal attention softmax.
 * - `Gpt1Attention` / `Gpt1AttentionGrad` (native kernels + BLAS): scores → causal softmax →
 *   dropout → mix as one kernel each way; otherwise `Gpt1HeadScores` / `Gpt1HeadMix` and their
 *   gradients (BLAS). The per-head products are sgemm calls from JS on the BLAS's own threads:
 *   native code never calls the BLAS (the heap corruption at exit once blamed on calling it
 *   from two OpenMP threads was libgomp's per-thread destructor; see native/gpt1_kernels.c).
 *   Both run the per-(batch, head) products straight on the `[B·T, 3C]` output of `c_attn` and
 *   into the `[B·T, C]` layout of `c_proj`'s input (sgemm leading dimensions `3C` / `C`), so the
 *   heads need no transpose, split or concat.
 * - `Add` (native only): large same-shape float32 sums on the kernels' threads; every other
 *   case on the stock kernel.
 *
 * The attention kernels live in `_wasm_attention_kernels.ts`; this file registers them with the
 * rest. LayerNorm, GELU, cross-entropy and dropout need no BLAS. `model.ts` / `ops.ts` use them
 * through {@link fusedKernels}, {@link fusedAttention}, {@link fusedAttentionCore} and
 * {@link fusedCausalSoftmax} on `wasm` only: the `cpu` backend keeps the tensor-op formulas, the
 * reference the tests compare against. `GPT1_FUSED=0` turns all of them off.
 *
 * Reads tfjs-backend-wasm 4.22 internals like `_wasm_blas_kernels.ts`; every view is taken
 * after the outputs are allocated (heap growth detaches older views).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { loadBlas } from "./blas.ts";
import { heap, type KernelArgs, prod, type WasmBackend } from "./_wasm_blas_kernels.ts";
import {
  attentionCore,
  attentionCoreGrad,
  headMix,
  headMixGrad,
  headScores,
  headScoresGrad,
} from "./_wasm_attention_kernels.ts";
import { ConfigError } from "./errors.ts";
import { nativeKernels } from "./_native_kernels.ts";
import { dropoutMask, dropoutParams } from "./random.ts";

/** GELU constants of `model.ts` (sigmoid form): `gelu(x) = x·σ(x·(k0 + k1·x²))`. */
export const GELU_K0 = 2 * Math.sqrt(2 / Math.PI);
/** See {@link GELU_K0}. */
export const GELU_K1 = GELU_K0 * 0.044715;

// -- LayerNorm -----------------------------------------------------------------------------------

function layerNormFwd(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as unknown as WasmBackend;
  const { x, g, b } = args.inputs as Record<string, tf.TensorInfo>;
  const eps = (args.attrs as { eps: number }).eps;
  const C = x.shape.at(-1)!, N = prod(x.shape) / C;
  const y = be.makeOutput([...x.shape], "float32");
  const xh = be.makeOutput([...x.shape], "float32");
  const rs = be.makeOutput([N, 1], "float32");
  const { f, at } = heap(be);
  const xo = at(x), go = at(g), bo = at(b), yo = at(y), ho = at(xh), ro = at(rs);
  const nk = nativeKernels();
  if (nk) {
    const v = (o: number, n: number) => f.subarray(o, o + n);
    nk.gk_ln_fwd(v(xo, N * C), v(go, C), v(bo, C), v(yo, N * C), v(ho, N * C), v(ro, N), N, C, eps);
    return [y, xh, rs];
  }
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += f[xo + o + c];
    const mean = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = f[xo + o + c] - mean;
      v += d * d;
    }
    const rstd = 1 / Math.sqrt(v / C + eps);
    f[ro + r] = rstd;
    for (let c = 0; c < C; c++) {
      const h = (f[xo + o + c] - mean) * rstd;
      f[ho + o + c] = h;
      f[yo + o + c] = h * f[go + c] + f[bo + c];
    }
  }
  return [y, xh, rs];
}

function layerNormGrad(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as unknown as WasmBackend;
  const { dy, xhat, rstd, g } = args.inputs as Record<string, tf.TensorInfo>;
  const C = dy.shape.at(-1)!, N = prod(dy.shape) / C;
  const dx = be.makeOutput([...dy.shape], "float32");
  const dg = be.makeOutput([C], "float32");
  const db = be.makeOutput([C], "float32");
  const { f, at } = heap(be);
  const yo = at(dy), ho = at(xhat), ro = at(rstd), go = at(g), xo = at(dx);
  const nk = nativeKernels();
  if (nk) {
    const v = (o: number, n: number) => f.subarray(o, o + n);
    nk.gk_ln_bwd(
      v(yo, N * C),
      v(ho, N * C),
      v(ro, N),
      v(go, C),
      v(xo, N * C),
      v(at(dg), C),
      v(at(db), C),
      N,
      C,
    );
    return [dx, dg, db];
  }
  const sg = new Float64Array(C), sb = new Float64Array(C);
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let a = 0, cc = 0;
    for (let c = 0; c < C; c++) {
      const d = f[yo + o + c], h = f[ho + o + c];
      const dh = d * f[go + c];
      a += dh;
      cc += dh * h;
      sg[c] += d * h;
      sb[c] += d;
    }
    a /= C;
    cc /= C;
    const rr = f[ro + r];
    for (let c = 0; c < C; c++) {
      const dh = f[yo + o + c] * f[go + c];
      f[xo + o + c] = (dh - a - f[ho + o + c] * cc) * rr;
    }
  }
  const go2 = at(dg), bo2 = at(db);
  for (let c = 0; c < C; c++) {
    f[go2 + c] = sg[c];
    f[bo2 + c] = sb[c];
  }
  return [dx, dg, db];
}

// -- GELU ----------------------------------------------------------------------------------------

/** `[y, s]`: `y = x·σ(u)`, `s = σ(u)`, `u = x·(k0 + k1·x²)`. */
function geluFwd(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as unknown as WasmBackend;
  const { x } = args.inputs as Record<string, tf.TensorInfo>;
  const n = prod(x.shape);
  const nk = nativeKernels();
  if (nk) {
    const y = be.makeOutput([...x.shape], "float32"), s = be.makeOutput([...x.shape], "float32");
    const { f, at } = heap(be);
    const v = (t: tf.TensorInfo) => f.subarray(at(t), at(t) + n);
    nk.gk_gelu_fwd(v(x), v(y), v(s), BigInt(n));
    return [y, s];
  }
  // JS: u in one pass, σ on the wasm kernel (much faster than Math.exp), then y = x·s
  const u = be.makeOutput([...x.shape], "float32");
  {
    const { f, at } = heap(be);
    const xo = at(x), uo = at(u);
    for (let i = 0; i < n; i++) {
      const v = f[xo + i];
      f[uo + i] = v * (GELU_K0 + GELU_K1 * v * v);
    }
  }
  const s = tf.getKernel("Sigmoid", "wasm")!.kernelFunc({
    inputs: { x: u },
    backend: args.backend,
    attrs: {},
  }) as tf.TensorInfo;
  be.disposeData(u.dataId);
  const y = be.makeOutput([...x.shape], "float32");
  const { f, at } = heap(be);
  const xo = at(x), so = at(s), yo = at(y);
  for (let i = 0; i < n; i++) f[yo + i] = f[xo + i] * f[so + i];
  return [y, s];
}

function geluGrad(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as unknown as WasmBackend;
  const { dy, x, s } = args.inputs as Record<string, tf.TensorInfo>;
  const dx = be.makeOutput([...x.shape], "float32");
  const { f, at } = heap(be);
  const yo = at(dy), xo = at(x), so = at(s), oo = at(dx), n = prod(x.shape);
  const nk = nativeKernels();
  if (nk) {
    const v = (o: number) => f.subarray(o, o + n);
    nk.gk_gelu_bwd(v(yo), v(xo), v(so), v(oo), BigInt(n));
    return dx;
  }
  const k3 = 3 * GELU_K1;
  for (let i = 0; i < n; i++) {
    // d/dx x·σ(u) = σ + x·σ·(1-σ)·u',  u' = k0 + 3·k1·x²
    const v = f[xo + i], si = f[so + i];
    f[oo + i] = f[yo + i] * (si + si * (1 - si) * v * (GELU_K0 + k3 * v * v));
  }
  return dx;
}

// -- softmax cross-entropy -----------------------------------------------------------------------

/**
 * `[loss, g]`: `Σ_i w_i · CE(z_i, y_i)` and its gradient `g = (softmax(z) - onehot(y))·w` for
 * `z [N, V]`, in one pass (native) or two (the wasm softmax, then a JS loop).
 */
function softmaxCe(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as unknown as WasmBackend;
  const { z, targets, w } = args.inputs as Record<string, tf.TensorInfo>;
  const [N, V] = z.shape;
  const nk = nativeKernels();
  const loss = be.makeOutput([], "float32");
  if (nk) {
    const g = be.makeOutput([N, V], "float32");
    const { f, i: ints, at } = heap(be);
    const total = nk.gk_softmax_ce(
      f.subarray(at(z), at(z) + N * V),
      ints.subarray(at(targets), at(targets) + N),
      f.subarray(at(w), at(w) + N),
      f.subarray(at(g), at(g) + N * V),
      N,
      V,
    );
    if (Number.isNaN(total)) badTarget(ints.subarray(at(targets), at(targets) + N), V);
    f[at(loss)] = total;
    return [loss, g];
  }
  // JS: the softmax on the wasm kernel, then -log p at the targets (no max over the vocabulary;
  // a row whose target probability underflows falls back to the exact log-sum-exp of its
  // logits), then p becomes the gradient in place (it is this kernel's own output)
  const g = tf.getKernel("Softmax", "wasm")!.kernelFunc({
    inputs: { logits: z },
    backend: args.backend,
    attrs: { dim: 1 },
  }) as tf.TensorInfo;
  const { f, i: ints, at } = heap(be);
  const go = at(g), zo = at(z), to = at(targets), wo = at(w);
  badTarget(ints.subarray(to, to + N), V);
  let total = 0;
  for (let r = 0; r < N; r++) {
    const y = ints[to + r], o = r * V, wr = f[wo + r];
    const py = f[go + o + y];
    let nll: number;
    if (py > 1e-30) nll = -Math.log(py);
    else {
      let m = -Infinity;
      for (let c = 0; c < V; c++) m = Math.max(m, f[zo + o + c]);
      let s = 0;
      for (let c = 0; c < V; c++) s += Math.exp(f[zo + o + c] - m);
      nll = m + Math.log(s) - f[zo + o + y];
    }
    total += wr * nll;
    for (let c = 0; c < V; c++) f[go + o + c] *= wr;
    f[go + o + y] -= wr;
  }
  f[at(loss)] = total;
  return [loss, g];
}

/** Throws the project's error for the first target id outside `[0, V)`. */
function badTarget(t: Int32Array, V: number): void {
  for (const y of t) {
    if (!(y >= 0 && y < V)) throw new ConfigError(`target id ${y} not in [0, ${V - 1}]`);
  }
}

// -- causal softmax (native only) ---------------------------------------------------------------

/** `softmax(s + causal bias)` over the last axis of `s [G, T, T]` (native kernel). */
function causalSoftmax(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as unknown as WasmBackend;
  const { s } = args.inputs as Record<string, tf.TensorInfo>;
  const [G, T] = s.shape, n = G * T * T;
  const p = be.makeOutput([...s.shape], "float32");
  const { f, at } = heap(be);
  nativeKernels()!.gk_causal_softmax_fwd(
    f.subarray(at(s), at(s) + n),
    f.subarray(at(p), at(p) + n),
    G,
    T,
  );
  return p;
}

/** The gradient of {@link causalSoftmax}: `ds = p ⊙ (dp - Σ dp·p)` per row. */
function causalSoftmaxGrad(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as unknown as WasmBackend;
  const { p, dp } = args.inputs as Record<string, tf.TensorInfo>;
  const [G, T] = p.shape, n = G * T * T;
  const ds = be.makeOutput([...p.shape], "float32");
  const { f, at } = heap(be);
  const v = (t: tf.TensorInfo) => f.subarray(at(t), at(t) + n);
  nativeKernels()!.gk_causal_softmax_bwd(v(p), v(dp), v(ds), G, T);
  return ds;
}

// -- dropout -------------------------------------------------------------------------------------

/** `x · mask`, the mask of `dropoutMask(n, p, seed)` recomputed, never stored. */
function dropout(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as unknown as WasmBackend;
  const { x } = args.inputs as Record<string, tf.TensorInfo>;
  const { p, seed } = args.attrs as { p: number; seed: number };
  const n = prod(x.shape);
  const y = be.makeOutput([...x.shape], "float32");
  const nk = nativeKernels();
  if (nk) {
    const { f, at } = heap(be);
    const { thr, keep } = dropoutParams(p);
    nk.gk_dropout(
      f.subarray(at(x), at(x) + n),
      f.subarray(at(y), at(y) + n),
      BigInt(n),
      seed >>> 0,
      thr,
      keep,
    );
    return y;
  }
  const mask = dropoutMask(n, p, seed);
  const { f, at } = heap(be);
  const xo = at(x), yo = at(y);
  for (let i = 0; i < n; i++) f[yo + i] = f[xo + i] * mask[i];
  return y;
}

// -- Add ----------------------------------------------------------------------------------------

/** The wasm `Add` this file replaced (for every case but large same-shape float32 sums). */
let stockAdd: tf.KernelConfig | null = null;

/** The smallest sum worth the native kernel's threads (smaller ones stay on wasm's `Add`). */
const NATIVE_ADD_MIN = 1 << 16;

/**
 * `Add` of two float32 tensors of the same shape on the native kernel (both threads; a step
 * sums residuals and the gradients of tensors used twice, ~16M elements at `small`), every
 * other case (broadcasting, int32, small) on the stock wasm kernel.
 */
function add(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
  const n = prod(a.shape);
  const nk = disabled ? null : nativeKernels();
  if (
    !nk || n < NATIVE_ADD_MIN || a.dtype !== "float32" || b.dtype !== "float32" ||
    !tf.util.arraysEqual(a.shape, b.shape)
  ) {
    return stockAdd!.kernelFunc(args) as tf.TensorInfo;
  }
  const be = args.backend as unknown as WasmBackend;
  const out = be.makeOutput([...a.shape], "float32");
  const { f, at } = heap(be);
  const v = (t: tf.TensorInfo) => f.subarray(at(t), at(t) + n);
  nk.gk_add(v(a), v(b), v(out), BigInt(n));
  return out;
}

// -- registration --------------------------------------------------------------------------------

let installed: { plain: boolean; attention: boolean; softmax: boolean; core: boolean } | null =
  null;
let disabled = false;

function envOff(): boolean {
  try {
    return Deno.env.get("GPT1_FUSED") === "0";
  } catch {
    return false;
  }
}

/**
 * Registers the fused kernels for `wasm` (idempotent) unless `GPT1_FUSED=0`; the attention
 * kernels only when a CBLAS loads. Returns what is in use, for the backend line.
 */
export function installFusedKernels(): string[] {
  disabled = false;
  if (!installed) {
    const off = envOff();
    const reg = (kernelName: string, kernelFunc: tf.KernelFunc) => {
      if (!tf.getKernel(kernelName, "wasm")) {
        tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
      }
    };
    const blas = off ? null : loadBlas();
    if (!off) {
      reg("Gpt1LayerNorm", layerNormFwd as tf.KernelFunc);
      reg("Gpt1LayerNormGrad", layerNormGrad as tf.KernelFunc);
      reg("Gpt1Gelu", geluFwd as tf.KernelFunc);
      reg("Gpt1GeluGrad", geluGrad);
      reg("Gpt1SoftmaxCe", softmaxCe as tf.KernelFunc);
      reg("Gpt1Dropout", dropout);
    }
    if (!off && nativeKernels() && !stockAdd) {
      stockAdd = tf.getKernel("Add", "wasm") ?? null;
      if (stockAdd) {
        tf.unregisterKernel("Add", "wasm");
        tf.registerKernel({ kernelName: "Add", backendName: "wasm", kernelFunc: add });
      }
    }
    if (!off && nativeKernels()) {
      reg("Gpt1CausalSoftmax", causalSoftmax);
      reg("Gpt1CausalSoftmaxGrad", causalSoftmaxGrad);
    }
    if (!off && blas && nativeKernels()) {
      reg("Gpt1Attention", ((a: KernelArgs) => attentionCore(blas, a)) as tf.KernelFunc);
      reg("Gpt1AttentionGrad", (a) => attentionCoreGrad(blas, a));
    }
    if (blas) {
      reg("Gpt1HeadScores", (a) => headScores(blas, a));
      reg("Gpt1HeadScoresGrad", (a) => headScoresGrad(blas, a));
      reg("Gpt1HeadMix", (a) => headMix(blas, a));
      reg(
        "Gpt1HeadMixGrad",
        ((a: KernelArgs) => headMixGrad(blas, a)) as tf.KernelFunc,
      );
    }
    installed = {
      plain: !off,
      attention: blas !== null,
      softmax: !off && nativeKernels() !== null,
      core: !off && blas !== null && nativeKernels() !== null,
    };
  }
  return fusedNames();
}

/**
 * Turns the fused paths off (the kernels stay registered, unused) until
 * {@link installFusedKernels} runs again: the formulas of `model.ts` run instead.
 */
export function uninstallFusedKernels(): void {
  disabled = true;
}

/** What {@link installFusedKernels} put in use (empty when off). */
export function fusedNames(): string[] {
  if (!installed || disabled) return [];
  const out: string[] = [];
  if (installed.plain) out.push("LayerNorm", "GELU", "softmax-CE", "dropout");
  if (installed.attention) out.push("attention heads (BLAS)");
  if (installed.softmax) out.push("causal softmax (native)");
  if (installed.core) out.push("attention core (native + BLAS)");
  if (stockAdd) out.push("Add (native)");
  return out;
}

/** True when `model.ts` should use the fused LayerNorm, GELU and cross-entropy kernels. */
export function fusedKernels(): boolean {
  return !disabled && installed !== null && installed.plain && tf.getBackend() === "wasm";
}

/** True when the whole attention core (scores, softmax, dropout, mix) is one native kernel. */
export function fusedAttentionCore(): boolean {
  return fusedKernels() && installed!.core;
}

/** True when the causal attention softmax runs on the native kernel (wasm + native kernels). */
export function fusedCausalSoftmax(): boolean {
  return fusedKernels() && installed!.softmax;
}

/** True when the attention products should run on the `[B·T, 3C]` layout (wasm + BLAS). */
export function fusedAttention(): boolean {
  return fusedKernels() && installed!.attention;
}
