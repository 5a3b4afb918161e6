/**
 * Orchestration: the steps the CLI and notebooks run, as functions over the library
 * (corpus → vocabulary → token cache → pre-training; held-out evaluation).
 *
 * @example
 * ```ts
 * const data = await prepareLmData({ corpus: ["embedded"], vocab: "train", merges: 8000,
 *   cacheDir: "results/_cache" });
 * console.log(data.tokenizer.vocabSize, data.cache.manifest.counts);
 * ```
 * @module
 */
import { join, resolve } from "node:path";
import { Gpt1Tokenizer } from "./tokenizer/bpe.ts";
import { BpeTrainer } from "./tokenizer/trainer.ts";
import { buildTokenCache, type BuiltTokenCache } from "./data.ts";
import {
  collectDocuments,
  type CorpusSource,
  openCorpus,
  sha256Hex,
  splitDocuments,
  type SplitOptions,
  type WarnFn,
} from "./corpus.ts";
import { ConfigError } from "./errors.ts";
import { exists, portablePath, writeJsonAtomic } from "./fsutil.ts";
import { type Progress, silentProgress } from "./progress.ts";
import { FINETUNE_DEFAULTS as FT, makeConfig, type PresetName } from "./config.ts";
import {
  type LanguageModel,
  type ModelConfig,
  type ModelKind,
  numLayers,
} from "./language_model.ts";
import { makeLstmConfig } from "./lstm.ts";
import { evaluateLm, pretrain, type PretrainResult } from "./train.ts";
import type { LogRecord } from "./runs.ts";
import type { LayersRow, Table5Cell } from "./runs.ts";
import { asEncoder, loadVocab, releasedVocabFiles, saveVocab, VOCAB_FILES } from "./vocab.ts";

/** Options of {@link prepareLmData}. */
export interface PrepareLmDataOptions {
  /** Corpus specs: `embedded`, a folder of .txt/.md files, or a file (several are concatenated). */
  corpus: string[];
  /** `train` (learn BPE merges on the training documents), `gpt1` (released), or a folder. */
  vocab: string;
  /** Merges to learn when `vocab` is `train`. */
  merges?: number;
  /** Cache folder (vocabularies and token caches live under it, keyed by content). */
  cacheDir: string;
  /** Document-level train/validation split. */
  split?: SplitOptions;
  /** Progress display. */
  progress?: Progress;
  /** Warnings (undecodable files etc.). */
  warn?: WarnFn;
}

/** What {@link prepareLmData} returns. */
export interface LmData {
  /** The tokenizer. */
  tokenizer: Gpt1Tokenizer;
  /** The folder holding the tokenizer's files. */
  vocabDir: string;
  /** The token cache (train + valid splits). */
  cache: BuiltTokenCache;
  /** The corpus sources. */
  sources: CorpusSource[];
}

/**
 * Corpus → vocabulary → token cache, reusing what is already built. A trained vocabulary is
 * learned on the training documents only (validation text stays unseen) and stored under
 * `cacheDir/vocab-<hash>/`, where the hash covers the documents and the number of merges.
 */
export async function prepareLmData(opts: PrepareLmDataOptions): Promise<LmData> {
  const progress = opts.progress ?? silentProgress;
  const sources = opts.corpus.flatMap((c) => openCorpus(c, { warn: opts.warn }));
  if (sources.length === 0) throw new ConfigError("no corpus given", { fix: "--corpus embedded" });
  let tokenizer: Gpt1Tokenizer, vocabDir: string;
  if (opts.vocab === "train") {
    const merges = opts.merges ?? 8000;
    const docs = await collectDocuments(sources);
    const { train } = splitDocuments(docs, opts.split);
    const key = sha256Hex(`${merges}\n` + train.map((d) => `${d.id} ${d.sha256}`).join("\n"))
      .slice(0, 16);
    vocabDir = join(opts.cacheDir, `vocab-${key}`);
    if (await exists(join(vocabDir, VOCAB_FILES.merges))) {
      tokenizer = await loadVocab(vocabDir);
    } else {
      const trainer = new BpeTrainer({
        merges,
        minCharCount: 2,
        onProgress: (d, t) =>
          progress.update({ done: d, total: t, fields: { stage: "bpe merges" } }),
        progressEvery: 100,
      });
      let bytes = 0;
      const total = train.reduce((s, d) => s + d.bytes, 0);
      for (const d of train) {
        trainer.addText(d.text);
        bytes += d.bytes;
        progress.update({ done: bytes, total, fields: { stage: "bpe words" } });
      }
      const v = trainer.train();
      tokenizer = new Gpt1Tokenizer(v.pieces, v.merges);
      await saveVocab(tokenizer, vocabDir);
      await writeJsonAtomic(join(vocabDir, "vocab.json"), {
        merges,
        learned: v.merges.length,
        vocabSize: tokenizer.vocabSize,
        documents: train.length,
        hash: tokenizer.hash,
      });
    }
  } else {
    vocabDir = opts.vocab === "gpt1"
      ? resolve((await releasedVocabFiles()).encoder, "..")
      : opts.vocab;
    tokenizer = await loadVocab(opts.vocab);
  }
  const encoder = asEncoder(tokenizer);
  const cacheKey = sha256Hex(
    sources.map((s) => `${s.name}\t${s.origin}`).join("\n") + `\n${tokenizer.hash}`,
  ).slice(0, 16);
  const cache = await buildTokenCache({
    sources,
    encoder,
    dir: join(opts.cacheDir, `tokens-${cacheKey}`),
    split: opts.split,
    warn: opts.warn,
    onProgress: (d, t) => progress.update({ done: d, total: t, fields: { stage: "tokenize" } }),
  });
  progress.finish(
    `data ready: ${cache.manifest.counts.train.tokens} train / ${cache.manifest.counts.valid.tokens}` +
      ` valid tokens (${cache.reused ? "cache reused" : cache.reason})`,
  );
  return { tokenizer, vocabDir, cache, sources };
}

/** Number of whitespace-separated words in a text (for per-word perplexity). */
export function countWords(text: string): number {
  const m = text.match(/\S+/g);
  return m ? m.length : 0;
}

/** Result of {@link evaluateText}. */
export interface TextEval {
  /** What was evaluated. */
  source: string;
  /** Mean cross-entropy, nats per predicted token. */
  loss: number;
  /** Tokens predicted. */
  tokens: number;
  /** Whitespace-separated words in the evaluated text (scaled to the windows evaluated). */
  words: number;
  /** exp(loss). */
  perplexity: number;
  /** exp(total NLL / words): comparable across tokenizers. */
  wordPerplexity: number;
}

/**
 * Perplexity of `model` on a held-out text (file or folder), per token and per word. Documents
 * are tokenized and joined with the separator token; windows as in {@link evaluateLm}.
 */
export async function evaluateText(
  model: LanguageModel,
  tok: Gpt1Tokenizer,
  path: string,
  opts: { maxWindows?: number; batchSize?: number } = {},
): Promise<TextEval> {
  const sources = openCorpus(path);
  const docs = await collectDocuments(sources);
  const sep = asEncoder(tok).separatorId;
  const ids: number[] = [];
  let words = 0;
  for (const d of docs) {
    for (const t of tok.encode(d.text)) ids.push(t);
    if (sep !== undefined) ids.push(sep);
    words += countWords(d.text);
  }
  const r = await evaluateLm(model, ids, opts);
  // Per-word: scale the word count to the share of tokens evaluated (all of them unless capped).
  const share = r.tokens / Math.max(1, ids.length - 1);
  const w = Math.max(1, Math.round(words * Math.min(1, share)));
  return {
    source: path,
    loss: r.loss,
    tokens: r.tokens,
    words: w,
    perplexity: Math.exp(r.loss),
    wordPerplexity: Math.exp((r.loss * r.tokens) / w),
  };
}

/** Options of {@link runPretraining}: the data, the model and {@link pretrain}'s schedule. */
export interface PretrainingOptions {
  /** `gpt1` (Transformer) or `lstm` (the baseline sized to the same preset). */
  model: ModelKind;
  /** Model preset. */
  preset: PresetName;
  /** Corpus specs, resolved (`embedded`, folders, files). */
  corpus: string[];
  /** `train` | `gpt1` | a vocabulary folder. */
  vocab: string;
  /** BPE merges when `vocab` is `train`. */
  merges: number;
  /** Cache folder of vocabularies and token caches. */
  cacheDir: string;
  /** Run folder (gets `vocab/`, `log.jsonl`, checkpoints, `config.json`). */
  outDir: string;
  /** Total updates. */
  steps: number;
  /** Windows per batch. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Warmup updates. */
  warmupSteps: number;
  /** Seed of the model and the data order. */
  seed: number;
  /** Validation interval (updates). */
  evalEvery: number;
  /** Validation windows (default: {@link pretrain}'s). */
  evalWindows?: number;
  /** Latest-checkpoint interval. */
  ckptEvery: number;
  /** Continue from `<outDir>/latest.safetensors`. */
  resume: boolean;
  /** Stop after this many updates of this call. */
  stopAfter?: number;
  /** Receives each log record. */
  onLog?: (rec: LogRecord) => void;
  /** Progress of the data preparation and of the training loop. */
  progress: { data: Progress; train: Progress };
  /** Warnings of the corpus readers. */
  warn: (message: string) => void;
  /** `runInfo.corpus` of `config.json` (default: `corpus`). */
  corpusInfo?: readonly string[];
  /** `runInfo.vocab.dir` of `config.json` (default `vocab`). */
  vocabDirInfo?: string;
  /** More `runInfo` fields, written after the standard ones. */
  runInfo?: Record<string, unknown>;
  /**
   * `auto` (default: the WebGPU engine for GPT-1 on a hardware adapter, else tfjs) | `tfjs` |
   * `webgpu` (see `train_webgpu.ts`).
   */
  engine?: string;
  /** Windows per micro-batch on the WebGPU engine (default: `defaultMicroBatch`). */
  microBatch?: number;
  /** Receives the one line saying which engine runs and why (default: stderr). */
  log?: (line: string) => void;
}

/**
 * The pre-training pipeline, the one the CLI's `pretrain` and the reproduce stage both run:
 * corpus → vocabulary → token cache ({@link prepareLmData}), the vocabulary saved to
 * `<outDir>/vocab`, a model of `model`'s kind at `preset` sized to the vocabulary, then
 * {@link pretrain}. Returns the training result (the caller disposes `model`) and the data.
 */
export async function runPretraining(
  o: PretrainingOptions,
): Promise<{ result: PretrainResult<LanguageModel>; data: LmData }> {
  const data = await prepareLmData({
    corpus: o.corpus,
    vocab: o.vocab,
    merges: o.merges,
    cacheDir: o.cacheDir,
    progress: o.progress.data,
    warn: o.warn,
  });
  await saveVocab(data.tokenizer, join(o.outDir, "vocab"));
  const vocabSize = data.tokenizer.vocabSize;
  const config: ModelConfig = o.model === "lstm"
    ? makeLstmConfig(o.preset, { vocabSize })
    : makeConfig(o.preset, { vocabSize });
  const { chooseEngine, webgpuEngine } = await import("./train_webgpu.ts");
  const choice = await chooseEngine(o.engine ?? "auto", o.model);
  const log = o.log ?? ((line: string) => console.error(line));
  log(choice.line);
  const engine = choice.gpu
    ? webgpuEngine(choice.gpu, { microBatch: o.microBatch, log })
    : undefined;
  const result = await pretrain<ModelConfig>({
    config,
    engine,
    train: data.cache.train,
    valid: data.cache.valid,
    outDir: o.outDir,
    steps: o.steps,
    batchSize: o.batchSize,
    lr: o.lr,
    warmupSteps: o.warmupSteps,
    seed: o.seed,
    evalEvery: o.evalEvery,
    ...(o.evalWindows !== undefined ? { evalWindows: o.evalWindows } : {}), // pretrain spreads its options over the defaults
    ckptEvery: o.ckptEvery,
    resume: o.resume,
    stopAfter: o.stopAfter,
    vocabHash: data.tokenizer.hash,
    progress: o.progress.train,
    onLog: o.onLog,
    runInfo: {
      preset: o.preset,
      modelKind: o.model,
      corpus: [...(o.corpusInfo ?? o.corpus)],
      vocab: { dir: o.vocabDirInfo ?? "vocab", size: vocabSize, hash: data.tokenizer.hash },
      cache: data.cache.manifest.counts,
      engineChoice: {
        requested: o.engine ?? "auto",
        why: choice.why,
        adapter: choice.adapter ?? null,
      },
      ...o.runInfo,
    },
  });
  return { result, data };
}

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
 * (without it, the file is started afresh).
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
  let items: T[] = [];
  if (opts.skipDone && (await exists(opts.path))) {
    items = JSON.parse(await Deno.readTextFile(opts.path))[opts.listName] ?? [];
  }
  for (const key of opts.keys) {
    if (items.some((it) => opts.keyOf(it) === key)) continue;
    items.push(await opts.run(key));
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
  const { TABLE5 } = await import("./paper.ts");
  // the header only: every fine-tune below loads the weights itself
  const { config, kind: model } = await readCheckpointInfo(opts.ckpt);
  const ft = sweepRunOptions(opts);
  await Deno.mkdir(opts.outDir, { recursive: true });
  const paperRow = (method: string) => TABLE5.rows.find((r) => r.method === method)?.scores ?? {};
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
    header: (cells) => ({
      checkpoint: portablePath(opts.ckpt),
      settings: {
        epochs: ft.epochs,
        lr: ft.lr,
        seed: ft.seed,
        batchSize: FT.batchSize,
        // [maxTrain, maxEval] per task, as the cells ran (a resumed sweep may mix caps)
        caps: Object.fromEntries(cells.map((c) => [c.task, [c.maxTrain, c.maxEval]])),
      },
    }),
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
      const cfg = JSON.parse(await Deno.readTextFile(join(run, "config.json")));
      const paperKey = task.name === "snli" || task.name === "storycloze" ? null : task.name;
      // an LSTM checkpoint's `full` is Table 5's last row; its other variants are not in the paper
      const method = model === "lstm" ? (v.key === "full" ? LSTM_ROW : null) : v.method;
      const p = paperKey && method
        ? (paperRow(method) as Record<string, number>)[paperKey]
        : undefined;
      return {
        task: task.name,
        variant: v.key,
        model,
        metric: r.eval.metric,
        value: r.eval.value,
        split: r.eval.split,
        n: r.eval.n,
        nTrain: cfg.sizes.train,
        maxTrain: opts.maxTrain ?? null,
        maxEval: opts.maxEval ?? null,
        paper: p ?? null,
        run: portablePath(run),
      };
    },
  });
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
  const counts = opts.layers ?? Array.from({ length: L + 2 }, (_, i) => i - 1);
  await Deno.mkdir(opts.outDir, { recursive: true });
  return await resumableSweep<number, LayersRow>({
    path: join(opts.outDir, "layers.json"),
    listName: "rows",
    keys: counts,
    keyOf: (r) => r.nTransfer,
    skipDone: opts.skipDone,
    order: (a, b) => a.nTransfer - b.nTransfer,
    header: () => ({
      task: task.name,
      checkpoint: portablePath(opts.ckpt),
      settings: {
        maxTrain: opts.maxTrain ?? null,
        maxEval: opts.maxEval ?? null,
        epochs: ft.epochs,
        lr: ft.lr,
        auxLm: opts.auxLm ?? FT.auxLm,
        seed: ft.seed,
      },
    }),
    run: async (n) => {
      const run = join(opts.outDir, `transfer${n}`);
      const r = await finetune({
        ...ft,
        task: task.name,
        init: opts.ckpt,
        transferLayers: n,
        auxLm: opts.auxLm ?? FT.auxLm,
        outDir: run,
        progress: opts.progress?.(n),
      });
      return {
        task: task.name,
        nTransfer: n,
        x: n + 1,
        metric: r.eval.metric,
        train: r.train.value,
        valid: r.eval.value,
        split: r.eval.split,
        n: r.eval.n,
        run: portablePath(run),
      };
    },
  });
}
