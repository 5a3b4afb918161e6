/**
 * `deno task bench:gpu`: the WebGPU engine (lib/webgpu/) on whatever adapter exists. For each
 * shape it prints the dispatches per step and the JavaScript host time per step (writing the
 * inputs and recording every dispatch into one encoder; nothing is read back inside a step), the
 * host µs per dispatch, the time `queue.submit` took (on lavapipe under Deno it waits for the
 * previous step's work, so it measures the CPU rasterizer, not the host), the whole `step()`, and the wall-clock tokens/s including the
 * GPU work (one asynchronous stats readback every `--read-every` steps). On the software adapter
 * (lavapipe) the tokens/s measure the CPU, not a GPU: the host-time columns are the figures that
 * matter there. Goal (issue 16): a few ms plus a few µs per dispatch, independent of the width.
 *
 * Flags: `--shapes L2C64,L2C256,L4C64,L4C256` (layers and width; heads = C/32, T 64, V 512),
 * `--preset small|gpt1` (instead of --shapes; needs a hardware adapter's buffer limits for gpt1),
 * `--batch 4`, `--steps 16`, `--warmup 2`, `--read-every 8`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { makeConfig, type PresetName } from "../lib/config.ts";
import { requestGpu, WebGpuGptEngine } from "../lib/webgpu/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    shapes: { type: "string", default: "L2C64,L2C256,L4C64,L4C256" },
    preset: { type: "string" },
    batch: { type: "string", default: "4" },
    steps: { type: "string", default: "16" },
    warmup: { type: "string", default: "2" },
    "read-every": { type: "string", default: "8" },
  },
});

const gpu = await requestGpu();
if (!gpu) {
  console.log("no WebGPU adapter (navigator.gpu): nothing to measure");
  Deno.exit(0);
}
console.log(`adapter: ${gpu.description}`);
const B = Number(values.batch), steps = Number(values.steps), warmup = Number(values.warmup);
const readEvery = Number(values["read-every"]);

const configs = values.preset
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rows: string[] = [];
for (const { name, cfg } of configs) {
  const T = cfg.nCtx, V = cfg.vocabSize + cfg.nSpecial;
  const t0 = performance.now();
  const eng = await WebGpuGptEngine.create(gpu, cfg, {
    batchSize: B,
    adam: { lr: 2.5e-4, schedule: "constant" },
  });
  const buildMs = performance.now() - t0;
  const ids = new Int32Array(B * T);
  let s = 1;
  const batch = () => {
    for (let i = 0; i < ids.length; i++) ids[i] = (s = (s * 1103515245 + 12345) >>> 0) % V;
    return ids;
  };
  for (let i = 0; i < warmup; i++) eng.step(batch(), i);
  await eng.readStats();
  const host: number[] = [], rec: number[] = [], sub: number[] = [];
  const w0 = performance.now();
  let last = NaN;
  for (let i = 0; i < steps; i++) {
    const x = batch();
    const h0 = performance.now();
    eng.step(x, warmup + i);
    host.push(performance.now() - h0);
    rec.push(eng.lastStepHostMs.write + eng.lastStepHostMs.record);
    sub.push(eng.lastStepHostMs.submit);
    if ((i + 1) % readEvery === 0) last = (await eng.readStats()).at(-1)?.loss ?? last;
  }
  last = (await eng.readStats()).at(-1)?.loss ?? last;
  const wallS = (performance.now() - w0) / 1000;
  const d = eng.dispatchesPerStep, hm = median(host), rm = median(rec), sm = median(sub);
  const cells = [
    name,
    cfg.nLayer,
    cfg.nEmbd,
    d,
    rm.toFixed(2),
    (rm * 1000 / d).toFixed(1),
    sm.toFixed(1),
    hm.toFixed(1),
    (B * T * steps / wallS).toFixed(0),
    buildMs.toFixed(0),
    last.toFixed(3),
  ];
  rows.push(`| ${cells.join(" | ")} |`);
  eng.dispose();
}
console.log(`\nbatch ${B}, ${steps} timed steps after ${warmup}, stats read every ${readEvery}`);
console.log(
  "record = writing inputs + encoding every dispatch (the host cost of a step); submit = " +
    "queue.submit, which waits for earlier GPU work on adapters that execute on submit",
);
console.log(
  "| shape | L | C | disp | record ms | µs/disp | submit ms | step() ms | tokens/s | build ms | loss |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
