/**
 * lib/_native_adam.ts: the in-place wasm Adam update equals the tensor path of optim.ts
 * (clipping on, decoupled L2 on matrices only) to float32 rounding, declines when a buffer is
 * shared, and leaks nothing. Without the BLAS kernels (GPT1_BLAS=none) it must stay off: XNNPACK
 * caches packed weights by tensor, so in-place updates would go unseen by the products.
 */
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { nativeAdamEnabled } from "../lib/_native_adam.ts";
import { blasKernelsActive } from "../lib/_wasm_blas_kernels.ts";
import { OpenAIAdam } from "../lib/optim.ts";
import { randn } from "../lib/random.ts";
import { assert, assertEquals, maxRelErr } from "./_util.ts";

const quiet = { log: () => {} };

/** 6 Adam steps on a matrix and a vector with large (clipped) gradients; final weights. */
async function run(native: boolean): Promise<{ w: Float32Array[]; norms: number[] }> {
  await selectBackend({ force: "wasm", ...quiet });
  if (native) Deno.env.delete("GPT1_NATIVE_ADAM");
  else Deno.env.set("GPT1_NATIVE_ADAM", "0");
  try {
    assertEquals(nativeAdamEnabled(), native);
    const params = new Map([
      // in a tidy, as the models do: the initial tensor would otherwise share the buffer
      ["w", tf.tidy(() => tf.variable(tf.tensor(randn(12 * 7, 1), [12, 7])))],
      ["b", tf.tidy(() => tf.variable(tf.tensor(randn(7, 2))))],
    ]);
    const opt = new OpenAIAdam(params, {
      lr: 0.01,
      schedule: "warmup_linear",
      warmup: 0.2,
      tTotal: 10,
    });
    const before = tf.memory().numTensors, id = params.get("w")!.dataId;
    const norms: number[] = [];
    for (let s = 0; s < 6; s++) {
      const grads = new Map([
        ["w", tf.tensor(randn(12 * 7, 10 + s, 3), [12, 7])],
        ["b", tf.tensor(randn(7, 20 + s, s < 3 ? 3 : 0.01))], // clipped, then not
      ]);
      const norm = opt.step(grads);
      norms.push((await norm.data())[0]);
      tf.dispose([norm, ...grads.values()]);
      assertEquals(tf.memory().numTensors, before, "no leak");
    }
    // in place keeps the buffer; the tensor path assigns a new one
    assertEquals(params.get("w")!.dataId === id, native, "updated in place iff native");
    const w = [new Float32Array(await params.get("w")!.data()), await params.get("b")!.data()];
    opt.dispose();
    tf.dispose([...params.values()]);
    return { w: w as Float32Array[], norms };
  } finally {
    Deno.env.delete("GPT1_NATIVE_ADAM");
  }
}

Deno.test("without the BLAS products the in-place Adam is off (XNNPACK caches packed weights)", async () => {
  await selectBackend({ force: "wasm", ...quiet });
  if (blasKernelsActive()) {
    console.log("SKIP: the BLAS kernels are on (run with GPT1_BLAS=none to test the fallback)");
    return;
  }
  assertEquals(nativeAdamEnabled(), false);
});

Deno.test("in-place wasm Adam equals the tensor path (clipping, L2 on matrices), no leaks", async () => {
  await selectBackend({ force: "wasm", ...quiet });
  if (!blasKernelsActive()) {
    console.log("SKIP in-place Adam: no BLAS kernels, so the tensor-op Adam runs (see above)");
    return;
  }
  const a = await run(true), b = await run(false);
  for (let i = 0; i < 2; i++) {
    const err = maxRelErr(a.w[i], b.w[i]);
    assert(err < 1e-6, `param ${i}: native vs tensor rel err ${err}`);
  }
  assert(maxRelErr(a.norms, b.norms) < 1e-6, `norms ${a.norms} vs ${b.norms}`);
  assert(a.norms[0] > 1, "the first steps are clipped");
});

Deno.test("in-place Adam declines when a parameter buffer is shared: the clone keeps its values", async () => {
  await selectBackend({ force: "wasm", ...quiet });
  const w = tf.tidy(() => tf.variable(tf.ones([3, 3])));
  const keep = tf.clone(w); // shares w's buffer on wasm (Identity shim)
  const opt = new OpenAIAdam(new Map([["w", w]]), { lr: 0.1, schedule: "constant" });
  const g = tf.onesLike(w);
  tf.dispose([opt.step(new Map([["w", g]])), opt.step(new Map([["w", g]]))]);
  assertEquals(Array.from(await keep.data()), new Array(9).fill(1));
  assert((await w.data())[0] < 1, "w moved");
  tf.dispose([w, keep, g]);
  opt.dispose();
});
