/**
 * The kernel shims that make CPU training practical with TensorFlow.js: replacements for stock
 * wasm kernels (and the one missing there), the cpu backend's segment sum, and the BLAS and
 * fused kernels installed over them. Internal to backend.ts, which re-exports the public
 * functions and runs the parity self-check that turns the shims off if they misbehave.
 *
 * wasm shims (tfjs-on-deno.md §2–3; speed-ups measured on the 2-core machine), each falling
 * back to the stock kernel outside its fast case:
 * - `UnsortedSegmentSum`: missing on wasm, needed by the gather (embedding) gradient.
 * - `BatchMatMul` with a batch or a transpose flag: the stock kernel runs a naive loop
 *   (~3 GFLOP/s); the shim transposes explicitly and runs one XNNPACK 2-D matMul per batch item
 *   on views into the wasm heap (~28 GFLOP/s for attention shapes; 2-D plain stays stock, ~45).
 * - `Transpose` of the last two axes: a blocked loop, ~6× faster than the stock strided one.
 * - `Slice` / `SplitV`: the stock kernels copy the whole input out of the heap for each slice
 *   (a 3-way split of `[2048, 768]`: 12 ms → 0.3 ms).
 * - `GatherV2` on axis 0: row copies.
 * - `Identity` (clone, customGrad saves, same-dtype casts): shares the buffer by reference
 *   count like the cpu backend instead of copying it.
 * The shims read tfjs-backend-wasm 4.22 internals (`dataIdMap`, `wasm.tfjs.registerTensor`,
 * the `BatchMatMul` export); a parity self-check against `cpu` turns them off if they misbehave.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import {
  blasKernelsActive,
  installBlasKernels,
  uninstallBlasKernels,
} from "./_wasm_blas_kernels.ts";
import { fusedNames, installFusedKernels, uninstallFusedKernels } from "./_wasm_fused_kernels.ts";

/**
 * Parity errors of the self-checks that passed in this process (each backend runs it once;
 * installing the wasm shims afresh forgets wasm's). Read and written by backend.ts.
 */
export const parityPassed = new Map<string, number>();

/** An environment variable, or undefined when unset, empty or not readable (no --allow-env). */
export function envFlag(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}

function skippedShims(): string[] {
  return (envFlag("GPT1_WASM_SKIP") ?? "").split(",").map((k) => k.trim()).filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// wasm internals (tfjs-backend-wasm 4.22.0) that the shims use

interface WasmModule {
  HEAPU8: Uint8Array;
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}
interface WasmBackend {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}
interface CpuBackend {
  data: { get(dataId: object): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
}
type KernelArgs = Parameters<tf.KernelFunc>[0];

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** True for dtypes stored as one 32-bit word per element (what the copying shims handle). */
const words = (t: tf.TensorInfo) => t.dtype === "float32" || t.dtype === "int32";

/** A Float32Array or Int32Array view of a wasm tensor's memory (re-take after any malloc). */
function heapView(be: WasmBackend, t: tf.TensorInfo, size = prod(t.shape)): Float32Array {
  const off = be.dataIdMap.get(t.dataId).memoryOffset;
  return new Float32Array(be.wasm.HEAPU8.buffer, off, size);
}

/**
 * Transposes the last two axes of `G` row-major `[R, C]` blocks, 32×32 tile by tile. Works on
 * raw 32-bit words, so float32 and int32 alike.
 */
function transposeLastTwo(
  src: Float32Array,
  dst: Float32Array,
  G: number,
  R: number,
  C: number,
): void {
  const B = 16;
  for (let g = 0, base = 0; g < G; g++, base += R * C) {
    for (let i0 = 0; i0 < R; i0 += B) {
      const i1 = Math.min(i0 + B, R);
      for (let j0 = 0; j0 < C; j0 += B) {
        const j1 = Math.min(j0 + B, C);
        for (let j = j0; j < j1; j++) {
          let o = base + j * R + i0, s = base + i0 * C + j;
          for (let i = i0; i < i1; i++, s += C) dst[o++] = src[s];
        }
      }
    }
  }
}

/** When `perm` only swaps the last two axes (after dropping size-1 axes), returns [G, R, C]. */
function lastTwoSwap(shape: readonly number[], perm: readonly number[]): number[] | null {
  const n = shape.length;
  if (n < 2) return null;
  const keep = perm.filter((p) => shape[p] !== 1);
  const dims = [...keep].sort((a, b) => a - b);
  const k = keep.length;
  if (k < 2) return null;
  for (let i = 0; i < k - 2; i++) if (keep[i] !== dims[i]) return null;
  if (keep[k - 2] !== dims[k - 1] || keep[k - 1] !== dims[k - 2]) return null;
  const R = shape[dims[k - 2]], C = shape[dims[k - 1]];
  return [prod(shape) / (R * C), R, C];
}

const WASM_SHIMS = [
  "UnsortedSegmentSum",
  "BatchMatMul",
  "Transpose",
  "GatherV2",
  "Slice",
  "SplitV",
  "Identity",
];
let wasmOriginals: Map<string, tf.KernelConfig> | null = null;
let wasmShimsDisabled = false;

function replaceKernel(cfg: tf.KernelConfig, originals: Map<string, tf.KernelConfig>): void {
  // GPT1_WASM_SKIP=Transpose,Slice keeps those stock kernels (for bisecting kernel problems)
  if (cfg.kernelName !== "UnsortedSegmentSum" && skippedShims().includes(cfg.kernelName)) return;
  const old = tf.getKernel(cfg.kernelName, cfg.backendName);
  if (old) {
    originals.set(cfg.kernelName, old);
    tf.unregisterKernel(cfg.kernelName, cfg.backendName);
  }
  tf.registerKernel(cfg);
}

/**
 * Installs the wasm kernel shims (idempotent) and returns their names. Call after
 * `tf.setBackend("wasm")` resolved, so that the stock kernels it falls back to are set up.
 */
export function installWasmKernels(): string[] {
  wasmShimsDisabled = false;
  if (!wasmOriginals) parityPassed.delete("wasm");
  if (wasmOriginals) return [...WASM_SHIMS, ...blasShims()];
  const originals = new Map<string, tf.KernelConfig>();
  const original = (name: string, args: KernelArgs) =>
    originals.get(name)!.kernelFunc(args) as tf.TensorInfo;

  replaceKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: (args) => {
      const be = args.backend as unknown as WasmBackend;
      const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (args.attrs as { numSegments: number }).numSegments;
      if (x.dtype !== "float32" || segmentIds.dtype !== "int32") {
        throw new Error(`UnsortedSegmentSum on wasm: float32 x and int32 ids only`);
      }
      const rest = x.shape.slice(segmentIds.shape.length);
      const inner = prod(rest), n = prod(segmentIds.shape);
      const out = be.makeOutput([numSegments, ...rest], x.dtype);
      const xv = heapView(be, x), o = heapView(be, out);
      const ids = new Int32Array(xv.buffer, be.dataIdMap.get(segmentIds.dataId).memoryOffset, n);
      segmentSum(xv, ids, numSegments, inner, o);
      return out;
    },
  }, originals);

  replaceKernel({
    kernelName: "Transpose",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const perm = (args.attrs as { perm: number[] }).perm;
      const grc = words(x) ? lastTwoSwap(x.shape, perm) : null;
      if (!grc) return original("Transpose", args);
      const be = args.backend as unknown as WasmBackend;
      const out = be.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
      transposeLastTwo(heapView(be, x), heapView(be, out), grc[0], grc[1], grc[2]);
      return out;
    },
  }, originals);

  let wasmMatMul2d: ((...args: unknown[]) => void) | null = null;
  replaceKernel({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as {
        transposeA: boolean;
        transposeB: boolean;
      };
      // broadcast batches, other dtypes and plain 2-D products (already XNNPACK) stay stock
      const G = prod(a.shape.slice(0, -2));
      const sameBatch = tf.util.arraysEqual(a.shape.slice(0, -2), b.shape.slice(0, -2));
      if (a.dtype !== "float32" || b.dtype !== "float32" || !sameBatch) {
        return original("BatchMatMul", args);
      }
      if (G === 1 && !transposeA && !transposeB) return original("BatchMatMul", args);
      const be = args.backend as unknown as WasmBackend;
      wasmMatMul2d ??= be.wasm.cwrap("BatchMatMul", null, [
        "number",
        "array",
        "number",
        "number",
        "array",
        "number",
        "number",
        "number",
        "number",
      ]);
      const [aR, aC] = a.shape.slice(-2), [bR, bC] = b.shape.slice(-2);
      const M = transposeA ? aC : aR, K = transposeA ? aR : aC;
      const N = transposeB ? bR : bC;
      if ((transposeB ? bC : bR) !== K) return original("BatchMatMul", args); // shape error
      const temps: tf.TensorInfo[] = [];
      const plain = (t: tf.TensorInfo, trans: boolean, r: number, c: number) => {
        if (!trans) return t;
        const u = be.makeOutput([G, c, r], "float32");
        transposeLastTwo(heapView(be, t), heapView(be, u), G, r, c);
        temps.push(u);
        return u;
      };
      const a2 = plain(a, transposeA, aR, aC), b2 = plain(b, transposeB, bR, bC);
      const outShape = [...a.shape.slice(0, -2), M, N];
      const out = be.makeOutput(outShape, "float32");
      const aOff = be.dataIdMap.get(a2.dataId).memoryOffset;
      const bOff = be.dataIdMap.get(b2.dataId).memoryOffset;
      const oOff = be.dataIdMap.get(out.dataId).memoryOffset;
      const aShape = new Uint8Array(new Int32Array([1, M, K]).buffer);
      const bShape = new Uint8Array(new Int32Array([1, K, N]).buffer);
      const reg = be.wasm.tfjs;
      for (let g = 0; g < G; g++) {
        // C-side ids that view slices of the three buffers; the JS side never sees them.
        const ia = be.dataIdNextNumber++, ib = be.dataIdNextNumber++, io = be.dataIdNextNumber++;
        reg.registerTensor(ia, M * K, aOff + 4 * g * M * K);
        reg.registerTensor(ib, K * N, bOff + 4 * g * K * N);
        reg.registerTensor(io, M * N, oOff + 4 * g * M * N);
        wasmMatMul2d(ia, aShape, 3, ib, bShape, 3, false, false, io);
        reg.disposeData(ia); // also frees the XNNPACK operator cached on ib
        reg.disposeData(ib);
        reg.disposeData(io);
      }
      for (const t of temps) be.disposeData(t.dataId);
      return out;
    },
  }, originals);

  replaceKernel({
    kernelName: "GatherV2",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
      const ax = axis < 0 ? axis + x.shape.length : axis;
      if (ax !== 0 || (batchDims ?? 0) !== 0 || !words(x) || indices.dtype !== "int32") {
        return original("GatherV2", args);
      }
      const be = args.backend as unknown as WasmBackend;
      const rest = x.shape.slice(1), inner = prod(rest), n = prod(indices.shape);
      const out = be.makeOutput([...indices.shape, ...rest], x.dtype);
      const heap = new Int32Array(be.wasm.HEAPU8.buffer);
      const xo = be.dataIdMap.get(x.dataId).memoryOffset >>> 2;
      const io = be.dataIdMap.get(indices.dataId).memoryOffset >>> 2;
      const oo = be.dataIdMap.get(out.dataId).memoryOffset >>> 2;
      for (let i = 0; i < n; i++) {
        const r = heap[io + i];
        if (r < 0 || r >= x.shape[0]) {
          be.disposeData(out.dataId);
          throw new Error(`GatherV2: the index value ${r} is not in [0, ${x.shape[0] - 1}]`);
        }
        heap.copyWithin(oo + i * inner, xo + r * inner, xo + (r + 1) * inner);
      }
      return out;
    },
  }, originals);

  const sliceTo = (be: WasmBackend, x: tf.TensorInfo, b: number[], s: number[]) => {
    const out = be.makeOutput(s, x.dtype);
    const heap = new Int32Array(be.wasm.HEAPU8.buffer);
    const xo = be.dataIdMap.get(x.dataId).memoryOffset >>> 2;
    sliceRuns(heap, xo, x.shape, b, s, be.dataIdMap.get(out.dataId).memoryOffset >>> 2);
    return out;
  };
  const sliceable = (x: tf.TensorInfo) => words(x) && x.shape.length > 0;
  replaceKernel({
    kernelName: "Slice",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (!sliceable(x)) return original("Slice", args);
      const { begin, size } = args.attrs as { begin: number[]; size: number[] };
      const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
      return sliceTo(args.backend as unknown as WasmBackend, x, b, s);
    },
  }, originals);
  replaceKernel({
    kernelName: "SplitV",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (!sliceable(x)) return original("SplitV", args) as unknown as tf.TensorInfo;
      const { numOrSizeSplits, axis } = args.attrs as {
        numOrSizeSplits: number | number[];
        axis: number;
      };
      const ax = tf.util.parseAxisParam(axis, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
      const b = new Array<number>(x.shape.length).fill(0);
      return sizes.map((n) => {
        const s = [...x.shape];
        s[ax] = n;
        const out = sliceTo(args.backend as unknown as WasmBackend, x, b, s);
        b[ax] += n;
        return out;
      }) as unknown as tf.TensorInfo;
    },
  }, originals);

  // Identity (tf.clone, the tensors customGrad saves, same-dtype casts) copies the buffer on
  // wasm; share it by reference count instead, as the cpu backend does.
  replaceKernel({
    kernelName: "Identity",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (x.dtype === "string") return original("Identity", args);
      (args.backend as unknown as WasmBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  }, originals);

  wasmOriginals = originals;
  return [...WASM_SHIMS, ...blasShims()];
}

/**
 * Installs the BLAS products over the shims (when a CBLAS loads) and the fused kernels of
 * `_wasm_fused_kernels.ts`, and names them.
 */
function blasShims(): string[] {
  return [
    ...installBlasKernels().map((k) => `${k} (BLAS)`),
    ...installFusedKernels().map((k) => `${k} (fused)`),
  ];
}

/**
 * True when the active backend's matrix products take transpose flags at no cost (wasm with
 * the BLAS kernels, or cpu), so callers should pass `transposeA/B` rather than transpose
 * explicitly (which XNNPACK needs).
 */
export function nativeProducts(): boolean {
  const name = tf.getBackend();
  return name === "cpu" || (name === "wasm" && blasKernelsActive());
}

/** Names of the wasm kernels currently replaced or added by the shims (empty when off). */
export function activeWasmShims(): string[] {
  if (!wasmOriginals) return [];
  const blas = blasKernelsActive() ? installBlasKernels().map((k) => `${k} (BLAS)`) : [];
  return [...WASM_SHIMS, ...blas, ...fusedNames().map((k) => `${k} (fused)`)];
}

/**
 * Restores the stock wasm kernels replaced by {@link installWasmKernels} (the added
 * `UnsortedSegmentSum` stays: wasm has none) and keeps {@link ensureKernels} from reinstalling.
 */
export function uninstallWasmKernels(): void {
  wasmShimsDisabled = true;
  uninstallBlasKernels();
  uninstallFusedKernels();
  if (!wasmOriginals) return;
  for (const [name, cfg] of wasmOriginals) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(cfg);
  }
  wasmOriginals = null;
}

/**
 * Copies the slice `begin`/`size` of a row-major tensor at word offset `xo` to `oo`, one
 * contiguous run (the innermost partially sliced axis and everything after it) at a time.
 */
function sliceRuns(
  heap: Int32Array,
  xo: number,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  oo: number,
): void {
  const n = shape.length;
  const strides = new Array<number>(n);
  for (let i = n - 1, st = 1; i >= 0; i--) {
    strides[i] = st;
    st *= shape[i];
  }
  let d = n - 1; // the last axis that is not taken whole
  while (d > 0 && size[d] === shape[d]) d--;
  const run = size[d] * strides[d];
  const outer = prod(size.slice(0, d));
  const idx = new Array<number>(d).fill(0);
  for (let r = 0; r < outer; r++) {
    let src = xo + begin[d] * strides[d];
    for (let i = 0; i < d; i++) src += (begin[i] + idx[i]) * strides[i];
    if (run >= 256) heap.copyWithin(oo + r * run, src, src + run);
    else for (let j = 0, o = oo + r * run; j < run; j++) heap[o + j] = heap[src + j];
    for (let i = d - 1; i >= 0; i--) { // odometer over the outer axes
      if (++idx[i] < size[i]) break;
      idx[i] = 0;
    }
  }
}

/** `o[s] += x[i]` for every row `i` with segment id `s` (rows of `inner` values). */
function segmentSum(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  numSegments: number,
  inner: number,
  o: Float32Array,
): void {
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    for (let j = 0, ob = s * inner, xb = i * inner; j < inner; j++) o[ob + j] += x[xb + j];
  }
}

let cpuReplaced = false;

/**
 * Replaces the cpu backend's `UnsortedSegmentSum` (it loops over segments and allocates
 * tensors for each: minutes for a vocabulary-sized embedding gradient) by a linear pass.
 */
export function replaceCpuKernels(): void {
  if (cpuReplaced) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const be = args.backend as unknown as CpuBackend;
    const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const numSegments = (args.attrs as { numSegments: number }).numSegments;
    const rest = x.shape.slice(segmentIds.shape.length);
    const o = new Float32Array(numSegments * prod(rest));
    segmentSum(
      be.data.get(x.dataId).values as Float32Array,
      be.data.get(segmentIds.dataId).values as Int32Array,
      numSegments,
      prod(rest),
      o,
    );
    return be.makeTensorInfo([numSegments, ...rest], x.dtype, o);
  };
  if (tf.getKernel("UnsortedSegmentSum", "cpu")) tf.unregisterKernel("UnsortedSegmentSum", "cpu");
  tf.registerKernel({ kernelName: "UnsortedSegmentSum", backendName: "cpu", kernelFunc });
  cpuReplaced = true;
}

/**
 * Makes sure the shims of the active backend are installed (cheap when they are): for code
 * that uses tfjs without calling `selectBackend` (backend.ts) first (the wasm backend registers itself
 * with a higher priority than cpu when this module is imported).
 */
export function ensureKernels(): void {
  const name = tf.getBackend();
  if (name === "wasm" && !wasmOriginals && !wasmShimsDisabled) installWasmKernels();
  else if (name === "cpu" && !cpuReplaced) replaceCpuKernels();
}

/**
 * The live float32 memory of `t` on the cpu and wasm backends (writes change the tensor), or
 * null on other backends. Only for tensors the caller just created and owns alone.
 */
export function mutableFloat32(t: tf.Tensor): Float32Array | null {
  if (t.dtype !== "float32") return null;
  const name = tf.getBackend();
  const be = tf.backend() as unknown;
  if (name === "wasm") return heapView(be as WasmBackend, t, t.size);
  if (name === "cpu") {
    const v = (be as CpuBackend).data.get(t.dataId).values;
    return v instanceof Float32Array ? v : null;
  }
  return null;
}
