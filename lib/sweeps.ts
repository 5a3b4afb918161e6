/**
 * The fine-tuning sweeps: Table 5 at our scale ({@link runTable5}: each task as the full model,
 * without pre-training and without the auxiliary LM) and the layers-transferred ablation
 * ({@link ablateLayers}, Figure 2 left), both over one resumable sweep helper
 * ({@link resumableSweep}) and one set of per-run fine-tuning options.
 *
 * @example
 * ```ts
 * import { runTable5 } from "./sweeps.ts";
 * const cells = await runTable5({ ckpt, tokenizer, dataRoot: "../shared/datasets",
 *   outDir: "results/table5", tasks: ["rte"], maxTrain: 200 });
 * ```
 * @module
 */
import { join } from "node:path";
import type { Gpt1Tokenizer } from "./tokenizer/bpe.ts";
import { exists, portablePath, writeJsonAtomic } from "./fsutil.ts";
import type { Progress } from "./progress.ts";
import { FINETUNE_DEFAULTS as FT } from "./config.ts";
import { type ModelKind, numLayers } from "./language_model.ts";
import { TABLE5 } from "./paper.ts";
import { ConfigError } from "./errors.ts";
import type { FinetuneResult } from "./finetune.ts";
import type { LayersRow, Table5Cell } from "./runs.ts";

/** The three Table 5 rows we can run (the LSTM row belongs to the LSTM baseline). */
export const TABLE5_VARIANTS = [
  { key: "full", method: "Transformer w/ aux LM (full)", pretrained: true, auxLm: FT.auxLm },
  {
    key: "no-pretrain",
    method: "Transformer w/o pre-training",
    pretrained: false,
    auxLm: FT.auxLm,
  },
  { key: "no-aux", method: "Transformer w/o aux LM", pretrained: true, auxLm: 0 },
] as const;

/** Table 5's LSTM row: the `full` variant fine-tuned from an LSTM checkpoint. */
export const LSTM_ROW = "LSTM w/ aux LM";

/** Tasks of our Table 5 run (those with data in `../shared/datasets`), by registry name. */
export const TABLE5_TASKS = ["cola", "sst2", "mrpc", "stsb", "rte", "snli", "storycloze"] as const;

/**
 * A resumable sweep over `keys`: runs `run(key)` for each key whose result is not yet in the
 * JSON file `path` (under `listName`), and rewrites the file atomically after every finished
 * run with `header(items)` and the items (sorted by `order` when given). A killed sweep keeps
 * what finished; with `skipDone` the finished items are read back and their keys skipped
 * (without it, the file is started afresh). With `skipDone`, the file is read again before each
 * run and before each write, so two processes sweeping different keys into one file keep each
 * other's items (the window between that read and the atomic write is the only race left).
 *
 * @example
 * ```ts
 * const rows = await resumableSweep({
 *   path: "results/sweep/rows.json", listName: "rows", keys: [1, 2, 3], skipDone: true,
 *   keyOf: (r: { k: number; score: number }) => r.k,
 *   run: async (k) => ({ k, score: k * k }),
 *   header: () => ({ what: "squares" }),
 * });
 * ```
 */
export async function resumableSweep<K, T>(opts: {
  path: string;
  listName: string;
  keys: readonly K[];
  keyOf: (item: T) => K;
  skipDone?: boolean;
  run: (key: K) => Promise<T>;
  header: (items: readonly T[]) => Record<string, unknown>;
  order?: (a: T, b: T) => number;
}): Promise<T[]> {
  const onDisk = async (): Promise<T[]> =>
    (await exists(opts.path))
      ? JSON.parse(await Deno.readTextFile(opts.path))[opts.listName] ?? []
      : [];
  const has = (list: readonly T[], key: K) => list.some((it) => opts.keyOf(it) === key);
  // with skipDone, items another process added to the file meanwhile are kept (merged by key)
  const merge = async (items: T[]) => {
    if (opts.skipDone) {
      for (const it of await onDisk()) if (!has(items, opts.keyOf(it))) items.push(it);
    }
  };
  const items: T[] = opts.skipDone ? await onDisk() : [];
  for (const key of opts.keys) {
    if (has(items, key)) continue;
    await merge(items);
    if (has(items, key)) continue;
    const item = await opts.run(key);
    await merge(items);
    const at = items.findIndex((it) => opts.keyOf(it) === key); // another process ran it too
    if (at >= 0) items[at] = item;
    else items.push(item);
    if (opts.order) items.sort(opts.order);
    await writeJsonAtomic(opts.path, { ...opts.header(items), [opts.listName]: items });
  }
  return items;
}

/** What both fine-tuning sweeps ({@link runTable5}, {@link ablateLayers}) take. */
export interface SweepOptions {
  /** The pre-trained checkpoint every run starts from. */
  ckpt: string;
  /** Its vocabulary. */
  tokenizer: Gpt1Tokenizer;
  /** The datasets folder. */
  dataRoot: string;
  /** The sweep's folder (one run folder per point, plus the sweep's JSON). */
  outDir: string;
  /** Cap on training examples (seeded sample). */
  maxTrain?: number;
  /** Cap on evaluation examples (seeded sample). */
  maxEval?: number;
  /** Epochs (default `FINETUNE_DEFAULTS`). */
  epochs?: number;
  /** Peak learning rate (default `FINETUNE_DEFAULTS`). */
  lr?: number;
  /** Seed (default `FINETUNE_DEFAULTS`). */
  seed?: number;
  /** Keep the points already in the sweep's JSON. */
  skipDone?: boolean;
}

/** The fine-tuning options every run of a sweep shares: its options over the defaults. */
function sweepRunOptions(o: SweepOptions) {
  return {
    dataRoot: o.dataRoot,
    tokenizer: o.tokenizer,
    maxTrain: o.maxTrain,
    maxEval: o.maxEval,
    epochs: o.epochs ?? FT.epochs,
    lr: o.lr ?? FT.lr,
    seed: o.seed ?? FT.seed,
  };
}

/**
 * Runs Table 5 at our scale: for each task with data, the full model, w/o pre-training and w/o
 * aux LM, all from the same checkpoint and settings. Each run writes its own folder under
 * `outDir`; `outDir/table5.json` collects the cells (rewritten after every run, so a killed
 * sweep keeps what finished and `skipDone` continues it).
 */
export async function runTable5(
  opts: SweepOptions & {
    tasks?: readonly string[];
    variants?: readonly string[];
    progress?: (task: string, variant: string) => Progress;
  },
): Promise<Table5Cell[]> {
  const { finetune } = await import("./finetune.ts");
  const { getTask } = await import("./tasks/mod.ts");
  const { readCheckpointInfo } = await import("./checkpoint.ts");
  // the header only: every fine-tune below loads the weights itself
  const { config, kind: model } = await readCheckpointInfo(opts.ckpt);
  const ft = sweepRunOptions(opts);
  await Deno.mkdir(opts.outDir, { recursive: true });
  const keys: string[] = [];
  for (const name of opts.tasks ?? TABLE5_TASKS) {
    const task = getTask(name);
    if (!(await exists(join(opts.dataRoot, task.folder)))) {
      console.error(
        `table5: skipping ${task.title}: no data in ${join(opts.dataRoot, task.folder)}`,
      );
      continue;
    }
    for (const v of TABLE5_VARIANTS) {
      if (!opts.variants || opts.variants.includes(v.key)) keys.push(`${task.name}/${v.key}`);
    }
  }
  return await resumableSweep<string, Table5Cell>({
    path: join(opts.outDir, "table5.json"),
    listName: "cells",
    keys,
    keyOf: (c) => `${c.task}/${c.variant}`,
    skipDone: opts.skipDone,
    header: (cells) => table5Header(opts.ckpt, ft, cells),
    run: async (key) => {
      const [name, variant] = key.split("/");
      const task = getTask(name);
      const v = TABLE5_VARIANTS.find((v) => v.key === variant)!;
      const run = join(opts.outDir, `${task.name}-${v.key}`);
      const r = await finetune({
        ...ft,
        task: task.name,
        init: v.pretrained ? opts.ckpt : "none",
        config,
        auxLm: v.auxLm,
        outDir: run,
        progress: opts.progress?.(task.title, v.key),
      });
      return await table5Cell({
        task: task.name,
        variant: v.key,
        model,
        result: r,
        runDir: run,
        maxTrain: opts.maxTrain,
        maxEval: opts.maxEval,
      });
    },
  });
}

/**
 * The head of `table5.json` above its cells: the checkpoint and the settings the cells share
 * (`[maxTrain, maxEval]` per task as the cells ran; a resumed sweep may mix caps).
 */
export function table5Header(
  ckpt: string,
  ft: { epochs: number; lr: number; seed: number },
  cells: readonly Table5Cell[],
): Record<string, unknown> {
  return {
    checkpoint: portablePath(ckpt),
    settings: {
      epochs: ft.epochs,
      lr: ft.lr,
      seed: ft.seed,
      batchSize: FT.batchSize,
      caps: Object.fromEntries(cells.map((c) => [c.task, [c.maxTrain, c.maxEval]])),
    },
  };
}

/**
 * One cell of Table 5 from a finished fine-tune (its run folder holds `config.json`), with the
 * paper's value for the same row and task when the paper has one (an LSTM checkpoint's `full`
 * is Table 5's last row; its other variants are not in the paper).
 */
export async function table5Cell(c: {
  task: string;
  variant: string;
  model: ModelKind;
  result: FinetuneResult;
  runDir: string;
  maxTrain?: number;
  maxEval?: number;
}): Promise<Table5Cell> {
  const v = TABLE5_VARIANTS.find((v) => v.key === c.variant);
  if (!v) {
    throw new ConfigError(`unknown Table 5 variant "${c.variant}"`, {
      fix: `use ${TABLE5_VARIANTS.map((v) => v.key).join(" | ")}`,
    });
  }
  const cfg = JSON.parse(await Deno.readTextFile(join(c.runDir, "config.json")));
  const paperKey = c.task === "snli" || c.task === "storycloze" ? null : c.task;
  const method = c.model === "lstm" ? (v.key === "full" ? LSTM_ROW : null) : v.method;
  const row = TABLE5.rows.find((r) => r.method === method)?.scores ?? {};
  const p = paperKey && method ? (row as Record<string, number>)[paperKey] : undefined;
  return {
    task: c.task,
    variant: v.key,
    model: c.model,
    metric: c.result.eval.metric,
    value: c.result.eval.value,
    split: c.result.eval.split,
    n: c.result.eval.n,
    nTrain: cfg.sizes.train,
    maxTrain: c.maxTrain ?? null,
    maxEval: c.maxEval ?? null,
    paper: p ?? null,
    run: portablePath(c.runDir),
  };
}

/**
 * Our Table 5 next to the paper's, as a Markdown table (rows: the variants that have cells, the
 * LSTM row last; columns: tasks). LSTM cells are those with `model: "lstm"` and variant `full`,
 * or variant `lstm` (as `readTable5` merges them).
 */
export function table5Markdown(cells: readonly Table5Cell[]): string {
  const tasks = [...new Set(cells.map((c) => c.task))];
  const head = `| method | ${
    tasks.map((t) => `${t} (${cells.find((c) => c.task === t)!.metric})`).join(" | ")
  } |`;
  const sep = `|---|${tasks.map(() => "---").join("|")}|`;
  const rowOf = (c: Table5Cell) =>
    c.variant === "lstm" || (c.model === "lstm" && c.variant === "full")
      ? "lstm"
      : c.model === "lstm"
      ? `lstm ${c.variant}`
      : c.variant;
  const methods: [string, string][] = [
    ...TABLE5_VARIANTS.map((v) => [v.key, v.method] as [string, string]),
    ["lstm", LSTM_ROW],
    ...TABLE5_VARIANTS.filter((v) => v.key !== "full").map((v) =>
      [`lstm ${v.key}`, v.method.replace("Transformer", "LSTM")] as [string, string]
    ),
  ];
  const rows = methods.filter(([key]) => cells.some((c) => rowOf(c) === key)).map(([key, name]) => {
    const vals = tasks.map((t) => {
      const c = cells.find((c) => c.task === t && rowOf(c) === key);
      if (!c) return "–";
      return `${c.value.toFixed(1)}${c.paper !== null ? ` (paper ${c.paper})` : ""}`;
    });
    return `| ${name} | ${vals.join(" | ")} |`;
  });
  return [head, sep, ...rows].join("\n") + "\n";
}

/** The transfer counts of a layers sweep over an `L`-layer model: `layers`, else -1..L. */
export function transferCounts(L: number, layers?: readonly number[]): number[] {
  return layers ? [...layers] : Array.from({ length: L + 2 }, (_, i) => i - 1);
}

/** The run folder of transfer count `n` in a layers sweep's folder. */
export function layersRunDir(outDir: string, n: number): string {
  return join(outDir, `transfer${n}`);
}

/** The settings of a layers sweep as `layers.json` records them (its runs' options). */
export interface LayersSweepSettings {
  maxTrain?: number;
  maxEval?: number;
  epochs: number;
  lr: number;
  auxLm: number;
  seed: number;
}

/** Everything of `layers.json` but its rows. */
export function layersHeader(
  task: string,
  ckpt: string,
  o: LayersSweepSettings,
): Record<string, unknown> {
  return {
    task,
    checkpoint: portablePath(ckpt),
    settings: {
      maxTrain: o.maxTrain ?? null,
      maxEval: o.maxEval ?? null,
      epochs: o.epochs,
      lr: o.lr,
      auxLm: o.auxLm,
      seed: o.seed,
    },
  };
}

/** The row of `layers.json` of a fine-tune with transfer count `n`, run into `run`. */
export function layersRow(task: string, n: number, r: FinetuneResult, run: string): LayersRow {
  return {
    task,
    nTransfer: n,
    x: n + 1,
    metric: r.eval.metric,
    train: r.train.value,
    valid: r.eval.value,
    split: r.eval.split,
    n: r.eval.n,
    run: portablePath(run),
  };
}

/**
 * The layers-transferred ablation: fine-tunes once per transfer count (-1 nothing, 0
 * embeddings only, 1..L blocks) from the same checkpoint and settings; writes
 * `outDir/layers.json` after each run (a killed sweep keeps what finished; `skipDone` continues).
 */
export async function ablateLayers(
  opts: SweepOptions & {
    task: string;
    layers?: number[];
    auxLm?: number;
    progress?: (n: number) => Progress;
  },
): Promise<LayersRow[]> {
  const { finetune } = await import("./finetune.ts");
  const { getTask } = await import("./tasks/mod.ts");
  const { readCheckpointInfo } = await import("./checkpoint.ts");
  const task = getTask(opts.task);
  const L = numLayers((await readCheckpointInfo(opts.ckpt)).config);
  const ft = sweepRunOptions(opts);
  const auxLm = opts.auxLm ?? FT.auxLm;
  await Deno.mkdir(opts.outDir, { recursive: true });
  return await resumableSweep<number, LayersRow>({
    path: join(opts.outDir, "layers.json"),
    listName: "rows",
    keys: transferCounts(L, opts.layers),
    keyOf: (r) => r.nTransfer,
    skipDone: opts.skipDone,
    order: (a, b) => a.nTransfer - b.nTransfer,
    header: () => layersHeader(task.name, opts.ckpt, { ...ft, auxLm }),
    run: async (n) => {
      const run = layersRunDir(opts.outDir, n);
      const r = await finetune({
        ...ft,
        task: task.name,
        init: opts.ckpt,
        transferLayers: n,
        auxLm,
        outDir: run,
        progress: opts.progress?.(n),
      });
      return layersRow(task.name, n, r, run);
    },
  });
}
