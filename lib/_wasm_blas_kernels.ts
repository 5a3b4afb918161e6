/**
 * `BatchMatMul` and `_FusedMatMul` kernels for the tfjs `wasm` backend that run on the system
 * CBLAS (`blas.ts`) with no copy: the output is allocated on the wasm heap first, then
 * `Float32Array` views of the operands and the output (at each tensor's `memoryOffset`) go to
 * `cblas_sgemm` as FFI buffers. Every transpose combination is a flag of sgemm; batch axes
 * broadcast as in `tf.matMul`; `_FusedMatMul` pre-fills the output with the bias, runs sgemm
 * with beta = 1, then the backend's own activation kernel.
 *
 * Anything else (other dtypes, empty shapes, an activation this file does not map, PReLU)
 * goes to the kernel that was registered before, so without a BLAS, or outside these cases,
 * the results are exactly those of the shims in `backend.ts`.
 *
 * Reads tfjs-backend-wasm 4.22 internals: `wasm.HEAPU8`, `dataIdMap.get(id).memoryOffset`,
 * `makeOutput`. The heap's ArrayBuffer is re-read after every allocation (memory growth
 * detaches the old one).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Blas, loadBlas } from "./blas.ts";

/** The tfjs-backend-wasm 4.22 internals the heap kernels use. */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}
/** The arguments a tfjs kernel function gets. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Elements of a shape. */
export const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The wasm activation kernels `_FusedMatMul` may end with, by its `activation` attribute. */
const ACTIVATIONS: Record<string, string> = {
  relu: "Relu",
  relu6: "Relu6",
  elu: "Elu",
  sigmoid: "Sigmoid",
  leakyrelu: "LeakyRelu",
};

let originals: Map<string, tf.KernelConfig> | null = null;

/** The offset in floats of a tensor's data on the wasm heap. */
export const offsetOf = (be: WasmBackend, t: tf.TensorInfo): number =>
  be.dataIdMap.get(t.dataId).memoryOffset >>> 2;

/** The heap as floats and ints, and the float offset of a tensor on it (views: re-take after
 * any allocation). */
export function heap(be: WasmBackend): {
  f: Float32Array;
  i: Int32Array;
  at: (t: tf.TensorInfo) => number;
} {
  const buf = be.wasm.HEAPU8.buffer;
  return {
    f: new Float32Array(buf),
    i: new Int32Array(buf),
    at: (t: tf.TensorInfo) => offsetOf(be, t),
  };
}

/** M, N, K and the broadcast batch shape of `op(a)·op(b)`, or null outside the BLAS cases. */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, tA: boolean, tB: boolean) {
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
    return null;
  }
  const [aR, aC] = a.shape.slice(-2), [bR, bC] = b.shape.slice(-2);
  const M = tA ? aC : aR, K = tA ? aR : aC, N = tB ? bR : bC;
  if ((tB ? bC : bR) !== K || M === 0 || N === 0 || K === 0) return null; // stock kernel throws
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pa = [...new Array(rank - ba.length).fill(1), ...ba];
  const pb = [...new Array(rank - bb.length).fill(1), ...bb];
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (pa[i] !== pb[i] && pa[i] !== 1 && pb[i] !== 1) return null;
    batch.push(Math.max(pa[i], pb[i]));
  }
  return { M, N, K, aR, aC, bR, bC, batch, pa, pb };
}

/**
 * `cblas_sgemm` with its three matrices given as float offsets on the wasm heap `f` (row-major,
 * `C = alpha·op(A)·op(B) + beta·C`); the library reads only what the shapes and leading
 * dimensions address.
 */
export function gemmAt(
  blas: Blas,
  f: Float32Array,
  tA: boolean,
  tB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  beta: number,
  c: number,
  ldc: number,
): void {
  blas.sgemm(
    tA,
    tB,
    M,
    N,
    K,
    alpha,
    f.subarray(a),
    lda,
    f.subarray(b),
    ldb,
    beta,
    f.subarray(c),
    ldc,
  );
}

/**
 * Runs the product planned by {@link plan} into `out` (already holding the bias when
 * `beta` = 1): one sgemm per output batch item, the operands' items found by broadcasting.
 */
function gemmInto(
  blas: Blas,
  be: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  out: tf.TensorInfo,
  tA: boolean,
  tB: boolean,
  p: NonNullable<ReturnType<typeof plan>>,
  beta: number,
): void {
  const { M, N, K, aR, aC, bR, bC, batch, pa, pb } = p;
  const heap = new Float32Array(be.wasm.HEAPU8.buffer); // after makeOutput: never detached
  const ao = offsetOf(be, a), bo = offsetOf(be, b), oo = offsetOf(be, out);
  const sa = aR * aC, sb = bR * bC, so = M * N;
  const G = prod(batch);
  if (G === 1) {
    gemmAt(blas, heap, tA, tB, M, N, K, 1, ao, aC, bo, bC, beta, oo, N);
    return;
  }
  const idx = new Array<number>(batch.length).fill(0);
  for (let g = 0; g < G; g++) {
    let ia = 0, ib = 0;
    for (let i = 0; i < batch.length; i++) {
      ia = ia * pa[i] + (pa[i] === 1 ? 0 : idx[i]);
      ib = ib * pb[i] + (pb[i] === 1 ? 0 : idx[i]);
    }
    const a0 = ao + ia * sa, b0 = bo + ib * sb, o0 = oo + g * so;
    gemmAt(blas, heap, tA, tB, M, N, K, 1, a0, aC, b0, bC, beta, o0, N);
    for (let i = batch.length - 1; i >= 0; i--) { // odometer over the batch axes
      if (++idx[i] < batch[i]) break;
      idx[i] = 0;
    }
  }
}

function batchMatMul(blas: Blas, args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA: tA, transposeB: tB } = args.attrs as {
    transposeA: boolean;
    transposeB: boolean;
  };
  const p = plan(a, b, tA, tB);
  if (!p) return originals!.get("BatchMatMul")!.kernelFunc(args) as tf.TensorInfo;
  const be = args.backend as unknown as WasmBackend;
  const out = be.makeOutput([...p.batch, p.M, p.N], "float32");
  gemmInto(blas, be, a, b, out, tA, tB, p, 0);
  return out;
}

function fusedMatMul(blas: Blas, args: KernelArgs): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const { transposeA: tA, transposeB: tB, activation, leakyreluAlpha } = args.attrs as {
    transposeA: boolean;
    transposeB: boolean;
    activation?: string;
    leakyreluAlpha?: number;
  };
  const act = activation ?? "linear";
  const p = plan(a, b, tA, tB);
  const biasOk = !bias ||
    (bias.dtype === "float32" && (prod(bias.shape) === p?.N || prod(bias.shape) === 1) &&
      (bias.shape.length === 0 || bias.shape.at(-1) === prod(bias.shape)));
  if (!p || !biasOk || preluActivationWeights || (act !== "linear" && !ACTIVATIONS[act])) {
    return originals!.get("_FusedMatMul")!.kernelFunc(args) as tf.TensorInfo;
  }
  const be = args.backend as unknown as WasmBackend;
  const shape = [...p.batch, p.M, p.N];
  const out = be.makeOutput(shape, "float32");
  if (bias) {
    const heap = new Float32Array(be.wasm.HEAPU8.buffer);
    const o = offsetOf(be, out), bo = offsetOf(be, bias), rows = prod(shape) / p.N;
    if (prod(bias.shape) === 1) heap.fill(heap[bo], o, o + rows * p.N);
    else for (let r = 0; r < rows; r++) heap.copyWithin(o + r * p.N, bo, bo + p.N);
  }
  gemmInto(blas, be, a, b, out, tA, tB, p, bias ? 1 : 0);
  if (act === "linear") return out;
  const kernel = tf.getKernel(ACTIVATIONS[act], "wasm")!;
  const attrs: tf.NamedAttrMap = act === "leakyrelu" ? { alpha: leakyreluAlpha ?? 0.2 } : {};
  const y = kernel.kernelFunc({
    inputs: { x: out },
    backend: args.backend,
    attrs,
  }) as tf.TensorInfo;
  be.disposeData(out.dataId);
  return y;
}

/**
 * Registers the BLAS kernels for `wasm` (idempotent) when a CBLAS loads, keeping the kernels
 * they replace to fall back on and to restore; returns their names, or [] when there is no
 * BLAS. Call after the backend's other shims are installed.
 */
export function installBlasKernels(): string[] {
  if (originals) return [...originals.keys()];
  const blas = loadBlas();
  if (!blas) return [];
  const saved = new Map<string, tf.KernelConfig>();
  const kernels: [string, (blas: Blas, args: KernelArgs) => tf.TensorInfo][] = [
    ["BatchMatMul", batchMatMul],
    ["_FusedMatMul", fusedMatMul],
  ];
  for (const [name, fn] of kernels) {
    const old = tf.getKernel(name, "wasm");
    if (!old) continue;
    saved.set(name, old);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: (a) => fn(blas, a) });
  }
  originals = saved;
  return [...saved.keys()];
}

/** Restores the kernels that {@link installBlasKernels} replaced (no-op when not installed). */
export function uninstallBlasKernels(): void {
  if (!originals) return;
  for (const [name, cfg] of originals) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(cfg);
  }
  originals = null;
}

/** True while the BLAS kernels are registered for `wasm`. */
export function blasKernelsActive(): boolean {
  return originals !== null;
}
