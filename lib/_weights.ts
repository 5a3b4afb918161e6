/**
 * Internal to the weight loaders (`checkpoint.ts`, `pretrained.ts`): the checks of a set of
 * named weights against a config, the model built from them, and JSON metadata parsing.
 *
 * @example
 * ```ts
 * import { modelFromWeights } from "./_weights.ts";
 * const model = await modelFromWeights(weights, config, 0, "model.safetensors");
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { CheckpointError } from "./errors.ts";
import { parameterShapes } from "./model.ts";
import {
  createLanguageModel,
  isLstmConfig,
  type ModelConfig,
  type ModelFor,
} from "./language_model.ts";
import { lstmParameterShapes } from "./lstm.ts";

/** The shape checks of {@link modelFromWeights}, before anything is created. */
export function checkWeights(
  weights: Map<string, { shape: number[] }>,
  config: ModelConfig,
  file: string,
): void {
  const fix = "the weights do not fit this config: check the file and the config options";
  const want = new Map(
    isLstmConfig(config) ? lstmParameterShapes(config) : parameterShapes(config),
  );
  const C = config.nEmbd;
  for (const [name, shape] of want) {
    const w = weights.get(name);
    if (!w) throw new CheckpointError(`missing tensor ${name}`, { file, fix });
    const ok = name === "tokens_embed.weight"
      ? w.shape.length === 2 && w.shape[1] === C && w.shape[0] >= config.vocabSize &&
        w.shape[0] <= shape[0]
      : name === "positions_embed.weight"
      ? w.shape.length === 2 && w.shape[0] >= config.nCtx && w.shape[1] === C
      : tf.util.arraysEqual(w.shape, shape);
    if (!ok) {
      throw new CheckpointError(`tensor ${name} has shape [${w.shape}], expected [${shape}]`, {
        file,
        fix,
      });
    }
  }
  const clfW = weights.get("clf.weight"), clfB = weights.get("clf.bias");
  if (clfW || clfB) {
    const n = clfW?.shape[1];
    if (
      !clfW || !clfB || clfW.shape.length !== 2 || clfW.shape[0] !== C || !(n! >= 1) ||
      !tf.util.arraysEqual(clfB.shape, [n!])
    ) {
      throw new CheckpointError(
        `classifier tensors clf.weight [${clfW?.shape ?? "missing"}] and clf.bias ` +
          `[${clfB?.shape ?? "missing"}] do not fit: expected [${C}, n] and [n]`,
        { file, fix },
      );
    }
  }
  for (const name of weights.keys()) {
    if (!want.has(name) && name !== "clf.weight" && name !== "clf.bias") {
      throw new CheckpointError(`unexpected tensor ${name}`, { file, fix });
    }
  }
}

/**
 * Checks `weights` against the config, creates a model and sets its weights. Token rows may
 * be fewer than `vocabSize + nSpecial` but at least `vocabSize` (the missing special-token
 * rows keep the fresh N(0, initStd) initialisation, as train.py does), and position rows may
 * exceed `nCtx` (the first nCtx are used, as train.py does). `clf.weight [C, n]` +
 * `clf.bias [n]` add a classifier. Everything is checked before the model is created; the
 * model is disposed if setting the weights fails.
 */
export async function modelFromWeights<C extends ModelConfig>(
  weights: Map<string, { shape: number[]; data: Float32Array }>,
  config: C,
  seed: number,
  file: string,
): Promise<ModelFor<C>> {
  checkWeights(weights, config, file);
  const C = config.nEmbd, clfW = weights.get("clf.weight");
  const model = createLanguageModel(config, { seed });
  try {
    if (clfW) model.addClassifier(clfW.shape[1]);
    const out = new Map<string, Float32Array>();
    for (const [name, w] of weights) out.set(name, w.data);
    const tok = weights.get("tokens_embed.weight")!;
    if (tok.shape[0] !== config.vocabSize + config.nSpecial) { // keep fresh special rows
      const full = new Float32Array(await model.params.get("tokens_embed.weight")!.data());
      full.set(tok.data);
      out.set("tokens_embed.weight", full);
    }
    const pos = weights.get("positions_embed.weight"); // GPT-1 only
    if (pos) out.set("positions_embed.weight", pos.data.subarray(0, config.nCtx * C));
    model.setWeights(out);
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export function parseJsonMeta(meta: Record<string, string>, key: string, file: string): unknown {
  try {
    return JSON.parse(meta[key]);
  } catch (e) {
    throw new CheckpointError(`metadata ${key} is not valid JSON (${(e as Error).message})`, {
      file,
      fix: "the file is damaged: use another checkpoint",
    });
  }
}
