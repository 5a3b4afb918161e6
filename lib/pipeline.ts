/**
 * The pre-training pipeline the CLI, the reproduce stage and the notebooks run: corpus →
 * vocabulary → token cache ({@link prepareLmData}) → pre-training ({@link runPretraining}),
 * and the per-word perplexity on a held-out text ({@link evaluateText}). The fine-tuning
 * sweeps (Table 5, layers) are in `sweeps.ts`.
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
import { exists, writeJsonAtomic } from "./fsutil.ts";
import { type Progress, silentProgress } from "./progress.ts";
import { makeConfig, type PresetName } from "./config.ts";
import type { LanguageModel, ModelConfig, ModelKind } from "./language_model.ts";
import { makeLstmConfig } from "./lstm.ts";
import { evaluateLm, pretrain, type PretrainResult } from "./train.ts";
import type { LogRecord } from "./runs.ts";
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
  /** Log-spaced checkpoints per octave (default 1; see {@link pretrain}). */
  ckptPerOctave?: 1 | 2;
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
   * `auto` (the WebGPU engine for GPT-1 on a hardware adapter, else tfjs) | `tfjs` | `webgpu`
   * (see `train_webgpu.ts`); default `GPT1_ENGINE`, else `auto`.
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
  const requested = o.engine ?? Deno.env.get("GPT1_ENGINE") ?? "auto";
  const choice = await chooseEngine(requested, o.model);
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
    ...(o.ckptPerOctave !== undefined ? { ckptPerOctave: o.ckptPerOctave } : {}),
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
        requested,
        why: choice.why,
        adapter: choice.adapter ?? null,
      },
      ...o.runInfo,
    },
  });
  return { result, data };
}
