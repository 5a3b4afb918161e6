/**
 * The one-command reproduction (`deno task reproduce [--scale smoke|small|paper]`): pre-training
 * on the corpus (the Transformer and the LSTM baseline) → fine-tuning every task with data
 * (Table 5's three Transformer variants and its LSTM row) → the layers-transferred ablation
 * (Figure 2 left) → zero-shot curves over the checkpoints of both models (Figure 2 right) →
 * `<outDir>/report.html`, every chart and paper-side-by-side table in one offline page, plus
 * the paper's qualitative claims checked against the run ({@link paperClaims}).
 *
 * Also here, for the notebooks: where results live ({@link committedLayout},
 * {@link notebookPlan}), readers of result files, and small display helpers
 * ({@link stageDisplays}, {@link liveFigure}, {@link showSections}).
 *
 * Each scale's settings are plain data ({@link REPRODUCE_SCALES}). Each stage is a function the
 * notebooks call too; it writes a stamp (`reproduce-stage.json`) into its folder holding a hash
 * of its settings and of the stage it builds on, so a rerun reuses finished stages, resumes a
 * killed one, and recomputes (after deleting its folder) one whose settings changed. A folder
 * that holds results without a stamp (committed results) is never touched.
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
import { ConfigError, DataError } from "./errors.ts";
import { exists, portablePath, writeFileAtomic, writeJsonAtomic } from "./fsutil.ts";
import { type Progress, silentProgress } from "./progress.ts";
import type { ModelKind } from "./language_model.ts";
import { sha256Hex } from "./data.ts";
import { selectBackend } from "./backend.ts";
import {
  checkpointName,
  committedLayout,
  type LogRecord,
  pretrainDir,
  readLayers,
  readLog,
  readResult,
  readTable5,
  reproduceLayout,
  type ResultLayout,
  type Table5Cell,
  zeroShotPath,
} from "./runs.ts";
import { loadVocab } from "./vocab.ts";
import { REPO_ROOT } from "./fsutil.ts";
import {
  ablateLayers,
  evaluateText,
  runPretraining,
  runTable5,
  table5Markdown,
  type TextEval,
} from "./pipeline.ts";
import { buildInputs, getTask, loadTask } from "./tasks/mod.ts";
import { specialsFor } from "./transforms.ts";
import { taskSplits } from "./finetune.ts";
import type { Gpt1Tokenizer } from "./tokenizer/bpe.ts";
import {
  readZeroShot,
  ZEROSHOT_FOLDERS,
  zeroShotCurves,
  type ZeroShotRow,
  type ZeroShotTaskName,
} from "./zeroshot.ts";
import { FIGURE2_LAYERS, FIGURE2_ZEROSHOT } from "./paper.ts";
import {
  type Figure,
  layersChart,
  lineChart,
  TABLE5_VARIANT_NAMES,
  table5Chart,
  zeroShotChart,
} from "./plot.ts";
import {
  environmentRows,
  type ReportSection,
  resultSections,
  type Row,
  writeReport,
} from "./report.ts";
import {
  display,
  inNotebook,
  type LiveDisplay,
  liveDisplay,
  showMarkdown,
  showTable,
} from "./jupyter.ts";
import {
  capsFor,
  defaultDataRoot,
  defaultOutDir,
  type ReproduceSettings,
  reproduceSettings,
  resolveDataPath,
  type Scale,
} from "./settings.ts";
import { paperClaims } from "./claims.ts";
import { fetchCommand } from "./fetch/mod.ts";

// ---------------------------------------------------------------------------------------------
// where results live

// ---------------------------------------------------------------------------------------------
// stages

/** What every stage needs besides its settings. */
export interface StageContext {
  /** The datasets folder (benchmarks, `pretrain_gutenberg/`). */
  dataRoot: string;
  /** Vocabulary and token caches (default `results/_cache`). */
  cacheDir?: string;
  /** A progress display per piece of work (default: none). */
  progress?: (label: string) => Progress;
  /** One line per event (default `console.log`). */
  log?: (line: string) => void;
  /** Recompute even when the stamp says the stage is done. */
  fresh?: boolean;
}

/** The outcome of one stage. */
export interface StageResult {
  /** `pretrain`, `table5`, `layers`, `zeroshot` (`-lstm` for the LSTM's), or `report`. */
  stage: string;
  /** `ran` (computed now), `reused` (finished earlier, same settings), `skipped` (no data). */
  status: "ran" | "reused" | "skipped";
  /** Wall-clock seconds the stage took to compute (a reused stage: when it ran). */
  seconds: number;
  /** One line about what happened. */
  note: string;
}

/** File name of a stage stamp (the zero-shot stage uses `zeroshot-stage.json`). */
export const STAMP_FILE = "reproduce-stage.json";
const ZS_STAMP = "zeroshot-stage.json";

interface Stamp {
  stage: string;
  key: string;
  finished: boolean;
  settings: unknown;
  seconds?: number;
  note?: string;
}

/** A short hash of a stage's settings and of the stamp key of the stage it builds on. */
export function stageKey(stage: string, settings: unknown, upstream = ""): string {
  return sha256Hex(JSON.stringify({ stage, settings, upstream })).slice(0, 16);
}

async function readStamp(dir: string, file = STAMP_FILE): Promise<Stamp | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, file))) as Stamp;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new DataError(`unreadable stage stamp: ${(e as Error).message}`, {
      file: join(dir, file),
      fix: "delete the folder to recompute the stage",
    });
  }
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

/**
 * Decides what a stage does with its folder: `done` (finished with these settings), `resume`
 * (started with these settings), `new` (nothing yet; a folder from other settings is deleted).
 * A non-empty folder without a stamp is refused: it holds results reproduce did not write.
 */
async function claim(
  dir: string,
  stage: string,
  key: string,
  settings: unknown,
  fresh: boolean,
): Promise<"done" | "resume" | "new"> {
  const s = await readStamp(dir);
  if (s && s.key === key && !fresh) return s.finished ? "done" : "resume";
  if (!s && !(await isEmptyDir(dir))) {
    throw new ConfigError("the folder holds results that reproduce did not write", {
      file: dir,
      fix: "choose another output folder (--out), or delete this one",
    });
  }
  if (s) await Deno.remove(dir, { recursive: true });
  await Deno.mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, STAMP_FILE), { stage, key, finished: false, settings });
  return "new";
}

/** Adds this call's seconds to the stamp; marks it finished unless `finished` is false. */
async function finishStamp(
  dir: string,
  extra: { seconds: number; note: string },
  file?: string,
  finished = true,
): Promise<number> {
  const s = await readStamp(dir, file);
  if (!s) return extra.seconds;
  const seconds = (s.seconds ?? 0) + extra.seconds;
  await writeJsonAtomic(join(dir, file ?? STAMP_FILE), {
    ...s,
    finished,
    note: extra.note,
    seconds,
  });
  return seconds;
}

function ctxDefaults(ctx: StageContext) {
  return {
    cacheDir: ctx.cacheDir ?? join(REPO_ROOT, "results", "_cache"),
    progress: ctx.progress ?? (() => silentProgress),
    log: ctx.log ?? ((l: string) => console.log(l)),
    fresh: ctx.fresh ?? false,
  };
}

const elapsed = (t0: number) => (performance.now() - t0) / 1000;

/** The final checkpoint of a pre-training stage (`ckpt-<steps>.safetensors`). */
export function finalCheckpoint(
  layout: ResultLayout,
  s: Readonly<ReproduceSettings>,
  model: ModelKind = "gpt1",
): string {
  return join(pretrainDir(layout, model), checkpointName(s.pretrain.steps));
}

const stageName = (stage: string, model: ModelKind) => model === "lstm" ? `${stage}-lstm` : stage;
const lstmOff = (stage: string) => skipped(stage, "the LSTM baseline is off at this scale");

/** Extra options of {@link runPretrainStage}. */
export interface PretrainStageOptions {
  /** Stop after this many updates of this call (the stage stays open; the next call resumes). */
  stopAfter?: number;
  /** Receives each log record (for a live chart). */
  onLog?: (rec: LogRecord) => void;
  /** Which model (default the Transformer; `lstm`: the baseline into `layout.lstm`). */
  model?: ModelKind;
}

/**
 * Pre-training: corpus → vocabulary → token cache → LM training into `layout.pretrain`
 * (`vocab/`, `log.jsonl`, `ckpt-<step>.safetensors` at 2^k steps and at the end), then the
 * per-word perplexity on the held-out book (`eval-text.json`) when it is there. Resumes a
 * stopped run from its `latest.safetensors`. With `model: "lstm"` the same for the LSTM
 * baseline (same data, vocabulary and schedule) into `layout.lstm`. Select a backend first.
 */
export async function runPretrainStage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  opts: PretrainStageOptions = {},
): Promise<StageResult> {
  const c = ctxDefaults(ctx);
  const p = s.pretrain;
  const model = opts.model ?? "gpt1";
  const name = stageName("pretrain", model);
  if (model === "lstm" && !s.lstm.enabled) return lstmOff(name);
  const dir = pretrainDir(layout, model);
  const t0 = performance.now();
  const state = await claim(dir, name, stageKey(name, p), p, c.fresh);
  if (state === "done") return await reused(name, dir);
  const corpus = p.corpus.map((spec) => resolveDataPath(spec, ctx.dataRoot));
  for (const spec of corpus) {
    if (spec !== "embedded" && !(await exists(spec))) {
      throw new DataError(`the ${s.scale} corpus needs this file`, {
        file: spec,
        fix: "pass the datasets folder (--data / GPT1_DATA), or run --scale smoke",
      });
    }
  }
  const { result: r, data } = await runPretraining({
    model,
    preset: p.preset,
    corpus,
    vocab: p.vocab,
    merges: p.merges,
    cacheDir: c.cacheDir,
    outDir: dir,
    steps: p.steps,
    batchSize: p.batchSize,
    lr: p.lr,
    warmupSteps: p.warmupSteps,
    seed: p.seed,
    evalEvery: p.evalEvery,
    evalWindows: p.evalWindows,
    ckptEvery: p.ckptEvery,
    resume: state === "resume",
    stopAfter: opts.stopAfter,
    onLog: opts.onLog,
    progress: { data: c.progress("corpus"), train: c.progress(name) },
    warn: (m) => c.log(`warning: ${m}`),
    corpusInfo: p.corpus,
    runInfo: { reproduce: s.scale },
  });
  try {
    if (r.step < p.steps) {
      const note = `stopped at update ${r.step} of ${p.steps} (call again to continue)`;
      const seconds = await finishStamp(dir, { seconds: elapsed(t0), note }, undefined, false);
      return { stage: name, status: "ran", seconds, note };
    }
    let note = `${p.steps} updates, validation loss ${r.validLoss?.toFixed(3) ?? "–"}`;
    const held = p.evalText ? resolveDataPath(p.evalText, ctx.dataRoot) : null;
    if (held && (await exists(held))) {
      const ev = await evaluateText(r.model, data.tokenizer, held, {
        maxWindows: p.evalTextWindows ?? undefined,
      });
      await writeJsonAtomic(join(dir, "eval-text.json"), {
        ...ev,
        source: portablePath(ev.source),
      });
      note += `; held-out ${ev.source.split("/").pop()}: ${ev.wordPerplexity.toFixed(1)} ` +
        "perplexity per word";
    } else if (held) c.log(`${name}: no held-out text at ${held}; per-word perplexity skipped`);
    const seconds = await finishStamp(dir, { seconds: elapsed(t0), note });
    return { stage: name, status: "ran", seconds, note };
  } finally {
    r.model.dispose();
  }
}

async function withData(dataRoot: string, tasks: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const t of tasks) if (await exists(join(dataRoot, getTask(t).folder))) out.push(t);
  return out;
}

async function needFinished(
  layout: ResultLayout,
  s: Readonly<ReproduceSettings>,
  model: ModelKind = "gpt1",
): Promise<string> {
  const dir = pretrainDir(layout, model);
  const st = await readStamp(dir);
  if (!st?.finished || !(await exists(finalCheckpoint(layout, s, model)))) {
    throw new ConfigError(`${stageName("pre-training", model)} has not finished`, {
      file: dir,
      fix: `run the pre-training stage first (runPretrainStage${
        model === "lstm" ? ' with model: "lstm"' : ""
      })`,
    });
  }
  return st.key;
}

/** Extra options of {@link runTable5Stage}: compute only part of the table now. */
export interface Table5StageOptions {
  /** Only these variants this time (the stage stays open until every variant is done). */
  variants?: readonly string[];
  /** Only these tasks this time. */
  tasks?: readonly string[];
  /** `lstm`: Table 5's LSTM row (`full` fine-tunes from the LSTM) into `layout.table5Lstm`. */
  model?: ModelKind;
}

/**
 * Table 5 at this scale: each task with data fine-tuned as the full model, without
 * pre-training and without the auxiliary LM, from the stage's final checkpoint
 * (`layout.table5/table5.json` + `table5.md`). Its `full` cells are our column of Tables 2–4.
 * With `model: "lstm"`: the `full` fine-tunes from the LSTM checkpoint (Table 5's last row).
 */
export async function runTable5Stage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  opts: Table5StageOptions = {},
): Promise<StageResult> {
  const c = ctxDefaults(ctx);
  const model = opts.model ?? "gpt1";
  const name = stageName("table5", model);
  if (model === "lstm" && !s.lstm.enabled) return lstmOff(name);
  const t = model === "lstm" ? { ...s.table5, tasks: s.lstm.tasks, variants: ["full"] } : s.table5;
  const t0 = performance.now();
  const tasks = await withData(ctx.dataRoot, t.tasks);
  if (tasks.length === 0) return skipped(name, `no benchmark data under ${ctx.dataRoot}`);
  const upstream = await needFinished(layout, s, model);
  const dir = model === "lstm" ? layout.table5Lstm : layout.table5;
  const state = await claim(dir, name, stageKey(name, { t, tasks }, upstream), t, c.fresh);
  if (state === "done") return await reused(name, dir);
  const tokenizer = await loadVocab(join(pretrainDir(layout, model), "vocab"));
  let cells: Table5Cell[] = [];
  for (const task of opts.tasks ? tasks.filter((x) => opts.tasks!.includes(x)) : tasks) {
    const caps = capsFor(t, task);
    cells = await runTable5({
      ckpt: finalCheckpoint(layout, s, model),
      tokenizer,
      dataRoot: ctx.dataRoot,
      outDir: dir,
      tasks: [task],
      variants: opts.variants ?? t.variants,
      maxTrain: caps.maxTrain ?? undefined,
      maxEval: caps.maxEval ?? undefined,
      epochs: t.epochs,
      lr: t.lr,
      seed: t.seed,
      skipDone: true, // appends to table5.json, keeping the cells already there
      progress: (task, v) => c.progress(`${task} ${model === "lstm" ? "lstm" : v}`),
    });
  }
  await writeFileAtomic(join(dir, "table5.md"), table5Markdown(cells));
  const complete = tasks.every((task) =>
    t.variants.every((v) => cells.some((x) => x.task === task && x.variant === v))
  );
  const note = `${cells.length} runs (${tasks.join(", ")})${complete ? "" : ", partial"}`;
  const seconds = await finishStamp(dir, { seconds: elapsed(t0), note }, undefined, complete);
  return { stage: name, status: "ran", seconds, note };
}

async function reused(stage: string, dir: string, file?: string): Promise<StageResult> {
  const st = await readStamp(dir, file);
  return {
    stage,
    status: "reused",
    seconds: st?.seconds ?? 0,
    note: `finished earlier: ${st?.note ?? dir}`,
  };
}

function skipped(stage: string, note: string): StageResult {
  return { stage, status: "skipped", seconds: 0, note };
}

/**
 * Figure 2 left at this scale: one {@link ablateLayers} sweep per task with data, from the
 * final checkpoint, into `layout.layers[task]/layers.json`.
 */
export async function runLayersStage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
): Promise<StageResult> {
  const c = ctxDefaults(ctx);
  const l = s.layers;
  const tasks = (await withData(ctx.dataRoot, l.tasks)).filter((t) => layout.layers[t]);
  if (tasks.length === 0) return skipped("layers", `no data for ${l.tasks.join(", ")}`);
  const upstream = await needFinished(layout, s);
  const notes: string[] = [];
  let ran = false, seconds = 0;
  for (const task of tasks) {
    const dir = layout.layers[task];
    const state = await claim(dir, "layers", stageKey("layers", { l, task }, upstream), l, c.fresh);
    if (state === "done") {
      const r = await reused("layers", dir);
      seconds += r.seconds;
      notes.push(r.note);
      continue;
    }
    ran = true;
    const t1 = performance.now();
    const rows = await ablateLayers({
      task,
      ckpt: finalCheckpoint(layout, s),
      tokenizer: await loadVocab(join(layout.pretrain, "vocab")),
      dataRoot: ctx.dataRoot,
      outDir: dir,
      layers: l.layers ? [...l.layers] : undefined,
      maxTrain: capsFor(l, task).maxTrain ?? undefined,
      maxEval: capsFor(l, task).maxEval ?? undefined,
      epochs: l.epochs,
      lr: l.lr,
      auxLm: l.auxLm,
      seed: l.seed,
      skipDone: true,
      progress: (n) => c.progress(`${task} transfer ${n}`),
    });
    const note = `${task}: ${rows.map((r) => `${r.x}→${r.valid.toFixed(1)}`).join(" ")}`;
    seconds += await finishStamp(dir, { seconds: elapsed(t1), note });
    notes.push(note);
  }
  return { stage: "layers", status: ran ? "ran" : "reused", seconds, note: notes.join("; ") };
}

/**
 * Figure 2 right at this scale: the four zero-shot heuristics on every checkpoint of the
 * pre-training run (`<pretrain>/zeroshot.json`); points already computed with the same
 * settings are kept.
 */
export async function runZeroShotStage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  opts: { model?: ModelKind } = {},
): Promise<StageResult> {
  const c = ctxDefaults(ctx);
  const z = s.zeroshot;
  const model = opts.model ?? "gpt1";
  const name = stageName("zeroshot", model);
  if (model === "lstm" && !s.lstm.enabled) return lstmOff(name);
  const dir = pretrainDir(layout, model);
  const t0 = performance.now();
  const all = z.tasks ?? (Object.keys(ZEROSHOT_FOLDERS) as ZeroShotTaskName[]);
  const tasks: ZeroShotTaskName[] = [];
  for (const t of all) if (await exists(join(ctx.dataRoot, ZEROSHOT_FOLDERS[t]))) tasks.push(t);
  if (tasks.length === 0) return skipped(name, `no zero-shot data under ${ctx.dataRoot}`);
  const upstream = await needFinished(layout, s, model);
  const key = stageKey(name, { z, tasks }, upstream);
  const st = await readStamp(dir, ZS_STAMP);
  if (st?.key === key && st.finished && !c.fresh) return await reused(name, dir, ZS_STAMP);
  const force = st?.key !== key || c.fresh;
  await writeJsonAtomic(join(dir, ZS_STAMP), { stage: name, key, finished: false, settings: z });
  const { rows } = await zeroShotCurves(dir, {
    dataRoot: ctx.dataRoot,
    tasks,
    maxExamples: { ...z.maxExamples },
    batchSize: z.batchSize,
    force,
    progress: c.progress(name),
  });
  const steps = new Set(rows.map((r) => r.step)).size;
  const note = `${rows.length} points: ${tasks.join(", ")} on ${steps} checkpoints`;
  const seconds = await finishStamp(dir, { seconds: elapsed(t0), note }, ZS_STAMP);
  return { stage: name, status: "ran", seconds, note };
}

// ---------------------------------------------------------------------------------------------
// reading results back

/**
 * Zero-shot rows pivoted for a table: one row per checkpoint (`updates`), one column per task
 * with its raw score in the task's metric (`SST-2 (acc)`).
 */
export function zeroShotTable(rows: readonly ZeroShotRow[]): Row[] {
  const steps = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b);
  const col = (r: ZeroShotRow) => `${r.dataset} (${r.metric})`;
  return steps.map((step) => {
    const row: Row = { updates: step };
    for (const r of rows.filter((r) => r.step === step)) row[col(r)] = r.raw;
    return row;
  });
}

/**
 * One training example per task, as the model sees it after the paper's input transformations
 * (Figure 1): `[s]` start, `[$]` delimiter, `[e]` classify (extract) around the decoded text
 * spans; one row per input sequence (2 for similarity, K for multiple choice). Tasks without
 * data are left out.
 */
export async function inputExamples(
  tasks: readonly string[],
  tok: Gpt1Tokenizer,
  dataRoot: string,
  nCtx: number,
  maxChars = 90,
): Promise<Row[]> {
  const sp = specialsFor(tok.vocabSize);
  const mark = new Map([[sp.start, "[s]"], [sp.delimiter, "[$]"], [sp.classify, "[e]"]]);
  const rows: Row[] = [];
  for (const name of await withData(dataRoot, tasks)) {
    const task = getTask(name);
    const { examples } = await loadTask(name, dataRoot, taskSplits(task).train);
    if (examples.length === 0) continue;
    const seqs = buildInputs(task, examples[0], (t) => tok.encode(t), sp, nCtx);
    seqs.forEach((ids, i) => {
      const parts: string[] = [];
      let span: number[] = [];
      const flush = () => {
        if (!span.length) return;
        const text = tok.decode(span);
        parts.push(text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text);
        span = [];
      };
      for (const id of ids) {
        if (mark.has(id)) {
          flush();
          parts.push(mark.get(id)!);
        } else span.push(id);
      }
      flush();
      rows.push({
        task: task.title,
        "input type": task.inputType,
        sequence: `${i + 1} of ${seqs.length}`,
        tokens: ids.length,
        input: parts.join(" "),
      });
    });
  }
  return rows;
}

/**
 * A figure shown once and redrawn in place as data arrive (a notebook's live loss curve):
 * `update()` redraws at most every `intervalMs` (default 2 s), `flush()` draws the final
 * state and waits for it. Outside a notebook only `flush()` prints (the text summary).
 */
export function liveFigure(
  render: () => Figure,
  intervalMs = 2000,
): { update(): void; flush(): Promise<void> } {
  const id = `gpt1-figure-${crypto.randomUUID()}`;
  let chain: Promise<void> = Promise.resolve();
  let shown = false;
  let last = -Infinity;
  const send = () => {
    const fig = render();
    const update = shown;
    shown = true;
    chain = chain.then(() => display(fig, { displayId: id, update }));
  };
  return {
    update() {
      if (!inNotebook()) return;
      const now = performance.now();
      if (now - last < intervalMs) return;
      last = now;
      send();
    },
    async flush() {
      send();
      await chain;
    },
  };
}

/**
 * Zero-shot rows of the Transformer and the LSTM in one list for {@link zeroShotChart}: the
 * LSTM's tasks become `<task>-lstm` and every dataset label says which model it is.
 */
export function zeroShotBoth(
  gpt: readonly ZeroShotRow[],
  lstm: readonly ZeroShotRow[],
): ZeroShotRow[] {
  if (lstm.length === 0) return [...gpt];
  return [
    ...gpt.map((r) => ({ ...r, dataset: `${r.dataset}, Transformer` })),
    ...lstm.map((r) => ({
      ...r,
      task: `${r.task}-lstm` as ZeroShotTaskName,
      dataset: `${r.dataset}, LSTM`,
    })),
  ];
}

/**
 * Figure 2 right with this run's Transformer (solid) and LSTM (dotted) curves over the paper's
 * (dashed / dotted, the paper's LSTM shown).
 */
export function zeroShotFigure(gpt: readonly ZeroShotRow[], lstm: readonly ZeroShotRow[]): Figure {
  const fig = zeroShotChart(zeroShotBoth(gpt, lstm), FIGURE2_ZEROSHOT, {
    lstm: lstm.length ? "show" : "legendonly",
  });
  for (const t of fig.data) {
    if (t.name.startsWith("this run") && t.name.includes(", LSTM")) {
      t.line = { ...(t.line as Record<string, unknown>), dash: "dot" };
    }
  }
  return fig;
}

/** What a notebook does at a scale: where its results are, and whether it computes them. */
export interface NotebookPlan {
  /** Where the results are read from (and written to, when `compute`). */
  layout: ResultLayout;
  /** True: run the stages (reusing finished ones); false: only read. */
  compute: boolean;
  /** One line saying which. */
  note: string;
  /** How to get results that are not there yet (empty when the notebook computes them). */
  hint: string;
}

/**
 * A notebook's plan: `smoke` computes into `results/_scratch/reproduce-smoke` (the folder of
 * `deno task reproduce`, so they share finished stages); `small` reads the committed results
 * unless `recompute` (then `results/_scratch/reproduce-small`, never over committed files);
 * `paper` reads `results/_scratch/reproduce-paper` and computes only when `recompute`.
 */
export function notebookPlan(scale: Scale, recompute: boolean): NotebookPlan {
  const s = reproduceSettings(scale);
  const scratch = reproduceLayout(defaultOutDir(scale), s.layers.tasks);
  if (scale === "small" && !recompute) {
    return {
      layout: committedLayout(),
      compute: false,
      note: "reading the committed results under results/ (GPT1_RECOMPUTE=1 recomputes them " +
        "into results/_scratch/reproduce-small)",
      hint:
        "they are computed by `deno task reproduce --scale small`, or here with GPT1_RECOMPUTE=1",
    };
  }
  const compute = scale === "smoke" || recompute;
  return {
    layout: scratch,
    compute,
    note: compute
      ? `computing into ${defaultOutDir(scale)} (finished stages are reused)`
      : `reading ${defaultOutDir(scale)} (GPT1_RECOMPUTE=1 computes it)`,
    hint: compute
      ? "the stage was skipped (no data for it?)"
      : `GPT1_RECOMPUTE=1 computes them (or \`deno task reproduce --scale ${scale}\`)`,
  };
}

/**
 * The report sections of a layout: {@link resultSections} (pre-training curves, Tables 2–5
 * beside the paper, Figure 2 right) with Figure 2 left drawn from every layers ablation.
 */
export async function layoutSections(layout: ResultLayout): Promise<ReportSection[]> {
  const sections = await resultSections({
    run: layout.pretrain,
    table5: join(layout.table5, "table5.json"),
    zeroshot: zeroShotPath(layout),
  });
  const layers = await readLayers(layout);
  const i = sections.findIndex((s) => s.title.startsWith("Figure 2 (left)"));
  if (i >= 0 && layers.length) {
    const tasks = [...new Set(layers.map((r) => r.task))].join(" and ");
    sections[i] = {
      ...sections[i],
      text: `Accuracy on ${tasks} after transferring the embeddings and the first blocks of the ` +
        "pre-trained model (x = 0: nothing, 1: embeddings, k: embeddings + k−1 blocks); solid: " +
        "evaluation split, dotted: training data. Dashed: the paper's RACE and MultiNLI.",
      figures: [layersChart(layers, FIGURE2_LAYERS)],
      tables: [{
        caption: "Layers transferred (this run)",
        rows: layers.map((r) => ({
          task: r.task,
          "layers transferred": r.nTransfer,
          train: r.train,
          [`evaluation`]: r.valid,
          split: r.split,
          n: r.n,
        })),
      }],
    };
  }
  const cells = await readTable5(layout);
  const zs = await readZeroShot(layout.pretrain);
  const lz = await readZeroShot(layout.lstm);
  const lstmLog = await readLog(layout.lstm);
  const lstmCells = cells.filter((c) => c.variant === "lstm");
  const at = (prefix: string) => sections.findIndex((s) => s.title.startsWith(prefix));
  const pre = at("Pre-training");
  if (pre >= 0 && lstmLog.some((r) => r.kind === "valid")) {
    const gptLog = await readLog(layout.pretrain);
    const series = [["Transformer", gptLog], ["LSTM baseline", lstmLog]] as const;
    sections[pre] = {
      ...sections[pre],
      figures: [
        ...(sections[pre].figures ?? []),
        lineChart(
          series.map(([name, log]) => {
            const v = log.filter((r) => r.kind === "valid");
            return { name, x: v.map((r) => r.step), y: v.map((r) => r.loss), markers: true };
          }),
          {
            title: "Validation loss: Transformer vs the LSTM baseline (same data and schedule)",
            x: "pre-training updates",
            y: "validation loss (nats per token)",
          },
        ),
      ],
    };
  }
  const held: Row[] = [];
  for (const [model, dir] of [["Transformer", layout.pretrain], ["LSTM baseline", layout.lstm]]) {
    const ev = await readResult<TextEval>(join(dir, "eval-text.json"));
    if (!ev) continue;
    held.push({
      model,
      text: ev.source.split("/").pop() ?? ev.source,
      tokens: ev.tokens,
      "loss (nats/token)": Number(ev.loss.toFixed(4)),
      "perplexity per token": Number(ev.perplexity.toFixed(2)),
      "perplexity per word": Number(ev.wordPerplexity.toFixed(1)),
    });
  }
  if (pre >= 0 && held.length) {
    sections[pre] = {
      ...sections[pre],
      tables: [...(sections[pre].tables ?? []), {
        caption: "Held-out text (not in the pre-training corpus)",
        rows: held,
      }],
    };
  }
  const t5 = at("Table 5");
  if (t5 >= 0 && lstmCells.length) {
    const row: Row = { method: TABLE5_VARIANT_NAMES.lstm };
    for (const c of lstmCells) {
      row[c.task] = c.value;
      row[`${c.task} (paper)`] = c.paper;
    }
    const table = sections[t5].tables?.[0];
    sections[t5] = {
      ...sections[t5],
      text:
        `${sections[t5].text ?? ""} The last row fine-tunes the LSTM baseline, pre-trained on ` +
        'the same tokens, vocabulary and schedule (the paper\'s "LSTM w/ aux LM").',
      figures: [table5Chart(cells)],
      tables: table ? [{ ...table, rows: [...table.rows, row] }] : [],
    };
  }
  const z = at("Figure 2 (right)");
  if (z >= 0 && lz.length) {
    sections[z] = {
      ...sections[z],
      text: "Relative zero-shot performance (0 = chance, 1 = the reference score) over the " +
        "pre-training checkpoints of this run's Transformer (solid) and LSTM baseline (dotted); " +
        "the paper's Transformer dashed, its LSTM dotted and thin.",
      figures: [zeroShotFigure(zs, lz)],
    };
  }
  const claims = paperClaims({ cells, layers, zeroshot: zs, lstmZeroshot: lz });
  sections.push({
    title: "The paper's claims, checked",
    text: "The paper's qualitative findings next to this run. A small model pre-trained on a CPU " +
      "is not held to the paper's numbers, only to their direction; `–` marks no data yet or " +
      "a finding that is not a requirement.",
    tables: [{ caption: "Claims", rows: claims }],
  });
  return sections;
}

/** Shows report sections in a notebook: each title and text, then its charts and tables. */
export async function showSections(sections: readonly ReportSection[]): Promise<void> {
  for (const s of sections) {
    await showMarkdown(`### ${s.title}\n\n${s.text ?? ""}`);
    for (const f of s.figures ?? []) await display(f);
    for (const t of s.tables ?? []) {
      await showTable(t.rows, { caption: t.caption, digits: t.digits });
    }
  }
}

/**
 * One live display per piece of work for a notebook cell: pass `progress` as a stage's
 * progress, then `await flush()` before the cell ends. Outside a notebook: terminal lines.
 */
export function stageDisplays(): {
  progress: (label: string) => Progress;
  flush: () => Promise<void>;
} {
  const bars: LiveDisplay[] = [];
  return {
    progress: (label) => {
      const b = liveDisplay(label);
      bars.push(b);
      return b;
    },
    flush: async () => {
      for (const b of bars) await b.flush();
    },
  };
}

/** A list for a table cell; many `{data}/` files are counted per folder. */
function listText(v: readonly unknown[]): string {
  const data = v.filter((x): x is string => typeof x === "string" && x.startsWith("{data}/"));
  if (data.length <= 3) return v.join(", ");
  const dirs = [...new Set(data.map((x) => x.slice(0, x.lastIndexOf("/") + 1)))];
  return [
    ...v.filter((x) => !data.includes(x as string)),
    `${data.length} files in ${dirs.join(", ")}`,
  ]
    .join(", ");
}

/** Settings as table rows `{setting, value}` (nested keys joined with dots). */
export function settingsRows(s: Readonly<ReproduceSettings>): Row[] {
  const rows: Row[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    } else {
      const text = Array.isArray(v) ? listText(v) : v === null ? "–" : String(v);
      rows.push({ setting: prefix, value: text });
    }
  };
  walk("", { pretrain: s.pretrain, table5: s.table5, layers: s.layers, zeroshot: s.zeroshot });
  return rows;
}

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
  const t1 = performance.now();
  const reportPath = join(outDir, "report.html");
  const [about, appendix] = await runSections(s, layout, stages, backend.name, elapsed(t0));
  const w = await writeReport(reportPath, [about, ...(await layoutSections(layout)), appendix], {
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
