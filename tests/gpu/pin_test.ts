/**
 * lib/_pin.ts and lib/webgpu/_pin.ts: OpenBLAS, the Vulkan loader and its drivers stay loaded
 * from one `deno test` module to the next (Deno unloads a worker's libraries when it ends;
 * reloading Mesa's drivers was suspected of the suite's rare abort at exit). Runs two fixture modules
 * in a child `deno test` and reads `/proc/self/maps` from the second; SKIP off Linux, and for
 * the part without an adapter / a BLAS.
 */
import { join } from "node:path";
import { manifestLibrary } from "../../lib/webgpu/_pin.ts";
import { webgpuAdapterInfo } from "../../lib/backend.ts";
import { loadBlas } from "../../lib/blas.ts";
import { assert, assertEquals, ROOT } from "../_util.ts";
import { knownTeardownAbort } from "../_teardown.ts";

Deno.test("manifestLibrary: absolute, bare soname, relative to the manifest, bad JSON", () => {
  const m = "/usr/share/vulkan/icd.d/x.json";
  const text = (p: unknown) =>
    JSON.stringify({ file_format_version: "1.0.0", ICD: { library_path: p } });
  assertEquals(manifestLibrary(m, text("/usr/lib/libvulkan_lvp.so")), "/usr/lib/libvulkan_lvp.so");
  assertEquals(manifestLibrary(m, text("libGLX_nvidia.so.0")), "libGLX_nvidia.so.0");
  assertEquals(
    manifestLibrary(m, text("../lib/libv.so")),
    "/usr/share/vulkan/icd.d/../lib/libv.so",
  );
  assertEquals(manifestLibrary(m, "{"), null);
  assertEquals(manifestLibrary(m, text(3)), null);
});

const linux = Deno.build.os === "linux";
const gpu = linux ? await webgpuAdapterInfo() : null;
const blas = linux && loadBlas() !== null;
if (!gpu) console.log("SKIP the Vulkan part of the pin test: no WebGPU adapter (or not Linux)");
if (!blas) console.log("SKIP the BLAS part of the pin test: no BLAS (or not Linux)");

Deno.test({
  name: "OpenBLAS and the Vulkan driver stay mapped from one test module to the next",
  ignore: !gpu && !blas,
  async fn() {
    const dir = join(ROOT, "tests", "fixtures", "pin");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", join(dir, "module_test.ts"), join(dir, "module2_test.ts")],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (out.code !== 0 && knownTeardownAbort(out, text) !== null) {
      // tests/_teardown.ts: both modules passed, then the child aborted at exit (CI, 8926458)
      console.log(`the child deno test aborted at exit (${out.signal ?? out.code}) after passing`);
    } else {
      assertEquals(out.code, 0, text);
    }
    const runs = [...text.matchAll(/PIN (\{.*\})/g)].map((m) => JSON.parse(m[1]));
    assertEquals(runs.length, 2, text);
    if (gpu) {
      assert(runs.every((r) => r.after && r.gpu), text);
      assertEquals(runs[1].before, true, "the second module finds the driver the first one loaded");
      // lib/webgpu/_pin.ts vulkanOnly: wgpu's OpenGL backend stays unloaded (unless the user
      // chose a backend with DENO_WEBGPU_BACKEND)
      if (Deno.env.get("DENO_WEBGPU_BACKEND") === undefined) {
        assert(runs.every((r) => r.egl === false), `libEGL was loaded:\n${text}`);
      }
    }
    if (blas) {
      assert(runs.every((r) => r.blas && r.blasAfter), text);
      assertEquals(runs[1].blasBefore, true, "the second module finds the BLAS the first loaded");
    }
  },
});
