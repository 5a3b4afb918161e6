/**
 * Checkpoints of this lab: a model (GPT-1 or the LSTM), its optimizer state and run metadata in
 * one safetensors file (`safetensors.ts`), saved and loaded; `loadAnyCheckpoint` also opens a
 * folder of the released GPT-1 weights (`pretrained.ts`).
 *
 * Tensor names are HF `OpenAIGPTModel` names (`tokens_embed.weight`, `positions_embed.weight`,
 * `h.{l}.attn.c_attn.weight`, ...); optimizer moments are `optim.m.<name>` / `optim.v.<name>`.
 * The `__metadata__` of a checkpoint holds (all values are strings): `format`, `config`
 * (JSON), `model_seed` (init and dropout seed), `step`, `rng` (JSON), `vocab_hash`,
 * `optimizer` (JSON: hyperparameters and step), `extra` (JSON), `n_head`, and `sha256`: the
 * SHA-256 of the canonical header (keys sorted, without `sha256` itself) followed by the
 * tensor bytes, so any flipped byte is caught.
 *
 * Every loader validates the whole file (sizes, shapes, names, hash) before it creates a model
 * or touches one: a bad file throws {@link CheckpointError} and leaves nothing half-loaded.
 *
 * @example
 * ```ts
 * import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
 * import { OpenAIAdam } from "./optim.ts";
 * await saveCheckpoint("results/run/ckpt-100.safetensors", { model, optimizer: opt, step: 100 });
 * const ck = await loadCheckpoint("results/run/ckpt-100.safetensors");
 * const opt2 = OpenAIAdam.fromStateDict(ck.model.params, ck.optimizerState!);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { CheckpointError, ConfigError } from "./errors.ts";
import { ensureBackend } from "./backend.ts";
import type { Gpt1Model } from "./model.ts";
import {
  isLstmConfig,
  type LanguageModel,
  makeModelConfig,
  type ModelConfig,
  type ModelKind,
  modelKind,
} from "./language_model.ts";
import { type AdamOptions, adamOptions, type AdamState, type OpenAIAdam } from "./optim.ts";
import {
  readSafetensors,
  readSafetensorsHeader,
  type SafeTensor,
  type TensorToWrite,
  writeSafetensors,
} from "./safetensors.ts";
import { checkWeights, modelFromWeights, parseJsonMeta } from "./_weights.ts";
import { isReleasedFolder, loadReleasedModel } from "./pretrained.ts";

const FORMAT = "gpt1-lab/checkpoint-1";

/** What {@link saveCheckpoint} stores. */
export interface SaveCheckpointOptions {
  /**
   * The model (GPT-1 or LSTM): all of `model.params` are saved under their names (HF names for
   * GPT-1); its kind goes into the `model_kind` metadata.
   */
  model: LanguageModel;
  /** The optimizer: moments as `optim.m.*` / `optim.v.*`, step and hyperparameters in metadata. */
  optimizer?: OpenAIAdam;
  /** Training step (number of updates done). */
  step: number;
  /** RNG state of the data sampler etc.: any JSON-serializable value. */
  rng?: unknown;
  /** Hash of the tokenizer vocabulary the model was trained with. */
  vocabHash?: string;
  /** Anything else JSON-serializable (e.g. run name, loss). */
  extra?: unknown;
  /** Stored type of the model weights (moments stay F32): "F16" halves the file. */
  dtype?: "F32" | "F16";
}

/**
 * What {@link loadCheckpoint} (GPT-1: `LoadedCheckpoint`) and {@link loadAnyCheckpoint}
 * (either kind: `LoadedCheckpoint<LanguageModel>`) return.
 */
export interface LoadedCheckpoint<M extends LanguageModel = Gpt1Model> {
  /** A new model with the saved weights. */
  model: M;
  /** Its config. */
  config: M["config"];
  /** The model family (`model_kind` metadata; "gpt1" when absent, as in older files). */
  kind: ModelKind;
  /** Training step. */
  step: number;
  /** Optimizer state, when one was saved: `OpenAIAdam.fromStateDict(model.params, state)`. */
  optimizerState?: AdamState;
  /** The saved RNG state (parsed JSON), if any. */
  rng?: unknown;
  /** The saved vocabulary hash, if any. */
  vocabHash?: string;
  /** The saved extra value (parsed JSON), if any. */
  extra?: unknown;
  /** The raw `__metadata__` strings. */
  metadata: Record<string, string>;
}

/**
 * Saves model weights, optimizer state, step, RNG state and config as one safetensors file,
 * atomically. Reads tensors with async `data()`, so it works on webgpu too.
 *
 * @example
 * ```ts
 * await saveCheckpoint(`results/run/ckpt-${step}.safetensors`,
 *   { model, optimizer: opt, step, rng: sampler.state(), vocabHash });
 * ```
 */
export async function saveCheckpoint(path: string, opts: SaveCheckpointOptions): Promise<void> {
  const { model, optimizer } = opts;
  if (!Number.isSafeInteger(opts.step) || opts.step < 0) {
    throw new ConfigError(`checkpoint step ${opts.step}`, { fix: "an integer >= 0" });
  }
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, data] of await model.readWeights()) {
    tensors.set(name, { shape: model.params.get(name)!.shape, data, dtype: opts.dtype ?? "F32" });
  }
  const meta: Record<string, string> = {
    format: FORMAT,
    model_kind: modelKind(model.config),
    config: JSON.stringify(model.config),
    model_seed: String(model.seed),
    step: String(opts.step),
  };
  if (!isLstmConfig(model.config)) meta.n_head = String(model.config.nHead);
  if (optimizer) {
    const a = [...model.params.keys()].sort().join(),
      b = [...optimizer.params.keys()].sort().join();
    if (a !== b) {
      throw new ConfigError("the optimizer's parameters are not the model's parameters", {
        fix: "build the optimizer over model.params (after addClassifier, if any)",
      });
    }
    const st = await optimizer.stateDict();
    for (const [name, p] of optimizer.params) {
      tensors.set(`optim.m.${name}`, { shape: p.shape, data: st.m.get(name)! });
      tensors.set(`optim.v.${name}`, { shape: p.shape, data: st.v.get(name)! });
    }
    meta.optimizer = JSON.stringify({ step: st.step, options: st.options });
  }
  if (opts.rng !== undefined) meta.rng = JSON.stringify(opts.rng);
  if (opts.vocabHash !== undefined) meta.vocab_hash = opts.vocabHash;
  if (opts.extra !== undefined) meta.extra = JSON.stringify(opts.extra);
  await writeSafetensors(path, tensors, meta);
}

/**
 * Loads a GPT-1 checkpoint written by {@link saveCheckpoint}: verifies the whole file (hash,
 * sizes, names, shapes, optimizer state) first, then creates a new model on the current backend.
 * An LSTM checkpoint throws {@link CheckpointError} (use {@link loadAnyCheckpoint}).
 *
 * The new model gets the saved model seed (it also seeds the dropout masks, so a resumed run
 * draws the same masks); `opts.seed` overrides it.
 */
export async function loadCheckpoint(
  path: string,
  opts: { seed?: number } = {},
): Promise<LoadedCheckpoint> {
  await ensureBackend();
  return await loadCheckpointOf(path, opts, false) as LoadedCheckpoint;
}

/**
 * Loads a checkpoint of either kind (`model_kind` metadata: "lstm" gives an `LstmModel`, "gpt1"
 * or no `model_kind`, as in older files, a `Gpt1Model`), with the checks of
 * {@link loadCheckpoint}. Narrow with `ck.kind` or `isLstmConfig(ck.config)`.
 *
 * @example
 * ```ts
 * const ck = await loadAnyCheckpoint("results/lstm-small/ckpt-000256.safetensors");
 * ck.kind; // "lstm"
 * ```
 */
export async function loadAnyCheckpoint(
  path: string,
  opts: { seed?: number } = {},
): Promise<LoadedCheckpoint<LanguageModel>> {
  await ensureBackend();
  return await loadCheckpointOf(path, opts, true);
}

/** What a checkpoint's metadata says: its model kind, config and step (no weights read). */
export interface CheckpointInfo {
  /** The model family (`model_kind`; older files without it are GPT-1). */
  kind: ModelKind;
  /** The saved model configuration. */
  config: ModelConfig;
  /** Updates done when it was saved (0 for released weights). */
  step: number;
}

/**
 * The kind, config and step of a checkpoint from its header alone (a released-weights folder is
 * read from its shapes), with the checks of {@link loadAnyCheckpoint}: cheap for big files.
 *
 * @example
 * ```ts
 * const { kind, config } = await readCheckpointInfo("results/small/ckpt-001200.safetensors");
 * ```
 */
export async function readCheckpointInfo(path: string): Promise<CheckpointInfo> {
  if (await isReleasedFolder(path)) {
    const ck = await loadAnyCheckpoint(path);
    ck.model.dispose();
    return { kind: ck.kind, config: ck.config, step: ck.step };
  }
  return checkpointMeta((await readSafetensorsHeader(path)).metadata, path, true);
}

function checkpointMeta(
  metadata: Record<string, string>,
  path: string,
  anyKind: boolean,
): CheckpointInfo {
  if (metadata.format !== FORMAT || metadata.config === undefined) {
    throw new CheckpointError(`not a gpt1-lab checkpoint (format ${metadata.format})`, {
      file: path,
      fix: "for HuggingFace files use loadHuggingFace(); for released weights loadReleasedModel()",
    });
  }
  const kind = metadata.model_kind ?? "gpt1";
  if (kind !== "gpt1" && kind !== "lstm") {
    throw new CheckpointError(`unknown model_kind "${kind}"`, {
      file: path,
      fix: "the checkpoint was written by a newer version (known kinds: gpt1, lstm)",
    });
  }
  if (kind === "lstm" && !anyKind) {
    throw new CheckpointError("this is an LSTM checkpoint, not a GPT-1 one", {
      file: path,
      fix: "load it with loadAnyCheckpoint()",
    });
  }
  let config: ModelConfig;
  try {
    const saved = parseJsonMeta(metadata, "config", path) as Record<string, unknown>;
    if (isLstmConfig(saved) !== (kind === "lstm")) {
      throw new CheckpointError(`model_kind "${kind}" disagrees with the saved config`, {
        file: path,
        fix: "the file is damaged: use another checkpoint",
      });
    }
    config = makeModelConfig(saved);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`the saved config is invalid: ${(e as Error).message}`, {
      file: path,
      fix: "the checkpoint was written by an incompatible version",
    });
  }
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new CheckpointError(`metadata step "${metadata.step}" is not a step`, { file: path });
  }
  return { kind, config, step };
}

async function loadCheckpointOf(
  path: string,
  opts: { seed?: number },
  anyKind: boolean,
): Promise<LoadedCheckpoint<LanguageModel>> {
  if (await isReleasedFolder(path)) {
    // the released GPT-1 (openai/finetune-transformer-lm model/ folder, as `fetch gpt1` lays it out)
    const model = await loadReleasedModel(path, { heads: 12, seed: opts.seed });
    return { model, config: model.config, kind: "gpt1", step: 0, metadata: { source: path } };
  }
  const { tensors, metadata } = await readSafetensors(path);
  const { kind, config, step } = checkpointMeta(metadata, path, anyKind);
  const weights = new Map<string, SafeTensor>();
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (name.startsWith("optim.m.")) m.set(name.slice(8), t.data);
    else if (name.startsWith("optim.v.")) v.set(name.slice(8), t.data);
    else weights.set(name, t);
  }
  checkWeights(weights, config, path);
  if (weights.get("tokens_embed.weight")?.shape[0] !== config.vocabSize + config.nSpecial) {
    throw new CheckpointError(
      `tokens_embed.weight has shape [${weights.get("tokens_embed.weight")?.shape}], the config ` +
        `needs ${config.vocabSize + config.nSpecial} rows`,
      { file: path, fix: "the file is damaged: use another checkpoint" },
    );
  }
  if (!isLstmConfig(config) && weights.get("positions_embed.weight")?.shape[0] !== config.nCtx) {
    throw new CheckpointError(
      `positions_embed.weight has shape [${weights.get("positions_embed.weight")?.shape}], ` +
        `the config needs ${config.nCtx} rows`,
      { file: path, fix: "the file is damaged: use another checkpoint" },
    );
  }
  let optimizerState: AdamState | undefined;
  if (metadata.optimizer !== undefined) {
    const o = parseJsonMeta(metadata, "optimizer", path) as {
      step: number;
      options: AdamOptions;
    };
    let options: AdamOptions;
    try {
      options = adamOptions(o.options);
    } catch (e) {
      throw new CheckpointError(`saved optimizer options are invalid: ${(e as Error).message}`, {
        file: path,
      });
    }
    if (!Number.isSafeInteger(o.step) || o.step < 0) {
      throw new CheckpointError(`saved optimizer step ${o.step} is invalid`, { file: path });
    }
    for (const [name, w] of weights) {
      for (const [kind, mom] of [["m", m], ["v", v]] as const) {
        const a = mom.get(name);
        const shape = tensors.get(`optim.${kind}.${name}`)?.shape;
        if (!a || !shape || !tf.util.arraysEqual(shape, w.shape)) {
          throw new CheckpointError(
            `optimizer moment optim.${kind}.${name} is ${
              a ? `[${shape}], the parameter [${w.shape}]` : "missing"
            }`,
            { file: path, fix: "the file is damaged: use another checkpoint" },
          );
        }
      }
    }
    for (const name of [...m.keys(), ...v.keys()]) {
      if (!weights.has(name)) {
        throw new CheckpointError(`optimizer moment for unknown parameter ${name}`, {
          file: path,
        });
      }
    }
    optimizerState = { step: o.step, options, m, v };
  } else if (m.size || v.size) {
    throw new CheckpointError("optimizer moments without optimizer metadata", { file: path });
  }
  const rest: Omit<LoadedCheckpoint<LanguageModel>, "model"> = { config, kind, step, metadata };
  if (optimizerState) rest.optimizerState = optimizerState;
  if (metadata.rng !== undefined) rest.rng = parseJsonMeta(metadata, "rng", path);
  if (metadata.vocab_hash !== undefined) rest.vocabHash = metadata.vocab_hash;
  if (metadata.extra !== undefined) rest.extra = parseJsonMeta(metadata, "extra", path);
  const savedSeed = metadata.model_seed === undefined ? 0 : Number(metadata.model_seed);
  if (!Number.isSafeInteger(savedSeed)) {
    throw new CheckpointError(`metadata model_seed "${metadata.model_seed}" is not an integer`, {
      file: path,
    });
  }
  // everything is checked: only now is a model created
  const model = await modelFromWeights(weights, config, opts.seed ?? savedSeed, path);
  return { model, ...rest };
}

/**
 * Throws CheckpointError when a checkpoint's vocabulary hash (written by pre-training) is not
 * the tokenizer's; either hash missing passes (released weights, old files).
 */
export function checkSameVocab(
  ck: { vocabHash?: string },
  tok: { hash?: string },
  file: string,
): void {
  if (ck.vocabHash && tok.hash && ck.vocabHash !== tok.hash) {
    throw new CheckpointError("the checkpoint was trained with another vocabulary", {
      file,
      fix: "pass the run's tokenizer (loadVocab(<run>/vocab))",
    });
  }
}
