/**
 * `pretrain` on the WebGPU engine (lib/train_webgpu.ts) against the tfjs engine, at a tiny shape
 * on whatever adapter exists (in CI the software Vulkan adapter, lavapipe): the same losses,
 * log records (written during training, not at the end), checkpoint files and validation;
 * resume across engines both ways; gradient accumulation; the NaN guard; the engine choice.
 * The pretrain tests are skipped with a SKIP line when there is no WebGPU adapter.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { selectBackend } from "../../lib/backend.ts";
import { loadCheckpoint } from "../../lib/checkpoint.ts";
import { makeConfig } from "../../lib/config.ts";
import { ConfigError } from "../../lib/errors.ts";
import { checkpointName, listCheckpoints, type LogRecord, readLog } from "../../lib/runs.ts";
import { DivergenceError, pretrain, type PretrainOptions } from "../../lib/train.ts";
import {
  activationBytesPerWindow,
  chooseEngine,
  defaultMicroBatch,
  webgpuEngine,
} from "../../lib/train_webgpu.ts";
import { type GpuContext, requestGpu } from "../../lib/webgpu/mod.ts";
import { assert, assertEquals, assertRejects } from "../_util.ts";
import { toyCorpus } from "../_toy.ts";

const gpu: GpuContext | null = await requestGpu();
if (!gpu) console.log("SKIP pretrain on the webgpu engine: no WebGPU adapter (navigator.gpu)");
else console.log(`pretrain on the webgpu engine: ${gpu.description}`);
const ignore = gpu === null;

const CONFIG = makeConfig("tiny", { vocabSize: 32, nCtx: 16, nEmbd: 32, nInner: 64 });
const TRAIN = toyCorpus(6_000, 11), VALID = toyCorpus(1_200, 12);

function base(outDir: string): PretrainOptions {
  return {
    config: CONFIG,
    train: TRAIN,
    valid: VALID,
    outDir,
    steps: 24,
    batchSize: 4,
    lr: 3e-3,
    warmupSteps: 3,
    evalEvery: 12,
    evalWindows: 9, // not a multiple of the micro-batch: the last evaluation batch is padded
    logEvery: 4,
    ckptEvery: 8,
    seed: 5,
  };
}

const maxDiff = (a: number[], b: number[]) => {
  assertEquals(a.length, b.length, "as many losses");
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
};

const strip = (log: LogRecord[]) =>
  log.map(({ kind, step, lr, tokens }) => ({ kind, step, lr, tokens }));

Deno.test("chooseEngine: tfjs as asked; auto takes webgpu only on a hardware adapter", async () => {
  let destroyed = 0;
  const fake = (hardware: boolean): GpuContext => ({
    device: { destroy: () => destroyed++ } as unknown as GPUDevice,
    description: hardware ? "Some GPU 9000" : "llvmpipe (LLVM 15.0.6, 256 bits)",
    hardware,
    f16: false,
    limits: {} as GPUSupportedLimits,
  });
  const none = () => Promise.resolve(null);
  const hw = () => Promise.resolve(fake(true)), sw = () => Promise.resolve(fake(false));
  const nodes = () => null; // as on a machine with a GPU device node: auto asks for an adapter
  assertEquals((await chooseEngine("tfjs", "gpt1", hw)).engine, "tfjs");
  const a = await chooseEngine("auto", "gpt1", hw, nodes);
  assertEquals([a.engine, a.line], [
    "webgpu",
    "[gpt1] engine: webgpu (hardware adapter Some GPU 9000)",
  ]);
  const s = await chooseEngine("auto", "gpt1", sw, nodes);
  assertEquals(s.engine, "tfjs");
  assert(s.why.includes("software") && s.gpu === undefined && destroyed === 1, s.why);
  assertEquals((await chooseEngine("auto", "gpt1", none, nodes)).why, "no WebGPU adapter");
  assertEquals((await chooseEngine("auto", "lstm", hw)).engine, "tfjs");
  assertEquals((await chooseEngine("webgpu", "gpt1", sw)).engine, "webgpu", "asked: allowed");
  await assertRejects(() => chooseEngine("webgpu", "lstm", hw), ConfigError);
  await assertRejects(() => chooseEngine("webgpu", "gpt1", none), ConfigError);
  await assertRejects(() => chooseEngine("cuda", "gpt1", hw), ConfigError);
  // the default micro-batch: the largest divisor of the batch that fits the budget
  const g = makeConfig("gpt1");
  const per = activationBytesPerWindow(g);
  assertEquals(defaultMicroBatch(g, 64, 8 * per), 8);
  assertEquals(defaultMicroBatch(g, 64, 20 * per), 16);
  assertEquals(defaultMicroBatch(g, 6, 4 * per), 3);
  assertEquals(defaultMicroBatch(g, 8, per / 2), 1);
});

Deno.test({
  name: "pretrain on webgpu = pretrain on tfjs: losses, live log records, checkpoints, validation",
  ignore,
  async fn() {
    await selectBackend({ force: "cpu", log: () => {} });
    const a = await Deno.makeTempDir({ prefix: "gpt1-tfjs-" });
    const b = await Deno.makeTempDir({ prefix: "gpt1-webgpu-" });
    try {
      const ref = await pretrain(base(a));
      ref.model.dispose();
      // records arrive during training: when a record is passed on, log.jsonl holds it and the
      // run has not reached its end
      const seen: number[] = [];
      let lines = 0;
      const n0 = tf.memory().numTensors;
      const r = await pretrain({
        ...base(b),
        engine: webgpuEngine(gpu!),
        onLog: (rec) => {
          seen.push(rec.step);
          lines = Deno.readTextFileSync(join(b, "log.jsonl")).trim().split("\n").length;
          assert(lines === seen.length, `log.jsonl has ${lines} lines at record ${seen.length}`);
        },
      });
      assertEquals(seen.slice(0, 3), [4, 8, 12], "train records every 4 updates, as they happen");
      const d = maxDiff(r.losses, ref.losses);
      console.log(
        `  24 steps: tfjs ${ref.losses[0].toFixed(4)} -> ${ref.losses[23].toFixed(4)}, ` +
          `max |Δloss| ${d.toExponential(2)}; valid ${r.validLoss} vs ${ref.validLoss}`,
      );
      assert(d < 1e-3, `losses differ by ${d}`);
      assert(ref.losses[23] < ref.losses[0] - 0.3, "the loss falls");
      assert(Math.abs(r.validLoss! - ref.validLoss!) < 1e-3, "validation loss");
      const la = await readLog(a), lb = await readLog(b);
      assertEquals(strip(lb), strip(la), "the same records (kind, step, lr, tokens)");
      assert(lb.every((x) => x.backend === "webgpu-engine"), "records name the engine");
      assertEquals(
        (await listCheckpoints(b)).map((c) => c.step),
        (await listCheckpoints(a)).map((c) => c.step),
      );
      const ck = await loadCheckpoint(join(b, checkpointName(16)));
      assertEquals(ck.step, 16);
      ck.model.dispose();
      const cfg = JSON.parse(await Deno.readTextFile(join(b, "config.json")));
      assertEquals([cfg.engine, cfg.engineInfo.microBatches], ["webgpu", 1]);
      assertEquals(JSON.parse(await Deno.readTextFile(join(a, "config.json"))).engine, "tfjs");
      // the returned model is a tfjs model with the engine's final weights
      const lt = await r.model.lmLoss([Array.from(VALID.subarray(0, 16))]);
      assert(Number.isFinite(lt));
      r.model.dispose();
      assertEquals(tf.memory().numTensors, n0, "no tfjs tensors left behind");
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  },
});

Deno.test({
  name: "resume across engines: webgpu → tfjs and tfjs → webgpu continue the same losses",
  ignore,
  async fn() {
    await selectBackend({ force: "cpu", log: () => {} });
    const dirs = await Promise.all([0, 1, 2].map(() => Deno.makeTempDir({ prefix: "gpt1-x-" })));
    try {
      const full = await pretrain(base(dirs[0]));
      full.model.dispose();
      for (
        const [first, second, dir] of [["webgpu", "tfjs", dirs[1]], ["tfjs", "webgpu", dirs[2]]]
      ) {
        const eng = (name: string) => name === "webgpu" ? webgpuEngine(gpu!) : undefined;
        const p1 = await pretrain({ ...base(dir), engine: eng(first), stopAfter: 10 });
        p1.model.dispose();
        const ck = await loadCheckpoint(join(dir, "latest.safetensors"));
        assertEquals(ck.step, 10, "latest holds the stopping point");
        assert(ck.optimizerState !== undefined, "with the optimizer state");
        ck.model.dispose();
        const p2 = await pretrain({ ...base(dir), engine: eng(second), resume: true });
        p2.model.dispose();
        const d = maxDiff([...p1.losses, ...p2.losses], full.losses);
        console.log(`  ${first} 10 steps, then ${second} 14: max |Δloss| ${d.toExponential(2)}`);
        assert(d < 1e-3, `${first} → ${second}: losses differ by ${d}`);
        assertEquals(strip(await readLog(dir)), strip(await readLog(dirs[0])));
        const cfg = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
        assertEquals(cfg.engine, second, "config.json records the engine of the last call");
      }
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
    }
  },
});

Deno.test({
  name: "pretrain on webgpu with gradient accumulation (2 × 2 windows) = tfjs batches of 4",
  ignore,
  async fn() {
    await selectBackend({ force: "cpu", log: () => {} });
    const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
    try {
      const o = { steps: 12, evalEvery: 6, ckptEvery: 100 };
      const ref = await pretrain({ ...base(a), ...o });
      ref.model.dispose();
      const lines: string[] = [];
      const r = await pretrain({
        ...base(b),
        ...o,
        engine: webgpuEngine(gpu!, { microBatch: 2, log: (l) => lines.push(l) }),
      });
      r.model.dispose();
      assert(lines[0].includes("2 micro-batch(es) of 2 windows"), lines[0]);
      const d = maxDiff(r.losses, ref.losses);
      console.log(`  12 steps in micro-batches: max |Δloss| ${d.toExponential(2)}`);
      assert(d < 1e-3, `losses differ by ${d}`);
      assert(Math.abs(r.validLoss! - ref.validLoss!) < 1e-3, "validation loss");
      await assertRejects(
        () => pretrain({ ...base(b), ...o, engine: webgpuEngine(gpu!, { microBatch: 3 }) }),
        ConfigError,
      );
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  },
});

Deno.test({
  name: "NaN guard on webgpu: stops at the step, keeps the last good checkpoint",
  ignore,
  async fn() {
    await selectBackend({ force: "cpu", log: () => {} });
    const dir = await Deno.makeTempDir();
    try {
      let err: DivergenceError | undefined;
      try {
        await pretrain({
          ...base(dir),
          ckptEvery: 3,
          engine: webgpuEngine(gpu!),
          lossHook: (step, loss) => step === 7 ? NaN : loss,
        });
      } catch (e) {
        if (e instanceof DivergenceError) err = e;
        else throw e;
      }
      assert(err, "no DivergenceError");
      assertEquals(err.step, 7);
      const ck = await loadCheckpoint(join(dir, "latest.safetensors"));
      assertEquals(ck.step, 6);
      ck.model.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
