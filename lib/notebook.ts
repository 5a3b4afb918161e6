/**
 * Notebook helpers over the stages: where a notebook's results live ({@link notebookPlan}),
 * one live display per piece of work ({@link stageDisplays}), a chart redrawn in place
 * ({@link liveFigure}), report sections shown in cells ({@link showSections}) and the paper's
 * input transformations shown on real examples ({@link inputExamples}), the setup cell in one
 * call ({@link notebookSetup}) and the stage bookkeeping of a cell behind one helper
 * ({@link notebookStage}; {@link notebookTable5} and {@link notebookLayers} for fine-tunes written
 * out in the cell). The command line never imports this file (nor `jupyter.ts`).
 *
 * @example
 * ```ts
 * import { notebookPlan, stageDisplays } from "./notebook.ts";
 * import { runPretrainStage } from "./stages.ts";
 * import { reproduceSettings } from "./settings.ts";
 * const plan = notebookPlan("smoke", false);
 * const bars = stageDisplays();
 * await runPretrainStage(reproduceSettings("smoke"), plan.layout, {
 *   dataRoot: "../shared/datasets",
 *   progress: bars.progress,
 * });
 * await bars.flush();
 * ```
 * @module
 */
import { join } from "node:path";
import { REPO_ROOT } from "./fsutil.ts";
import type { Progress } from "./progress.ts";
import { committedLayout, reproduceLayout, type ResultLayout, type Table5Cell } from "./runs.ts";
import { buildInputs, getTask, loadTask } from "./tasks/mod.ts";
import { specialsFor } from "./transforms.ts";
import { taskSplits } from "./finetune.ts";
import type { Gpt1Tokenizer } from "./tokenizer/bpe.ts";
import type { Figure } from "./_plot.ts";
import type { ReportSection, Row } from "./report.ts";
import {
  defaultDataRoot,
  defaultOutDir,
  protocolAt,
  type ProtocolScaleSettings,
  type ReproduceSettings,
  reproduceSettings,
  type Scale,
} from "./settings.ts";
import {
  isLayersSession,
  isTable5Session,
  type LayersSession,
  type LayersSweep,
  openLayersStage,
  openTable5Stage,
  type StageContext,
  type StageResult,
  type Table5Session,
  tasksWithData,
} from "./stages.ts";
import { type BackendChoice, selectBackend } from "./backend.ts";
import type { ModelKind } from "./language_model.ts";
import {
  display,
  inNotebook,
  type LiveDisplay,
  liveDisplay,
  showMarkdown,
  showTable,
} from "./jupyter.ts";

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
  for (const name of await tasksWithData(dataRoot, tasks)) {
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

// ---------------------------------------------------------------------------------------------
// the setup cell and the stage cells of a notebook

/** What {@link notebookSetup} gives every notebook. */
export interface NotebookSetup {
  /** `GPT1_SCALE` (default `small`). */
  scale: Scale;
  /** `GPT1_RECOMPUTE=1`. */
  recompute: boolean;
  /** The scale's settings (`REPRODUCE_SCALES` in `settings.ts`). */
  settings: Readonly<ReproduceSettings>;
  /** Read the committed results, or compute ({@link notebookPlan}). */
  plan: NotebookPlan;
  /** What the stages need besides their settings (the datasets folder). */
  ctx: StageContext & { dataRoot: string };
  /** The TensorFlow.js backend selected. */
  backend: BackendChoice;
}

/**
 * The setup cell of every notebook in one call: the scale (`GPT1_SCALE`: smoke | small | paper,
 * default `small`) and `GPT1_RECOMPUTE`, its settings and plan, the datasets folder
 * (`GPT1_DATA`, else `../shared/datasets`) and the backend; prints them in four lines.
 *
 * @example
 * ```ts
 * const { settings: S, plan, ctx } = await notebookSetup();
 * ```
 */
export async function notebookSetup(
  env: { get(name: string): string | undefined } = Deno.env,
): Promise<NotebookSetup> {
  const settings = reproduceSettings(env.get("GPT1_SCALE") ?? "small");
  const scale = settings.scale;
  const recompute = env.get("GPT1_RECOMPUTE") === "1";
  const plan = notebookPlan(scale, recompute);
  const ctx = { dataRoot: defaultDataRoot() };
  const backend = await selectBackend({ log: () => {} });
  console.log(
    `scale: ${scale} (${settings.about})\n${plan.note}\ndatasets: ${ctx.dataRoot}\n` +
      `backend: ${backend.name}`,
  );
  return { scale, recompute, settings, plan, ctx, backend };
}

/**
 * A stage cell: when the plan computes, runs `run` with the notebook's context and one live
 * display per piece of work (a finished stage is reused, a stopped one resumes) and prints
 * `label: status (note)`; when it only reads, prints where the results come from instead.
 *
 * @example
 * ```ts
 * await notebookStage(nb, "pre-training", (c) => runPretrainStage(S, nb.plan.layout, c));
 * ```
 */
export async function notebookStage(
  nb: Pick<NotebookSetup, "plan" | "ctx">,
  label: string,
  run: (ctx: StageContext) => Promise<StageResult>,
): Promise<StageResult | null> {
  if (!nb.plan.compute) {
    console.log(`${label}: ${nb.plan.note}`);
    return null;
  }
  const bars = stageDisplays();
  const r = await run({ ...nb.ctx, progress: bars.progress }).finally(() => bars.flush());
  console.log(`${label}: ${r.status} (${r.note})`);
  return r;
}

/**
 * A stage session for a cell: null (and a line saying why) when the plan only reads or `open`
 * gives the stage's outcome instead of a session; else the session, one live display per
 * piece of work, and `closed(close)`, which flushes the displays, then closes the session with
 * `close` and prints `label: status (note)`.
 */
async function openForCell<T>(
  nb: Pick<NotebookSetup, "plan">,
  label: string,
  open: () => Promise<T | StageResult>,
  isSession: (x: T | StageResult) => x is T,
): Promise<
  {
    session: T;
    bars: ReturnType<typeof stageDisplays>;
    closed: (close: () => Promise<StageResult>) => Promise<StageResult>;
  } | null
> {
  if (!nb.plan.compute) {
    console.log(`${label}: ${nb.plan.note}`);
    return null;
  }
  const session = await open();
  if (!isSession(session)) {
    console.log(`${label}: ${session.status} (${session.note})`);
    return null;
  }
  const bars = stageDisplays();
  const closed = async (close: () => Promise<StageResult>) => {
    await bars.flush();
    const r = await close();
    console.log(`${label}: ${r.status} (${r.note})`);
    return r;
  };
  return { session, bars, closed };
}

/**
 * The Table 5 stage opened for fine-tunes written out in a cell: null (and a line saying why)
 * when the plan only reads or the stage has nothing to do (finished earlier, no data), else a
 * {@link Table5Session} with `progress(label)` for each run's live display. Call `finetune`
 * per task into `session.runDir(task, variant)`, `session.record(...)` each result, then
 * `session.close()`: the same `table5.json`, `table5.md` and stamp as {@link runTable5Stage}.
 */
export async function notebookTable5(
  nb: Pick<NotebookSetup, "plan" | "ctx" | "settings">,
  label: string,
  opts: { model?: ModelKind } = {},
): Promise<(Table5Session & { progress: (label: string) => Progress }) | null> {
  const open = await openForCell(
    nb,
    label,
    () => openTable5Stage(nb.settings, nb.plan.layout, nb.ctx, opts),
    isTable5Session,
  );
  if (!open) return null;
  const { session: t5, bars, closed } = open;
  return {
    ...t5,
    progress: bars.progress,
    close: (cells?: Table5Cell[]) => closed(() => t5.close(cells)),
  };
}

/**
 * The layers stage opened for fine-tunes written out in a cell: null (and a line saying why)
 * when the plan only reads or the stage has nothing to do (no data), else a
 * {@link LayersSession} whose `start(task)` gives a sweep to fill (null when that task finished
 * earlier) with `progress(n)` for each fine-tune's live display. Call `finetune` per transfer
 * count into `sweep.runDir(n)`, `sweep.record(n, result)`, then `sweep.finish()` per task and
 * `session.close()`: the same `layers.json` and stamps as {@link runLayersStage}.
 */
export async function notebookLayers(
  nb: Pick<NotebookSetup, "plan" | "ctx" | "settings">,
  label: string,
): Promise<
  | (Omit<LayersSession, "start"> & {
    start(task: string): Promise<(LayersSweep & { progress: (n: number) => Progress }) | null>;
  })
  | null
> {
  const open = await openForCell(
    nb,
    label,
    () => openLayersStage(nb.settings, nb.plan.layout, nb.ctx),
    isLayersSession,
  );
  if (!open) return null;
  const { session: ls, bars, closed } = open;
  return {
    ...ls,
    async start(task: string) {
      const sw = await ls.start(task);
      if (!sw) console.log(`${task}: finished earlier with these settings`);
      return sw && { ...sw, progress: (n: number) => bars.progress(`${task} transfer ${n}`) };
    },
    close: () => closed(() => ls.close()),
  };
}

/** The protocol of a notebook: its settings (folders moved where it computes) and whether it computes. */
export interface NotebookProtocol {
  /** The protocol's settings; their folders are where the notebook reads and writes. */
  P: Readonly<ProtocolScaleSettings>;
  /** True: the cells compute (resuming finished work); false: they read committed files. */
  compute: boolean;
  /** One line saying which. */
  note: string;
}

/**
 * The small-scale protocol for a notebook ({@link notebookSetup}'s scale): at `small` the
 * committed run in `results/protocol` (read only; `GPT1_RECOMPUTE=1` computes into
 * `results/_scratch/reproduce-small/protocol`), at `smoke` `SMOKE_PROTOCOL` in
 * `results/_scratch/reproduce-smoke/protocol`, the folder `deno task reproduce` uses, so each
 * reuses the other's finished runs. Null when the scale has no protocol.
 */
export function notebookProtocol(
  nb: Pick<NotebookSetup, "scale" | "settings" | "plan">,
): NotebookProtocol | null {
  const P = nb.settings.protocol;
  if (!P) return null;
  if (nb.scale === "small" && !nb.plan.compute) {
    // the committed run, by absolute path (a notebook's working folder is notebooks/)
    const committed = {
      ...protocolAt(P, join(REPO_ROOT, P.out)),
      glueDir: join(REPO_ROOT, P.glueDir),
    };
    return { P: committed, compute: false, note: `reading the committed protocol in ${P.out}` };
  }
  const dir = join(defaultOutDir(nb.scale), "protocol");
  return {
    P: protocolAt(P, dir),
    compute: nb.plan.compute,
    note: nb.plan.compute ? `computing into ${dir} (finished runs are reused)` : `reading ${dir}`,
  };
}
