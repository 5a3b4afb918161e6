/**
 * `deno task bench:gpu`: the GPT-1 training step on WebGPU, on whatever adapter exists.
 *
 * - `--engine ours` (default): the project's engine (lib/webgpu/). For each shape it prints the
 *   dispatches per step and the JavaScript host time per step (writing the inputs and recording
 *   every dispatch into one encoder; nothing is read back inside a step), the host µs per
 *   dispatch, the time `queue.submit` took (on lavapipe under Deno it waits for the previous
 *   step's work, so it measures the CPU rasterizer, not the host), the whole `step()`, and the
 *   wall-clock tokens/s including the GPU work (one asynchronous stats readback every
 *   `--read-every` steps).
 * - `--engine tfjs`: stock tfjs-webgpu (`Gpt1Model` + `OpenAIAdam` on the tfjs `webgpu` backend,
 *   one loss readback per step, as `pretrain` does on tfjs): the median step time and tokens/s.
 * - `--matmul N`: our matmul kernel's TFLOP/s on `N×N · N×N` (f32; 10 back-to-back dispatches in
 *   one submit after 2 warm-ups; the time of an empty submit + sync is subtracted), the 128×128
 *   kernel unless `--matmul-kernel 64`.
 *
 * On the software adapter (lavapipe) the tokens/s measure the CPU, not a GPU: the host-time
 * columns are the figures that matter there. Goal (issue 16): a few ms plus a few µs per
 * dispatch, independent of the width.
 *
 * Flags: `--shapes L2C64,L2C256,L4C64,L4C256` (layers and width; heads = C/32, T 64, V 512),
 * `--preset small|gpt1|tiny` (instead of --shapes), `--batch 4`, `--micro-batch N` (ours:
 * windows per micro-batch, default the whole batch), `--matmul-kernel 64|128|auto` (the engine's
 * `matmul` option), `--steps 16`, `--warmup 2`, `--read-every
 * 8`, `--max-seconds S` (stop the timed steps after S s, at least one), `--json FILE` (the rows
 * as JSON, for bench/gpu_device.sh), `--print-config PRESET` (print the preset's config as JSON
 * and exit; bench/torch_gpu_step.py takes it), `--profile` (ours: after the timed steps, each
 * dispatch of a step timed alone, summed by kind: where the GPU time goes).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type Gpt1Config, makeConfig, type PresetName } from "../lib/config.ts";
import { requestGpu, WebGpuGptEngine } from "../lib/webgpu/mod.ts";
import { matmul128Wgsl, matmulVec4, matmulWgsl, TILE, TILE_L } from "../lib/webgpu/kernels.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    shapes: { type: "string", default: "L2C64,L2C256,L4C64,L4C256" },
    preset: { type: "string" },
    engine: { type: "string", default: "ours" },
    batch: { type: "string", default: "4" },
    "micro-batch": { type: "string" },
    steps: { type: "string", default: "16" },
    warmup: { type: "string", default: "2" },
    "read-every": { type: "string", default: "8" },
    "max-seconds": { type: "string" },
    matmul: { type: "string" },
    "matmul-kernel": { type: "string", default: "auto" },
    json: { type: "string" },
    "print-config": { type: "string" },
    profile: { type: "boolean" },
  },
});

if (values["print-config"]) {
  console.log(JSON.stringify(makeConfig(values["print-config"] as PresetName)));
  Deno.exit(0);
}

/** One measured row (the `--json` output's `rows`). */
interface Row {
  name: string;
  engine: string;
  L: number;
  C: number;
  B: number;
  T: number;
  dispatches: number | null;
  recordMs: number | null;
  stepMs: number;
  tokensPerSec: number;
  buildMs: number;
  loss: number;
  steps: number;
  profile?: { kind: string; count: number; ms: number }[] | null;
}

const gpu = await requestGpu();
if (!gpu) {
  console.log("no WebGPU adapter (navigator.gpu): nothing to measure");
  Deno.exit(0);
}
console.log(`adapter: ${gpu.description}${gpu.hardware ? "" : " (software)"}`);
const B = Number(values.batch), steps = Number(values.steps), warmup = Number(values.warmup);
const readEvery = Number(values["read-every"]);
const maxMs = values["max-seconds"] ? Number(values["max-seconds"]) * 1000 : Infinity;
const micro = values["micro-batch"] ? Number(values["micro-batch"]) : B;
const kernel = values["matmul-kernel"] as "64" | "128" | "auto";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const configs: { name: string; cfg: Gpt1Config }[] = values.preset
  ? [{ name: values.preset, cfg: makeConfig(values.preset as PresetName) }]
  : values.shapes!.split(",").map((s) => {
    const m = /^L(\d+)C(\d+)$/.exec(s.trim());
    if (!m) throw new Error(`--shapes: "${s}" is not L<layers>C<width>`);
    const L = Number(m[1]), C = Number(m[2]);
    return {
      name: s,
      cfg: makeConfig("tiny", {
        nLayer: L,
        nEmbd: C,
        nHead: Math.max(1, C / 32),
        nInner: 4 * C,
        nCtx: 64,
        vocabSize: 509,
        nSpecial: 3,
      }),
    };
  });

/** Pseudo-random token ids of `n` positions below `V` (one generator for the whole run). */
let seedState = 1;
function randomIds(out: Int32Array, V: number): Int32Array {
  for (let i = 0; i < out.length; i++) {
    out[i] = ((seedState = (seedState * 1103515245 + 12345) >>> 0) >>> 8) % V; // high bits
  }
  return out;
}

async function benchOurs(name: string, cfg: Gpt1Config): Promise<Row> {
  const T = cfg.nCtx, V = cfg.vocabSize + cfg.nSpecial;
  const t0 = performance.now();
  const eng = await WebGpuGptEngine.create(gpu!, cfg, {
    batchSize: B,
    microBatches: B / micro,
    adam: { lr: 2.5e-4, schedule: "constant" },
    matmul: kernel,
  });
  const buildMs = performance.now() - t0;
  const ids = new Int32Array(B * T);
  for (let i = 0; i < warmup; i++) eng.step(randomIds(ids, V), i);
  await eng.readStats();
  const host: number[] = [], rec: number[] = [];
  const w0 = performance.now();
  let last = NaN, done = 0;
  for (let i = 0; i < steps; i++) {
    const x = randomIds(ids, V);
    const h0 = performance.now();
    eng.step(x, warmup + i);
    host.push(performance.now() - h0);
    rec.push(eng.lastStepHostMs.write + eng.lastStepHostMs.record);
    done++;
    if ((i + 1) % readEvery === 0) last = (await eng.readStats()).at(-1)?.loss ?? last;
    if (performance.now() - w0 > maxMs) break;
  }
  last = (await eng.readStats()).at(-1)?.loss ?? last;
  const wallMs = performance.now() - w0;
  let profile: { kind: string; count: number; ms: number }[] | null = null;
  if (values.profile) {
    const per = await eng.profile();
    const by = new Map<string, { kind: string; count: number; ms: number }>();
    for (const { label, ms } of per) {
      const kind = label.replace(/^h\d+\./, "");
      const e = by.get(kind) ?? { kind, count: 0, ms: 0 };
      e.count++;
      e.ms += ms;
      by.set(kind, e);
    }
    const k = eng.microBatches; // forward/head/backward dispatches run k times a step
    profile = [...by.values()]
      .map((e) => ({
        ...e,
        ms: ["norm.partial", "stats", "adam"].includes(e.kind) ? e.ms : e.ms * k,
      }))
      .sort((a, b) => b.ms - a.ms);
    const total = profile.reduce((a, e) => a + e.ms, 0);
    console.log(
      `${name}: GPU time by dispatch kind (each timed alone), ${total.toFixed(1)} ms/step in all`,
    );
    console.log("| kind | dispatches | ms/step | share |\n|---|---|---|---|");
    for (const e of profile) {
      console.log(
        `| ${e.kind} | ${e.count} | ${e.ms.toFixed(2)} | ${(100 * e.ms / total).toFixed(1)}% |`,
      );
    }
  }
  const d = eng.dispatchesPerStep, rm = median(rec);
  console.log(
    `${name} ours: ${d} dispatches, record ${rm.toFixed(2)} ms (${(rm * 1000 / d).toFixed(1)} ` +
      `µs/dispatch), submit ${median(host.map((h, i) => h - rec[i])).toFixed(1)} ms, ` +
      `${(wallMs / done).toFixed(1)} ms/step, ${(B * T * done / (wallMs / 1000)).toFixed(0)} tok/s`,
  );
  eng.dispose();
  return {
    name,
    engine: `ours (matmul ${kernel}${micro === B ? "" : `, micro-batch ${micro}`})`,
    L: cfg.nLayer,
    C: cfg.nEmbd,
    B,
    T,
    dispatches: d,
    recordMs: rm,
    stepMs: wallMs / done,
    tokensPerSec: B * T * done / (wallMs / 1000),
    buildMs,
    loss: last,
    steps: done,
    profile,
  };
}

async function benchTfjs(name: string, cfg: Gpt1Config): Promise<Row> {
  const { selectBackend } = await import("../lib/backend.ts");
  const { Gpt1Model } = await import("../lib/model.ts");
  const { OpenAIAdam } = await import("../lib/optim.ts");
  await selectBackend({ force: "webgpu", log: () => {} });
  const T = cfg.nCtx, V = cfg.vocabSize + cfg.nSpecial;
  const t0 = performance.now();
  const model = new Gpt1Model(cfg, { seed: 1 });
  const opt = new OpenAIAdam(model.params, { lr: 2.5e-4, schedule: "constant" });
  const buildMs = performance.now() - t0;
  const ids = new Int32Array(B * T);
  const times: number[] = [];
  let last = NaN;
  const w0 = performance.now();
  for (let i = 0; i < warmup + steps; i++) {
    const s0 = performance.now();
    const x = tf.tensor2d(randomIds(ids, V), [B, T], "int32");
    const { value, grads } = model.valueAndGrads(() =>
      model.lmLossTensor(x, { training: true, seed: i })
    );
    x.dispose();
    const norm = opt.step(grads);
    tf.dispose([...grads.values()]);
    last = (await value.data())[0];
    tf.dispose([value, norm]);
    if (i >= warmup) times.push(performance.now() - s0);
    if (i >= warmup && performance.now() - w0 > maxMs) break;
  }
  const med = median(times);
  console.log(
    `${name} tfjs-webgpu: ${med.toFixed(0)} ms/step, ${(B * T / (med / 1000)).toFixed(0)} tok/s`,
  );
  opt.dispose();
  model.dispose();
  return {
    name,
    engine: "tfjs-webgpu",
    L: cfg.nLayer,
    C: cfg.nEmbd,
    B,
    T,
    dispatches: null,
    recordMs: null,
    stepMs: med,
    tokensPerSec: B * T / (med / 1000),
    buildMs,
    loss: last,
    steps: times.length,
  };
}

/** Our matmul kernel on n×n·n×n: TFLOP/s of `reps` back-to-back dispatches. */
async function benchMatmul(
  n: number,
  reps = 10,
): Promise<{ n: number; ms: number; tflops: number; kernel: string }> {
  const dev = gpu!.device;
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const mk = (size: number, usage: number) => dev.createBuffer({ size, usage });
  const a = mk(n * n * 4, S), b = mk(n * n * 4, S), c = mk(n * n * 4, S);
  const rnd = new Float32Array(n * n).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  dev.queue.writeBuffer(a, 0, rnd);
  dev.queue.writeBuffer(b, 0, rnd);
  const u = dev.createBuffer({ size: 48, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  dev.queue.writeBuffer(u, 0, new Uint32Array([n, n, n, n, n, n, 0, 0, 0, 0, 0, 0]));
  const v = { transA: false, transB: false, bias: false };
  const large = kernel !== "64";
  const module = dev.createShaderModule({
    code: large
      ? matmul128Wgsl(v, matmulVec4(v, { M: n, N: n, K: n, lda: n, ldb: n }))
      : matmulWgsl(v),
  });
  const pipeline = dev.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const bind = dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [u, a, b, c].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const run = async (k: number) => {
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    const t = large ? TILE_L : TILE;
    for (let i = 0; i < k; i++) pass.dispatchWorkgroups(Math.ceil(n / t), Math.ceil(n / t));
    pass.end();
    const t0 = performance.now();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await run(2);
  const sync = Math.min(await run(0), await run(0));
  const ms = Math.max(1e-3, (await run(reps)) - sync) / reps;
  for (const x of [a, b, c, u]) x.destroy();
  const tflops = 2 * n ** 3 / (ms / 1000) / 1e12;
  console.log(
    `matmul ${n}³ (ours, ${large ? "128" : "64"} tiles, f32): ${ms.toFixed(2)} ms, ` +
      `${tflops.toFixed(3)} TFLOP/s`,
  );
  return { n, ms, tflops, kernel: large ? "128" : "64" };
}

const rows: Row[] = [];
let matmul: { n: number; ms: number; tflops: number; kernel: string } | null = null;
if (values.matmul) matmul = await benchMatmul(Number(values.matmul));
else {
  for (const { name, cfg } of configs) {
    rows.push(values.engine === "tfjs" ? await benchTfjs(name, cfg) : await benchOurs(name, cfg));
  }
  console.log(
    `\nbatch ${B}, up to ${steps} timed steps after ${warmup}, stats read every ${readEvery}`,
  );
  console.log(
    "record = writing inputs + encoding every dispatch (the host cost of a step); step ms = wall " +
      "time per step including the GPU work",
  );
  console.log(
    "| shape | engine | L | C | disp | record ms | µs/disp | step ms | tokens/s | build ms | loss |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const cells = [
      r.name,
      r.engine,
      r.L,
      r.C,
      r.dispatches ?? "–",
      r.recordMs?.toFixed(2) ?? "–",
      r.recordMs !== null && r.dispatches ? (r.recordMs * 1000 / r.dispatches).toFixed(1) : "–",
      r.stepMs.toFixed(1),
      r.tokensPerSec.toFixed(0),
      r.buildMs.toFixed(0),
      r.loss.toFixed(3),
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}
if (values.json) {
  await Deno.writeTextFile(
    values.json,
    JSON.stringify({ adapter: gpu.description, hardware: gpu.hardware, rows, matmul }, null, 1),
  );
}
gpu.device.destroy();
