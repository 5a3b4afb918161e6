/**
 * The small-scale protocol (issue 14) as stages of `deno task reproduce`: pre-training of the
 * Transformer and the matched LSTM with half-octave checkpoints, zero-shot over every checkpoint
 * (the paper's heuristics and the additions), then {@link runProtocol} per task (selection on
 * held-out training data, seeds), the label budget, the layers arms and the label-budget points
 * above a task's cap (`beyondCap`, folders nested in the protocol's). Each stage resumes: the
 * pre-training runs through their stamps (`reproduce-stage.json`, see `_stamps.ts`), zero-shot
 * and the protocol through their own files (`zeroshot*.json`, `protocol.json`). The commands of
 * the README run the same functions one by one into `results/protocol`.
 *
 * @example
 * ```ts
 * import { runProtocolStages } from "./protocol_stages.ts";
 * import { protocolAt, SMOKE_PROTOCOL } from "./settings.ts";
 * const stages = await runProtocolStages(protocolAt(SMOKE_PROTOCOL, "/tmp/protocol"), {
 *   dataRoot: "../shared/datasets",
 * });
 * ```
 * @module
 */
import { join } from "node:path";
import type { ModelKind } from "./language_model.ts";
import {
  ctxDefaults,
  elapsed,
  skipped,
  type StageContext,
  type StageResult,
  tasksWithData,
  zeroShotTasksWithData,
} from "./_stage_base.ts";
import { pretrainInto } from "./stages.ts";
import { protocolCheckpoint, type ProtocolScaleSettings } from "./settings.ts";
import { zeroShotCurves } from "./zeroshot.ts";

/** One pre-training run of the protocol (the Transformer into `out`, the LSTM into `lstmOut`). */
async function pretrainStage(
  P: Readonly<ProtocolScaleSettings>,
  ctx: StageContext,
  model: ModelKind,
): Promise<StageResult> {
  const name = model === "lstm" ? "protocol pretrain-lstm" : "protocol pretrain";
  const dir = model === "lstm" ? P.pretrain.lstmOut : P.pretrain.out;
  return await pretrainInto(name, dir, P.pretrain, model, ctx, {
    runInfo: { protocol: true },
    scale: "protocol's",
  });
}

/** The zero-shot heuristics and additions on every checkpoint of one pre-training run. */
async function zeroShotStage(
  P: Readonly<ProtocolScaleSettings>,
  ctx: StageContext,
  model: ModelKind,
): Promise<StageResult> {
  const c = ctxDefaults(ctx);
  const name = model === "lstm" ? "protocol zero-shot-lstm" : "protocol zero-shot";
  const dir = model === "lstm" ? P.pretrain.lstmOut : P.pretrain.out;
  const tasks = await zeroShotTasksWithData(ctx.dataRoot);
  if (tasks.length === 0) return skipped(name, `no zero-shot data under ${ctx.dataRoot}`);
  const t0 = performance.now();
  const { zeroShotAdditionCurves } = await import("./zeroshot_additions.ts");
  const max = P.zeroshotMax;
  const { rows } = await zeroShotCurves(dir, {
    dataRoot: ctx.dataRoot,
    tasks,
    maxExamples: { ...max },
    progress: c.progress(name),
  });
  const adds = await zeroShotAdditionCurves(dir, {
    dataRoot: ctx.dataRoot,
    maxExamples: { sst2: max.sst2, cola: max.cola, storycloze: max.storycloze },
    progress: c.progress(`${name} additions`),
  });
  const note = `${rows.length} heuristic points, ${adds.rows.length} addition points`;
  return { stage: name, status: "ran", seconds: elapsed(t0), note };
}

/**
 * Every stage of the protocol in order, into the folders of `P` (move them with
 * `protocolAt`): both pre-training runs, zero-shot on both, then per task the arms (selection
 * and seeds), the label budget and the layers arms. A stage whose data is missing is skipped.
 */
export async function runProtocolStages(
  P: Readonly<ProtocolScaleSettings>,
  ctx: StageContext,
): Promise<StageResult[]> {
  const c = ctxDefaults(ctx);
  const out: StageResult[] = [];
  const push = (r: StageResult) => {
    out.push(r);
    c.log(`reproduce: ${r.stage} ${r.status} (${r.seconds.toFixed(1)}s): ${r.note}`);
  };
  push(await pretrainStage(P, ctx, "gpt1"));
  push(await pretrainStage(P, ctx, "lstm"));
  push(await zeroShotStage(P, ctx, "gpt1"));
  push(await zeroShotStage(P, ctx, "lstm"));
  const { runProtocol } = await import("./protocol.ts");
  const { loadVocab } = await import("./vocab.ts");
  const init = protocolCheckpoint(P.pretrain.out, P.pretrain);
  const lstmInit = protocolCheckpoint(P.pretrain.lstmOut, P.pretrain);
  const tokenizer = await loadVocab(join(P.pretrain.out, "vocab"));
  const base = {
    init,
    lstmInit,
    tokenizer,
    dataRoot: ctx.dataRoot,
    lrs: P.lrs,
    epochs: P.epochs,
    seeds: P.seeds,
    seed: P.seed,
    batchSize: P.batchSize,
    maxEval: P.maxEval ?? undefined,
    groupByLength: P.groupByLength,
    glueDir: P.glueDir,
    resume: true,
    progress: c.progress,
  };
  const withData = await tasksWithData(ctx.dataRoot, P.tasks);
  // one call per part: the arms on the full sets, then the label budget, then the layers arms
  const parts: {
    name: string;
    task: string;
    arms?: readonly string[];
    sizes?: (number | null)[];
    /** A label-budget folder above the task's cap (`P.beyondCap`): its folder, cap and grid. */
    beyond?: { dir: string; maxTrain: number; lrs?: readonly number[] };
  }[] = [
    ...P.tasks.map((task) => ({ name: `protocol ${task}`, task })),
    ...P.labelBudget.tasks.map((task) => ({
      name: `protocol label budget ${task}`,
      task,
      arms: ["full", "no-pretrain"],
      sizes: [...P.labelBudget.sizes],
    })),
    ...P.layers.map((l) => ({
      name: `protocol layers ${l.task}`,
      task: l.task,
      arms: l.arms,
      sizes: [l.labels],
    })),
    ...P.beyondCap.map((b) => ({
      name: `protocol label budget ${b.task} beyond its cap (${b.name})`,
      task: b.task,
      arms: b.arms,
      sizes: [...b.sizes],
      beyond: { dir: join(P.out, b.name), maxTrain: b.maxTrain, lrs: b.lrs },
    })),
  ];
  for (const part of parts) {
    if (!withData.includes(part.task)) {
      push(skipped(part.name, `no ${part.task} data under ${ctx.dataRoot}`));
      continue;
    }
    const t0 = performance.now();
    const b = part.beyond;
    const r = await runProtocol({
      ...base,
      task: part.task,
      outDir: join(b?.dir ?? P.out, part.task),
      maxTrain: b ? b.maxTrain : P.maxTrain[part.task] ?? undefined,
      ...(b ? { glueDir: join(b.dir, "glue"), lrs: b.lrs ?? P.lrs } : {}),
      ...(part.arms ? { arms: part.arms } : {}),
      ...(part.sizes ? { trainSizes: part.sizes } : {}),
    });
    const rows = r.rows.filter((x) => !part.arms || part.arms.includes(x.arm));
    push({
      stage: part.name,
      status: "ran",
      seconds: elapsed(t0),
      note: `${r.cells.length} runs in protocol.json; ${rows.length} rows`,
    });
  }
  return out;
}
