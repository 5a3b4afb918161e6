/**
 * What the lab's language models share (GPT-1 in model.ts, the LSTM baseline in lstm.ts): the
 * forward and model options, {@link TiedLmModel} (named parameters, seeded dropout, the tied LM
 * head and loss, pooling, the classifier head, named gradients, plain-array readers, weight
 * reads, `dispose`) and the helpers both use. Re-exported by model.ts and language_model.ts.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { CheckpointError, ConfigError } from "./errors.ts";
import { dropoutMask, mixModelSeed } from "./random.ts";
import { fusedKernels } from "./_wasm_fused_kernels.ts";
import { asInt32, fusedDropout, type Ids, linear, tiedLmLoss, tiedLogits } from "./ops.ts";

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Training mode: dropout on (default false = eval, no dropout). */
  training?: boolean;
  /**
   * Dropout seed of this call (e.g. the step number): the masks are a pure function of it and
   * the model seed. Without it, training calls draw from a per-model counter.
   */
  seed?: number;
}

/** Options of the LM loss. */
export interface LmLossOptions extends ForwardOptions {
  /**
   * `[B, T]` float weights of the tokens (1 real, 0 padding). With a mask the loss is, as in
   * the original, the per-sequence mean of the CE of the masked next tokens, then the batch
   * mean; a sequence with no masked token counts 0.
   */
  mask?: tf.Tensor2D;
}

/** Options of {@link Gpt1Model}. */
export interface ModelOptions {
  /** Seed of the initialization and of the dropout masks (default 0). */
  seed?: number;
}

/** The config fields {@link TiedLmModel} reads (both GPT-1's and the LSTM's configs have them). */
export interface TiedLmConfig {
  /** BPE vocabulary size (tied LM head rows, with `nSpecial`). */
  readonly vocabSize: number;
  /** Special tokens appended to the vocabulary. */
  readonly nSpecial: number;
  /** Width of the features the heads read. */
  readonly nEmbd: number;
  /** Dropout before the classifier. */
  readonly clfPdrop: number;
  /** Std of the N(0, initStd) initialization (the classifier's too). */
  readonly initStd: number;
}

/**
 * What every language model of the lab shares around its own `hidden()`: named parameters in a
 * fixed order (+ `clf.*`), seeded dropout, the tied LM head and loss ({@link tiedLmLoss}),
 * pooling, the classifier head, named gradients, plain-array readers, weight reads and
 * `dispose`. {@link Gpt1Model} and the LSTM baseline extend it; each gives its parameter
 * list, their initialization and the forward pass.
 */
export abstract class TiedLmModel<C extends TiedLmConfig> {
  /** The frozen configuration. */
  readonly config: C;
  /** Trainable weights by name, in the order of the model's parameter list (+ `clf.*`). */
  readonly params: Map<string, tf.Variable> = new Map();
  /** The seed of the initialization and of the dropout masks. */
  readonly seed: number;
  #dropoutCalls = 0;
  /** Parameters of the base model (the classifier's init indices follow them). */
  #nBase: number;

  /** Sets the config and seed, then initializes `shapes` in order with {@link initParam}. */
  protected constructor(config: C, opts: ModelOptions, shapes: [string, number[]][]) {
    this.config = config;
    this.seed = opts.seed ?? 0;
    this.#nBase = shapes.length;
    shapes.forEach(([name, shape], i) => this.params.set(name, this.initParam(name, shape, i)));
  }

  /** A fresh variable for parameter `name` (the `index`-th of the model's list). */
  protected abstract initParam(name: string, shape: number[], index: number): tf.Variable;

  /** Features `[B, T, nEmbd]` of int32 `ids [B, T]` (causal: position t sees tokens ≤ t). */
  abstract hidden(ids: Ids, opts?: ForwardOptions): tf.Tensor3D;

  /** Number of scalar parameters (base model + classifier when added). */
  numParams(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.size;
    return n;
  }

  /**
   * Adds (or replaces) the task classifier `clf.weight [nEmbd, nOut]` ~ N(0, initStd) and
   * `clf.bias [nOut]` = 0. Multiple choice uses `nOut = 1`.
   */
  addClassifier(nOut: number): void {
    if (!Number.isInteger(nOut) || nOut < 1) {
      throw new ConfigError(`classifier needs an integer nOut >= 1, got ${nOut}`);
    }
    for (const k of ["clf.weight", "clf.bias"]) {
      this.params.get(k)?.dispose();
      this.params.delete(k);
    }
    const base = this.#nBase;
    this.params.set("clf.weight", this.initParam("clf.weight", [this.config.nEmbd, nOut], base));
    this.params.set("clf.bias", this.initParam("clf.bias", [nOut], base + 1));
  }

  /** The parameter `name`; a ConfigError when the model has none (e.g. no classifier yet). */
  protected param(name: string): tf.Variable {
    const p = this.params.get(name);
    if (!p) throw new ConfigError(`model has no parameter ${name}`, { fix: "addClassifier()" });
    return p;
  }

  /** Dropout `p` in training mode, its mask a pure function of the model seed, call seed, site. */
  protected dropout(
    x: tf.Tensor,
    p: number,
    opts: ForwardOptions,
    site: number,
    shape?: number[],
  ): tf.Tensor {
    if (!opts.training || p === 0) return x;
    const s = shape ?? x.shape;
    const n = s.reduce((a, b) => a * b, 1);
    const seed = mixModelSeed(this.seed, opts.seed ?? 0, site);
    if (n === x.size && fusedKernels() && x.dtype === "float32") return fusedDropout(x, p, seed);
    const mask = dropoutMask(n, p, seed);
    return tf.mul(x, tf.tensor(mask, s, "float32"));
  }

  /** `opts` with a dropout seed: training calls without one draw from a per-model counter. */
  protected forwardOpts(opts: ForwardOptions): ForwardOptions {
    if (!opts.training || opts.seed !== undefined) return opts;
    return { ...opts, seed: 0x7fff0000 + this.#dropoutCalls++ };
  }

  /** LM logits `[..., V + nSpecial]` of features `h [..., nEmbd]` (tied to `tokens_embed`). */
  lmHead(h: tf.Tensor): tf.Tensor {
    const C = this.config.nEmbd;
    const z = tiedLogits(
      tf.reshape(h, [-1, C]) as tf.Tensor2D,
      this.param("tokens_embed.weight") as tf.Tensor2D,
    );
    return tf.reshape(z, [...h.shape.slice(0, -1), z.shape[1]]);
  }

  /** LM logits `[B, T, V + nSpecial]` of int32 `ids [B, T]`. */
  lmLogitsTensor(ids: Ids, opts: ForwardOptions = {}): tf.Tensor3D {
    return this.lmHead(this.hidden(ids, opts)) as tf.Tensor3D;
  }

  /**
   * Mean next-token cross-entropy of features `h [B, T, C]` against `ids [B, T]`
   * (positions 0..T-2 predict 1..T-1); see {@link LmLossOptions} for the mask. Computed in
   * row chunks when the logits would exceed `maxElements` (see {@link tiedLmLoss}).
   */
  lmLossFromHidden(
    h: tf.Tensor3D,
    ids: Ids,
    mask?: tf.Tensor2D,
    maxElements?: number,
  ): tf.Scalar {
    const e = this.param("tokens_embed.weight") as tf.Tensor2D;
    return tiedLmLoss(h, ids, e, mask, maxElements);
  }

  /** Mean next-token cross-entropy of int32 `ids [B, T]` (see {@link LmLossOptions}). */
  lmLossTensor(ids: Ids, opts: LmLossOptions = {}): tf.Scalar {
    const t = asInt32(ids);
    return this.lmLossFromHidden(this.hidden(t, opts), t, opts.mask);
  }

  /** Features at position `pos[b]` of each sequence: `h [B, T, C]`, int32 `pos [B]` → `[B, C]`. */
  pool(h: tf.Tensor3D, pos: Ids): tf.Tensor2D {
    const [B, T, C] = h.shape;
    const idx = tf.add(tf.mul(tf.range(0, B, 1, "int32"), tf.scalar(T, "int32")), asInt32(pos));
    return tf.gather(tf.reshape(h, [B * T, C]), idx) as tf.Tensor2D;
  }

  /**
   * The classifier on features `[M, C]` → `[M, nOut]`: dropout `clfPdrop` (mask shape
   * `maskShape`, default the features' shape) then `clf`.
   */
  classifierHead(feats: tf.Tensor, opts: ForwardOptions = {}, maskShape?: number[]): tf.Tensor2D {
    const o = this.forwardOpts(opts);
    const d = this.dropout(feats, this.config.clfPdrop, o, 0x7f0, maskShape);
    return linear(
      tf.reshape(d, [-1, this.config.nEmbd]) as tf.Tensor2D,
      this.param("clf.weight") as tf.Tensor2D,
      this.param("clf.bias") as tf.Tensor1D,
    );
  }

  /**
   * Value and gradients of `f` with respect to every parameter, keyed by parameter name.
   * Run inside `tf.tidy` (or dispose the results).
   *
   * @example
   * ```ts
   * const { value, grads } = model.valueAndGrads(() => model.lmLossTensor(ids, { training: true, seed: step }));
   * ```
   */
  valueAndGrads(f: () => tf.Scalar): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
    return namedValueAndGrads(this.params, f);
  }

  /** LM logits `[B][T][V + nSpecial]` of `ids` in eval mode, as plain arrays. */
  async logits(ids: number[][]): Promise<number[][][]> {
    checkPlainIds(ids, this.config.vocabSize + this.config.nSpecial);
    return await readTensor(
      () => this.lmLogitsTensor(ids),
      (z) => z.array() as Promise<number[][][]>,
    );
  }

  /** Mean next-token cross-entropy over all shifted positions of `ids`, eval mode. */
  async lmLoss(ids: number[][]): Promise<number> {
    checkPlainIds(ids, this.config.vocabSize + this.config.nSpecial);
    return await readTensor(() => this.lmLossTensor(ids), async (l) => (await l.data())[0]);
  }

  /** All weights as `Float32Array`s (cpu/wasm/tensorflow; on webgpu use {@link readWeights}). */
  getWeights(): Map<string, Float32Array> {
    return weightsSync(this.params);
  }

  /** All weights as `Float32Array`s, read asynchronously (works on every backend). */
  async readWeights(): Promise<Map<string, Float32Array>> {
    return await weightsAsync(this.params);
  }

  /** Frees every parameter. */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
    this.params.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// helpers shared by the lab's language models (Gpt1Model here, LstmModel in lstm.ts)

/**
 * Value and gradients of `f` with respect to every variable of `params`, keyed by parameter
 * name. Run inside `tf.tidy` (or dispose the results).
 */
export function namedValueAndGrads(
  params: Map<string, tf.Variable>,
  f: () => tf.Scalar,
): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const byVar = new Map<string, string>();
  for (const [name, v] of params) byVar.set(v.name, name);
  const { value, grads } = tf.variableGrads(f, [...params.values()]);
  const out = new Map<string, tf.Tensor>();
  for (const [vname, g] of Object.entries(grads)) out.set(byVar.get(vname)!, g);
  return { value, grads: out };
}

/** Throws ConfigError unless `ids` is a non-empty rectangular `number[][]` of ids in `[0, V)`. */
export function checkPlainIds(ids: number[][], V: number): void {
  if (!Array.isArray(ids) || ids.length === 0 || !Array.isArray(ids[0])) {
    throw new ConfigError("ids must be a non-empty number[][]");
  }
  const T = ids[0].length;
  for (const row of ids) {
    if (row.length !== T) throw new ConfigError("all rows of ids must have the same length");
    for (const v of row) {
      if (!Number.isInteger(v) || v < 0 || v >= V) {
        throw new ConfigError(`token id ${v} is not in [0, ${V - 1}]`);
      }
    }
  }
}

/** Computes `f()` inside `tf.tidy`, reads the result with `read`, and disposes it. */
export async function readTensor<T>(
  f: () => tf.Tensor,
  read: (t: tf.Tensor) => Promise<T>,
): Promise<T> {
  const t = tf.tidy(f);
  try {
    return await read(t);
  } finally {
    t.dispose();
  }
}

/** Writes already-checked weights into `params` (reshaped to each parameter, cast to float32). */
export function assignWeights(
  params: Map<string, tf.Variable>,
  named: Map<string, Float32Array | tf.Tensor>,
): void {
  for (const [name, v] of named) {
    const p = params.get(name)!;
    tf.tidy(() => {
      const t = v instanceof tf.Tensor ? v : tf.tensor(v, p.shape, "float32");
      p.assign(tf.reshape(tf.cast(t, "float32"), p.shape));
    });
  }
}

/** What a model's `setWeights` says about a wrong name or size, and how it compares shapes. */
export interface WeightRules {
  /** The model in the unknown-name error: `this model`, `this LSTM model`. */
  model: string;
  /** The fix of an unknown name outside the classifier (`clf.*`). */
  namesFix: string;
  /** The config fields a size mismatch points to, e.g. `vocabSize, nSpecial, nEmbd`. */
  configFields: string;
  /** Whether a tensor of shape `got` fits a parameter of shape `want`. */
  fits(got: number[], want: number[]): boolean;
}

/**
 * A model's `setWeights`: every name must be a parameter and every size must fit (a tensor by
 * `rules.fits`, a `Float32Array` by length), all checked before anything is written
 * ({@link assignWeights}); CheckpointError names the tensor.
 */
export function setCheckedWeights(
  params: Map<string, tf.Variable>,
  named: Map<string, Float32Array | tf.Tensor>,
  rules: WeightRules,
): void {
  for (const [name, v] of named) {
    const p = params.get(name);
    if (!p) {
      throw new CheckpointError(`unknown tensor "${name}" for ${rules.model}`, {
        fix: name.startsWith("clf.") ? "call addClassifier(nOut) first" : rules.namesFix,
      });
    }
    const ok = v instanceof tf.Tensor ? rules.fits(v.shape, p.shape) : v.length === p.size;
    if (!ok) {
      const got = v instanceof tf.Tensor ? `shape [${v.shape}]` : `${v.length} values`;
      throw new CheckpointError(
        `tensor "${name}" has ${got}, the model expects [${p.shape}] (${p.size} values)`,
        { fix: `check the config (${rules.configFields}) of the checkpoint` },
      );
    }
  }
  assignWeights(params, named);
}

/** Layer transfer's source tensor `name`; CheckpointError (with `fix`, if given) when missing. */
export function sourceWeight(
  src: Map<string, Float32Array>,
  name: string,
  fix?: string,
): Float32Array {
  const a = src.get(name);
  if (!a) throw new CheckpointError(`source weights lack "${name}"`, { fix });
  return a;
}

/**
 * Layer transfer of an embedding table `p` (`[rows, width]`): the first `min(source rows,
 * maxRows)` rows of the source `a`, then `p`'s own further rows (the special tokens keep their
 * fresh init). `width` names the width in the error of a source that is not whole rows.
 */
export function transferredRows(
  name: string,
  a: Float32Array,
  p: tf.Variable,
  maxRows: number,
  width: "C" | "E",
): tf.Tensor {
  const W = p.shape[1]!;
  if (a.length % W !== 0) {
    throw new CheckpointError(`"${name}" has ${a.length} values, not a multiple of ${width}=${W}`, {
      fix: "transfer between models of the same width",
    });
  }
  const rows = Math.min(a.length / W, maxRows);
  return tf.tidy(() =>
    tf.concat([
      tf.tensor2d(a.subarray(0, rows * W), [rows, W]),
      tf.slice(p, [rows, 0], [p.shape[0] - rows, W]),
    ], 0)
  );
}

/**
 * Writes a layer transfer: `fill` puts the transferred weights into a map, `model.setWeights`
 * writes them, and the tensors in the map are disposed whatever happens. Returns the names
 * written.
 */
export function writeTransfer(
  model: { setWeights(named: Map<string, Float32Array | tf.Tensor>): void },
  fill: (updates: Map<string, Float32Array | tf.Tensor>) => void,
): string[] {
  const updates = new Map<string, Float32Array | tf.Tensor>();
  try {
    fill(updates);
    model.setWeights(updates);
  } finally {
    for (const v of updates.values()) if (v instanceof tf.Tensor) v.dispose();
  }
  return [...updates.keys()];
}

/** Every parameter as a `Float32Array`, read synchronously (not on webgpu). */
export function weightsSync(params: Map<string, tf.Variable>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of params) out.set(name, p.dataSync() as Float32Array);
  return out;
}

/** Every parameter as a `Float32Array`, read asynchronously (works on every backend). */
export async function weightsAsync(
  params: Map<string, tf.Variable>,
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of params) out.set(name, (await p.data()) as Float32Array);
  return out;
}
