/**
 * Keeps shared libraries loaded for the rest of the process.
 *
 * Deno unloads the libraries a worker opened with `Deno.dlopen` (and what they pulled in) when
 * the worker ends, and `deno test` runs every test module in a worker of its own: each module
 * that uses OpenBLAS, the native kernels or WebGPU (the Vulkan loader and its
 * drivers) loads them afresh and unloads them again (measured with `/proc/self/maps`). Native
 * libraries with threads and global state are not all written for that (see
 * `webgpu/_pin.ts`). Opening a library once more with `RTLD_NODELETE`, through libc's `dlopen`,
 * keeps it mapped, so it is loaded once per process as in any native program.
 *
 * Best effort and silent: off Linux, without `--allow-ffi`, or when a library cannot be
 * opened, it pins nothing and everything works as before.
 *
 * @module
 */

const RTLD_NOW = 2;
const RTLD_NODELETE = 0x1000;

type Libc = Deno.DynamicLibrary<{ dlopen: { parameters: ["buffer", "i32"]; result: "pointer" } }>;
let libc: Libc | null | undefined;
const done = new Set<string>();

/** True when the permission is granted (never prompts). */
export function granted(name: "ffi" | "read" | "env"): boolean {
  try {
    return Deno.permissions.querySync({ name }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Pins each library (a path or a soname, as `dlopen` takes it) in this process; returns the
 * ones pinned now or before. Pinning a library again is a no-op.
 */
export function pinLibraries(libs: readonly string[]): string[] {
  if (libc === undefined) {
    libc = null;
    if (Deno.build.os === "linux" && granted("ffi")) {
      try {
        // libc is never unloaded; its handle is left open on purpose
        libc = Deno.dlopen("libc.so.6", {
          dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
        });
      } catch {
        libc = null;
      }
    }
  }
  if (!libc) return [];
  for (const lib of libs) {
    if (done.has(lib)) continue;
    const h = libc.symbols.dlopen(new TextEncoder().encode(`${lib}\0`), RTLD_NOW | RTLD_NODELETE);
    if (h !== null) done.add(lib);
  }
  return libs.filter((l) => done.has(l));
}
