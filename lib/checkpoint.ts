/**
 * Checkpoints: safetensors read/write (atomic, verified), HuggingFace `openai-gpt` names,
 * and the released GPT-1 weights (`params_shapes.json` + `params_{0..9}.npy`).
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
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { CheckpointError, ConfigError } from "./errors.ts";
import { writeFileAtomic } from "./fsutil.ts";
import { ensureBackend } from "./backend.ts";
import { type Gpt1Config, makeConfig } from "./config.ts";
import { type Gpt1Model, parameterShapes } from "./model.ts";
import {
  createLanguageModel,
  isLstmConfig,
  type LanguageModel,
  makeModelConfig,
  type ModelConfig,
  type ModelFor,
  type ModelKind,
  modelKind,
} from "./language_model.ts";
import { lstmParameterShapes } from "./lstm.ts";
import { type AdamOptions, adamOptions, type AdamState, type OpenAIAdam } from "./optim.ts";

// =============================================================================================
// safetensors

/** Element types this module reads (all become float32); F32 and F16 can also be written. */
export type SafeDtype = "F32" | "F16" | "BF16" | "F64";

/** One tensor: its stored dtype, its shape, and its values as float32 (row-major). */
export interface SafeTensor {
  /** Element type in the file (values are always handed out as float32). */
  dtype: SafeDtype;
  /** Shape, e.g. `[768, 2304]`. */
  shape: number[];
  /** Row-major values; length = product of `shape`. */
  data: Float32Array;
}

/** A decoded safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name, in file order (by data offset). */
  tensors: Map<string, SafeTensor>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** A tensor to write: values as float32; `dtype` picks the stored type (default F32). */
export interface TensorToWrite {
  /** Shape, e.g. `[768, 2304]`. */
  shape: number[];
  /** Row-major float32 values. */
  data: Float32Array;
  /** Stored element type (default `"F32"`). */
  dtype?: "F32" | "F16";
}

const ITEM_SIZE: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const MAX_HEADER = 100_000_000; // the safetensors limit
const HASH_KEY = "sha256";

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** JSON with object keys sorted at every level (the form the content hash is taken over). */
function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(",")}]`;
  if (x && typeof x === "object") {
    const o = x as Record<string, unknown>;
    return `{${
      Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(x);
}

/** SHA-256 (hex) of the canonical header without its `sha256` field, then the tensor bytes. */
function contentHash(header: Record<string, unknown>, data: Uint8Array): string {
  const meta = { ...(header.__metadata__ as Record<string, string> | undefined) };
  delete meta[HASH_KEY];
  const h = createHash("sha256");
  h.update(canonicalJson({ ...header, __metadata__: meta }));
  h.update("\n");
  // hash in 64 MiB slices (node:crypto copies its input)
  for (let o = 0; o < data.length; o += 1 << 26) h.update(data.subarray(o, o + (1 << 26)));
  return h.digest("hex");
}

/**
 * Encodes tensors and string metadata as safetensors bytes (header padded to 8 bytes,
 * F32 tensors before F16 so every tensor is aligned), with the `sha256` content hash added
 * to the metadata.
 */
export function encodeSafetensors(
  tensors: Map<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = [...tensors].filter(([, t]) => (t.dtype ?? "F32") === "F32")
    .concat([...tensors].filter(([, t]) => t.dtype === "F16"));
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new ConfigError(`metadata ${k} must be a string`);
  }
  header.__metadata__ = { ...metadata, [HASH_KEY]: "0".repeat(64) };
  let off = 0;
  for (const [name, t] of entries) {
    const dtype = t.dtype ?? "F32";
    if (name === "__metadata__") throw new ConfigError(`reserved tensor name ${name}`);
    if (t.data.length !== prod(t.shape)) {
      throw new ConfigError(`tensor ${name}: ${t.data.length} values for shape [${t.shape}]`);
    }
    const n = t.data.length * ITEM_SIZE[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  const headerLen = (s: string) => Math.ceil(new TextEncoder().encode(s).length / 8) * 8;
  const n = headerLen(JSON.stringify(header));
  const out = new Uint8Array(8 + n + off);
  const data = out.subarray(8 + n);
  for (const [name, t] of entries) {
    const [s] = (header[name] as { data_offsets: number[] }).data_offsets;
    if ((t.dtype ?? "F32") === "F32") {
      data.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), s);
    } else {
      const h = Float16Array.from(t.data); // round to nearest even
      data.set(new Uint8Array(h.buffer), s);
    }
  }
  (header.__metadata__ as Record<string, string>)[HASH_KEY] = contentHash(header, data);
  const json = new TextEncoder().encode(JSON.stringify(header)); // same length: 64 hex chars
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.fill(0x20, 8, 8 + n);
  out.set(json, 8);
  return out;
}

/** Parses and checks the header; returns it and where the tensor bytes start. */
function parseHeader(bytes: Uint8Array, file: string): {
  header: Record<string, unknown>;
  start: number;
} {
  const fix = "the file is damaged: re-save it or use another checkpoint";
  if (bytes.length < 8) {
    throw new CheckpointError(`only ${bytes.length} bytes: truncated (no 8-byte header length)`, {
      file,
      fix,
    });
  }
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) {
    throw new CheckpointError(
      `header length ${n} does not fit in the ${bytes.length}-byte file: truncated or not ` +
        `a safetensors file`,
      { file, fix },
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new CheckpointError(`header is not valid JSON (${(e as Error).message})`, { file, fix });
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) {
    throw new CheckpointError("header is not a JSON object", { file, fix });
  }
  return { header: header as Record<string, unknown>, start: 8 + n };
}

/** Checks header entries against the data size; returns them sorted by offset. */
function checkEntries(header: Record<string, unknown>, dataLen: number, file: string) {
  const fix = "the file is damaged: re-save it or use another checkpoint";
  const out: { name: string; dtype: SafeDtype; shape: number[]; start: number; end: number }[] = [];
  const meta = header.__metadata__;
  if (meta !== undefined) {
    if (!meta || typeof meta !== "object" || Array.isArray(meta)) {
      throw new CheckpointError("__metadata__ is not an object", { file, fix });
    }
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== "string") {
        throw new CheckpointError(`__metadata__.${k} is not a string`, { file, fix });
      }
    }
  }
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: offs } = (e ?? {}) as Record<string, unknown>;
    if (typeof dtype !== "string" || !(dtype in ITEM_SIZE)) {
      throw new CheckpointError(`tensor ${name} has dtype ${JSON.stringify(dtype)}`, {
        file,
        fix: "only F32, F16, BF16 and F64 tensors can be read; convert the file to float32",
      });
    }
    const isNat = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(isNat)) {
      throw new CheckpointError(`tensor ${name} has a bad shape ${JSON.stringify(shape)}`, {
        file,
        fix,
      });
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNat) || offs[0] > offs[1]) {
      throw new CheckpointError(`tensor ${name} has bad data_offsets ${JSON.stringify(offs)}`, {
        file,
        fix,
      });
    }
    const want = prod(shape) * ITEM_SIZE[dtype as SafeDtype];
    if (offs[1] - offs[0] !== want) {
      throw new CheckpointError(
        `tensor ${name} [${shape}] ${dtype} needs ${want} bytes but data_offsets span ` +
          `${offs[1] - offs[0]}`,
        { file, fix },
      );
    }
    out.push({ name, dtype: dtype as SafeDtype, shape, start: offs[0], end: offs[1] });
  }
  out.sort((a, b) => a.start - b.start || a.end - b.end);
  let pos = 0;
  for (const e of out) {
    if (e.start !== pos) {
      throw new CheckpointError(
        `tensor ${e.name} starts at byte ${e.start} of the data, expected ${pos} (overlap or gap)`,
        { file, fix },
      );
    }
    pos = e.end;
  }
  if (pos > dataLen) {
    throw new CheckpointError(
      `truncated: the tensors need ${pos} bytes of data but only ${dataLen} are present`,
      { file, fix },
    );
  }
  if (pos < dataLen) {
    throw new CheckpointError(`${dataLen - pos} unexpected bytes after the last tensor`, {
      file,
      fix,
    });
  }
  return out;
}

/**
 * Decodes safetensors bytes; checks header, sizes, offsets and (when the metadata has one)
 * the `sha256` content hash. Throws {@link CheckpointError} naming `file` on any problem.
 */
export function decodeSafetensors(bytes: Uint8Array, file = "<bytes>"): SafetensorsFile {
  const { header, start } = parseHeader(bytes, file);
  const data = bytes.subarray(start);
  const entries = checkEntries(header, data.length, file);
  const metadata = { ...(header.__metadata__ as Record<string, string> | undefined) };
  if (metadata[HASH_KEY] !== undefined && contentHash(header, data) !== metadata[HASH_KEY]) {
    throw new CheckpointError(
      "content hash mismatch: the file was corrupted after it was written",
      {
        file,
        fix: "use another checkpoint (an earlier step) or re-save this one",
      },
    );
  }
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const n = prod(e.shape), at = data.byteOffset + e.start;
    let values: Float32Array;
    if (e.dtype === "F32") {
      values = at % 4 === 0
        ? new Float32Array(data.buffer, at, n)
        : new Float32Array(data.slice(e.start, e.end).buffer);
    } else if (e.dtype === "F16") {
      values = Float32Array.from(new Float16Array(data.slice(e.start, e.end).buffer));
    } else if (e.dtype === "BF16") {
      const h = new Uint16Array(data.slice(e.start, e.end).buffer), u = new Uint32Array(n);
      for (let i = 0; i < n; i++) u[i] = h[i] << 16;
      values = new Float32Array(u.buffer);
    } else {
      values = Float32Array.from(new Float64Array(data.slice(e.start, e.end).buffer));
    }
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: values });
  }
  return { tensors, metadata };
}

/**
 * Reads and verifies a safetensors file (see {@link decodeSafetensors}).
 *
 * @example
 * ```ts
 * const { tensors, metadata } = await readSafetensors("model.safetensors");
 * tensors.get("tokens_embed.weight")!.shape; // [40478, 768]
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new CheckpointError(`cannot read: ${(e as Error).message}`, {
      file: path,
      fix: "check the path",
    });
  }
  return decodeSafetensors(bytes, path);
}

/**
 * Reads only the header of a safetensors file (cheap even for big files): shapes, dtypes
 * and metadata, no values and no hash check.
 */
export async function readSafetensorsHeader(path: string): Promise<{
  shapes: Map<string, { dtype: SafeDtype; shape: number[] }>;
  metadata: Record<string, string>;
}> {
  const f = await Deno.open(path, { read: true });
  try {
    const size = (await f.stat()).size;
    const head = new Uint8Array(Math.min(size, 8));
    await readFull(f, head);
    const n = head.length === 8 ? Number(new DataView(head.buffer).getBigUint64(0, true)) : 0;
    const buf = new Uint8Array(Math.min(size, 8 + Math.min(n, MAX_HEADER)));
    buf.set(head);
    await readFull(f, buf.subarray(head.length));
    const { header, start } = parseHeader(buf, path);
    const entries = checkEntries(header, size - start, path);
    const shapes = new Map(entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape }]));
    return { shapes, metadata: { ...(header.__metadata__ as Record<string, string>) } };
  } finally {
    f.close();
  }
}

async function readFull(f: Deno.FsFile, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const n = await f.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
}

/**
 * Writes tensors + string metadata as a safetensors file, atomically (temp file + rename),
 * adding the `sha256` content hash.
 *
 * @example
 * ```ts
 * await writeSafetensors("/tmp/x.safetensors",
 *   new Map([["w", { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]), { note: "hi" });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

// =============================================================================================
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

/** The shape checks of {@link modelFromWeights}, before anything is created. */
function checkWeights(
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
async function modelFromWeights<C extends ModelConfig>(
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

// =============================================================================================
// checkpoints

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

function parseJsonMeta(meta: Record<string, string>, key: string, file: string): unknown {
  try {
    return JSON.parse(meta[key]);
  } catch (e) {
    throw new CheckpointError(`metadata ${key} is not valid JSON (${(e as Error).message})`, {
      file,
      fix: "the file is damaged: use another checkpoint",
    });
  }
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
  const start = hstart + hlen, n = prod(shape);
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
  const total = shapes.reduce((a, s) => a + prod(s), 0);
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
    const n = prod(s);
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
