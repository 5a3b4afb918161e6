/**
 * The WebGPU engine (lib/webgpu/) against the tfjs `cpu` reference (lib/model.ts, lib/optim.ts)
 * at small shapes, on whatever adapter exists (in CI the software Vulkan adapter, lavapipe):
 * logits, loss and every gradient (eval and with dropout), 20 training steps, checkpoint round
 * trips between the engines, bit-identical resume, and buffer hygiene. Skipped with a SKIP line
 * when there is no WebGPU adapter.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { selectBackend } from "../../lib/backend.ts";
import { type Gpt1Config, makeConfig } from "../../lib/config.ts";
import { ConfigError } from "../../lib/errors.ts";
import { loadCheckpoint, saveCheckpoint } from "../../lib/checkpoint.ts";
import { Gpt1Model } from "../../lib/model.ts";
import { type AdamOptions, OpenAIAdam } from "../../lib/optim.ts";
import { mixSeed } from "../../lib/random.ts";
import { type GpuContext, requestGpu, RING_SLOTS, WebGpuGptEngine } from "../../lib/webgpu/mod.ts";
import { assert, assertEquals, assertThrows, maxRelErr } from "../_util.ts";

const gpu: GpuContext | null = await requestGpu();
if (!gpu) console.log("SKIP webgpu engine tests: no WebGPU adapter (navigator.gpu)");
else console.log(`webgpu engine tests on: ${gpu.description}`);
const ignore = gpu === null;

// two layers, 3 special tokens, a vocabulary that is no multiple of the tiles
const CFG: Gpt1Config = makeConfig("tiny", {
  vocabSize: 97,
  nSpecial: 3,
  nCtx: 16,
  nEmbd: 32,
  nHead: 2,
  nInner: 64,
  nLayer: 2,
});
const B = 2, T = 16, V = 100, SEED = 3;
// three LM-head chunks of 12, 12 and 8 rows
const CHUNK = 12 * V;
const ADAM: Partial<AdamOptions> = {
  lr: 3e-3,
  schedule: "warmup_cosine",
  warmup: 0.1,
  tTotal: 20,
  maxGradNorm: 1,
  l2: 0.01,
};

/** Deterministic token ids of step `t` (`windows` windows of T). */
function batch(t: number, windows = B): number[] {
  const out: number[] = [];
  for (let i = 0; i < windows * T; i++) out.push((i * 37 + t * 13 + ((i * i) % 7)) % V);
  return out;
}

async function engine(weights?: Map<string, Float32Array>): Promise<WebGpuGptEngine> {
  return await WebGpuGptEngine.create(gpu!, CFG, {
    batchSize: B,
    seed: SEED,
    adam: ADAM,
    headChunkElements: CHUNK,
    weights,
  });
}

const ids2d = (ids: number[]) => tf.tensor2d(ids, [ids.length / T, T], "int32");

Deno.test({
  name: "webgpu engine: logits, loss and every gradient match tfjs cpu (eval and dropout)",
  ignore,
  async fn() {
    await selectBackend({ force: "cpu", log: () => {} });
    const eng = await engine();
    const model = new Gpt1Model(CFG, { seed: SEED });
    try {
      const n0 = tf.memory().numTensors;
      // the engine's default initialization is Gpt1Model's
      const w = await eng.getWeights();
      for (const [name, p] of model.params) {
        assertEquals(w.get(name), p.dataSync() as Float32Array, name);
      }
      const ids = batch(0);
      const z = await eng.logits(ids);
      const ref = tf.tidy(() => model.lmLogitsTensor(ids2d(ids)));
      const zr = ref.dataSync();
      ref.dispose();
      const ez = maxRelErr(z, zr);
      console.log(`  logits max rel err ${ez.toExponential(2)}`);
      assert(ez < 1e-4, `logits ${ez}`);
      for (const training of [false, true]) {
        const r = await eng.lossAndGrads(ids, { training, dropoutSeed: 11 });
        const t = ids2d(ids);
        const { value, grads } = model.valueAndGrads(() =>
          model.lmLossTensor(t, { training, seed: 11 })
        );
        t.dispose();
        const lr = value.dataSync()[0];
        assert(Math.abs(r.loss - lr) / lr < 1e-4, `loss ${r.loss} vs ${lr}`);
        let worst = 0;
        assertEquals([...r.grads.keys()].sort(), [...grads.keys()].sort());
        for (const [name, g] of grads) {
          const e = maxRelErr(r.grads.get(name)!, g.dataSync());
          assert(e < 1e-4, `gradient of ${name}: ${e} (training ${training})`);
          worst = Math.max(worst, e);
        }
        console.log(
          `  training=${training}: loss ${r.loss} vs ${lr}, worst gradient rel err ` +
            worst.toExponential(2),
        );
        tf.dispose([value, ...grads.values()]);
      }
      assertEquals(tf.memory().numTensors, n0, "no tfjs tensors left behind");
    } finally {
      eng.dispose();
      model.dispose();
    }
  },
});

/** `n` tfjs steps as `pretrain` does them (`windows` per batch): loss per step, final weights. */
async function tfjsSteps(
  n: number,
  windows = B,
): Promise<{ losses: number[]; weights: Map<string, Float32Array> }> {
  const model = new Gpt1Model(CFG, { seed: SEED });
  const opt = new OpenAIAdam(model.params, ADAM);
  const losses: number[] = [];
  const n0 = tf.memory().numTensors;
  for (let t = 0; t < n; t++) {
    const ids = ids2d(batch(t, windows));
    const { value, grads } = model.valueAndGrads(() =>
      model.lmLossTensor(ids, { training: true, seed: mixSeed(SEED, t, 1) })
    );
    ids.dispose();
    losses.push((await value.data())[0]);
    const norm = opt.step(grads);
    tf.dispose([value, norm, ...grads.values()]);
    assertEquals(tf.memory().numTensors, n0, "tfjs reference keeps its tensor count");
  }
  const weights = model.getWeights();
  opt.dispose();
  model.dispose();
  return { losses, weights };
}

Deno.test({
  name: "webgpu engine: 20 training steps (dropout, clipping, warmup_cosine, L2) match tfjs",
  ignore,
  async fn() {
    await selectBackend({ force: "cpu", log: () => {} });
    const ref = await tfjsSteps(20);
    const eng = await engine();
    try {
      const stats = [];
      for (let t = 0; t < 20; t++) {
        eng.step(batch(t), mixSeed(SEED, t, 1));
        if ((t + 1) % 8 === 0) stats.push(...await eng.readStats());
      }
      stats.push(...await eng.readStats());
      assertEquals(stats.map((s) => s.step), [...Array(20).keys()]);
      let worst = 0;
      for (let t = 0; t < 20; t++) {
        assert(!stats[t].nonFinite && Number.isFinite(stats[t].gradNorm));
        worst = Math.max(worst, Math.abs(stats[t].loss - ref.losses[t]));
      }
      console.log(
        `  losses ${ref.losses[0].toFixed(4)} -> ${ref.losses[19].toFixed(4)}; ` +
          `max |Δloss| ${worst.toExponential(2)}`,
      );
      assert(worst < 1e-3, `loss sequence differs by ${worst}`);
      // random batches, 20 warmup-cosine steps: the fall is small (4.60 -> 4.57 measured), but it is a fall
      assert(ref.losses[19] < ref.losses[0] - 0.01, "the loss falls");
      const w = await eng.getWeights();
      let we = 0;
      for (const [name, a] of ref.weights) we = Math.max(we, maxRelErr(w.get(name)!, a));
      console.log(`  final weights max rel err ${we.toExponential(2)}`);
      assert(we < 1e-3, `weights after 20 steps differ by ${we}`);
    } finally {
      eng.dispose();
    }
  },
});

Deno.test({
  name: "webgpu engine: checkpoint round trip with tfjs (safetensors) and bit-identical resume",
  ignore,
  async fn() {
    await selectBackend({ force: "cpu", log: () => {} });
    const dir = await Deno.makeTempDir({ prefix: "gpt1-webgpu-test-" });
    const a = await engine();
    try {
      const run = async (e: WebGpuGptEngine, from: number, to: number) => {
        for (let t = from; t < to; t++) e.step(batch(t), mixSeed(SEED, t, 1));
        return (await e.readStats()).map((s) => s.loss);
      };
      await run(a, 0, 5);
      const w5 = await a.getWeights(), s5 = await a.getOptimizerState();
      assertEquals(s5.step, 5);
      // engine → tfjs model + optimizer → safetensors → tfjs → new engine
      const n0 = tf.memory().numTensors;
      const model = new Gpt1Model(CFG, { seed: SEED });
      const opt = new OpenAIAdam(model.params, ADAM);
      model.setWeights(w5);
      opt.loadStateDict(s5);
      const path = join(dir, "latest.safetensors");
      await saveCheckpoint(path, { model, optimizer: opt, step: 5, dtype: "F32" });
      opt.dispose();
      model.dispose();
      const ck = await loadCheckpoint(path);
      const wck = ck.model.getWeights();
      for (const [name, x] of w5) assertEquals(wck.get(name), x, `checkpoint keeps ${name}`);
      const b = await engine(wck);
      ck.model.dispose();
      assertEquals(tf.memory().numTensors, n0, "no tensors left behind");
      try {
        b.setOptimizerState(ck.optimizerState!);
        assertEquals(b.t, 5);
        const la = await run(a, 5, 10), lb = await run(b, 5, 10);
        assertEquals(lb, la, "resumed losses are bit-identical");
        const wa = await a.getWeights(), wb = await b.getWeights();
        for (const [name, x] of wa) assertEquals(wb.get(name), x, `resumed ${name}`);
        const oa = await a.getOptimizerState(), ob = await b.getOptimizerState();
        for (const [name, x] of oa.v) assertEquals(ob.v.get(name), x, `resumed v of ${name}`);
        // the engine's weights load into tfjs and give the same loss there
        const m2 = new Gpt1Model(CFG, { seed: SEED });
        m2.setWeights(wb);
        const ids = batch(3);
        const lt = await m2.lmLoss([ids.slice(0, T), ids.slice(T)]);
        const le = (await b.lossAndGrads(ids)).loss;
        m2.dispose();
        assert(Math.abs(lt - le) / lt < 1e-5, `eval loss ${le} vs tfjs ${lt}`);
      } finally {
        b.dispose();
      }
    } finally {
      a.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "webgpu engine: nothing created per step; ring, ids and NaN guard checked",
  ignore,
  async fn() {
    const eng = await engine();
    try {
      eng.step(batch(0), 1);
      await eng.readStats();
      const c0 = eng.counts;
      for (let t = 1; t <= RING_SLOTS; t++) eng.step(batch(t), t);
      assertThrows(() => eng.step(batch(0), 0), ConfigError, "a full ring refuses a step");
      assertEquals((await eng.readStats()).length, RING_SLOTS);
      assertEquals(eng.counts, c0, "no buffer, bind group or pipeline per step");
      assert(eng.dispatchesPerStep > 0);
      assertThrows(() => eng.step(batch(0).map(() => V), 0), ConfigError);
      assertThrows(() => eng.step([1, 2, 3], 0), ConfigError);
      // a NaN weight: the step is flagged and no update happens from then on
      const w = await eng.getWeights();
      w.get("h.0.ln_1.weight")![0] = NaN;
      eng.setWeights(w);
      eng.step(batch(1), 1);
      eng.step(batch(2), 2);
      const st = await eng.readStats();
      assert(st[0].nonFinite && st[0].stopped && st[1].stopped, JSON.stringify(st));
      const after = await eng.getWeights();
      for (const [name, x] of w) assertEquals(after.get(name), x, `${name} kept`);
    } finally {
      eng.dispose();
    }
  },
});

Deno.test({
  name: "webgpu engine: gradient accumulation (2 micro-batches of 2) = one batch of 4 in tfjs",
  ignore,
  async fn() {
    await selectBackend({ force: "cpu", log: () => {} });
    const W = 2 * B;
    const acc = await WebGpuGptEngine.create(gpu!, CFG, {
      batchSize: W,
      microBatches: 2,
      seed: SEED,
      adam: ADAM,
      headChunkElements: CHUNK,
    });
    const model = new Gpt1Model(CFG, { seed: SEED });
    try {
      assertEquals([acc.microBatch, acc.microBatches], [B, 2]);
      // loss and every gradient, with dropout: the masks are those of the whole batch
      const ids = batch(0, W);
      const r = await acc.lossAndGrads(ids, { training: true, dropoutSeed: 5 });
      const t = ids2d(ids);
      const { value, grads } = model.valueAndGrads(() =>
        model.lmLossTensor(t, { training: true, seed: 5 })
      );
      t.dispose();
      const lr = value.dataSync()[0];
      let worst = 0;
      for (const [name, g] of grads) {
        const e = maxRelErr(r.grads.get(name)!, g.dataSync());
        assert(e < 1e-4, `accumulated gradient of ${name}: ${e}`);
        worst = Math.max(worst, e);
      }
      tf.dispose([value, ...grads.values()]);
      console.log(
        `  one step: loss ${r.loss} vs tfjs ${lr}; worst gradient rel err ${
          worst.toExponential(2)
        }`,
      );
      assert(Math.abs(r.loss - lr) / lr < 1e-5, `loss ${r.loss} vs ${lr}`);
      // 10 updates against tfjs steps on batches of 4
      const ref = await tfjsSteps(10, W);
      for (let s = 0; s < 10; s++) acc.step(batch(s, W), mixSeed(SEED, s, 1));
      const st = await acc.readStats();
      const dl = Math.max(...st.map((x, s) => Math.abs(x.loss - ref.losses[s])));
      const w = await acc.getWeights();
      let we = 0;
      for (const [name, a] of ref.weights) we = Math.max(we, maxRelErr(w.get(name)!, a));
      console.log(`  10 steps: max |Δloss| ${dl.toExponential(2)}, weights ${we.toExponential(2)}`);
      assert(dl < 1e-3 && we < 1e-3, `accumulated steps differ: loss ${dl}, weights ${we}`);
      // evaluation: mean loss of the first windows of a micro-batch, as tfjs computes it
      const e1 = await acc.evalLoss(batch(7, B), 1);
      const l1 = await model.lmLoss([batch(7, B).slice(0, T)]);
      const e2 = await acc.evalLoss(batch(7, B));
      const l2 = await model.lmLoss([batch(7, B).slice(0, T), batch(7, B).slice(T)]);
      // the model above kept its initial weights: compare after loading the engine's
      model.setWeights(w);
      const l1w = await model.lmLoss([batch(7, B).slice(0, T)]);
      const l2w = await model.lmLoss([batch(7, B).slice(0, T), batch(7, B).slice(T)]);
      assert(l1 !== l1w && l2 !== l2w, "the weights changed");
      assert(Math.abs(e1 - l1w) / l1w < 1e-5, `evalLoss(1 window) ${e1} vs ${l1w}`);
      assert(Math.abs(e2 - l2w) / l2w < 1e-5, `evalLoss(2 windows) ${e2} vs ${l2w}`);
      assertThrows(() => acc.step(batch(0, B), 0), ConfigError, "a step takes all 4 windows");
    } finally {
      acc.dispose();
      model.dispose();
    }
  },
});

for (
  const [what, over] of [
    ["120 rows (two column-sum chunks, the last partial)", {}],
    ["head size 5, width 30 (scalar loads in attention and matmuls)", { nEmbd: 30, nHead: 6 }],
  ] as const
) {
  Deno.test({
    name: `webgpu engine: gradients over ${what}`,
    ignore,
    async fn() {
      await selectBackend({ force: "cpu", log: () => {} });
      const cfg = makeConfig("tiny", { ...CFG, nCtx: 40, ...over });
      const Bn = 3, Tn = 40;
      const eng = await WebGpuGptEngine.create(gpu!, cfg, {
        batchSize: Bn,
        seed: SEED,
        adam: ADAM,
      });
      const model = new Gpt1Model(cfg, { seed: SEED });
      try {
        const ids = Array.from({ length: Bn * Tn }, (_, i) => (i * 31 + ((i * i) % 11)) % V);
        const r = await eng.lossAndGrads(ids, { training: true, dropoutSeed: 4 });
        const t = tf.tensor2d(ids, [Bn, Tn], "int32");
        const { value, grads } = model.valueAndGrads(() =>
          model.lmLossTensor(t, { training: true, seed: 4 })
        );
        t.dispose();
        let worst = 0;
        for (const [name, g] of grads) {
          const e = maxRelErr(r.grads.get(name)!, g.dataSync());
          assert(e < 1e-4, `gradient of ${name}: ${e}`);
          worst = Math.max(worst, e);
        }
        const lr = value.dataSync()[0];
        tf.dispose([value, ...grads.values()]);
        console.log(
          `  ${what}: loss ${r.loss} vs ${lr}, worst gradient rel err ${worst.toExponential(2)}`,
        );
        assert(Math.abs(r.loss - lr) / lr < 1e-5);
      } finally {
        eng.dispose();
        model.dispose();
      }
    },
  });
}
