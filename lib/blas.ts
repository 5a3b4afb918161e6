/**
 * The system CBLAS (OpenBLAS, Accelerate, or any `libblas.so.3`) loaded at run time through
 * `Deno.dlopen`, for the wasm backend's matrix products (`_wasm_blas_kernels.ts`).
 *
 * Search order: `GPT1_BLAS=<path>` (or `GPT1_BLAS=none` to force it absent), then
 * `libopenblas.so.0` and `libblas.so.3` on Linux, Accelerate on macOS. The thread count is
 * `GPT1_THREADS` (default: every core, `navigator.hardwareConcurrency`); it is set with
 * `openblas_set_num_threads` when the library has it. Without `--allow-ffi`, or when nothing
 * loads, {@link loadBlas} returns null and {@link blasInfo} says why: the lab then runs on the
 * stock kernels, slower, with the same results up to float summation order.
 *
 * Determinism: OpenBLAS gives bitwise the same products at a fixed thread count; a different
 * thread count changes the summation order (README, "CPU speed").
 *
 * @example
 * ```ts
 * import { blasInfo, blasLine, loadBlas } from "./blas.ts";
 * const blas = loadBlas();        // null when absent
 * console.log(blasLine());        // "BLAS: OpenBLAS 0.3.21 ... (Cooperlake), 2 threads"
 * blasInfo().threads;             // 2
 * ```
 * @module
 */
import { pinLibraries } from "./_pin.ts";

/** Row-major storage (`CblasRowMajor`). */
export const CBLAS_ROW_MAJOR = 101;
/** No transpose (`CblasNoTrans`). */
export const CBLAS_NO_TRANS = 111;
/** Transpose (`CblasTrans`). */
export const CBLAS_TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // order
      "i32", // transA
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // B
      "i32", // ldb
      "f32", // beta
      "buffer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const;

/** A loaded CBLAS: `sgemm` and what is known about the library. */
export interface Blas {
  /**
   * Row-major `C = alpha·op(A)·op(B) + beta·C` (`cblas_sgemm`), synchronous; the arrays may be
   * views on the wasm heap (no copy).
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** Sets the library's thread count (a no-op when the library has no such call). */
  setThreads(n: number): void;
  /** The library's thread count now (the requested one when it cannot be read). */
  threads(): number;
}

/** What {@link loadBlas} found, for logs and every run's `config.json`. */
export interface BlasInfo {
  /** True when a CBLAS is loaded and the wasm products use it. */
  available: boolean;
  /** "OpenBLAS", "Accelerate", "CBLAS" (another `libblas`), or null when absent. */
  library: string | null;
  /** The path that was opened. */
  path: string | null;
  /** `openblas_get_config()` (version and build options), when the library has it. */
  config: string | null;
  /** `openblas_get_corename()` (the CPU kernels chosen), when the library has it. */
  corename: string | null;
  /** The thread count in use (null when absent). */
  threads: number | null;
  /** Why there is no BLAS, or which paths failed before the one that loaded. */
  reason: string | null;
}

let loaded: { blas: Blas | null; info: BlasInfo } | null = null;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}

/** The thread count asked for: `GPT1_THREADS`, else every core. */
export function requestedThreads(): number {
  const raw = env("GPT1_THREADS");
  if (raw !== undefined) {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1) return n;
  }
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

function candidates(): string[] {
  const forced = env("GPT1_BLAS");
  if (forced) return [forced];
  if (Deno.build.os === "darwin") {
    return ["/System/Library/Frameworks/Accelerate.framework/Accelerate"];
  }
  if (Deno.build.os === "windows") return ["libopenblas.dll"];
  return ["libopenblas.so.0", "libblas.so.3"];
}

function cString(p: Deno.PointerValue | null): string | null {
  if (!p) return null;
  try {
    return new Deno.UnsafePointerView(p).getCString().trim();
  } catch {
    return null;
  }
}

function open(path: string) {
  return Deno.dlopen(path, SYMBOLS);
}

/**
 * Loads the CBLAS once per process (later calls return the same one) and sets its thread
 * count; null when there is none (see {@link blasInfo} for why).
 */
export function loadBlas(): Blas | null {
  if (loaded) return loaded.blas;
  const none: BlasInfo = {
    available: false,
    library: null,
    path: null,
    config: null,
    corename: null,
    threads: null,
    reason: null,
  };
  if (env("GPT1_BLAS") === "none") {
    loaded = { blas: null, info: { ...none, reason: "GPT1_BLAS=none" } };
    return null;
  }
  const failed: string[] = [];
  for (const path of candidates()) {
    let lib: ReturnType<typeof open>;
    try {
      lib = open(path);
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      if (e instanceof Deno.errors.NotCapable || /--allow-ffi|permission/i.test(msg)) {
        loaded = { blas: null, info: { ...none, reason: "no --allow-ffi permission" } };
        return null;
      }
      failed.push(`${path}: ${msg}`);
      continue;
    }
    pinLibraries([path]); // loaded once per process, not once per test module (_pin.ts)
    const s = lib.symbols;
    const want = requestedThreads();
    let threadsNow = want;
    const setThreads = (n: number) => {
      threadsNow = n;
      s.openblas_set_num_threads?.(n);
    };
    setThreads(want);
    const gemm = s.cblas_sgemm;
    const blas: Blas = {
      sgemm: (tA, tB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc) =>
        gemm(
          CBLAS_ROW_MAJOR,
          tA ? CBLAS_TRANS : CBLAS_NO_TRANS,
          tB ? CBLAS_TRANS : CBLAS_NO_TRANS,
          M,
          N,
          K,
          alpha,
          a,
          lda,
          b,
          ldb,
          beta,
          c,
          ldc,
        ),
      setThreads,
      threads: () => s.openblas_get_num_threads?.() ?? threadsNow,
    };
    const config = cString(s.openblas_get_config?.() ?? null);
    const library = config !== null || s.openblas_set_num_threads
      ? "OpenBLAS"
      : /Accelerate/.test(path)
      ? "Accelerate"
      : "CBLAS";
    loaded = {
      blas,
      info: {
        available: true,
        library,
        path,
        config,
        corename: cString(s.openblas_get_corename?.() ?? null),
        threads: blas.threads(),
        reason: failed.length ? `not loaded: ${failed.join("; ")}` : null,
      },
    };
    return blas;
  }
  loaded = { blas: null, info: { ...none, reason: `no CBLAS found (${failed.join("; ")})` } };
  return null;
}

/** What {@link loadBlas} found (loading it first), with the current thread count. */
export function blasInfo(): BlasInfo {
  const blas = loadBlas();
  const info = loaded!.info;
  return blas ? { ...info, threads: blas.threads() } : { ...info };
}

/** One line for logs: the library, its version and core, threads; or why it fell back. */
export function blasLine(): string {
  const i = blasInfo();
  if (!i.available) return `BLAS: none (${i.reason}); matrix products on the stock wasm kernels`;
  const version = i.config?.match(/OpenBLAS\s+([\d.]+)/)?.[1];
  const core = i.corename ? ` (${i.corename})` : "";
  return `BLAS: ${i.library}${version ? " " + version : ""}${core} from ${i.path}, ${i.threads} ` +
    `thread${i.threads === 1 ? "" : "s"}`;
}
