/**
 * GPT-1 (Radford et al. 2018) in TensorFlow.js: parameters named as HuggingFace `openai-gpt`,
 * the forward pass, the LM / classification / multiple-choice / similarity heads, and layer
 * transfer.
 *
 * Architecture (paper.md §1.1, finetune-transformer-lm `train.py`):
 * - `h0 = tokens_embed[ids] + positions_embed[0..T-1]` (learned positions), dropout `embdPdrop`;
 * - `nLayer` **post-LN** blocks: `n = LN1(x + Attn(x)); h = LN2(n + MLP(n))`; no final LN;
 * - attention: fused `c_attn` projection split into q, k, v (in that order), heads are
 *   contiguous column slices, `softmax(q·kᵀ/√d + causal mask)`, dropout `attnPdrop`, `·v`,
 *   merge heads, `c_proj`, dropout `residPdrop`;
 * - MLP: `c_fc` → tanh-approximation GELU → `c_proj` → dropout `residPdrop`;
 * - LM head tied to the token embedding: `logits = h · tokens_embedᵀ`.
 *
 * Speed on CPU (wasm): every weight matMul is 2-D `[B*T, C]·W` with a custom gradient that uses
 * explicit transposes (plain 2-D matMuls run on XNNPACK); LayerNorm, GELU, the tied logits and
 * the cross-entropy have fused custom gradients; the cross-entropy gathers the target logit
 * instead of building a one-hot over the vocabulary; dropout masks come from a fast seeded
 * hash, not `tf.dropout`. See `backend.ts` for the kernel shims. With the system BLAS
 * (`blas.ts`, `nativeProducts()`) the gradients pass transpose flags to the products instead.
 *
 * Determinism: initialization is a pure function of `seed`; each dropout mask is a pure
 * function of (model seed, the `seed` passed to the forward call, layer, site), computed in JS,
 * so the masks are the same on every backend.
 *
 * Where this differs from the released TF code (paper.md §1.6), following HF `transformers`:
 * embedding dropout acts on `tokens + positions` after the sum (TF drops entries of the whole
 * embedding matrix, also used by the LM head); the LM softmax runs over the `vocabSize +
 * nSpecial` token rows (TF's merged table also offers the position rows); positions are a
 * separate table. The causal mask is added (`+ -1e9`) rather than multiplied in; after the
 * softmax both give exactly 0.
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * import { Gpt1Model } from "./model.ts";
 * const model = new Gpt1Model(makeConfig("tiny"), { seed: 42 });
 * const loss = await model.lmLoss([[1, 2, 3, 4]]);   // ≈ ln(512) at init
 * const logits = await model.logits([[1, 2, 3]]);     // [1][3][512]
 * model.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ensureKernels, requireBackend } from "./backend.ts";
import { fusedAttention, fusedAttentionCore, fusedCausalSoftmax } from "./_wasm_fused_kernels.ts";
import type { Gpt1Config } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { mixModelSeed, randn } from "./random.ts";
import {
  type ForwardOptions,
  type ModelOptions,
  setCheckedWeights,
  sourceWeight,
  TiedLmModel,
  transferredRows,
  writeTransfer,
} from "./_tied_lm.ts";
import {
  asInt32,
  attentionCore,
  causalBias,
  causalSoftmax,
  gelu,
  headMix,
  headScores,
  type Ids,
  layerNorm,
  linear,
  sumRows,
} from "./ops.ts";

// the shared base moved to _tied_lm.ts and the ops to ops.ts; their old import paths keep working
export {
  assignWeights,
  checkPlainIds,
  type ForwardOptions,
  type LmLossOptions,
  type ModelOptions,
  namedValueAndGrads,
  readTensor,
  type TiedLmConfig,
  TiedLmModel,
  weightsAsync,
  weightsSync,
} from "./_tied_lm.ts";
export {
  asInt32,
  crossEntropy,
  gelu,
  type Ids,
  layerNorm,
  linear,
  LM_HEAD_MAX_ELEMENTS,
  sumRows,
  tiedLmLoss,
  tiedLogits,
} from "./ops.ts";

// ---------------------------------------------------------------------------------------------
// the model

/** The 12 tensors of block `l` in `params_shapes.json` order, with their shapes (width C, FFN F). */
const BLOCK_TENSORS: readonly [string, (C: number, F: number) => number[]][] = [
  ["attn.c_attn.weight", (C) => [C, 3 * C]],
  ["attn.c_attn.bias", (C) => [3 * C]],
  ["attn.c_proj.weight", (C) => [C, C]],
  ["attn.c_proj.bias", (C) => [C]],
  ["ln_1.weight", (C) => [C]],
  ["ln_1.bias", (C) => [C]],
  ["mlp.c_fc.weight", (C, F) => [C, F]],
  ["mlp.c_fc.bias", (_, F) => [F]],
  ["mlp.c_proj.weight", (C, F) => [F, C]],
  ["mlp.c_proj.bias", (C) => [C]],
  ["ln_2.weight", (C) => [C]],
  ["ln_2.bias", (C) => [C]],
];

/**
 * The parameter names and shapes of the base model in the order of the released
 * `params_shapes.json` (conv1d weights squeezed to `[in, out]`), HuggingFace `openai-gpt` names.
 *
 * @example
 * ```ts
 * parameterShapes(PRESETS.gpt1)[2]; // ["h.0.attn.c_attn.weight", [768, 2304]]
 * ```
 */
export function parameterShapes(c: Gpt1Config): [string, number[]][] {
  const out: [string, number[]][] = [
    ["positions_embed.weight", [c.nCtx, c.nEmbd]],
    ["tokens_embed.weight", [c.vocabSize + c.nSpecial, c.nEmbd]],
  ];
  for (let l = 0; l < c.nLayer; l++) {
    for (const [n, shape] of BLOCK_TENSORS) out.push([`h.${l}.${n}`, shape(c.nEmbd, c.nInner)]);
  }
  return out;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** Drops leading 1s (`[1, 768, 2304]` of the released conv1d weights → `[768, 2304]`). */
const squeezeLead = (s: readonly number[]) => {
  let i = 0;
  while (i < s.length - 1 && s[i] === 1) i++;
  return s.slice(i);
};

/**
 * GPT-1 with its task heads. All tensor methods return new tensors the caller owns (run them
 * inside `tf.tidy`); the plain-array helpers `logits` and `lmLoss` clean up after themselves.
 */
export class Gpt1Model extends TiedLmModel<Gpt1Config> {
  /**
   * Creates the base model with N(0, initStd) weights, zero biases and unit LN gains; its
   * `params` follow `params_shapes.json` order with HuggingFace names.
   */
  constructor(config: Gpt1Config, opts: ModelOptions = {}) {
    super(config, opts, parameterShapes(config));
  }

  protected initParam(name: string, shape: number[], index: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith(".bias")) data = new Float32Array(n);
    else if (/ln_\d\.weight$/.test(name)) data = new Float32Array(n).fill(1);
    else data = randn(n, mixModelSeed(this.seed, 0x1417, index), this.config.initStd);
    return tf.tidy(() => tf.variable(tf.tensor(data, shape, "float32"), true));
  }

  // -- forward pieces (2-D inside: x [N, C], N = B*T) --------------------------------------

  /** Token + position embedding of int32 `ids [B, T]` → `[B*T, C]` (before dropout). */
  #embed(ids: tf.Tensor2D): tf.Tensor2D {
    const [B, T] = ids.shape, C = this.config.nEmbd, nCtx = this.config.nCtx;
    const V = this.config.vocabSize + this.config.nSpecial;
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [wte, wpe, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
      const flat = tf.reshape(ids, [B * T]) as tf.Tensor1D;
      save([flat]);
      const tok = tf.reshape(tf.gather(wte, flat), [B, T, C]);
      const h = tf.add(tok, tf.slice(wpe, [0, 0], [T, C])); // [B, T, C]
      return {
        value: tf.reshape(h, [B * T, C]),
        gradFunc: (dy: tf.Tensor, [flat]: tf.Tensor[]) => {
          const dTok = tf.unsortedSegmentSum(dy, flat as tf.Tensor1D, V); // [V, C]
          const dPos = tf.reshape(sumRows(tf.reshape(dy, [B, T * C]) as tf.Tensor2D), [T, C]);
          return [dTok, T < nCtx ? tf.pad(dPos, [[0, nCtx - T], [0, 0]]) : dPos];
        },
      };
    });
    return f(
      this.param("tokens_embed.weight"),
      this.param("positions_embed.weight"),
    ) as tf.Tensor2D;
  }

  /** The linear layer `name` (`name.weight [in, out]`, `name.bias [out]`) on `x [N, in]`. */
  #linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const w = this.param(`${name}.weight`) as tf.Tensor2D,
      b = this.param(`${name}.bias`) as tf.Tensor1D;
    return linear(x, w, b);
  }

  #attention(x: tf.Tensor2D, l: number, B: number, T: number, o: ForwardOptions): tf.Tensor2D {
    const { nEmbd: C, nHead: H } = this.config, D = C / H;
    const qkv = this.#linear(x, `h.${l}.attn.c_attn`); // [N, 3C]
    if (fusedAttentionCore()) {
      const p = o.training ? this.config.attnPdrop : 0;
      const seed = p > 0 ? mixModelSeed(this.seed, o.seed ?? 0, 10 * l + 1) : 0;
      const y = attentionCore(qkv, { B, T, H, alpha: 1 / Math.sqrt(D), p, seed }); // [N, C]
      const out = this.#linear(y, `h.${l}.attn.c_proj`);
      return this.dropout(out, this.config.residPdrop, o, 10 * l + 2) as tf.Tensor2D;
    }
    if (fusedAttention()) {
      const scores = headScores(qkv, B, T, H, 1 / Math.sqrt(D)); // [B*H, T, T]
      const probs = fusedCausalSoftmax()
        ? causalSoftmax(scores)
        : tf.softmax(tf.add(scores, causalBias(T)));
      const a = this.dropout(
        probs,
        this.config.attnPdrop,
        o,
        10 * l + 1,
      );
      const y = headMix(a as tf.Tensor3D, qkv, B, T, H); // [N, C], heads side by side
      const out = this.#linear(y, `h.${l}.attn.c_proj`);
      return this.dropout(out, this.config.residPdrop, o, 10 * l + 2) as tf.Tensor2D;
    }
    const heads = (t: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, D]), [0, 2, 1, 3]), [B * H, T, D]);
    const [q, k, v] = tf.split(qkv, 3, 1).map(heads); // [B*H, T, D] each
    const w = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)), causalBias(T));
    const a = this.dropout(tf.softmax(w), this.config.attnPdrop, o, 10 * l + 1); // [B*H, T, T]
    const y = tf.reshape(
      tf.transpose(tf.reshape(tf.matMul(a, v), [B, H, T, D]), [0, 2, 1, 3]),
      [B * T, C],
    ) as tf.Tensor2D; // heads merged back: [N, C]
    const out = this.#linear(y, `h.${l}.attn.c_proj`);
    return this.dropout(out, this.config.residPdrop, o, 10 * l + 2) as tf.Tensor2D;
  }

  #mlp(x: tf.Tensor2D, l: number, o: ForwardOptions): tf.Tensor2D {
    const hid = gelu(this.#linear(x, `h.${l}.mlp.c_fc`)); // [N, F]
    const out = this.#linear(hid, `h.${l}.mlp.c_proj`);
    return this.dropout(out, this.config.residPdrop, o, 10 * l + 3) as tf.Tensor2D;
  }

  #ln(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return layerNorm(
      x,
      this.param(name + ".weight") as tf.Tensor1D,
      this.param(name + ".bias") as tf.Tensor1D,
      this.config.layerNormEps,
    );
  }

  #block(x: tf.Tensor2D, l: number, B: number, T: number, o: ForwardOptions): tf.Tensor2D {
    const n = this.#ln(tf.add(x, this.#attention(x, l, B, T, o)), `h.${l}.ln_1`);
    return this.#ln(tf.add(n, this.#mlp(n, l, o)), `h.${l}.ln_2`);
  }

  #checkIds(ids: tf.Tensor): [number, number] {
    if (ids.rank !== 2) throw new ConfigError(`ids must be [B, T], got [${ids.shape}]`);
    const [B, T] = ids.shape;
    if (T > this.config.nCtx || T < 1) {
      throw new ConfigError(`sequence length ${T} not in [1, nCtx=${this.config.nCtx}]`, {
        fix: "truncate the input or use a config with a longer context",
      });
    }
    return [B, T];
  }

  /**
   * The post-LN block `l` on `x [B, T, C]`: `n = LN1(x + Attn(x)); LN2(n + MLP(n))`.
   * Exposed for tests and analysis.
   */
  block(x: tf.Tensor3D, l: number, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T, C] = x.shape;
    return tf.reshape(
      this.#block(tf.reshape(x, [B * T, C]), l, B, T, this.forwardOpts(opts)),
      [B, T, C],
    );
  }

  /** The attention sub-layer of block `l` (with its output projection) on `x [B, T, C]`. */
  attention(x: tf.Tensor3D, l: number, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T, C] = x.shape;
    return tf.reshape(
      this.#attention(tf.reshape(x, [B * T, C]), l, B, T, this.forwardOpts(opts)),
      [B, T, C],
    );
  }

  /** The MLP sub-layer of block `l` on `x [B, T, C]`. */
  mlp(x: tf.Tensor3D, l: number, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T, C] = x.shape;
    return tf.reshape(this.#mlp(tf.reshape(x, [B * T, C]), l, this.forwardOpts(opts)), [B, T, C]);
  }

  /** LayerNorm `name` (e.g. `h.0.ln_1`) of the model on `x [..., C]`. */
  layerNorm<T extends tf.Tensor>(x: T, name: string): T {
    const C = this.config.nEmbd;
    return tf.reshape(this.#ln(tf.reshape(x, [-1, C]) as tf.Tensor2D, name), x.shape) as T;
  }

  /** The embedding `tokens_embed[ids] + positions_embed[:T]` of int32 `ids [B, T]` (no dropout). */
  embed(ids: Ids): tf.Tensor3D {
    ensureKernels();
    const t = asInt32(ids) as tf.Tensor2D;
    const [B, T] = this.#checkIds(t);
    return tf.reshape(this.#embed(t), [B, T, this.config.nEmbd]);
  }

  /**
   * Final hidden states `[B, T, C]` (output of the last block, no final LayerNorm) of int32
   * `ids [B, T]`.
   */
  hidden(ids: Ids, opts: ForwardOptions = {}): tf.Tensor3D {
    ensureKernels();
    const o = this.forwardOpts(opts);
    const t = asInt32(ids) as tf.Tensor2D;
    const [B, T] = this.#checkIds(t);
    let x = this.dropout(this.#embed(t), this.config.embdPdrop, o, 0) as tf.Tensor2D;
    for (let l = 0; l < this.config.nLayer; l++) x = this.#block(x, l, B, T, o);
    return tf.reshape(x, [B, T, this.config.nEmbd]);
  }

  /**
   * Classification / entailment logits `[B, nOut]` from the hidden state at the `_classify_`
   * token: int32 `ids [B, T]`, `clfPos [B]` (index of the first `_classify_` of each row).
   */
  classifyLogits(ids: Ids, clfPos: Ids, opts: ForwardOptions = {}): tf.Tensor2D {
    const o = this.forwardOpts(opts);
    return this.classifierHead(this.pool(this.hidden(ids, o), clfPos), o);
  }

  /**
   * Multiple choice: int32 `ids [B, K, T]`, `clfPos [B, K]` → one scalar per candidate
   * `[B, K]` (softmax over K is the caller's loss). Needs `addClassifier(1)`. The classifier
   * dropout mask `[B, 1, C]` is shared by the K candidates, as in the original.
   */
  multipleChoiceLogits(ids: Ids, clfPos: Ids, opts: ForwardOptions = {}): tf.Tensor2D {
    const o = this.forwardOpts(opts);
    const t = asInt32(ids);
    if (t.rank !== 3) throw new ConfigError(`ids must be [B, K, T], got [${t.shape}]`);
    const [B, K, T] = t.shape, C = this.config.nEmbd;
    const h = this.hidden(tf.reshape(t, [B * K, T]), o);
    const feats = tf.reshape(this.pool(h, tf.reshape(asInt32(clfPos), [B * K])), [B, K, C]);
    const z = this.classifierHead(feats, o, [B, 1, C]); // [B*K, 1]
    return tf.reshape(z, [B, K]);
  }

  /**
   * Similarity features `[B, C]`: the `_classify_` states of both orderings (`ids1 [B, T]` =
   * `[s] a [$] b [e]`, `ids2` = `[s] b [$] a [e]`, positions `pos1`, `pos2 [B]`) summed.
   */
  similarityFeatures(
    ids1: Ids,
    ids2: Ids,
    pos1: Ids,
    pos2: Ids,
    opts: ForwardOptions = {},
  ): tf.Tensor2D {
    const a = asInt32(ids1), b = asInt32(ids2);
    const B = a.shape[0];
    const h = this.hidden(tf.concat([a, b], 0), this.forwardOpts(opts)); // [2B, T, C]
    const f = this.pool(h, tf.concat([asInt32(pos1), asInt32(pos2)], 0)); // [2B, C]
    return tf.add(tf.slice(f, [0, 0], [B, -1]), tf.slice(f, [B, 0], [B, -1]));
  }

  /** Similarity logits `[B, nOut]`: {@link similarityFeatures} then the classifier. */
  similarityLogits(
    ids1: Ids,
    ids2: Ids,
    pos1: Ids,
    pos2: Ids,
    opts: ForwardOptions = {},
  ): tf.Tensor2D {
    const o = this.forwardOpts(opts);
    return this.classifierHead(this.similarityFeatures(ids1, ids2, pos1, pos2, o), o);
  }

  // -- weights -----------------------------------------------------------------------------

  /**
   * Sets weights by name. Every name must be a parameter and every shape must match (a
   * `Float32Array` by length, a tensor by shape after dropping leading 1s); everything is
   * checked before anything is written. Throws CheckpointError naming the tensor and shapes.
   */
  setWeights(named: Map<string, Float32Array | tf.Tensor>): void {
    setCheckedWeights(this.params, named, {
      model: "this model",
      namesFix: "map the checkpoint to openai-gpt names (see parameterShapes())",
      configFields: "vocabSize, nSpecial, nCtx, nEmbd, nInner",
      fits: (got, want) => sameShape(squeezeLead(got), squeezeLead(want)),
    });
  }

  /**
   * Layer transfer as in the original `n_transfer`: `-1` transfers nothing, `0` the
   * embeddings, `n` the embeddings and blocks `0..n-1`. Positions copy `min` of both tables'
   * rows; tokens copy `min(source rows, vocabSize)` rows so the special tokens keep their fresh
   * N(0, initStd) init. Returns the names written.
   */
  transferFrom(src: Map<string, Float32Array>, nTransfer: number): string[] {
    const L = this.config.nLayer;
    if (!Number.isInteger(nTransfer) || nTransfer < -1 || nTransfer > L) {
      throw new ConfigError(`nTransfer must be an integer in [-1, ${L}], got ${nTransfer}`);
    }
    if (nTransfer < 0) return [];
    const blocks: [string, Float32Array][] = [];
    for (let l = 0; l < nTransfer; l++) {
      for (const [t] of BLOCK_TENSORS) {
        blocks.push([`h.${l}.${t}`, sourceWeight(src, `h.${l}.${t}`)]);
      }
    }
    return writeTransfer(this, (updates) => {
      for (
        const [name, maxRows] of [
          ["positions_embed.weight", this.config.nCtx],
          ["tokens_embed.weight", this.config.vocabSize],
        ] as const
      ) {
        // the rows past the source's (and the special tokens) keep their current values
        const p = this.params.get(name)!;
        updates.set(name, transferredRows(name, sourceWeight(src, name), p, maxRows, "C"));
      }
      for (const [name, a] of blocks) updates.set(name, a);
    });
  }
}

/** `new Gpt1Model(config, opts)`. */
export function createModel(config: Gpt1Config, opts: ModelOptions = {}): Gpt1Model {
  requireBackend("createModel");
  return new Gpt1Model(config, opts);
}
