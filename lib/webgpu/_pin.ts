/**
 * Keeps the Vulkan loader and its drivers loaded for the rest of the process, before the first
 * WebGPU adapter is requested.
 *
 * Why: Deno unloads the shared libraries a worker loaded when the worker ends, and `deno test`
 * runs every test module in a worker of its own. With WebGPU that unloads the Vulkan loader and
 * every driver it opened (lavapipe with its LLVM, and the other Mesa drivers it probed) after
 * each module that asked for an adapter, and loads them again for the next one (measured:
 * `/proc/self/maps` loses `libvulkan_lvp.so` between modules while `libLLVM` stays), which
 * Mesa's drivers are not written for. It was suspected of the suite's rare abort at exit
 * ("corrupted size vs. prev_size in fastbins"; once in 18 runs of the three WebGPU test files
 * alone); the one abort caught in a core dump came from elsewhere (libgomp, see
 * native/gpt1_kernels.c), so this is a precaution, not a proven fix. Opening each library once
 * more with `RTLD_NODELETE` (libc's `dlopen`, through FFI) keeps it mapped, so it is loaded
 * once per process as every native Vulkan program does.
 *
 * A second core dump of that abort (2026-12-07, a `deno test` of two modules that only ask for
 * an adapter) caught it in wgpu's unused OpenGL backend instead: libEGL's destructor at exit.
 * {@link vulkanOnly} keeps that backend from loading, before the first adapter is requested.
 *
 * Best effort and silent: off Linux, without `--allow-ffi`, or when a driver cannot be opened,
 * it skips that part; WebGPU then works as before.
 *
 * @module
 */
import { granted, pinLibraries } from "../_pin.ts";

/** Folders the Vulkan loader reads driver manifests from (Linux), unless VK_DRIVER_FILES says. */
const MANIFEST_DIRS = [
  "/usr/local/etc/vulkan/icd.d",
  "/usr/local/share/vulkan/icd.d",
  "/etc/vulkan/icd.d",
  "/usr/share/vulkan/icd.d",
];

let pinned: string[] | null = null;

/** The library of a driver manifest (`ICD.library_path`), resolved as the loader does. */
export function manifestLibrary(manifest: string, text: string): string | null {
  let path: unknown;
  try {
    path = JSON.parse(text)?.ICD?.library_path;
  } catch {
    return null;
  }
  if (typeof path !== "string" || path === "") return null;
  if (path.startsWith("/") || !path.includes("/")) return path; // absolute, or a bare soname
  return `${manifest.slice(0, manifest.lastIndexOf("/") + 1)}${path}`; // relative to the manifest
}

function manifests(): string[] {
  const list = granted("env")
    ? (Deno.env.get("VK_DRIVER_FILES") ?? Deno.env.get("VK_ICD_FILENAMES"))
    : undefined;
  if (list) return list.split(":").filter(Boolean);
  const out: string[] = [];
  for (const dir of MANIFEST_DIRS) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.name.endsWith(".json")) out.push(`${dir}/${e.name}`);
      }
    } catch {
      // no such folder
    }
  }
  return out.sort();
}

/**
 * Asks Deno's wgpu for its Vulkan backend only (`DENO_WEBGPU_BACKEND=vulkan`), on Linux, where a
 * Vulkan driver manifest exists and the user has not set `DENO_WEBGPU_BACKEND` (read when the
 * first adapter is requested). Without it wgpu also starts its OpenGL backend: it loads libEGL,
 * Mesa's EGL and `swrast_dri.so` (a second LLVM-based rasteriser with threads of its own) and
 * never uses them for the Vulkan adapter it returns. A core dump of the abort at exit (2026-12-07)
 * caught libEGL's destructor (`_dl_fini` → libEGL → `dlclose`) running while another thread was
 * freeing its thread-specific data ("double free or corruption"). Returns whether it set it.
 */
export function vulkanOnly(haveVulkan: boolean): boolean {
  if (!haveVulkan || !granted("env") || Deno.env.get("DENO_WEBGPU_BACKEND") !== undefined) {
    return false;
  }
  Deno.env.set("DENO_WEBGPU_BACKEND", "vulkan");
  return true;
}

/**
 * Pins `libvulkan.so.1` and every Vulkan driver of the manifests in this process (once per
 * worker; again is a no-op), after {@link vulkanOnly}. Returns the libraries now pinned (empty
 * where it did nothing).
 */
export function pinVulkanDrivers(): string[] {
  if (pinned) return pinned;
  pinned = [];
  if (Deno.build.os !== "linux" || !granted("read")) return pinned;
  const found = manifests();
  vulkanOnly(found.length > 0);
  if (!granted("ffi")) return pinned;
  const libs = ["libvulkan.so.1"];
  for (const m of found) {
    try {
      const lib = manifestLibrary(m, Deno.readTextFileSync(m));
      if (lib && !libs.includes(lib)) libs.push(lib);
    } catch {
      // unreadable manifest: the loader skips it too
    }
  }
  pinned = pinLibraries(libs);
  return pinned;
}
