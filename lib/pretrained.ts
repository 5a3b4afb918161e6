/**
 * Pre-trained weights from elsewhere: HuggingFace `openai-gpt` files (read and written:
 * `OpenAIGPTModel` / `OpenAIGPTLMHeadModel` names, their `config.json`) and the released GPT-1
 * weights of openai/finetune-transformer-lm (`params_shapes.json` + `params_{0..9}.npy`), with
 * the config inferred from the tensor shapes ({@link inferConfigFromShapes}).
 *
 * @example
 * ```ts
 * import { loadReleasedModel } from "./pretrained.ts";
 * const model = await loadReleasedModel("../shared/datasets/gpt1", { heads: 12 });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { basename, join } from "node:path";
import { CheckpointError, ConfigError } from "./errors.ts";
import { type Gpt1Config, makeConfig } from "./config.ts";
import { type Gpt1Model, parameterShapes } from "./model.ts";
import { writeFileAtomic } from "./fsutil.ts";
import { ensureBackend } from "./backend.ts";
import {
  readSafetensors,
  type SafeTensor,
  type TensorToWrite,
  writeSafetensors,
} from "./safetensors.ts";
import { modelFromWeights, parseJsonMeta } from "./_weights.ts";

// GPT-1 parameter names and shapes

/** Options of {@link inferConfigFromShapes}. */
export interface InferOptions {
  /** Attention heads (cannot be read from shapes); required unless the shapes are GPT-1's. */
  heads?: number;
  /** How many rows of `tokens_embed.weight` are special tokens (default 0). */
  nSpecial?: number;
  /** Any further config fields (dropout, eps, ...) passed to `makeConfig`. */
  overrides?: Partial<Gpt1Config>;
  /** File named in errors. */
  file?: string;
}

/**
 * Infers a config from HF-named tensor shapes: vocabulary (token rows − nSpecial), positions,
 * width, layers, inner width; heads from `opts.heads` (12 is assumed only for GPT-1's own
 * 768-wide 12-layer shapes). Throws ConfigError when heads are unknown or shapes disagree.
 *
 * @example
 * ```ts
 * inferConfigFromShapes(new Map([["tokens_embed.weight", [40478, 768]], ...]), { heads: 12 });
 * ```
 */
export function inferConfigFromShapes(
  shapes: Map<string, number[]> | Record<string, number[]>,
  opts: InferOptions = {},
): Gpt1Config {
  const s = shapes instanceof Map ? shapes : new Map(Object.entries(shapes));
  const file = opts.file;
  const need = (name: string, rank: number): number[] => {
    const x = s.get(name);
    if (!x || x.length !== rank) {
      throw new CheckpointError(
        x ? `${name} has shape [${x}], expected rank ${rank}` : `no tensor ${name}`,
        { file, fix: "give a GPT-1 (HF openai-gpt) weight file" },
      );
    }
    return x;
  };
  const [rows, C] = need("tokens_embed.weight", 2);
  const [nCtx, C2] = need("positions_embed.weight", 2);
  if (C2 !== C) {
    throw new CheckpointError(`positions_embed width ${C2} != tokens_embed width ${C}`, { file });
  }
  let nLayer = 0;
  while (s.has(`h.${nLayer}.ln_1.weight`)) nLayer++;
  if (nLayer === 0) throw new CheckpointError("no transformer blocks (h.0.*) found", { file });
  const nInner = need("h.0.mlp.c_fc.weight", 2)[1];
  const nSpecial = opts.nSpecial ?? 0;
  const heads = opts.heads ?? opts.overrides?.nHead ?? (C === 768 && nLayer === 12 ? 12 : 0);
  if (!heads) {
    throw new ConfigError(`cannot tell the number of attention heads of a ${C}-wide model`, {
      file,
      fix: "pass { heads: n }",
    });
  }
  return makeConfig({
    ...opts.overrides,
    vocabSize: rows - nSpecial,
    nSpecial,
    nCtx,
    nEmbd: C,
    nLayer,
    nHead: heads,
    nInner,
  });
}

// =============================================================================================
// HuggingFace openai-gpt

/** Options of {@link saveHuggingFace}. */
export interface SaveHfOptions {
  /** Name prefix: "" (OpenAIGPTModel, the default) or "transformer." (OpenAIGPTLMHeadModel). */
  prefix?: "" | "transformer.";
  /** Also write `lm_head.weight` (a copy of the tied token embedding). */
  lmHead?: boolean;
  /** Stored type (default F32). */
  dtype?: "F32" | "F16";
}

/** The HF `config.json` for a GPT-1 config (OpenAIGPTLMHeadModel). */
export function hfConfigJson(config: Gpt1Config): Record<string, unknown> {
  return {
    architectures: ["OpenAIGPTLMHeadModel"],
    model_type: "openai-gpt",
    vocab_size: config.vocabSize + config.nSpecial,
    n_positions: config.nCtx,
    n_embd: config.nEmbd,
    n_layer: config.nLayer,
    n_head: config.nHead,
    afn: "gelu",
    resid_pdrop: config.residPdrop,
    embd_pdrop: config.embdPdrop,
    attn_pdrop: config.attnPdrop,
    layer_norm_epsilon: config.layerNormEps,
    initializer_range: config.initStd,
    summary_type: "cls_index",
    summary_use_proj: true,
    summary_activation: null,
    summary_proj_to_labels: true,
    summary_first_dropout: config.clfPdrop,
    tie_word_embeddings: true,
    torch_dtype: "float32",
  };
}

/**
 * Exports the transformer weights (no `clf.*`) under HF `openai-gpt` names. When `path` is an
 * existing folder or ends with "/", writes `model.safetensors` + `config.json` there (as
 * `save_pretrained` does, so `OpenAIGPTLMHeadModel.from_pretrained(path)` opens it); otherwise
 * writes the one file. Metadata: `format: "pt"`, `n_head`, `gpt1_config` (the full config,
 * so special-token rows and dropout survive a round trip).
 *
 * @example
 * ```ts
 * await saveHuggingFace(model, "results/run/hf/");
 * ```
 */
export async function saveHuggingFace(
  model: Gpt1Model,
  path: string,
  opts: SaveHfOptions = {},
): Promise<void> {
  const prefix = opts.prefix ?? "";
  const isDir = path.endsWith("/") ||
    (await Deno.stat(path).then((s) => s.isDirectory, () => false));
  if (isDir && model.config.nInner !== 4 * model.config.nEmbd) {
    throw new ConfigError(
      `HF openai-gpt fixes the MLP width at 4*n_embd, this model has nInner ${model.config.nInner}`,
      { fix: "write a single .safetensors file instead of a folder" },
    );
  }
  const params = await model.readWeights();
  const tensors = new Map<string, TensorToWrite>();
  for (const name of parameterShapes(model.config).map(([name]) => name)) {
    const p = model.params.get(name)!;
    tensors.set(prefix + name, { shape: p.shape, data: params.get(name)!, dtype: opts.dtype });
  }
  if (opts.lmHead) {
    tensors.set("lm_head.weight", { ...tensors.get(prefix + "tokens_embed.weight")! });
  }
  const meta = {
    format: "pt",
    n_head: String(model.config.nHead),
    gpt1_config: JSON.stringify(model.config),
  };
  if (isDir) {
    await Deno.mkdir(path, { recursive: true });
    await writeSafetensors(join(path, "model.safetensors"), tensors, meta);
    await writeFileAtomic(
      join(path, "config.json"),
      JSON.stringify(hfConfigJson(model.config), null, 2) + "\n",
    );
  } else {
    await writeSafetensors(path, tensors, meta);
  }
}

/** Options of {@link loadHuggingFace}. */
export interface LoadHfOptions {
  /** Attention heads, when neither the metadata nor a config.json says. */
  heads?: number;
  /**
   * Append this many freshly initialised special-token rows to the token embedding (as the
   * released fine-tuning code does for `_start_`, `_delimiter_`, `_classify_`). Default 0.
   */
  addSpecial?: number;
  /** Further config fields (dropout etc.) for the new model. */
  overrides?: Partial<Gpt1Config>;
  /** Seed of the new model's initialisation (matters for added special rows). Default 0. */
  seed?: number;
}

/**
 * Loads a HF `openai-gpt` safetensors file (or a `save_pretrained` folder holding
 * `model.safetensors` + `config.json`), with or without the `transformer.` prefix; a
 * `lm_head.weight` equal to the token embedding is skipped (a different one is an error), as
 * are causal-mask buffers (`h.{l}.attn.bias`) and a DoubleHeads `multiple_choice_head.*`.
 * The config comes from the tensor shapes, with heads from `opts.heads`, else the metadata
 * (`gpt1_config` / `n_head`, as {@link saveHuggingFace} writes), else the folder's config.json.
 *
 * @example
 * ```ts
 * const model = await loadHuggingFace("openai-gpt/model.safetensors", { heads: 12 });
 * ```
 */
export async function loadHuggingFace(path: string, opts: LoadHfOptions = {}): Promise<Gpt1Model> {
  await ensureBackend();
  let file = path, hfConfig: Record<string, unknown> | undefined;
  if (await Deno.stat(path).then((s) => s.isDirectory, () => false)) {
    file = join(path, "model.safetensors");
    try {
      hfConfig = JSON.parse(await Deno.readTextFile(join(path, "config.json")));
    } catch { /* config.json is optional */ }
  }
  const { tensors, metadata } = await readSafetensors(file);
  const fix = "give an HF openai-gpt (OpenAIGPTModel / OpenAIGPTLMHeadModel) weight file";
  const weights = new Map<string, SafeTensor>();
  let lmHead: SafeTensor | undefined;
  for (const [raw, t] of tensors) {
    const name = raw.startsWith("transformer.") ? raw.slice("transformer.".length) : raw;
    if (name === "lm_head.weight") lmHead = t;
    else if (/^h\.\d+\.attn\.bias$/.test(name) || name.endsWith("position_ids")) continue;
    else if (name.startsWith("multiple_choice_head.")) continue; // DoubleHeads: not GPT-1's head
    else if (weights.has(name)) {
      throw new CheckpointError(`tensor ${name} appears twice (with and without prefix)`, {
        file,
        fix,
      });
    } else weights.set(name, t);
  }
  const tok = weights.get("tokens_embed.weight");
  if (lmHead && tok) {
    const same = tf.util.arraysEqual(lmHead.shape, tok.shape) &&
      lmHead.data.every((x, i) => x === tok.data[i]);
    if (!same) {
      throw new CheckpointError("lm_head.weight differs from tokens_embed.weight", {
        file,
        fix: "GPT-1 ties the output projection to the token embedding; untied heads are not " +
          "supported",
      });
    }
  }
  const shapes = new Map([...weights].map(([k, t]) => [k, t.shape]));
  let saved: Partial<Gpt1Config> | undefined;
  if (metadata.gpt1_config !== undefined) {
    saved = parseJsonMeta(metadata, "gpt1_config", file) as Partial<Gpt1Config>;
  }
  const heads = opts.heads ?? saved?.nHead ??
    (metadata.n_head !== undefined ? Number(metadata.n_head) : undefined) ??
    (typeof hfConfig?.n_head === "number" ? hfConfig.n_head : undefined);
  const baseSpecial = saved?.nSpecial ?? 0;
  const inferred = inferConfigFromShapes(shapes, {
    heads,
    nSpecial: baseSpecial,
    file,
    overrides: {
      ...(saved ?? {}),
      ...(hfConfig?.layer_norm_epsilon !== undefined && !saved
        ? { layerNormEps: hfConfig.layer_norm_epsilon as number }
        : {}),
      ...opts.overrides,
    },
  });
  const add = opts.addSpecial ?? 0;
  if (!Number.isInteger(add) || add < 0) {
    throw new ConfigError(`addSpecial must be an integer >= 0, got ${add}`);
  }
  // the file's token rows cover vocab + its own specials; added rows keep their fresh init
  const config = add > 0
    ? makeConfig({ ...inferred, nSpecial: inferred.nSpecial + add })
    : inferred;
  return await modelFromWeights(weights, config, opts.seed ?? 0, file);
}

// =============================================================================================
// released GPT-1 weights: params_shapes.json + params_{0..9}.npy

/**
 * Parses a `.npy` file holding float32 little-endian data in C order (`<f4`, fortran_order
 * False); any other dtype or order, or a size that disagrees with the header, throws
 * {@link CheckpointError}.
 */
export function parseNpy(
  bytes: Uint8Array,
  file = "<npy>",
): { shape: number[]; data: Float32Array } {
  const fix = "expected a numpy .npy file of float32 ('<f4'), C order, as released";
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) {
    throw new CheckpointError("not a .npy file (no \\x93NUMPY magic)", { file, fix });
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number, hstart: number;
  if (major === 1) [hlen, hstart] = [dv.getUint16(8, true), 10];
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new CheckpointError("truncated .npy header", { file, fix });
    [hlen, hstart] = [dv.getUint32(8, true), 12];
  } else throw new CheckpointError(`unknown .npy version ${major}`, { file, fix });
  if (hstart + hlen > bytes.length) {
    throw new CheckpointError("truncated .npy header", { file, fix });
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(hstart, hstart + hlen),
  );
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeStr === undefined) {
    throw new CheckpointError(`unreadable .npy header ${JSON.stringify(header.trim())}`, {
      file,
      fix,
    });
  }
  if (descr !== "<f4") {
    throw new CheckpointError(`.npy dtype is '${descr}', expected '<f4' (float32)`, { file, fix });
  }
  if (fortran !== "False") {
    throw new CheckpointError(".npy is in Fortran order, expected C order", { file, fix });
  }
  const shape = shapeStr.split(",").map((x) => x.trim().replace(/L$/, "")).filter((x) => x)
    .map(Number);
  if (!shape.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw new CheckpointError(`bad .npy shape (${shapeStr})`, { file, fix });
  }
  const start = hstart + hlen, n = tf.util.sizeFromShape(shape);
  if (bytes.length - start !== n * 4) {
    throw new CheckpointError(
      `.npy header says ${n} float32 values (${n * 4} bytes) but ${bytes.length - start} ` +
        `bytes follow: ${bytes.length - start < n * 4 ? "truncated" : "trailing data"}`,
      { file, fix: "re-download the file" },
    );
  }
  const at = bytes.byteOffset + start;
  const data = at % 4 === 0
    ? new Float32Array(bytes.buffer, at, n)
    : new Float32Array(bytes.slice(start).buffer);
  return { shape, data };
}

/** The HF names of the 2 + 12·nLayer released arrays, in `params_shapes.json` order. */
export function releasedNames(nLayer: number): string[] {
  const parts = [
    "attn.c_attn.weight",
    "attn.c_attn.bias",
    "attn.c_proj.weight",
    "attn.c_proj.bias",
    "ln_1.weight",
    "ln_1.bias",
    "mlp.c_fc.weight",
    "mlp.c_fc.bias",
    "mlp.c_proj.weight",
    "mlp.c_proj.bias",
    "ln_2.weight",
    "ln_2.bias",
  ];
  const names = ["positions_embed.weight", "tokens_embed.weight"];
  for (let l = 0; l < nLayer; l++) for (const p of parts) names.push(`h.${l}.${p}`);
  return names;
}

/**
 * Loads the released GPT-1 weights from `dir` (`params_shapes.json`, `params_0.npy` ..
 * `params_9.npy`: one flat float32 vector cut into shards), checks every header and size,
 * and maps the 146 arrays to HF names (conv weights `[1, in, out]` squeezed to `[in, out]`).
 * `tokens_embed.weight` has the 40,478 vocabulary rows only (no special tokens).
 *
 * @param opts.shapesFile another params_shapes.json (default `<dir>/params_shapes.json`)
 * @example
 * ```ts
 * const w = await loadReleasedWeights("finetune-transformer-lm/model");
 * w.get("h.0.attn.c_attn.weight")!.shape; // [768, 2304]
 * ```
 */
export async function loadReleasedWeights(
  dir: string,
  opts: { shapesFile?: string } = {},
): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const shapesFile = opts.shapesFile ?? join(dir, "params_shapes.json");
  let shapes: number[][];
  try {
    shapes = JSON.parse(await Deno.readTextFile(shapesFile));
  } catch (e) {
    throw new CheckpointError(`cannot read the shapes list: ${(e as Error).message}`, {
      file: shapesFile,
      fix: "params_shapes.json of openai/finetune-transformer-lm must sit next to the shards",
    });
  }
  if (
    !Array.isArray(shapes) ||
    !shapes.every((s) => Array.isArray(s) && s.every((x) => Number.isSafeInteger(x) && x >= 0))
  ) {
    throw new CheckpointError("not a list of shapes", { file: shapesFile });
  }
  if (shapes.length < 14 || (shapes.length - 2) % 12 !== 0) {
    throw new CheckpointError(
      `${shapes.length} shapes: expected 2 embeddings + 12 per block (146 for GPT-1)`,
      { file: shapesFile },
    );
  }
  const total = shapes.reduce((a, s) => a + tf.util.sizeFromShape(s), 0);
  // read shards until they cover `total` values
  const flat = new Float32Array(total);
  let filled = 0, k = 0;
  for (; filled < total; k++) {
    const f = join(dir, `params_${k}.npy`);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(f);
    } catch {
      throw new CheckpointError(
        `missing shard: the shards so far hold ${filled} of the ${total} values that ` +
          `${basename(shapesFile)} lists`,
        { file: f, fix: "download all params_N.npy files of the release into one folder" },
      );
    }
    const { data } = parseNpy(bytes, f);
    if (filled + data.length > total) {
      throw new CheckpointError(
        `shards hold more values than the ${total} that ${basename(shapesFile)} lists`,
        { file: f, fix: "use the params_shapes.json that came with these shards" },
      );
    }
    flat.set(data, filled);
    filled += data.length;
  }
  try {
    await Deno.stat(join(dir, `params_${k}.npy`));
    throw new CheckpointError(
      `an extra shard params_${k}.npy follows the ${total} values listed`,
      { file: join(dir, `params_${k}.npy`), fix: "use the matching params_shapes.json" },
    );
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
  }
  const names = releasedNames((shapes.length - 2) / 12);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  let off = 0;
  shapes.forEach((s, i) => {
    const n = tf.util.sizeFromShape(s);
    let shape = s;
    while (shape.length > 2 && shape[0] === 1) shape = shape.slice(1); // [1,in,out] -> [in,out]
    out.set(names[i], { shape, data: flat.subarray(off, off + n) });
    off += n;
  });
  // shape sanity: the blocks must look like GPT blocks
  const C = out.get("tokens_embed.weight")!.shape[1];
  const bad = [...out].find(([name, t]) =>
    (name.endsWith(".weight") && !name.includes("ln_") && t.shape.length !== 2) ||
    ((name.endsWith(".bias") || name.includes("ln_")) && t.shape.length !== 1) ||
    (name.includes("ln_") && t.shape[0] !== C)
  );
  if (bad) {
    throw new CheckpointError(`array for ${bad[0]} has shape [${bad[1].shape}]`, {
      file: shapesFile,
      fix: "params_shapes.json does not describe GPT-1 weights",
    });
  }
  return out;
}

/**
 * Builds a model from the released weights in `dir` (see {@link loadReleasedWeights}).
 * The config is inferred from the shapes (12 heads for GPT-1). `nSpecial` (default 0, as HF
 * openai-gpt) appends that many special-token rows, freshly initialised as train.py does for
 * fine-tuning (3). `overrides.nCtx` below 512 uses the first nCtx position rows, as train.py.
 *
 * @example
 * ```ts
 * const model = await loadReleasedModel("finetune-transformer-lm/model");
 * ```
 */
export async function loadReleasedModel(
  dir: string,
  opts: { heads?: number; nSpecial?: number; overrides?: Partial<Gpt1Config>; seed?: number } = {},
): Promise<Gpt1Model> {
  await ensureBackend();
  const w = await loadReleasedWeights(dir);
  const shapes = new Map([...w].map(([k, t]) => [k, t.shape]));
  const inferred = inferConfigFromShapes(shapes, {
    heads: opts.heads,
    overrides: opts.overrides,
    file: dir,
  });
  const config = makeConfig({
    ...inferred,
    nSpecial: opts.nSpecial ?? 0,
    ...(opts.overrides?.nCtx ? { nCtx: opts.overrides.nCtx } : {}),
  });
  return await modelFromWeights(w, config, opts.seed ?? 0, dir);
}

/** Whether `path` is a folder of released weights (`params_shapes.json` + `params_<k>.npy`). */
export async function isReleasedFolder(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory &&
      (await Deno.stat(join(path, "params_shapes.json"))).isFile;
  } catch {
    return false;
  }
}
