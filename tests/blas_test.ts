/**
 * lib/blas.ts and lib/_wasm_blas_kernels.ts: the system CBLAS and the wasm products on it.
 * Parity with the `cpu` backend (1e-5 relative) for every shape, transposition and broadcast
 * the models use, forward and gradients; no leaks; a repeatable loss sequence at a fixed
 * thread count. Without a BLAS (or with GPT1_BLAS=none) the parity tests print SKIP and the
 * fallback test checks that the stock kernels are in place.
 */
import * as tf from "@tensorflow/tfjs";
import { activeWasmShims, nativeProducts, selectBackend } from "../lib/backend.ts";
import { blasKernelsActive } from "../lib/_wasm_blas_kernels.ts";
import { blasInfo, blasLine, loadBlas, requestedThreads } from "../lib/blas.ts";
import { makeConfig } from "../lib/config.ts";
import { Gpt1Model } from "../lib/model.ts";
import { linear, tiedLmLoss, tiedLogits } from "../lib/ops.ts";
import { LstmModel, makeLstmConfig } from "../lib/lstm.ts";
import { randn } from "../lib/random.ts";
import { assert, assertEquals, maxRelErr } from "./_util.ts";
import { onBackend } from "./_backend.ts";

const quiet = { log: () => {} };
const HAVE = loadBlas() !== null;
if (!HAVE) console.log(`SKIP blas parity tests: ${blasLine()}`);

const rnd = (shape: number[], seed: number) =>
  tf.tensor(randn(shape.reduce((a, b) => a * b, 1), seed), shape);

async function parity(f: () => tf.Tensor[], what: string, tol = 1e-5): Promise<void> {
  const ref = await onBackend("cpu", f), got = await onBackend("wasm", f);
  assert(blasKernelsActive(), "the BLAS kernels are installed on wasm");
  assertEquals(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    assertEquals(got[i].length, ref[i].length, `${what} output ${i} size`);
    const err = maxRelErr(got[i], ref[i]);
    assert(err <= tol, `${what} output ${i}: wasm+BLAS vs cpu rel err ${err}`);
  }
}

/** `op(a)·op(b)` and the gradients of `Σ r ⊙ op(a)·op(b)` with respect to a and b. */
function productAndGrads(aShape: number[], bShape: number[], tA: boolean, tB: boolean) {
  return () => {
    const a = rnd(aShape, 1), b = rnd(bShape, 2);
    const y = tf.matMul(a, b, tA, tB);
    // tfjs' BatchMatMul gradient does not sum over broadcast batch axes (it throws on every
    // backend): gradients only where the batch shapes agree
    if (!tf.util.arraysEqual(aShape.slice(0, -2), bShape.slice(0, -2))) return [y];
    const r = rnd(y.shape, 3);
    const [da, db] = tf.grads((a, b) => tf.sum(tf.mul(tf.matMul(a, b, tA, tB), r)))([a, b]);
    return [y, da, db];
  };
}

Deno.test("blasInfo() names the library, its core and thread count, or why it fell back", () => {
  const i = blasInfo();
  assertEquals(i.available, HAVE);
  assert(blasLine().startsWith("BLAS: "), blasLine());
  if (HAVE) {
    assert(i.library && i.path, JSON.stringify(i));
    assertEquals(i.threads, requestedThreads());
    assertEquals(i.reason === null || i.reason.startsWith("not loaded"), true);
  } else {
    assert(i.reason, "the reason it fell back");
    assertEquals(i.threads, null);
  }
});

Deno.test("without a BLAS the wasm backend keeps its stock products and still agrees with cpu", {
  ignore: HAVE,
}, async () => {
  await selectBackend({ force: "wasm", ...quiet });
  assertEquals(blasKernelsActive(), false);
  assertEquals(nativeProducts(), false);
  assert(!activeWasmShims().some((s) => s.includes("BLAS")), `${activeWasmShims()}`);
  const ref = await onBackend("cpu", productAndGrads([3, 5, 4], [3, 6, 4], false, true));
  const got = await onBackend("wasm", productAndGrads([3, 5, 4], [3, 6, 4], false, true));
  for (let i = 0; i < 3; i++) assert(maxRelErr(got[i], ref[i]) < 1e-5);
});

Deno.test("BatchMatMul on the BLAS: every transpose pair, batch and broadcast, and gradients", {
  ignore: !HAVE,
}, async () => {
  const cases: [number[], number[], string][] = [
    [[37, 29], [29, 41], "2-D (linear layers, LSTM steps)"],
    [[2048 / 16, 64], [64, 300], "2-D, wide output (tied head)"],
    [[12, 17, 8], [12, 8, 17], "batched (attention q·kᵀ, a·v)"],
    [[2, 3, 5, 4], [3, 4, 6], "broadcast batch [2,3] with [3]"],
    [[1, 5, 4], [4, 4, 6], "broadcast batch 1 with 4"],
    [[4, 5, 4], [4, 6], "a batch against a 2-D matrix"],
  ];
  for (const [a, b, what] of cases) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const sa = [...a], sb = [...b];
        const r = sa.length, q = sb.length;
        if (tA) [sa[r - 2], sa[r - 1]] = [sa[r - 1], sa[r - 2]];
        if (tB) [sb[q - 2], sb[q - 1]] = [sb[q - 1], sb[q - 2]];
        await parity(productAndGrads(sa, sb, tA, tB), `${what} tA=${tA} tB=${tB}`);
      }
    }
  }
});

Deno.test("_FusedMatMul on the BLAS: bias (vector, scalar), activations, transposes", {
  ignore: !HAVE,
}, async () => {
  for (const activation of ["linear", "relu", "sigmoid", "elu", "relu6", "leakyrelu"] as const) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      await parity(() => {
        const a = rnd(tA ? [9, 13] : [13, 9], 4), b = rnd(tB ? [11, 9] : [9, 11], 5);
        return [
          tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, bias: rnd([11], 6), activation }),
          tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, bias: tf.scalar(0.3) }),
          tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, activation }),
        ];
      }, `fused ${activation} tA=${tA} tB=${tB}`);
    }
  }
  await parity(() => {
    const a = rnd([3, 7, 5], 7), b = rnd([3, 5, 4], 8), bias = rnd([1, 4], 9);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor3D, bias: c }));
    return [tf.fused.matMul({ a, b, bias }), ...tf.grads(f)([a, b, bias])];
  }, "batched fused with a [1, N] bias and its gradients");
});

Deno.test("the models' custom-gradient products (linear, tied head, chunked head) on the BLAS", {
  ignore: !HAVE,
}, async () => {
  await parity(() => {
    const x = rnd([64, 32], 1), w = rnd([32, 96], 2), b = rnd([96], 3), w2 = rnd([96, 32], 4);
    const e = rnd([200, 32], 5), ids = tf.tensor2d([[1, 5, 9, 3], [7, 2, 0, 199]], [2, 4], "int32");
    const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, w2: tf.Tensor, e: tf.Tensor) => {
      const h = linear(
        linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
        w2 as tf.Tensor2D,
        tf.zeros([32]),
      );
      const z = tiedLogits(h as tf.Tensor2D, e as tf.Tensor2D); // [64, 200]
      const hh = tf.reshape(tf.slice(h, [0, 0], [8, 32]), [2, 4, 32]) as tf.Tensor3D;
      const chunked = tiedLmLoss(hh, ids, e as tf.Tensor2D, undefined, 2 * 200); // 2-row chunks
      return tf.add(tf.mean(tf.square(z)), chunked) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)([x, w, b, w2, e]);
    return [value, ...grads];
  }, "linear + tiedLogits + chunked tiedLmLoss");
});

Deno.test("GPT and LSTM losses and gradients match cpu with the BLAS products (1e-5)", {
  ignore: !HAVE,
}, async () => {
  const ids = [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]];
  for (
    const make of [
      () => new Gpt1Model(makeConfig("tiny"), { seed: 3 }),
      () =>
        new LstmModel(makeLstmConfig("tiny", { vocabSize: 32, nCtx: 16, nEmbd: 16, nHidden: 24 }), {
          seed: 3,
        }),
    ]
  ) {
    let names: string[] = [];
    const f = () => {
      const m = make();
      const { value, grads } = m.valueAndGrads(() => m.lmLossTensor(ids));
      names = [...grads.keys()];
      const out = [value, ...grads.values()];
      m.dispose();
      return out;
    };
    await parity(f, `model ${names.length} grads`);
  }
});

Deno.test("no leaks and a repeatable loss sequence at a fixed thread count", {
  ignore: !HAVE,
}, async () => {
  await selectBackend({ force: "wasm", ...quiet });
  const x = [[1, 5, 9, 13, 2, 6, 10, 14], [3, 7, 11, 15, 4, 8, 12, 16]];
  const run = async () => {
    const m = new Gpt1Model(makeConfig("tiny"), { seed: 7 });
    const losses: number[] = [], counts: number[] = [];
    for (let s = 0; s < 5; s++) {
      const loss = tf.tidy(() => {
        const { value, grads } = m.valueAndGrads(() =>
          m.lmLossTensor(x, { training: true, seed: s })
        );
        for (const [name, g] of grads) {
          const p = m.params.get(name)!;
          p.assign(tf.sub(p, tf.mul(g, 0.5)));
        }
        return value;
      });
      losses.push((await loss.data())[0]);
      loss.dispose();
      counts.push(tf.memory().numTensors);
    }
    m.dispose();
    return { losses, counts };
  };
  const a = await run(), b = await run();
  assertEquals(new Set(a.counts).size, 1, `numTensors per step: ${a.counts}`);
  assertEquals(a.losses, b.losses, "bitwise the same loss sequence");
  assert(a.losses[4] < a.losses[0], `the loss falls: ${a.losses}`);
});
