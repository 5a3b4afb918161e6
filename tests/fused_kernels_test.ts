/**
 * lib/_wasm_fused_kernels.ts and lib/_native_kernels.ts: the fused LayerNorm, GELU, softmax
 * cross-entropy, dropout and attention-head kernels of the wasm backend agree with the `cpu`
 * backend's tensor formulas (1e-5 relative), forward and gradients, in eval and training mode
 * (the dropout masks are the same numbers); a bad target id is the project's error. CI runs this
 * file three times: with the native kernels, with GPT1_KERNELS=none (the JS loops) and with
 * GPT1_FUSED=0 (the tensor formulas on wasm too).
 */
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { fusedAttention, fusedKernels } from "../lib/_wasm_fused_kernels.ts";
import { nativeKernels, nativeKernelsLine } from "../lib/_native_kernels.ts";
import { loadBlas } from "../lib/blas.ts";
import { makeConfig } from "../lib/config.ts";
import { ConfigError } from "../lib/errors.ts";
import { Gpt1Model } from "../lib/model.ts";
import { crossEntropy, gelu, layerNorm, tiedLmLoss } from "../lib/ops.ts";
import { randn } from "../lib/random.ts";
import { assert, assertEquals, assertRejects, maxRelErr } from "./_util.ts";
import { onBackend } from "./_backend.ts";

const quiet = { log: () => {} };
const FUSED_OFF = Deno.env.get("GPT1_FUSED") === "0";
console.log(`fused kernels: ${FUSED_OFF ? "off (GPT1_FUSED=0)" : nativeKernelsLine()}`);

const rnd = (shape: number[], seed: number, std = 1) =>
  tf.tensor(randn(shape.reduce((a, b) => a * b, 1), seed, std), shape);

async function parity(f: () => tf.Tensor[], what: string, tol = 1e-5): Promise<void> {
  const ref = await onBackend("cpu", f), got = await onBackend("wasm", f);
  assertEquals(fusedKernels(), !FUSED_OFF, "the fused paths are in use on wasm");
  for (let i = 0; i < ref.length; i++) {
    assertEquals(got[i].length, ref[i].length, `${what} output ${i} size`);
    const err = maxRelErr(got[i], ref[i]);
    assert(err <= tol, `${what} output ${i}: wasm (fused) vs cpu rel err ${err}`);
  }
}

Deno.test("the native kernels load, or say why not", () => {
  const line = nativeKernelsLine();
  assert(/^native kernels: /.test(line), line);
  if (Deno.env.get("GPT1_KERNELS") === "none") assertEquals(nativeKernels(), null);
});

Deno.test("LayerNorm: value and gradients (x, gain, bias) match cpu", async () => {
  for (const [N, C] of [[7, 16], [300, 256]]) {
    await parity(() => {
      const x = rnd([N, C], 1, 3), g = rnd([C], 2), b = rnd([C], 3), r = rnd([N, C], 4);
      const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5), r));
      return [
        layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
        ...tf.grads(f)([x, g, b]),
      ];
    }, `layerNorm [${N}, ${C}]`);
  }
});

Deno.test("GELU: value and gradient match cpu over a wide range", async () => {
  await parity(
    () => {
      const x = tf.mul(rnd([50_000], 5), 4), r = rnd([50_000], 6);
      return [gelu(x), tf.grad((x: tf.Tensor) => tf.sum(tf.mul(gelu(x), r)))(x)];
    },
    "gelu",
    2e-5,
  );
});

Deno.test("softmax cross-entropy: value and gradient, weights, an underflowing target", async () => {
  await parity(() => {
    const N = 37, V = 300;
    // row 0: the target's logit 200 below the rest (its probability underflows in float32)
    const z = tf.add(rnd([N, V], 7, 2), tf.scatterND([[0, 5]], tf.tensor1d([-200]), [N, V]));
    const t = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 7 + 5) % V), "int32");
    const w = tf.div(tf.abs(rnd([N], 8)), N) as tf.Tensor1D;
    const f = (z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, t, w);
    return [f(z), tf.grad(f)(z)];
  }, "crossEntropy");
});

Deno.test("tied LM loss in row chunks on the fused kernels matches cpu", async () => {
  await parity(() => {
    const h = rnd([3, 11, 8], 9), e = rnd([40, 8], 10);
    const ids = tf.tensor2d(
      Array.from({ length: 3 }, (_, b) => Array.from({ length: 11 }, (_, i) => (b * 11 + i) % 40)),
      undefined,
      "int32",
    );
    const f = (h: tf.Tensor, e: tf.Tensor) =>
      tiedLmLoss(h as tf.Tensor3D, ids, e as tf.Tensor2D, undefined, 7 * 40);
    return [f(h, e), ...tf.grads(f)([h, e])];
  }, "chunked tied loss");
});

Deno.test("a target id outside the vocabulary is a ConfigError, not a crash", {
  ignore: FUSED_OFF, // the tensor formulas check in the backward only (softmaxCeGrad)
}, async () => {
  await selectBackend({ force: "wasm", ...quiet });
  await assertRejects(
    async () => {
      const z = tf.zeros([2, 5]) as tf.Tensor2D;
      const t = tf.tensor1d([1, 9], "int32"), w = tf.fill([2], 0.5) as tf.Tensor1D;
      const dz = tf.grad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, t, w))(z);
      await dz.data();
    },
    ConfigError,
    "target id 9",
  );
});

Deno.test("GPT in training mode (dropout on): loss and every gradient match cpu", async () => {
  const ids = [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]];
  await parity(() => {
    const m = new Gpt1Model(makeConfig("tiny"), { seed: 3 });
    const { value, grads } = m.valueAndGrads(() =>
      m.lmLossTensor(ids, { training: true, seed: 11 })
    );
    const out = [value, ...grads.values()];
    m.dispose();
    return out;
  }, "GPT training step");
  if (!FUSED_OFF) assertEquals(fusedAttention(), loadBlas() !== null, "attention on the BLAS");
});

Deno.test("Add: large same-shape sums on the native kernel, broadcasts and int32 on wasm's", async () => {
  await parity(
    () => {
      const a = rnd([300, 257], 12), b = rnd([300, 257], 13);
      return [
        tf.add(a, b), // 77,100 elements: native when built
        tf.add(a, rnd([257], 14)), // broadcast: stock
        tf.cast(tf.add(tf.cast(a, "int32"), tf.cast(b, "int32")), "float32"), // int32: stock
        tf.add(rnd([10], 15), rnd([10], 16)), // small: stock
      ];
    },
    "add",
    0,
  );
});
