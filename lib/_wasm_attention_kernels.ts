/**
 * The attention kernels of the fused wasm set (registered by `_wasm_fused_kernels.ts`): the
 * per-(batch, head) products `Gpt1HeadScores` / `Gpt1HeadMix` and their gradients (BLAS), and
 * the whole attention core `Gpt1Attention` / `Gpt1AttentionGrad` (native kernels + BLAS: scores
 * → causal softmax → dropout → mix). The products run straight on the `[B·T, 3C]` output of
 * `c_attn` and into the `[B·T, C]` layout of `c_proj`'s input (sgemm leading dimensions `3C` /
 * `C`), one sgemm per head from JS on the BLAS's own threads (native code never calls the BLAS).
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { Blas } from "./blas.ts";
import { gemmAt, heap, type KernelArgs, prod, type WasmBackend } from "./_wasm_blas_kernels.ts";
import { nativeKernels } from "./_native_kernels.ts";
import { dropoutParams } from "./random.ts";

// -- attention products on the [B·T, 3C] layout --------------------------------------------------

interface HeadAttrs {
  B: number;
  T: number;
  H: number;
  alpha: number;
}

/** The shape of the per-head products: batch, tokens, heads, width, and the scores' scale. */
interface HeadDims {
  B: number;
  T: number;
  H: number;
  C: number;
  alpha: number;
}

// The per-(batch, head) products on float offsets of the heap `f`, one sgemm each on the BLAS's
// own threads (JS calls it; native code never does), shared by the per-head kernels and the
// attention core. `qkv [B·T, 3C]`, scores and attention `[B·H, T, T]`, `y [B·T, C]`.

/** `S_bh = alpha · Q_bh · K_bhᵀ` into `so`. */
function scoresAt(blas: Blas, f: Float32Array, qo: number, so: number, d: HeadDims): void {
  const { B, T, H, C, alpha } = d, C3 = 3 * C, D = C / H;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const q = qo + b * T * C3 + h * D, o = so + (b * H + h) * T * T;
      gemmAt(blas, f, false, true, T, T, D, alpha, q, C3, q + C, C3, 0, o, T);
    }
  }
}

/** dQ, dK of {@link scoresAt} from `dS` into the Q and K parts of `dqkv` (V part untouched). */
function scoresGradAt(
  blas: Blas,
  f: Float32Array,
  so: number,
  qo: number,
  dqo: number,
  d: HeadDims,
): void {
  const { B, T, H, C, alpha } = d, C3 = 3 * C, D = C / H;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const base = b * T * C3 + h * D, s = so + (b * H + h) * T * T;
      // dQ = alpha · dS · K      [T, D]
      gemmAt(blas, f, false, false, T, D, T, alpha, s, T, qo + base + C, C3, 0, dqo + base, C3);
      // dK = alpha · dSᵀ · Q     [T, D]
      gemmAt(blas, f, true, false, T, D, T, alpha, s, T, qo + base, C3, 0, dqo + base + C, C3);
    }
  }
}

/** `y_bh = A_bh · V_bh` into `yo` (heads side by side). */
function mixAt(blas: Blas, f: Float32Array, ao: number, qo: number, yo: number, d: HeadDims) {
  const { B, T, H, C } = d, C3 = 3 * C, D = C / H;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const ai = ao + (b * H + h) * T * T, v = qo + b * T * C3 + 2 * C + h * D;
      gemmAt(blas, f, false, false, T, D, T, 1, ai, T, v, C3, 0, yo + b * T * C + h * D, C);
    }
  }
}

/** dA (into `dao`) and dV (into the V part of `dqkv`, the rest untouched) of {@link mixAt}. */
function mixGradAt(
  blas: Blas,
  f: Float32Array,
  o: { dy: number; a: number; qkv: number; dA: number; dqkv: number },
  d: HeadDims,
): void {
  const { B, T, H, C } = d, C3 = 3 * C, D = C / H;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const ai = (b * H + h) * T * T, v = b * T * C3 + 2 * C + h * D;
      const y = o.dy + b * T * C + h * D;
      // dA = dY · Vᵀ     [T, T]
      gemmAt(blas, f, false, true, T, T, D, 1, y, C, o.qkv + v, C3, 0, o.dA + ai, T);
      // dV = Aᵀ · dY     [T, D]
      gemmAt(blas, f, true, false, T, D, T, 1, o.a + ai, T, y, C, 0, o.dqkv + v, C3);
    }
  }
}

/** Zeroes columns `[from, to)` of every row of `[rows, width]` at `o`. */
function zeroColumns(
  f: Float32Array,
  o: number,
  rows: number,
  width: number,
  from: number,
  to: number,
) {
  for (let r = 0; r < rows; r++) f.fill(0, o + r * width + from, o + r * width + to);
}

const dims = (args: KernelArgs, qkv: tf.TensorInfo): HeadDims => {
  const { B, T, H, alpha } = args.attrs as unknown as HeadAttrs;
  return { B, T, H, C: qkv.shape[1] / 3, alpha };
};

/** `S[b, h] = alpha · Q_bh · K_bhᵀ` → `[B·H, T, T]`, from `qkv [B·T, 3C]`. */
export function headScores(blas: Blas, args: KernelArgs): tf.TensorInfo {
  const be = args.backend as unknown as WasmBackend;
  const { qkv } = args.inputs as Record<string, tf.TensorInfo>;
  const d = dims(args, qkv);
  const out = be.makeOutput([d.B * d.H, d.T, d.T], "float32");
  const { f, at } = heap(be);
  scoresAt(blas, f, at(qkv), at(out), d);
  return out;
}

/** dQ, dK of {@link headScores} from `dS [B·H, T, T]` → `dqkv [B·T, 3C]` (V part zero). */
export function headScoresGrad(blas: Blas, args: KernelArgs): tf.TensorInfo {
  const be = args.backend as unknown as WasmBackend;
  const { dS, qkv } = args.inputs as Record<string, tf.TensorInfo>;
  const d = dims(args, qkv);
  const out = be.makeOutput([...qkv.shape], "float32");
  const { f, at } = heap(be);
  zeroColumns(f, at(out), d.B * d.T, 3 * d.C, 2 * d.C, 3 * d.C);
  scoresGradAt(blas, f, at(dS), at(qkv), at(out), d);
  return out;
}

/** `y_bh = A_bh · V_bh` → `[B·T, C]` (heads side by side), from `a [B·H, T, T]`, `qkv`. */
export function headMix(blas: Blas, args: KernelArgs): tf.TensorInfo {
  const be = args.backend as unknown as WasmBackend;
  const { a, qkv } = args.inputs as Record<string, tf.TensorInfo>;
  const d = dims(args, qkv);
  const out = be.makeOutput([d.B * d.T, d.C], "float32");
  const { f, at } = heap(be);
  mixAt(blas, f, at(a), at(qkv), at(out), d);
  return out;
}

/** dA `[B·H, T, T]` and dqkv (V part only) of {@link headMix} from `dy [B·T, C]`. */
export function headMixGrad(blas: Blas, args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as unknown as WasmBackend;
  const { dy, a, qkv } = args.inputs as Record<string, tf.TensorInfo>;
  const d = dims(args, qkv);
  const dA = be.makeOutput([d.B * d.H, d.T, d.T], "float32");
  const dqkv = be.makeOutput([...qkv.shape], "float32");
  const { f, at } = heap(be);
  zeroColumns(f, at(dqkv), d.B * d.T, 3 * d.C, 0, 2 * d.C);
  mixGradAt(blas, f, { dy: at(dy), a: at(a), qkv: at(qkv), dA: at(dA), dqkv: at(dqkv) }, d);
  return [dA, dqkv];
}

// -- the whole attention core (native kernels + BLAS) ---------------------------------------------

interface CoreAttrs extends HeadAttrs {
  /** Attention dropout probability (0: none). */
  p: number;
  /** Dropout seed (the mask of `dropoutMask(B·H·T·T, p, seed)`). */
  seed: number;
}

/**
 * `[y, P, A]` (or `[y, P]` without dropout): scores, causal softmax `P`, dropout `A` and the
 * heads' mix `y [B·T, C]` in one kernel, the scores never kept.
 */
export function attentionCore(blas: Blas, args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as unknown as WasmBackend;
  const { qkv } = args.inputs as Record<string, tf.TensorInfo>;
  const { p, seed } = args.attrs as unknown as CoreAttrs;
  const d = dims(args, qkv), G = d.B * d.H, n = G * d.T * d.T;
  const nk = nativeKernels()!;
  const P = be.makeOutput([G, d.T, d.T], "float32");
  const A = p > 0 ? be.makeOutput([G, d.T, d.T], "float32") : P;
  const y = be.makeOutput([d.B * d.T, d.C], "float32");
  const { f, at } = heap(be);
  const v = (t: tf.TensorInfo) => f.subarray(at(t), at(t) + prod(t.shape));
  scoresAt(blas, f, at(qkv), at(P), d); // scores in P
  nk.gk_causal_softmax_fwd(v(P), v(P), G, d.T); // in place: each row reads before it writes
  if (p > 0) {
    const { thr, keep } = dropoutParams(p);
    nk.gk_dropout(v(P), v(A), BigInt(n), seed >>> 0, thr, keep);
  }
  mixAt(blas, f, at(A), at(qkv), at(y), d);
  return p > 0 ? [y, P, A] : [y, P];
}

/** `dqkv [B·T, 3C]` of {@link attentionCore} from `dy [B·T, C]`, one buffer (no sum of parts). */
export function attentionCoreGrad(blas: Blas, args: KernelArgs): tf.TensorInfo {
  const be = args.backend as unknown as WasmBackend;
  const { dy, P, A, qkv } = args.inputs as Record<string, tf.TensorInfo>;
  const { p, seed } = args.attrs as unknown as CoreAttrs;
  const d = dims(args, qkv), G = d.B * d.H, n = G * d.T * d.T;
  const nk = nativeKernels()!;
  const dqkv = be.makeOutput([...qkv.shape], "float32");
  const dA = be.makeOutput([G, d.T, d.T], "float32"); // scratch: dA, then dP, then dS in place
  const { f, at } = heap(be);
  const v = (t: tf.TensorInfo) => f.subarray(at(t), at(t) + prod(t.shape));
  mixGradAt(blas, f, { dy: at(dy), a: at(A), qkv: at(qkv), dA: at(dA), dqkv: at(dqkv) }, d);
  if (p > 0) {
    const { thr, keep } = dropoutParams(p);
    nk.gk_dropout(v(dA), v(dA), BigInt(n), seed >>> 0, thr, keep);
  }
  nk.gk_causal_softmax_bwd(v(P), v(dA), v(dA), G, d.T); // in place
  scoresGradAt(blas, f, at(dA), at(qkv), at(dqkv), d); // Q, K parts; the V part is the mix's
  be.disposeData(dA.dataId);
  return dqkv;
}
