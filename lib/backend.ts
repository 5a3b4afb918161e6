/**
 * TensorFlow.js backend choice, the kernel shims that make CPU training practical (in
 * `_kernel_shims.ts`), and self-checks.
 *
 * `selectBackend()` tries, in order:
 * 1. `tensorflow`: when `@tensorflow/tfjs-node-gpu` (else `@tensorflow/tfjs-node`) is in the
 *    import map and loads. It is not installed here (its install script downloads libtensorflow);
 *    the README says how to enable it on a machine with CUDA. Absent, it fails over at once.
 * 2. `webgpu`: when `navigator.gpu` gives a hardware adapter and a small forward + backward
 *    parity check against `cpu` passes. Software adapters (llvmpipe/lavapipe, SwiftShader:
 *    `isFallbackAdapter` or a CPU device name) are skipped unless forced: they are ~100× slower
 *    than `wasm`. On Linux without a GPU device node in `/dev` no adapter is asked for at all
 *    (`noHardwareGpuReason` in `webgpu/device.ts`).
 * 3. `wasm`: the CPU default, single-threaded XNNPACK (threads do not work under Deno), with
 *    the shims below and a parity self-check against `cpu`.
 * 4. `cpu`: the pure-JS reference (slow), with a fast `UnsortedSegmentSum`.
 *
 * A name in `opts.force` or in the environment variable `GPT1_BACKEND` skips the search and
 * must work (else ConfigError). The choice is logged.
 *
 * The kernel shims (wasm: segment sums, batched products, transposes, slices, gathers,
 * identity; cpu: segment sums) live in `_kernel_shims.ts`; their public functions are re-exported
 * here.
 *
 * @example
 * ```ts
 * import { selectBackend } from "./backend.ts";
 * const { name, detail } = await selectBackend();          // e.g. "wasm"
 * await selectBackend({ force: "cpu", log: () => {} });    // the reference backend, quietly
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import {
  envFlag,
  installWasmKernels,
  parityPassed as passed,
  replaceCpuKernels,
  uninstallWasmKernels,
} from "./_kernel_shims.ts";
import { blasLine } from "./blas.ts";
import { nativeKernelsLine } from "./_native_kernels.ts";
import { ConfigError } from "./errors.ts";
import { pinVulkanDrivers } from "./webgpu/_pin.ts";
import { noHardwareGpuReason } from "./webgpu/device.ts";

export {
  activeWasmShims,
  ensureKernels,
  installWasmKernels,
  mutableFloat32,
  nativeProducts,
  replaceCpuKernels,
  uninstallWasmKernels,
} from "./_kernel_shims.ts";

/** Backends this project knows, in the order `selectBackend()` tries them. */
export const BACKEND_ORDER = ["tensorflow", "webgpu", "wasm", "cpu"] as const;

/** A backend name of {@link BACKEND_ORDER}. */
export type BackendName = typeof BACKEND_ORDER[number];

/** The backend that was set: its tfjs name and a human-readable detail line. */
export interface BackendChoice {
  /** The tfjs backend name now active (`tf.getBackend()`). */
  name: string;
  /** What was found: adapter, shims, parity error. */
  detail: string;
}

/** Options of {@link selectBackend} and {@link initBackend}. */
export interface BackendOptions {
  /** A backend name to use instead of searching (overrides `GPT1_BACKEND`). */
  force?: string;
  /** Where the choice and the reasons for skipping backends go (default `console.log`). */
  log?: (msg: string) => void;
  /** Accept a software WebGPU adapter (llvmpipe); default: only when forced. */
  allowSoftwareGpu?: boolean;
}

/** Max relative error tolerated by the backend parity self-check. */
export const PARITY_TOLERANCE = 1e-3;

function envBackend(): string | undefined {
  try {
    return Deno.env.get("GPT1_BACKEND") || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}

/**
 * Chooses and initializes the best working backend (see the module doc), logs the choice and
 * returns it. `opts.force` or `GPT1_BACKEND` pins one; a pinned backend that fails throws.
 */
export async function selectBackend(opts: BackendOptions = {}): Promise<BackendChoice> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const force = opts.force ?? envBackend();
  if (force) {
    const choice = await initBackend(force, { ...opts, allowSoftwareGpu: true });
    log(`[gpt1] backend: ${choice.name} (forced; ${choice.detail})`);
    return choice;
  }
  const skipped: string[] = [];
  for (const name of BACKEND_ORDER) {
    try {
      const choice = await initBackend(name, opts);
      const why = skipped.length ? `; skipped ${skipped.join("; ")}` : "";
      log(`[gpt1] backend: ${choice.name} (${choice.detail}${why})`);
      return choice;
    } catch (e) {
      skipped.push(`${name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new ConfigError(`no TensorFlow.js backend works: ${skipped.join("; ")}`);
}

/**
 * Initializes one backend by name, installs its shims and runs its self-check; throws
 * (ConfigError for an unknown name, Error with the reason otherwise) when it is not usable.
 */
export async function initBackend(
  name: string,
  opts: Pick<BackendOptions, "allowSoftwareGpu"> = {},
): Promise<BackendChoice> {
  tf.enableProdMode(); // IS_NODE is true under Deno: silences the Node.js banner
  switch (name) {
    case "tensorflow":
      return await initTensorflow();
    case "webgpu":
      return await initWebgpu(opts.allowSoftwareGpu ?? false);
    case "wasm": {
      await setBackendOrThrow("wasm");
      if (envFlag("GPT1_WASM_SHIMS") === "0") {
        // stock kernels (+ the missing UnsortedSegmentSum): slower, for bisecting shim problems
        installWasmKernels();
        uninstallWasmKernels();
        return { name: "wasm", detail: "stock kernels (GPT1_WASM_SHIMS=0) + UnsortedSegmentSum" };
      }
      const shims = installWasmKernels();
      const err = passed.get("wasm") ?? await parityCheck("wasm");
      if (!(err <= PARITY_TOLERANCE)) {
        uninstallWasmKernels();
        const err2 = await parityCheck("wasm");
        return {
          name: "wasm",
          detail: `shims off: parity with them ${err.toExponential(1)}, without ${
            err2.toExponential(1)
          }`,
        };
      }
      passed.set("wasm", err);
      return {
        name: "wasm",
        detail: `XNNPACK SIMD, 1 thread; shims: ${shims.join(", ")}; parity vs cpu ${
          err.toExponential(1)
        }; ${blasLine()}; ${nativeKernelsLine()}`,
      };
    }
    case "cpu":
      await setBackendOrThrow("cpu");
      replaceCpuKernels();
      return { name: "cpu", detail: "pure JS reference, fast UnsortedSegmentSum" };
    default:
      throw new ConfigError(`unknown backend "${name}"`, {
        fix: `set GPT1_BACKEND (or --backend) to one of ${BACKEND_ORDER.join(", ")}`,
      });
  }
}

async function setBackendOrThrow(name: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new Error(`setBackend("${name}") threw ${(e as Error).message}`);
  }
  if (!ok) throw new Error(`setBackend("${name}") returned false`);
  await tf.ready();
}

async function initTensorflow(): Promise<BackendChoice> {
  const reasons: string[] = [];
  // Not literal specifiers on purpose: neither `deno check` nor `deno install` should try to
  // fetch them; they resolve only when a user added them to the import map.
  for (const spec of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(spec);
      await setBackendOrThrow("tensorflow");
      return { name: "tensorflow", detail: `${spec} (libtensorflow)` };
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      reasons.push(
        /not in import map|not a dependency/.test(msg) ? `${spec} not in the import map` : msg,
      );
    }
  }
  throw new Error(reasons.join(", "));
}

/**
 * Mesa's Vulkan/EGL drivers print "XDG_RUNTIME_DIR is invalid or not set" on every adapter
 * probe when the variable is missing (headless machines, CI): give the process a private one.
 */
function ensureRuntimeDir(): void {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = Deno.makeTempDirSync({ prefix: "gpt1-xdg-" }); // mode 0700
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
  } catch {
    // no --allow-env / --allow-write: the drivers only print a warning
  }
}

/** True for adapters that emulate a GPU on the CPU (llvmpipe, lavapipe, SwiftShader, WARP). */
function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const text = `${info.description} ${info.device} ${info.vendor} ${info.architecture}`;
  return info.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software|microsoft basic render/i.test(text);
}

/** A short description of the WebGPU adapter, or null when there is none. */
export async function webgpuAdapterInfo(): Promise<
  { description: string; software: boolean } | null
> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  ensureRuntimeDir();
  pinVulkanDrivers(); // loaded once per process (see webgpu/_pin.ts)
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return null;
  const i = adapter.info;
  return {
    description: i.description || `${i.vendor} ${i.architecture} ${i.device}`.trim(),
    software: isSoftwareAdapter(adapter),
  };
}

async function initWebgpu(allowSoftware: boolean): Promise<BackendChoice> {
  const none = allowSoftware ? null : noHardwareGpuReason();
  if (none) throw new Error(none); // not even the Vulkan loader is loaded
  const info = await webgpuAdapterInfo();
  if (!info) throw new Error("navigator.gpu gives no adapter");
  if (info.software && !allowSoftware) {
    throw new Error(`software adapter "${info.description}" (force webgpu to use it)`);
  }
  await import("@tensorflow/tfjs-backend-webgpu"); // registers "webgpu" (navigator.gpu exists)
  await setBackendOrThrow("webgpu");
  const err = passed.get("webgpu") ?? await parityCheck("webgpu");
  if (!(err <= PARITY_TOLERANCE)) {
    await setBackendOrThrow("cpu");
    throw new Error(`parity check against cpu failed (max rel err ${err})`);
  }
  passed.set("webgpu", err);
  return {
    name: "webgpu",
    detail: `${info.description}${info.software ? " (software)" : ""}; parity vs cpu ${
      err.toExponential(1)
    }`,
  };
}

// ---------------------------------------------------------------------------------------------
// parity self-check: a small forward + backward through every op the model and the shims use

function probeData(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

/** The probe: outputs and gradients of a function covering matMul variants, gather, softmax. */
async function probe(): Promise<Float32Array[]> {
  const outs = tf.tidy(() => {
    const E = tf.tensor2d(probeData(10 * 8, 1), [10, 8]);
    const W = tf.tensor2d(probeData(8 * 12, 2), [8, 12]);
    const bias = tf.tensor1d(probeData(12, 3));
    const R = tf.tensor2d(probeData(8 * 8, 4), [8, 8]);
    const ids = tf.tensor1d([3, 1, 3, 9, 0, 3], "int32");
    const f = (e: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
      const h = tf.gather(e, ids); // [6, 8]
      const y = tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), b); // [6, 12]
      const q = tf.reshape(y, [2, 3, 12]);
      const p = tf.softmax(tf.matMul(q, q, false, true)); // [2, 3, 3]
      const z = tf.reshape(tf.matMul(p, q), [6, 12]);
      const z2 = tf.matMul(z, tf.transpose(w)); // [6, 8]
      const zz = tf.matMul(z2, h, true, false); // [8, 8]
      const t = tf.transpose(tf.reshape(tf.tile(z2, [2, 1]), [2, 6, 8]), [0, 2, 1]); // [2, 8, 6]
      const [s0, s1] = tf.split(tf.reshape(y, [2, 3, 12]), [5, 7], 2); // [2, 3, 5], [2, 3, 7]
      return tf.addN([
        tf.sum(tf.mul(zz, R)),
        tf.sum(tf.sigmoid(z2)),
        tf.sum(tf.mul(t, t)),
        tf.sum(tf.mul(tf.slice(t, [1, 2, 1], [1, 5, 4]), 3)),
        tf.sum(tf.square(s0)),
        tf.sum(tf.mul(s1, tf.slice(q, [0, 0, 3], [2, 3, 7]))),
      ]) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)([E, W, bias]);
    return [value, ...grads];
  });
  const res: Float32Array[] = [];
  for (const t of outs) {
    res.push(new Float32Array(await t.data()));
    t.dispose();
  }
  return res;
}

/**
 * Runs the probe on `name` and on `cpu` and returns the max relative error (max |a-b| over
 * max |b| per output). Leaves `name` as the active backend.
 */
export async function parityCheck(name: string): Promise<number> {
  await setBackendOrThrow("cpu");
  replaceCpuKernels();
  const ref = await probe();
  await setBackendOrThrow(name);
  const got = await probe();
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    let num = 0, den = 1e-12;
    for (let j = 0; j < ref[i].length; j++) {
      num = Math.max(num, Math.abs(got[i][j] - ref[i][j]));
      den = Math.max(den, Math.abs(ref[i][j]));
    }
    worst = Math.max(worst, Number.isFinite(num) ? num / den : Infinity);
  }
  return worst;
}

/** Whether a backend has been initialized (by {@link selectBackend} or {@link ensureBackend}). */
export function backendReady(): boolean {
  return Boolean((tf.engine() as unknown as { backendName?: string }).backendName);
}

let _pending: Promise<void> | null = null;

/**
 * Initializes a backend on first use, with the same choice as {@link selectBackend} (GPT1_BACKEND
 * honoured) but silent; a no-op once one is set. Every async public entry point that builds
 * tensors awaits it, so a fresh script needs no `await selectBackend()` first.
 */
export async function ensureBackend(): Promise<void> {
  if (backendReady()) return;
  _pending ??= selectBackend({ log: () => {} }).then(() => {}).finally(() => {
    _pending = null;
  });
  await _pending;
}

/**
 * For synchronous entry points (e.g. `createModel`): throws a {@link ConfigError} naming the fix
 * when no backend has been initialized yet.
 */
export function requireBackend(what: string): void {
  if (backendReady()) return;
  throw new ConfigError(`${what} needs a TensorFlow.js backend and none is initialized`, {
    fix: "await selectBackend() (or ensureBackend()) from lib/mod.ts first",
  });
}
