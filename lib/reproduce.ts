/**
 * The one-command reproduction (`deno task reproduce [--scale smoke|small|paper]`): pre-training
 * on the corpus (the Transformer and the LSTM baseline) → fine-tuning every task with data
 * (Table 5's three Transformer variants and its LSTM row) → the layers-transferred ablation
 * (Figure 2 left) → zero-shot curves over the checkpoints of both models (Figure 2 right) →
 * `<outDir>/report.html`, every chart and paper-side-by-side table in one offline page, plus
 * the paper's qualitative claims checked against the run (`paperClaims` of `claims.ts`).
 *
 * The driver only: it picks the settings of a scale (`REPRODUCE_SCALES`), runs the stages
 * of `stages.ts` in order (each reuses its finished work, see `runPretrainStage`), and
 * writes the report from `sections.ts`, with `reproduce.json` (settings, stage outcomes and
 * timings). It never imports the notebook display layer (`jupyter.ts`, `notebook.ts`).
 *
 * @example
 * ```ts
 * import { reproduce } from "./reproduce.ts";
 * const r = await reproduce({ scale: "smoke" });
 * console.log(r.report); // results/_scratch/reproduce-smoke/report.html
 * ```
 * @module
 */
import { join, resolve } from "node:path";
import { DataError } from "./errors.ts";
import { exists, writeJsonAtomic } from "./fsutil.ts";
import type { Progress } from "./progress.ts";
import { selectBackend } from "./backend.ts";
import { readResult, reproduceLayout, type ResultLayout } from "./runs.ts";
import type { TextEval } from "./pipeline.ts";
import {
  defaultDataRoot,
  defaultOutDir,
  protocolAt,
  type ReproduceSettings,
  reproduceSettings,
  type Scale,
} from "./settings.ts";
import { fetchCommand } from "./fetch/mod.ts";
import {
  runLayersStage,
  runPretrainStage,
  runTable5Stage,
  runZeroShotStage,
  type StageContext,
  type StageResult,
} from "./stages.ts";
import { environmentRows, type ReportSection, writeReport } from "./report.ts";
import { layoutSections, settingsRows } from "./sections.ts";

const elapsed = (t0: number) => (performance.now() - t0) / 1000;

// ---------------------------------------------------------------------------------------------
// the whole run

/** Options of {@link reproduce}. */
export interface ReproduceOptions {
  /** The scale (default `smoke`). */
  scale?: Scale;
  /** Settings to use instead of the scale's (tests pass smaller ones). */
  settings?: Readonly<ReproduceSettings>;
  /** Output folder (default {@link defaultOutDir}). */
  outDir?: string;
  /** The datasets folder (default {@link defaultDataRoot}). */
  dataRoot?: string;
  /** Vocabulary and token caches (default `results/_cache`). */
  cacheDir?: string;
  /** Progress display per piece of work. */
  progress?: (label: string) => Progress;
  /** Event lines (default `console.log`). */
  log?: (line: string) => void;
  /** Force a backend (else `GPT1_BACKEND`, else the search of `selectBackend`). */
  backend?: string;
  /** Recompute every stage even when its stamp says it is done. */
  fresh?: boolean;
}

/** What {@link reproduce} returns. */
export interface ReproduceResult {
  /** The report page. */
  report: string;
  /** The output folder. */
  outDir: string;
  /** Each stage's outcome, in order. */
  stages: StageResult[];
  /** Total wall-clock seconds. */
  seconds: number;
  /** The TensorFlow.js backend used. */
  backend: string;
  /** Charts in the report. */
  figures: number;
  /** Tables in the report. */
  tables: number;
}

/**
 * Runs every stage of a scale into `outDir` and writes `<outDir>/report.html` (plus
 * `reproduce.json`: settings, stage outcomes and timings). Stages without data are skipped
 * (the report then shows the paper's values and says how to compute ours). Rerunning reuses
 * finished stages and resumes a killed one.
 */
export async function reproduce(opts: ReproduceOptions = {}): Promise<ReproduceResult> {
  const s = opts.settings ?? reproduceSettings(opts.scale ?? "smoke");
  const outDir = resolve(opts.outDir ?? defaultOutDir(s.scale));
  const log = opts.log ?? ((l: string) => console.log(l));
  const ctx: StageContext = {
    dataRoot: resolve(opts.dataRoot ?? defaultDataRoot()),
    cacheDir: opts.cacheDir,
    progress: opts.progress,
    log,
    fresh: opts.fresh,
  };
  const t0 = performance.now();
  const backend = await selectBackend({ force: opts.backend, log: () => {} });
  log(`reproduce: scale ${s.scale} (${s.about}); backend ${backend.name}; output ${outDir}`);
  if ((await Deno.stat(ctx.dataRoot).catch(() => null))?.isFile) {
    throw new DataError("the datasets folder is a file", {
      file: ctx.dataRoot,
      fix: "pass --data <folder> (or set GPT1_DATA to one)",
    });
  }
  if (!(await exists(ctx.dataRoot))) {
    log(
      `reproduce: no datasets folder at ${ctx.dataRoot}: pre-training only; ` +
        `to fetch the public benchmarks run: ${fetchCommand(opts.dataRoot)} (or set GPT1_DATA)`,
    );
  }
  await Deno.mkdir(outDir, { recursive: true });
  const layout = reproduceLayout(outDir, s.layers.tasks);
  const stages: StageResult[] = [];
  const record = async (report?: string) => {
    await writeJsonAtomic(join(outDir, "reproduce.json"), {
      scale: s.scale,
      settings: s,
      dataRoot: ctx.dataRoot,
      backend: backend.name,
      stages,
      seconds: elapsed(t0),
      report: report ?? null,
      finishedAt: report ? new Date().toISOString() : null,
    });
  };
  const steps: (() => Promise<StageResult>)[] = [
    () => runPretrainStage(s, layout, ctx),
    () => runPretrainStage(s, layout, ctx, { model: "lstm" }),
    () => runTable5Stage(s, layout, ctx),
    () => runTable5Stage(s, layout, ctx, { model: "lstm" }),
    () => runLayersStage(s, layout, ctx),
    () => runZeroShotStage(s, layout, ctx),
    () => runZeroShotStage(s, layout, ctx, { model: "lstm" }),
  ];
  for (const run of steps) {
    const r = await run();
    stages.push(r);
    log(`reproduce: ${r.stage} ${r.status} (${r.seconds.toFixed(1)}s): ${r.note}`);
    await record();
  }
  // the small-scale protocol (issue 14) into <out>/protocol
  const protocol = s.protocol ? protocolAt(s.protocol, join(outDir, "protocol")) : null;
  if (protocol) {
    const { runProtocolStages } = await import("./protocol_stages.ts");
    stages.push(...await runProtocolStages(protocol, { ...ctx, log }));
    await record();
  }
  const t1 = performance.now();
  const reportPath = join(outDir, "report.html");
  const [about, appendix] = await runSections(s, layout, stages, backend.name, elapsed(t0));
  const protocolPart = protocol
    ? await (await import("./protocol_report.ts")).protocolSections(protocol.out)
    : [];
  const w = await writeReport(reportPath, [
    about,
    ...(await layoutSections(layout)),
    ...protocolPart,
    appendix,
  ], {
    title: `gpt1-lab: the GPT-1 paper at ${s.scale} scale`,
    subtitle: `${s.scale} scale (${s.about}); ${new Date().toISOString().slice(0, 16)}Z; ` +
      `backend ${backend.name}`,
  });
  stages.push({
    stage: "report",
    status: "ran",
    seconds: elapsed(t1),
    note: `${w.figures} charts, ${w.tables} tables, ${(w.bytes / 1e6).toFixed(1)} MB`,
  });
  await record(reportPath);
  return {
    report: reportPath,
    outDir,
    stages,
    seconds: elapsed(t0),
    backend: backend.name,
    figures: w.figures,
    tables: w.tables,
  };
}

/** The report's first section (what ran, how long) and its last (settings, environment). */
async function runSections(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  stages: readonly StageResult[],
  backend: string,
  seconds: number,
): Promise<[ReportSection, ReportSection]> {
  const ev = await readResult<TextEval>(join(layout.pretrain, "eval-text.json"));
  const held = ev
    ? ` Held-out book \`${ev.source.split("/").pop()}\`: perplexity ${
      ev.perplexity.toFixed(1)
    } per token, ${ev.wordPerplexity.toFixed(1)} per word (${ev.tokens} tokens).`
    : "";
  const compute = stages.reduce((a, x) => a + x.seconds, 0);
  const reused = stages.some((x) => x.status === "reused")
    ? ` (this call: ${(seconds / 60).toFixed(1)}, reusing finished stages)`
    : "";
  return [{
    title: "This run",
    text: `Scale **${s.scale}**: ${s.about}. Made by \`deno task reproduce --scale ${s.scale}\` ` +
      `on the \`${backend}\` backend; computing the stages took ${
        (compute / 60).toFixed(1)
      } minutes${reused}.${held} Every chart below overlays the paper's values (dashed or ` +
      "hatched); the settings are at the end.",
    tables: [{
      caption: "Stages",
      rows: stages.map((x) => ({
        stage: x.stage,
        status: x.status,
        seconds: x.seconds,
        note: x.note,
      })),
    }],
  }, {
    title: "Settings and environment",
    text:
      `The settings of the \`${s.scale}\` scale (\`REPRODUCE_SCALES\` in \`lib/settings.ts\`; ` +
      "`{data}` is the datasets folder) and what the run ran on.",
    tables: [
      { caption: "Settings", rows: settingsRows(s) },
      { caption: "Environment", rows: await environmentRows() },
    ],
  }];
}
