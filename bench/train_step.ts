/**
 * `deno task bench:train`: times one GPT-1 training step (forward, backward, global-norm clip,
 * OpenAI Adam) of the `tiny` and `small` presets on the selected backend and, when `python3`
 * can import `torch`, the same step in PyTorch (bench/torch_step.py: same config, same batch,
 * 1 thread like tfjs-wasm, then 2 threads) in the same run, and prints the ratios.
 *
 * Flags: `--backend <name>` (else GPT1_BACKEND, else the automatic choice), `--presets
 * tiny,small`, `--batch 16`, `--steps N`, `--warmup 2`, `--no-torch`, `--profile` (per-kernel
 * times of one step), `--json <file>` (write the results).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { parseArgs } from "node:util";
import { selectBackend } from "../lib/backend.ts";
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
): Promise<Timing> {
  const cfg = makeConfig(preset);
  const model = new Gpt1Model(cfg, { seed: 0 });
  const opt = new OpenAIAdam(model.params, { lr: 2.5e-4, schedule: "constant" });
  const V = cfg.vocabSize + cfg.nSpecial;
  const stepS: number[] = [], cpuS: number[] = [], losses: number[] = [];
  const step = (i: number) =>
    tf.tidy(() => {
      const ids = tf.tensor2d(randomIds(batch, cfg.nCtx, V, i), undefined, "int32");
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
    tokensPerS: batch * cfg.nCtx / m,
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
): Promise<Timing> {
  const script = new URL("./torch_step.py", import.meta.url).pathname;
  const args = [script, "--config", JSON.stringify(makeConfig(preset)), "--batch", `${batch}`];
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

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backend: { type: "string" },
      presets: { type: "string", default: "tiny,small" },
      batch: { type: "string", default: "16" },
      steps: { type: "string" },
      warmup: { type: "string", default: "2" },
      "no-torch": { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      json: { type: "string" },
    },
  });
  const { name, detail } = await selectBackend({ force: values.backend });
  const batch = Number(values.batch), warmup = Number(values.warmup);
  const withTorch = !values["no-torch"] && await torchAvailable();
  if (!values["no-torch"] && !withTorch) console.log("python3 with torch not found: tfjs only");
  const load = () => {
    try {
      return Deno.loadavg()[0].toFixed(2);
    } catch {
      return "?";
    }
  };
  const results: Record<string, Timing[]> = {};
  for (const preset of values.presets!.split(",") as PresetName[]) {
    const steps = Number(values.steps ?? (preset === "tiny" ? 20 : 5));
    const cfg = makeConfig(preset);
    console.log(
      `\n${preset}: L${cfg.nLayer} C${cfg.nEmbd} H${cfg.nHead} T${cfg.nCtx} V${cfg.vocabSize} ` +
        `B${batch}, ${warmup} warm-up + ${steps} timed steps, load ${load()}`,
    );
    const rows = [await timeOurs(preset, batch, steps, warmup, values.profile!)];
    if (withTorch) {
      for (const threads of [1, 2]) {
        rows.push(await timeTorch(preset, batch, steps, warmup, threads));
      }
    }
    const ours = rows[0];
    for (const r of rows) {
      const ratio = r === ours
        ? ""
        : `   ours/this: ${(ours.tokensPerS / r.tokensPerS).toFixed(2)}` +
          (r.impl.endsWith("1T") ? ` (CPU time: ${(r.cpuS / ours.cpuS).toFixed(2)})` : "");
      console.log(
        `  ${r.impl.padEnd(10)} ${r.medianS.toFixed(3).padStart(8)} s/step ` +
          `(CPU ${r.cpuS.toFixed(3)} s) ${r.tokensPerS.toFixed(0).padStart(7)} tokens/s  ` +
          `loss ${r.losses.at(-1)!.toFixed(3)}${ratio}`,
      );
    }
    results[preset] = rows;
  }
  if (values.json) {
    const out = { backend: name, detail, batch, load: load(), date: new Date().toISOString() };
    await Deno.writeTextFile(values.json, JSON.stringify({ ...out, results }, null, 2) + "\n");
  }
}
