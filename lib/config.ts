/**
 * The GPT-1 model configuration: one frozen object type with the paper's defaults, three
 * named presets and a validating constructor that rejects unknown keys and bad values.
 *
 * Sources (paper.md §1.1): 12 post-LN layers, d_model 768, 12 heads, FFN 3072, context 512,
 * vocabulary 40,478 (+3 special tokens `_start_ _delimiter_ _classify_` appended when
 * fine-tuning), dropout 0.1 on embeddings, attention and residuals, classifier dropout 0.1,
 * init N(0, 0.02), LayerNorm eps 1e-5 [paper §4.1; finetune-transformer-lm train.py].
 * The activation (tanh-approximation GELU), post-LN placement, tied LM head and learned
 * positions are fixed in `model.ts`, not configurable.
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * const cfg = makeConfig("small", { vocabSize: 8000, nSpecial: 3 });
 * cfg.nEmbd; // 256
 * ```
 * @module
 */
import { ConfigError } from "./errors.ts";
import { buildConfig, checkKeys, checkNumbers } from "./_config_check.ts";

/** Hyperparameters of a GPT-1 model (all numbers; camelCase forms of the paper's names). */
export interface Gpt1Config {
  /** Token vocabulary without the special tokens (GPT-1: 40,478 = `<unk>` + 238·2 chars + 40,000 merges + `\n</w>`). */
  readonly vocabSize: number;
  /** Special tokens appended after the vocabulary (ids vocabSize..vocabSize+nSpecial-1): 0 for pre-training, 3 for fine-tuning. */
  readonly nSpecial: number;
  /** Context length = rows of the learned position table (GPT-1: 512). */
  readonly nCtx: number;
  /** Width d_model (GPT-1: 768). */
  readonly nEmbd: number;
  /** Number of post-LN blocks (GPT-1: 12). */
  readonly nLayer: number;
  /** Attention heads; must divide `nEmbd` (GPT-1: 12, head size 64). */
  readonly nHead: number;
  /** Hidden units of the MLP (GPT-1: 3072 = 4·768). */
  readonly nInner: number;
  /** Dropout on the summed token + position embeddings (GPT-1: 0.1). */
  readonly embdPdrop: number;
  /** Dropout on the attention probabilities (GPT-1: 0.1). */
  readonly attnPdrop: number;
  /** Dropout on the output of each sub-layer before the residual add (GPT-1: 0.1). */
  readonly residPdrop: number;
  /** Dropout on the pooled feature before the task classifier (GPT-1: 0.1). */
  readonly clfPdrop: number;
  /** Standard deviation of the N(0, std) init of every weight matrix and embedding (GPT-1: 0.02). */
  readonly initStd: number;
  /** LayerNorm epsilon, inside the square root (GPT-1: 1e-5). */
  readonly layerNormEps: number;
}

/** Names of the presets in {@link PRESETS}. */
export type PresetName = "tiny" | "small" | "gpt1";

/** The number of special tokens GPT-1 appends when fine-tuning (`_start_ _delimiter_ _classify_`). */
export const N_SPECIAL_FINETUNE = 3;

const GPT1: Gpt1Config = Object.freeze({
  vocabSize: 40478,
  nSpecial: 0,
  nCtx: 512,
  nEmbd: 768,
  nLayer: 12,
  nHead: 12,
  nInner: 3072,
  embdPdrop: 0.1,
  attnPdrop: 0.1,
  residPdrop: 0.1,
  clfPdrop: 0.1,
  initStd: 0.02,
  layerNormEps: 1e-5,
});

/**
 * The named presets, all frozen:
 * - `gpt1`: the paper (116,534,784 parameters; a GPU job).
 * - `small`: 4 layers, width 256, 4 heads (head size 64 as in the paper), FFN 1024, context 128,
 *   vocabulary 8192 (5,288,960 parameters): about 1,000 tokens/s for a training step on one CPU
 *   core with the wasm backend (bench/train_step.ts), i.e. ~3.6M tokens (~1,800 steps of
 *   16 × 128) of pre-training in an hour. Override `vocabSize` with the size of the BPE
 *   vocabulary actually trained.
 * - `tiny`: 2 layers, width 64, 2 heads, FFN 256, context 32, vocabulary 512 (134,784
 *   parameters): for CI; a training step of 16 × 32 tokens takes ~30 ms.
 * All presets keep the paper's dropout (0.1), init (0.02) and LayerNorm eps (1e-5).
 */
export const PRESETS: Readonly<Record<PresetName, Gpt1Config>> = Object.freeze({
  tiny: Object.freeze({
    ...GPT1,
    vocabSize: 512,
    nCtx: 32,
    nEmbd: 64,
    nLayer: 2,
    nHead: 2,
    nInner: 256,
  }),
  small: Object.freeze({
    ...GPT1,
    vocabSize: 8192,
    nCtx: 128,
    nEmbd: 256,
    nLayer: 4,
    nHead: 4,
    nInner: 1024,
  }),
  gpt1: GPT1,
});

const KEYS = Object.keys(GPT1) as (keyof Gpt1Config)[];
const INT_KEYS: (keyof Gpt1Config)[] = [
  "vocabSize",
  "nSpecial",
  "nCtx",
  "nEmbd",
  "nLayer",
  "nHead",
  "nInner",
];
const PROB_KEYS: (keyof Gpt1Config)[] = ["embdPdrop", "attnPdrop", "residPdrop", "clfPdrop"];

/**
 * Throws ConfigError unless `c` is a complete, consistent config (integers where counts are
 * expected, probabilities in [0, 1), `nHead` dividing `nEmbd`, positive std and eps).
 */
export function validateConfig(c: Gpt1Config): void {
  checkKeys(c, KEYS, "config");
  checkNumbers(c, KEYS, INT_KEYS, PROB_KEYS);
  if (c.nEmbd % c.nHead !== 0) {
    throw new ConfigError(`nHead ${c.nHead} does not divide nEmbd ${c.nEmbd}`, {
      fix: "choose nHead so that nEmbd / nHead is an integer (the head size)",
    });
  }
  if (!(c.initStd > 0)) throw new ConfigError(`initStd must be > 0, got ${c.initStd}`);
  if (!(c.layerNormEps > 0)) {
    throw new ConfigError(`layerNormEps must be > 0, got ${c.layerNormEps}`);
  }
}

/**
 * Builds a validated, frozen config from a preset name (or a partial config over the `gpt1`
 * defaults) plus optional overrides. Unknown keys, unknown presets and bad values throw
 * ConfigError.
 *
 * @example
 * ```ts
 * makeConfig("tiny").nLayer;                  // 2
 * makeConfig({ nLayer: 6 }).nEmbd;            // 768 (gpt1 defaults)
 * makeConfig("gpt1", { nSpecial: 3 });        // fine-tuning layout
 * makeConfig("tiny", { nLayers: 3 } as never); // throws ConfigError: unknown key "nLayers"
 * ```
 */
export function makeConfig(
  presetOrPartial: PresetName | Partial<Gpt1Config> = "gpt1",
  overrides: Partial<Gpt1Config> = {},
): Gpt1Config {
  return buildConfig(
    { label: "", presets: PRESETS, base: GPT1, keys: KEYS, validate: validateConfig },
    presetOrPartial,
    overrides,
  );
}

/**
 * Number of parameters of the base model (no task head), from the shapes alone: positions
 * `nCtx·C`, tokens `(vocabSize+nSpecial)·C`, and per block `C·3C+3C + C·C+C + 2C + C·F+F +
 * F·C+C + 2C`. For `gpt1` this is 116,534,784 (paper.md §1.1).
 */
export function countParams(c: Gpt1Config): number {
  const C = c.nEmbd, F = c.nInner;
  const block = C * 3 * C + 3 * C + C * C + C + 2 * C + C * F + F + F * C + C + 2 * C;
  return c.nCtx * C + (c.vocabSize + c.nSpecial) * C + c.nLayer * block;
}

/**
 * The fine-tuning defaults of the paper (Section 4.1, the released train.py): auxiliary LM weight
 * λ 0.5, 3 epochs, batch 32, Adam lr 6.25e-5 with linear warmup over 0.2% of training, seed 42.
 * The one place they are written: `finetune`, the Table 5 and layers sweeps and the CLI read them.
 */
export const FINETUNE_DEFAULTS: Readonly<{
  auxLm: number;
  epochs: number;
  batchSize: number;
  lr: number;
  warmup: number;
  seed: number;
}> = Object.freeze({ auxLm: 0.5, epochs: 3, batchSize: 32, lr: 6.25e-5, warmup: 0.002, seed: 42 });

/**
 * The pre-training defaults of `pretrain` (the paper, Section 4.1): peak learning rate 2.5e-4,
 * warmup over 2% of the updates when no warmup is given (the paper: 2000 updates of an unstated
 * total), seed 42. The scales of `deno task reproduce` and the CLI presets set their own
 * (`settings.ts`); this is what a bare `pretrain(...)` call uses.
 */
export const PRETRAIN_DEFAULTS: Readonly<{ lr: number; warmup: number; seed: number }> = Object
  .freeze({ lr: 2.5e-4, warmup: 0.02, seed: 42 });

/** The zero-shot defaults: windows per forward pass (the CLI's `--batch`, `zeroShotCurves`). */
export const ZEROSHOT_DEFAULTS: Readonly<{ batchSize: number }> = Object.freeze({ batchSize: 16 });
