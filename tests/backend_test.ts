import * as tf from "@tensorflow/tfjs";
import { nativeKernels } from "../lib/_native_kernels.ts";
import {
  activeWasmShims,
  BACKEND_ORDER,
  initBackend,
  mutableFloat32,
  selectBackend,
  webgpuAdapterInfo,
} from "../lib/backend.ts";
import { blasInfo } from "../lib/blas.ts";
import { ConfigError } from "../lib/errors.ts";
import { randn } from "../lib/random.ts";
import { assert, assertEquals, assertRejects, maxRelErr, ROOT } from "./_util.ts";
import { gpuDeviceNodes, noHardwareGpuReason } from "../lib/webgpu/device.ts";
import { assertClose, modelOutputs, onBackend } from "./_backend.ts";

const quiet = { log: () => {} };

/**
 * Asserts that `f` gives the same results on `name` as on cpu, within `tol` relative (on wasm:
 * with every shim on, i.e. the self-check of selectBackend passed).
 */
async function parity(name: string, f: () => tf.Tensor[], tol: number, what: string) {
  const ref = await onBackend("cpu", f), got = await onBackend(name, f);
  if (name === "wasm") {
    // on the BLAS: BatchMatMul and _FusedMatMul (2); fused, unless GPT1_FUSED=0: LayerNorm,
    // GELU, softmax-CE, dropout (4), the attention heads with a BLAS (1), the causal softmax
    // and Add with the native kernels (2), the attention core with both (1)
    const blas = blasInfo().available ? 2 : 0, native = nativeKernels() !== null;
    const fused = Deno.env.get("GPT1_FUSED") === "0"
      ? 0
      : 4 + (blas ? 1 : 0) + (native ? 2 : 0) + (blas && native ? 1 : 0);
    assertEquals(
      activeWasmShims().length,
      7 + blas + fused,
      `wasm shims are on: ${activeWasmShims()}`,
    );
  }
  assertClose(got, ref, tol, `${what} (${name} vs cpu)`);
}

const rnd = (shape: number[], seed: number) =>
  tf.tensor(randn(shape.reduce((a, b) => a * b, 1), seed), shape);

Deno.test("selectBackend() honours force and GPT1_BACKEND and logs the choice", async () => {
  const logs: string[] = [];
  const c = await selectBackend({ force: "cpu", log: (m) => logs.push(m) });
  assertEquals(c.name, "cpu");
  assertEquals(tf.getBackend(), "cpu");
  assert(logs[0].startsWith("[gpt1] backend: cpu (forced"), logs[0]);
  const old = Deno.env.get("GPT1_BACKEND");
  Deno.env.set("GPT1_BACKEND", "wasm");
  try {
    assertEquals((await selectBackend(quiet)).name, "wasm");
    assertEquals((await selectBackend({ force: "cpu", ...quiet })).name, "cpu", "flag wins");
  } finally {
    if (old === undefined) Deno.env.delete("GPT1_BACKEND");
    else Deno.env.set("GPT1_BACKEND", old);
  }
  await assertRejects(
    () => selectBackend({ force: "webgl", ...quiet }),
    (e: unknown) => e instanceof ConfigError && /unknown backend "webgl"/.test(e.message),
  );
});

Deno.test("selectBackend() without a pin tries tensorflow, webgpu, wasm, cpu in order", async () => {
  const old = Deno.env.get("GPT1_BACKEND");
  Deno.env.delete("GPT1_BACKEND");
  try {
    const logs: string[] = [];
    const c = await selectBackend({ log: (m) => logs.push(m) });
    assert((BACKEND_ORDER as readonly string[]).includes(c.name));
    assertEquals(logs.length, 1);
    assert(logs[0].startsWith(`[gpt1] backend: ${c.name} (`), logs[0]);
    // no adapter is asked for where no GPU device node exists (the test below)
    const gpu = noHardwareGpuReason() ? null : await webgpuAdapterInfo();
    if (c.name === "wasm") {
      // everything before wasm was skipped, with a reason
      assert(/skipped tensorflow: .*webgpu: /.test(logs[0]), logs[0]);
      assert(!gpu || gpu.software, "a hardware WebGPU adapter would have been chosen");
    }
  } finally {
    if (old !== undefined) Deno.env.set("GPT1_BACKEND", old);
  }
});

const nodes = gpuDeviceNodes();
if (nodes === null) console.log("SKIP the no-GPU-node test: not Linux");
else if (nodes.length) {
  console.log(`SKIP the no-GPU-node test: this machine has ${nodes.join(", ")}`);
}

Deno.test({
  name: "no GPU device node: the search and --engine auto skip WebGPU without loading Vulkan",
  ignore: !nodes || nodes.length > 0,
  async fn() {
    assert(noHardwareGpuReason()!.startsWith("no GPU device node"));
    // a fresh process: this one may hold the Vulkan loader from another test module
    const code = `
      import { selectBackend } from "./lib/backend.ts";
      import { chooseEngine } from "./lib/train_webgpu.ts";
      const logs = [];
      const c = await selectBackend({ log: (m) => logs.push(m) });
      const e = await chooseEngine("auto", "gpt1");
      const vk = Deno.readTextFileSync("/proc/self/maps").includes("libvulkan");
      console.log(JSON.stringify({ name: c.name, log: logs[0], engine: e.engine, why: e.why, vk }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      cwd: ROOT,
      env: { GPT1_BACKEND: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, text + new TextDecoder().decode(out.stderr));
    const r = JSON.parse(text.trim().split("\n").pop()!);
    assert(/webgpu: no GPU device node/.test(r.log), r.log);
    assertEquals(r.engine, "tfjs");
    assert(r.why.startsWith("no GPU device node"), r.why);
    assertEquals(r.vk, false, "the Vulkan loader was loaded");
  },
});

Deno.test("the tensorflow backend fails over cleanly when tfjs-node is not installed", async () => {
  const t0 = performance.now();
  let msg = "";
  try {
    await initBackend("tensorflow");
    assertEquals(tf.getBackend(), "tensorflow"); // where tfjs-node is installed, it works
  } catch (e) {
    msg = (e as Error).message;
    assert(/tfjs-node-gpu.*tfjs-node/.test(msg), msg);
  }
  assert(performance.now() - t0 < 5000, "no download, no long wait");
});

Deno.test("wasm kernel shims agree with cpu: BatchMatMul, Transpose, Slice, SplitV, GatherV2, UnsortedSegmentSum", async () => {
  const cases: [string, () => tf.Tensor[]][] = [
    ["batched matMul, all transpose flags", () => {
      const a = rnd([3, 5, 7], 1), b = rnd([3, 7, 4], 2), at = rnd([3, 7, 5], 3);
      const bt = rnd([3, 4, 7], 4);
      return [
        tf.matMul(a, b),
        tf.matMul(at, b, true),
        tf.matMul(a, bt, false, true),
        tf.matMul(at, bt, true, true),
      ];
    }],
    ["4-D and 2-D transposed matMul", () => {
      const a = rnd([2, 3, 6, 8], 5), b = rnd([2, 3, 6, 8], 6), c = rnd([9, 4], 7);
      return [tf.matMul(a, b, false, true), tf.matMul(c, c, true), tf.matMul(c, c, false, true)];
    }],
    ["broadcast matMul (stock kernel)", () => [tf.matMul(rnd([2, 5, 3], 8), rnd([1, 3, 4], 9))]],
    ["transpose", () => {
      const x = rnd([37, 70], 10), y = rnd([2, 3, 17, 33], 11);
      return [
        tf.transpose(x),
        tf.transpose(y, [0, 1, 3, 2]),
        tf.transpose(y, [0, 2, 1, 3]),
        tf.transpose(tf.reshape(x, [37, 1, 70]), [2, 1, 0]),
        tf.cast(tf.transpose(tf.cast(x, "int32")), "float32"),
      ];
    }],
    ["slice and split", () => {
      const x = rnd([4, 6, 10], 12);
      return [
        tf.slice(x, [1, 2, 3], [2, 3, 4]),
        tf.slice(x, [0, 1, 0], [-1, 2, -1]),
        tf.slice(x, [2, 0, 0], [1, -1, -1]),
        ...tf.split(x, [3, 7], 2),
        ...tf.split(x, 3, 1),
        tf.cast(tf.slice(tf.cast(x, "int32"), [1, 1, 1], [2, 2, 2]), "float32"),
      ];
    }],
    ["gather and its gradient", () => {
      const e = rnd([11, 5], 13), ids = tf.tensor1d([3, 0, 10, 3, 3, 7], "int32");
      const idx2 = tf.tensor2d([[1, 2], [2, 1]], [2, 2], "int32");
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, ids))))(e);
      return [tf.gather(e, ids), tf.gather(e, idx2), tf.gather(e, ids.slice(0, 2), 1), g];
    }],
    ["unsortedSegmentSum", () => {
      const x = rnd([6, 3], 14);
      return [tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 5, 1, 2], "int32"), 7)];
    }],
  ];
  for (const [what, f] of cases) await parity("wasm", f, 1e-6, what);
  await selectBackend({ force: "wasm", ...quiet });
  const e = tf.ones([4, 2]);
  let threw = false;
  try {
    tf.gather(e, tf.tensor1d([4], "int32"));
  } catch {
    threw = true;
  }
  assert(threw, "an index out of range throws");
  e.dispose();
});

Deno.test("unsortedSegmentSum (the gather gradient) matches a plain loop on cpu and wasm", async () => {
  const x = randn(8 * 3, 21), ids = [6, 0, 2, 6, -1, 2, 1, 6], want = new Float32Array(7 * 3);
  ids.forEach((s, i) => {
    for (let j = 0; s >= 0 && j < 3; j++) want[s * 3 + j] += x[i * 3 + j];
  });
  for (const name of ["cpu", "wasm"]) {
    const [got] = await onBackend(name, () => [
      tf.unsortedSegmentSum(tf.tensor2d(x, [8, 3]), tf.tensor1d(ids, "int32"), 7),
    ]);
    assert(maxRelErr(got, want) < 1e-6, `${name}: ${got} vs ${want}`);
  }
});

Deno.test("the GPT gives the same logits, losses and gradients on wasm and cpu (1e-4)", async () => {
  await parity("wasm", modelOutputs, 1e-4, "tiny GPT");
});

Deno.test("mutableFloat32() is a live view on cpu and wasm", async () => {
  for (const name of ["cpu", "wasm"]) {
    await selectBackend({ force: name, ...quiet });
    const t = tf.zeros([3]);
    const v = mutableFloat32(t)!;
    v[1] = 5;
    assertEquals([...await t.data()], [0, 5, 0]);
    const i = tf.zeros([2], "int32");
    assertEquals(mutableFloat32(i), null);
    tf.dispose([t, i]);
  }
});
