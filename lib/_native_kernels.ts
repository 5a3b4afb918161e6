/**
 * The project's own native kernels (`lib/native/gpt1_kernels.c`: LayerNorm, GELU, softmax
 * cross-entropy, dropout, Adam), compiled once with the system C compiler and called through
 * `Deno.dlopen` with `Float32Array` views of the wasm heap, like the BLAS of `blas.ts`.
 *
 * Where the library comes from, in order: `GPT1_KERNELS=<path>` (a prebuilt `.so`/`.dylib`),
 * else a build cached under `$GPT1_CACHE` (default `$XDG_CACHE_HOME/gpt1-lab` or
 * `~/.cache/gpt1-lab`), named by a hash of the source, compiler and flags so an edit rebuilds
 * it, else a fresh build with `cc` (gcc or clang; ~1 s). `GPT1_KERNELS=none`, no
 * compiler or no `--allow-ffi`/`--allow-run` turn them off: the JS loops of
 * `_wasm_fused_kernels.ts` run instead, with the same formulas. {@link nativeKernelsLine} says
 * which, in one line.
 *
 * Threads: the kernels use as many threads as the BLAS has (`GPT1_THREADS`), from a pool of
 * their own (pthreads, in the C file) whose threads wait passively between calls, so they never
 * compete with the BLAS's own threads, and never end (OpenMP's runtime was used until its
 * per-thread destructor, run for a Deno worker's thread during exit(), aborted the test suite
 * with glibc's "free(): invalid pointer" now and then).
 *
 * @module
 */
import { pinLibraries } from "./_pin.ts";
import { loadBlas, requestedThreads } from "./blas.ts";

const SYMBOLS = {
  gk_set_threads: { parameters: ["i32"], result: "void" },
  gk_version: { parameters: [], result: "i32" },
  gk_ln_fwd: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "i32", "i32", "f32"],
    result: "void",
  },
  gk_ln_bwd: {
    parameters: [
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "i32",
      "i32",
    ],
    result: "void",
  },
  gk_gelu_fwd: { parameters: ["buffer", "buffer", "buffer", "i64"], result: "void" },
  gk_gelu_bwd: { parameters: ["buffer", "buffer", "buffer", "buffer", "i64"], result: "void" },
  gk_softmax_ce: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "i32", "i32"],
    result: "f64",
  },
  gk_causal_softmax_fwd: { parameters: ["buffer", "buffer", "i32", "i32"], result: "void" },
  gk_causal_softmax_bwd: {
    parameters: ["buffer", "buffer", "buffer", "i32", "i32"],
    result: "void",
  },
  gk_add: { parameters: ["buffer", "buffer", "buffer", "i64"], result: "void" },
  gk_dropout: { parameters: ["buffer", "buffer", "i64", "u32", "u32", "f32"], result: "void" },
  gk_sumsq: { parameters: ["buffer", "i64"], result: "f64" },
  gk_adam: {
    parameters: [
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "i64",
      "f64",
      "f64",
      "f64",
      "f64",
      "f64",
      "f64",
    ],
    result: "void",
  },
} as const;

/** Flags of the build; part of the cache key. */
const CFLAGS = [
  "-O3",
  "-march=native",
  "-ffp-contract=off",
  "-fno-math-errno",
  "-fopenmp-simd",
  "-pthread",
  "-shared",
  "-fPIC",
];

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The loaded kernels, or why there are none. */
let state: { lib: Lib | null; path: string | null; reason: string | null } | null = null;
let threadsSet = 0;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

function cacheDir(): string {
  const base = env("GPT1_CACHE") ??
    (env("XDG_CACHE_HOME") ? `${env("XDG_CACHE_HOME")}/gpt1-lab` : null) ??
    (env("HOME") ? `${env("HOME")}/.cache/gpt1-lab` : null);
  if (!base) throw new Error("no cache folder (set GPT1_CACHE or HOME)");
  return `${base}/native`;
}

/** The CPU's model and feature flags (Linux), so a cache shared by other machines rebuilds. */
function cpuTag(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const field = (k: string) => info.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, "m"))?.[1] ?? "";
    return `${field("model name")}|${field("flags")}`;
  } catch {
    return "";
  }
}

/** FNV-1a over the source, compiler, flags and CPU (`-march=native`): the build's cache name. */
function buildKey(source: string, cc: string): string {
  let h = 0x811c9dc5;
  const key = `${source}\n${cc}\n${CFLAGS.join(" ")}\n${Deno.build.target}\n${cpuTag()}`;
  for (const ch of key) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Compiles the kernels into the cache (atomically: a temp file, then rename); the path. */
function build(): string {
  const srcUrl = new URL("./native/gpt1_kernels.c", import.meta.url);
  if (srcUrl.protocol !== "file:") throw new Error("the kernel source is not a local file");
  const source = Deno.readTextFileSync(srcUrl);
  const cc = env("CC") ?? "cc";
  const ext = Deno.build.os === "darwin" ? "dylib" : "so";
  const dir = cacheDir();
  const out = `${dir}/libgpt1_kernels-${buildKey(source, cc)}.${ext}`;
  try {
    Deno.statSync(out);
    return out;
  } catch { /* not built yet */ }
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${Deno.pid}.tmp`;
  const r = new Deno.Command(cc, {
    args: [...CFLAGS, "-o", tmp, srcUrl.pathname, "-lm"],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!r.success) {
    try {
      Deno.removeSync(tmp);
    } catch { /* nothing written */ }
    const err = new TextDecoder().decode(r.stderr).split("\n").find((l) => l.trim()) ?? "";
    throw new Error(`${cc} failed: ${err.slice(0, 200)}`);
  }
  Deno.renameSync(tmp, out);
  return out;
}

/**
 * The native kernels (loading or building them on first call), or null when they are off or
 * cannot be had; {@link nativeKernelsLine} says why.
 */
export function nativeKernels(): Lib | null {
  if (state) {
    if (state.lib) syncThreads(state.lib);
    return state.lib;
  }
  const forced = env("GPT1_KERNELS");
  if (forced === "none") {
    state = { lib: null, path: null, reason: "GPT1_KERNELS=none" };
    return null;
  }
  try {
    const path = forced ?? build();
    const lib: Lib = Deno.dlopen(path, SYMBOLS).symbols;
    if (lib.gk_version() !== 8) throw new Error(`${path}: unexpected kernel version`);
    pinLibraries([path]); // with its pool threads: loaded once per process (_pin.ts)
    state = { lib, path, reason: null };
    syncThreads(lib);
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0];
    const reason = e instanceof Deno.errors.NotCapable || /--allow-|permission/i.test(msg)
      ? "no --allow-ffi/--allow-run permission"
      : e instanceof Deno.errors.NotFound
      ? "no C compiler (cc) found"
      : msg;
    state = { lib: null, path: null, reason };
  }
  return state.lib;
}

/** Keeps the kernels' thread count equal to the BLAS's (or GPT1_THREADS without one). */
function syncThreads(lib: Lib): void {
  const n = loadBlas()?.threads() ?? requestedThreads();
  if (n !== threadsSet) {
    lib.gk_set_threads(n);
    threadsSet = n;
  }
}

/** One line for logs: where the native kernels come from, or why the JS loops run instead. */
export function nativeKernelsLine(): string {
  nativeKernels();
  return state!.lib
    ? `native kernels: ${state!.path} (${threadsSet} thread${threadsSet === 1 ? "" : "s"})`
    : `native kernels: none (${state!.reason}); fused kernels in JS`;
}
