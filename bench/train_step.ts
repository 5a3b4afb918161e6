/**
 * `deno task bench:train`: times one GPT-1 training step (forward, backward, global-norm clip,
 * OpenAI Adam) of the `tiny`, `small` and `gpt1` presets on the selected backend and, when
 * `python3` can import `torch`, the same step in PyTorch (bench/torch_step.py: same config,
 * same batch) in the same run, at 1 and 2 threads each (ours: the BLAS thread count of
 * lib/blas.ts; the rest of tfjs-wasm is single-threaded), and prints the ratios. Then the
 * matrix-product lines: our wasm kernel (`tf.matMul` through lib/_wasm_blas_kernels.ts, output
 * allocation included) against a direct `cblas_sgemm` call on the same shape.
 *
 * `gpt1` runs with batch `--gpt1-batch` (default 1) and context `--gpt1-seq` (default 512),
 * one warm-up and one timed step: with batch 16 its activations do not fit the 4 GB wasm heap.
 *
 * Flags: `--backend <name>` (else GPT1_BACKEND, else the automatic choice), `--presets
 * tiny,small,gpt1`, `--batch 16`, `--threads 1,2`, `--steps N`, `--warmup 2`, `--no-torch`,
 * `--no-products`, `--profile` (per-kernel times of one step), `--json <file>`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { parseArgs } from "node:util";
import { selectBackend } from "../lib/backend.ts";
import { blasLine, loadBlas } from "../lib/blas.ts";
import { nativeKernelsLine } from "../lib/_native_kernels.ts";
import { makeConfig, type PresetName } from "../lib/config.ts";
import { Gpt1Model } from "../lib/model.ts";
import { OpenAIAdam } from "../lib/optim.ts";

/** Result of timing one preset on one implementation. */
interface Timing {
  impl: string;
  /** Median wall time of a step. */
  medianS: number;
  /** Tokens per second of wall time (batch · seq / medianS). */
  tokensPerS: number;
  /** Median process CPU time of a step (less sensitive to other load; = wall on 1 thread). */
  cpuS: number;
  stepS: number[];
  losses: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function randomIds(B: number, T: number, V: number, seed: number): number[][] {
  let s = seed >>> 0;
  return Array.from({ length: B }, () =>
    Array.from({ length: T }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % V;
    }));
}

/** Times `steps` training steps of `preset` after `warmup` steps on the active backend. */
async function timeOurs(
  preset: PresetName,
  batch: number,
  steps: number,
  warmup: number,
  profile: boolean,
  seq?: number,
): Promise<Timing> {
  const cfg = makeConfig(preset);
  const T = seq ?? cfg.nCtx;
  const model = new Gpt1Model(cfg, { seed: 0 });
  const opt = new OpenAIAdam(model.params, { lr: 2.5e-4, schedule: "constant" });
  const V = cfg.vocabSize + cfg.nSpecial;
  const stepS: number[] = [], cpuS: number[] = [], losses: number[] = [];
  const step = (i: number) =>
    tf.tidy(() => {
      const ids = tf.tensor2d(randomIds(batch, T, V, i), undefined, "int32");
      const { value, grads } = model.valueAndGrads(() =>
        model.lmLossTensor(ids, { training: true, seed: i })
      );
      opt.step(grads);
      return value;
    });
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    const loss = step(i);
    const lv = (await loss.data())[0];
    loss.dispose();
    const c = process.cpuUsage(c0);
    if (i >= warmup) {
      stepS.push((performance.now() - t0) / 1000);
      cpuS.push((c.user + c.system) / 1e6);
      losses.push(lv);
    }
  }
  if (profile) {
    const info = await tf.profile(() => step(warmup + steps));
    const byKernel = new Map<string, number>();
    for (const k of info.kernels) {
      // skip wrappers (customGrad "forward", fused-op scopes) that contain other kernels
      if (!tf.getKernel(k.name, tf.getBackend())) continue;
      byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    }
    const rows = [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 20);
    const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
    console.log(`  kernels of one ${preset} step (sum ${total.toFixed(0)} ms):`);
    for (const [k, ms] of rows) console.log(`    ${k.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms`);
    tf.dispose(info.result as tf.Tensor);
  }
  opt.dispose();
  model.dispose();
  const m = median(stepS);
  return {
    impl: tf.getBackend(),
    medianS: m,
    tokensPerS: batch * T / m,
    cpuS: median(cpuS),
    stepS,
    losses,
  };
}

/** True when `python3 -c "import torch"` works. */
async function torchAvailable(): Promise<boolean> {
  try {
    const r = await new Deno.Command("python3", { args: ["-c", "import torch"], stderr: "null" })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

/** Runs bench/torch_step.py for `preset` and returns its timing. */
async function timeTorch(
  preset: PresetName,
  batch: number,
  steps: number,
  warmup: number,
  threads: number,
  seq?: number,
): Promise<Timing> {
  const script = new URL("./torch_step.py", import.meta.url).pathname;
  const args = [script, "--config", JSON.stringify(makeConfig(preset)), "--batch", `${batch}`];
  if (seq) args.push("--seq", `${seq}`);
  args.push("--steps", `${steps}`, "--warmup", `${warmup}`, "--threads", `${threads}`);
  const r = await new Deno.Command("python3", { args, stderr: "inherit" }).output();
  if (!r.success) throw new Error(`torch_step.py failed (exit ${r.code})`);
  const j = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").pop()!);
  return {
    impl: `torch ${threads}T`,
    medianS: j.median_s,
    tokensPerS: j.tokens_per_s,
    cpuS: j.median_cpu_s,
    stepS: j.step_s,
    losses: j.losses,
  };
}

/** GFLOP/s of `op(a)·op(b)` through tf.matMul (our kernel) and through cblas_sgemm directly. */
function productLine(M: number, K: number, N: number, tA: boolean, tB: boolean, what: string) {
  const blas = loadBlas();
  const a = tf.randomNormal(tA ? [K, M] : [M, K]), b = tf.randomNormal(tB ? [N, K] : [K, N]);
  const reps = Math.max(3, Math.round(2e10 / (2 * M * N * K)));
  const time = (f: () => void) => {
    f();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    return (performance.now() - t0) / 1000 / reps;
  };
  const oursNoRead = time(() => tf.matMul(a, b, tA, tB).dispose());
  let direct = NaN;
  if (blas) {
    const av = new Float32Array(a.dataSync()), bv = new Float32Array(b.dataSync());
    const cv = new Float32Array(M * N);
    direct = time(() => blas.sgemm(tA, tB, M, N, K, 1, av, tA ? M : K, bv, tB ? K : N, 0, cv, N));
  }
  tf.dispose([a, b]);
  const gf = (s: number) => (2 * M * N * K / s / 1e9).toFixed(1).padStart(6);
  console.log(
    `  ${what.padEnd(34)} ours ${gf(oursNoRead)} GFLOP/s  sgemm ${gf(direct)} GFLOP/s  ` +
      `ours/sgemm ${(direct / oursNoRead).toFixed(2)}`,
  );
  return { what, M, K, N, tA, tB, oursS: oursNoRead, sgemmS: direct };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backend: { type: "string" },
      presets: { type: "string", default: "tiny,small,gpt1" },
      batch: { type: "string", default: "16" },
      "gpt1-batch": { type: "string", default: "1" },
      "gpt1-seq": { type: "string", default: "512" },
      threads: { type: "string", default: "1,2" },
      steps: { type: "string" },
      warmup: { type: "string", default: "2" },
      "no-torch": { type: "boolean", default: false },
      "no-products": { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      json: { type: "string" },
    },
  });
  const { name, detail } = await selectBackend({ force: values.backend });
  const blas = name === "wasm" ? loadBlas() : null;
  console.log(blasLine());
  console.log(nativeKernelsLine());
  const threadList = values.threads!.split(",").map(Number);
  const withTorch = !values["no-torch"] && await torchAvailable();
  if (!values["no-torch"] && !withTorch) console.log("python3 with torch not found: tfjs only");
  const load = () => {
    try {
      return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
    } catch {
      return "?";
    }
  };
  // the products first: a gpt1 step that runs out of wasm memory leaves the heap unusable
  const products: unknown[] = [];
  if (!values["no-products"] && name === "wasm") {
    for (const threads of blas ? threadList : [1]) {
      blas?.setThreads(threads);
      console.log(`\nmatrix products (small preset shapes), ${threads} thread(s), load ${load()}`);
      for (
        const [M, K, N, tA, tB, what] of [
          [2048, 256, 768, false, false, "x·W c_attn 2048·256·768"],
          [2048, 768, 256, false, true, "dy·Wᵀ 2048·768·256 (Bᵀ)"],
          [256, 2048, 768, true, false, "xᵀ·dy 256·2048·768 (Aᵀ)"],
          [2048, 256, 8192, false, true, "h·Eᵀ tied head 2048·256·8192"],
          [8192, 2048, 256, true, false, "dzᵀ·h head grad 8192·2048·256"],
        ] as [number, number, number, boolean, boolean, string][]
      ) {
        products.push({ threads, ...productLine(M, K, N, tA, tB, what) });
      }
    }
    blas?.setThreads(Math.max(...threadList));
  }
  const results: Record<string, Timing[]> = {};
  for (const preset of values.presets!.split(",") as PresetName[]) {
    const big = preset === "gpt1";
    const batch = Number(big ? values["gpt1-batch"] : values.batch);
    const seq = big ? Number(values["gpt1-seq"]) : undefined;
    const steps = Number(values.steps ?? (preset === "tiny" ? 20 : big ? 1 : 5));
    const warmup = big ? 1 : Number(values.warmup);
    const cfg = makeConfig(preset);
    console.log(
      `\n${preset}: L${cfg.nLayer} C${cfg.nEmbd} H${cfg.nHead} T${seq ?? cfg.nCtx} ` +
        `V${cfg.vocabSize} B${batch}, ${warmup} warm-up + ${steps} timed steps, load ${load()}`,
    );
    const rows: Timing[] = [];
    for (const threads of blas ? threadList : [1]) {
      blas?.setThreads(threads);
      try {
        const r = await timeOurs(preset, batch, steps, warmup, values.profile!, seq);
        rows.push({ ...r, impl: `ours ${blas ? threads : 1}T` });
      } catch (e) {
        const msg = (e as Error).message.split("\n")[0].slice(0, 160);
        console.log(`  ours ${threads}T failed: ${msg}`);
      }
      if (withTorch) rows.push(await timeTorch(preset, batch, steps, warmup, threads, seq));
    }
    blas?.setThreads(Math.max(...threadList));
    for (const r of rows) {
      const mine = r.impl.startsWith("ours");
      const ref = rows.find((o) => o.impl === `ours ${r.impl.split(" ")[1]}`);
      const ratio = mine || !ref
        ? ""
        : `   ours/this: ${(ref.tokensPerS / r.tokensPerS).toFixed(2)}`;
      console.log(
        `  ${r.impl.padEnd(10)} ${r.medianS.toFixed(3).padStart(8)} s/step ` +
          `(CPU ${r.cpuS.toFixed(3)} s) ${r.tokensPerS.toFixed(0).padStart(7)} tokens/s  ` +
          `loss ${r.losses.at(-1)!.toFixed(3)}${ratio}`,
      );
    }
    // the same steps at each thread count: how far the products' summation order moves the loss
    const ours = rows.filter((r) => r.impl.startsWith("ours"));
    if (ours.length > 1) {
      const drift = Math.max(
        ...ours.slice(1).flatMap((r) => r.losses.map((l, i) => Math.abs(l - ours[0].losses[i]))),
      );
      console.log(
        `  loss drift between ${ours.map((r) => r.impl.split(" ")[1]).join(" and ")}: max |Δ| ` +
          `${drift.toExponential(2)} over ${ours[0].losses.length} steps`,
      );
    }
    results[preset] = rows;
  }
  if (values.json) {
    const out = {
      backend: name,
      detail,
      blas: blasLine(),
      kernels: nativeKernelsLine(),
      load: load(),
      date: new Date().toISOString(),
    };
    await Deno.writeTextFile(
      values.json,
      JSON.stringify({ ...out, results, products }, null, 2) + "\n",
    );
  }
}
