/**
 * The contract every language model of the lab meets, and the one place that knows both kinds:
 * {@link ModelConfig} (GPT-1 or LSTM), {@link ModelKind}, the {@link LanguageModel} surface that
 * train / fine-tune / zero-shot / checkpoint code programs against, and the
 * {@link createLanguageModel} factory. Steps import this file, never a model's own file.
 * The shared tied-LM base class ({@link TiedLmModel}) stays beside its tied-head products in
 * `model.ts`, so that this file can sit above both models without an import cycle.
 *
 * @example
 * ```ts
 * import { createLanguageModel, makeModelConfig } from "./language_model.ts";
 * const m = createLanguageModel(makeModelConfig({ kind: "lstm" }), { seed: 1 });
 * m.numParams();
 * m.dispose();
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { type Gpt1Config, makeConfig } from "./config.ts";
import { type LstmConfig, LstmModel, makeLstmConfig } from "./lstm.ts";
import { Gpt1Model } from "./model.ts";
import type { Ids } from "./ops.ts";
import type { ForwardOptions, LmLossOptions, ModelOptions } from "./_tied_lm.ts";

export type { Ids } from "./ops.ts";
export type { ForwardOptions, LmLossOptions, ModelOptions, TiedLmConfig } from "./_tied_lm.ts";
export { TiedLmModel } from "./_tied_lm.ts";

/** Either model's configuration. */
export type ModelConfig = Gpt1Config | LstmConfig;

/** The model families: stored as the `model_kind` metadata of checkpoints. */
export type ModelKind = "gpt1" | "lstm";

/** True when `c` is an LSTM config (`kind: "lstm"`). */
export function isLstmConfig(c: ModelConfig | Record<string, unknown>): c is LstmConfig {
  return (c as { kind?: unknown }).kind === "lstm";
}

/** `"lstm"` for an {@link LstmConfig}, else `"gpt1"`. */
export function modelKind(c: ModelConfig): ModelKind {
  return isLstmConfig(c) ? "lstm" : "gpt1";
}

/**
 * Layers a fine-tuning run can transfer (`transferLayers` ranges over -1..this): GPT-1's
 * `nLayer`, 1 for the LSTM (0 = embeddings only, 1 = embeddings + LSTM + projection).
 */
export function numLayers(c: ModelConfig): number {
  return isLstmConfig(c) ? 1 : c.nLayer;
}

/**
 * Either kind of config from a plain object (e.g. the JSON of a checkpoint): `kind: "lstm"`
 * goes to {@link makeLstmConfig}, anything else to `makeConfig` (GPT-1).
 *
 * @example
 * ```ts
 * makeModelConfig({ ...ck.config, nSpecial: 3 }); // the fine-tuning layout of either kind
 * ```
 */
export function makeModelConfig(obj: Partial<Gpt1Config> | Partial<LstmConfig>): ModelConfig {
  return isLstmConfig(obj as Record<string, unknown>)
    ? makeLstmConfig(obj as Partial<LstmConfig>)
    : makeConfig(obj as Partial<Gpt1Config>);
}

/**
 * What train / fine-tune / zero-shot / checkpoint code needs from a language model; both
 * {@link Gpt1Model} and {@link LstmModel} have it. Tensor methods return tensors the caller
 * owns (run them inside `tf.tidy`).
 */
export interface LanguageModel {
  /** The frozen configuration (`nEmbd` is the width of the features `hidden` returns). */
  readonly config: ModelConfig;
  /** Trainable weights by name (+ `clf.*` when a classifier was added). */
  readonly params: Map<string, tf.Variable>;
  /** Seed of the initialization and of the dropout masks. */
  readonly seed: number;
  /** Features `[B, T, nEmbd]` of int32 `ids [B, T]` (causal: position t sees tokens ≤ t). */
  hidden(ids: Ids, opts?: ForwardOptions): tf.Tensor3D;
  /** Tied LM logits `[..., V + nSpecial]` of features `[..., nEmbd]`. */
  lmHead(h: tf.Tensor): tf.Tensor;
  /** LM logits `[B, T, V + nSpecial]` of `ids [B, T]`. */
  lmLogitsTensor(ids: Ids, opts?: ForwardOptions): tf.Tensor3D;
  /** Mean next-token cross-entropy of features `h [B, T, C]` against `ids` (optional mask). */
  lmLossFromHidden(h: tf.Tensor3D, ids: Ids, mask?: tf.Tensor2D, maxElements?: number): tf.Scalar;
  /** Mean next-token cross-entropy of `ids [B, T]`. */
  lmLossTensor(ids: Ids, opts?: LmLossOptions): tf.Scalar;
  /** Features at position `pos[b]` of each sequence: `[B, T, C]`, `[B]` → `[B, C]`. */
  pool(h: tf.Tensor3D, pos: Ids): tf.Tensor2D;
  /** Classifier dropout then `clf`: features `[M, C]` → `[M, nOut]`. */
  classifierHead(feats: tf.Tensor, opts?: ForwardOptions, maskShape?: number[]): tf.Tensor2D;
  /** Adds (or replaces) the classifier `clf.weight [C, nOut]`, `clf.bias [nOut]`. */
  addClassifier(nOut: number): void;
  /** Value of `f` and its gradients with respect to every parameter, by name. */
  valueAndGrads(f: () => tf.Scalar): { value: tf.Scalar; grads: Map<string, tf.Tensor> };
  /** LM logits as plain arrays (eval mode). */
  logits(ids: number[][]): Promise<number[][][]>;
  /** Mean LM loss as a number (eval mode). */
  lmLoss(ids: number[][]): Promise<number>;
  /** Sets weights by name (all checked before any is written). */
  setWeights(named: Map<string, Float32Array | tf.Tensor>): void;
  /** All weights, synchronously (cpu/wasm). */
  getWeights(): Map<string, Float32Array>;
  /** All weights, asynchronously (every backend). */
  readWeights(): Promise<Map<string, Float32Array>>;
  /** Copies the embeddings and the first `nTransfer` layers from `src`; returns names written. */
  transferFrom(src: Map<string, Float32Array>, nTransfer: number): string[];
  /** Number of scalar parameters. */
  numParams(): number;
  /** Frees every parameter. */
  dispose(): void;
}

/** The model class of a config type: {@link LstmModel} for an {@link LstmConfig}, else GPT-1. */
export type ModelFor<C extends ModelConfig> = C extends LstmConfig ? LstmModel : Gpt1Model;

/**
 * A new model of the config's kind: {@link LstmModel} for `kind: "lstm"`, else {@link Gpt1Model}.
 *
 * @example
 * ```ts
 * const lstm = createLanguageModel(makeLstmConfig("tiny"), { seed: 1 }); // LstmModel
 * const gpt = createLanguageModel(makeConfig("tiny"), { seed: 1 });      // Gpt1Model
 * ```
 */
export function createLanguageModel<C extends ModelConfig>(
  config: C,
  opts: ModelOptions = {},
): ModelFor<C> {
  const m = isLstmConfig(config)
    ? new LstmModel(config, opts)
    : new Gpt1Model(config as Gpt1Config, opts);
  return m as ModelFor<C>;
}
