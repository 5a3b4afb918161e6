/**
 * The OpenAIAdam update of `optim.ts` done in place on the tfjs-wasm heap: plain JS loops over
 * `Float32Array` views of each parameter, its moments and its gradient, instead of ~10 tensor
 * ops (and as many full-size temporaries) per parameter. Same math, same order of operations
 * per element (global-norm clipping, `m`, `v`, `m / (sqrt(v) + e)`, decoupled L2 on matrices),
 * computed in float64 and stored as float32, so results agree with the tensor path to float32
 * rounding (tests/optim_test.ts checks 1e-6).
 *
 * Used by `OpenAIAdam.step` on the `wasm` backend unless `GPT1_NATIVE_ADAM=0`. It declines
 * (returns null, the tensor path runs) when a parameter or moment buffer is shared with another
 * live tensor (writing in place would change that tensor too) or a gradient is not float32.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { nativeKernels } from "./_native_kernels.ts";
import { blasKernelsActive } from "./_wasm_blas_kernels.ts";

interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  refCount(dataId: object): number;
}

/** The hyperparameters of the update itself (`AdamOptions` of optim.ts extends them). */
export interface NativeAdamOptions {
  /** Adam beta1, the first-moment decay (0.9). */
  b1: number;
  /** Adam beta2, the second-moment decay (0.999). */
  b2: number;
  /** Adam epsilon, added to `sqrt(v)` (1e-8). */
  e: number;
  /** Decoupled L2 weight `w` (0.01), scaled by the step size; 0 turns it off. */
  l2: number;
  /** Apply the L2 term to rank-1 parameters (biases, gains) too (false). */
  vectorL2: boolean;
  /** Clip gradients to this global norm (1); 0 or negative turns clipping off. */
  maxGradNorm: number;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when {@link nativeAdamStep} may run: the wasm backend with its products on the BLAS
 * kernels, and not `GPT1_NATIVE_ADAM=0`. Without the BLAS the products run on XNNPACK, which
 * caches each weight matrix packed, keyed by its tensor: weights changed in place would be
 * multiplied as they were when first packed (found by the suite under `GPT1_BLAS=none`: a resumed
 * run diverged from an uninterrupted one), so the tensor-op Adam runs there instead.
 */
export function nativeAdamEnabled(): boolean {
  return tf.getBackend() === "wasm" && blasKernelsActive() && env("GPT1_NATIVE_ADAM") !== "0";
}

/**
 * One Adam update of `names` in place, step size `lrt` (bias correction and schedule included);
 * returns the global gradient norm before clipping as a new scalar (the caller owns it), or
 * null when the update cannot run in place (nothing was changed then).
 */
export function nativeAdamStep(
  names: readonly string[],
  params: Map<string, tf.Variable>,
  m: Map<string, tf.Variable>,
  v: Map<string, tf.Variable>,
  grads: Map<string, tf.Tensor>,
  o: NativeAdamOptions,
  lrt: number,
): tf.Scalar | null {
  if (!nativeAdamEnabled()) return null;
  const be = tf.backend() as unknown as WasmBackend;
  const offsets: [number, number, number, number, number, boolean][] = []; // p, m, v, g, n, l2
  for (const name of names) {
    const p = params.get(name)!, g = grads.get(name)!;
    const mm = m.get(name)!, vv = v.get(name)!;
    if (g.dtype !== "float32" || p.dtype !== "float32") return null;
    const ids = [p.dataId, mm.dataId, vv.dataId];
    if (ids.some((id) => be.refCount(id) !== 1) || new Set(ids).size !== 3) return null;
    const off = [...ids, g.dataId].map((id) => be.dataIdMap.get(id)?.memoryOffset);
    if (off.some((x) => typeof x !== "number")) return null;
    const [po, mo, vo, go] = off as number[];
    offsets.push([
      po >>> 2,
      mo >>> 2,
      vo >>> 2,
      go >>> 2,
      p.size,
      (p.rank > 1 || o.vectorL2) && o.l2 > 0,
    ]);
  }
  const heap = new Float32Array(be.wasm.HEAPU8.buffer); // no allocation until the end
  const nk = nativeKernels();
  if (nk) { // the same update in C (lib/native/gpt1_kernels.c), on the BLAS's thread count
    let sq = 0;
    for (const [, , , go, n] of offsets) sq += nk.gk_sumsq(heap.subarray(go, go + n), BigInt(n));
    const norm = Math.sqrt(sq);
    const scale = o.maxGradNorm > 0
      ? Math.fround(o.maxGradNorm / Math.max(Math.fround(norm), o.maxGradNorm))
      : 1;
    for (const [po, mo, vo, go, n, decay] of offsets) {
      const v = (x: number) => heap.subarray(x, x + n);
      nk.gk_adam(
        v(po),
        v(mo),
        v(vo),
        v(go),
        BigInt(n),
        scale,
        o.b1,
        o.b2,
        o.e,
        decay ? o.l2 : 0,
        lrt,
      );
    }
    return tf.scalar(norm);
  }
  let sq = 0;
  for (const [, , , go, n] of offsets) {
    for (let i = go, end = go + n; i < end; i++) sq += heap[i] * heap[i];
  }
  const norm = Math.sqrt(sq);
  // tf.clip_by_global_norm: g * clip / max(norm, clip), in float32 as the tensor path
  const scale = o.maxGradNorm > 0
    ? Math.fround(o.maxGradNorm / Math.max(Math.fround(norm), o.maxGradNorm))
    : 1;
  const { b1, b2, e, l2 } = o, c1 = 1 - b1, c2 = 1 - b2;
  for (const [po, mo, vo, go, n, decay] of offsets) {
    const lam = decay ? l2 : 0;
    for (let i = 0; i < n; i++) {
      const g = heap[go + i] * scale;
      const mt = heap[mo + i] * b1 + g * c1;
      const vt = heap[vo + i] * b2 + g * g * c2;
      const p = heap[po + i];
      heap[po + i] = p - (mt / (Math.sqrt(vt) + e) + lam * p) * lrt;
      heap[mo + i] = mt;
      heap[vo + i] = vt;
    }
  }
  return tf.scalar(norm);
}
