/**
 * The LSTM baseline of the paper (Table 5 last row, Figure 2 dashed lines): a single-layer
 * LSTM language model with the same surface as {@link Gpt1Model}, so that `pretrain`,
 * checkpoints, fine-tuning and the zero-shot heuristics run it unchanged. The paper used 2,048
 * units; the presets size the LSTM to match the parameter count of the Transformer preset of the
 * same name (see {@link LSTM_PRESETS}).
 *
 * Architecture (no position embeddings: the recurrence carries the order):
 * - `x = √E · tokens_embed[ids]` `[B, T, E]`, dropout `dropout` (the √E of tied Transformers:
 *   rows of std 0.02 suit the tied softmax, inputs of std 0.02·√E suit the LSTM);
 * - one LSTM layer with H units, zero initial state, gates in the order i, f, g, o:
 *   `[i f g o] = x·W_ih + h_{t-1}·W_hh + b` (`W_ih [E, 4H]`, `W_hh [H, 4H]`, `b [4H]`, forget
 *   bias initialised to 1), `c_t = σ(f)·c_{t-1} + σ(i)·tanh(g)`, `h_t = σ(o)·tanh(c_t)`;
 * - dropout `dropout` on `h_t`, then a linear projection `H → E` (`lstm.proj`): the features
 *   `[B, T, E]` that {@link LstmModel.hidden} returns (pooled at `_classify_` by the task heads);
 * - LM head tied to the token embedding: `logits = features · tokens_embedᵀ`.
 * Init: the token embedding (and a classifier) N(0, initStd) as GPT-1; the LSTM and projection
 * matrices N(0, 1/√fan_in) (std 1/√E for `W_ih`, 1/√H for `W_hh` and the projection); biases
 * 0 except the forget gate's 1. With N(0, 0.02) everywhere the signal through
 * embedding → LSTM → projection → tied softmax is a product of four 0.02-sized factors and
 * training sits on a plateau at ln V for a long time (measured on the toy corpus of the tests).
 * Parameter names: `tokens_embed.weight`
 * `[V + nSpecial, E]`, `lstm.weight_ih [E, 4H]`, `lstm.weight_hh [H, 4H]`, `lstm.bias [4H]`,
 * `lstm.proj.weight [H, E]`, `lstm.proj.bias [E]` (+ `clf.weight [E, n]`, `clf.bias [n]`).
 * The layout is `[in, out]` as everywhere in this repo (PyTorch's `nn.LSTM` stores the
 * transpose, in the same gate order, with two biases).
 *
 * Speed on CPU (wasm): the input projection of all time steps is one 2-D matMul
 * `[T*B, E]·[E, 4H]`; the recurrence is one op with a hand-written backward pass through time
 * ({@link lstmSequence}): one `[B, H]·[H, 4H]` matMul per step forward, one `[B, 4H]·[4H, H]`
 * per step backward, and the `W_hh` gradient as a single `[H, (T-1)·B]·[(T-1)·B, 4H]` matMul.
 * The sequence runs time-major inside (`[T, B, ·]`); `hidden` transposes back to `[B, T, E]`.
 *
 * @example
 * ```ts
 * import { LstmModel, makeLstmConfig } from "./lstm.ts";
 * const model = new LstmModel(makeLstmConfig("tiny"), { seed: 42 });
 * const loss = await model.lmLoss([[1, 2, 3, 4]]); // ≈ ln(512) at init
 * model.numParams(); // 134,512 (tiny GPT-1: 134,784)
 * model.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ensureKernels } from "./backend.ts";
import { ConfigError } from "./errors.ts";
import { asInt32, type Ids, linear } from "./ops.ts";
import {
  type ForwardOptions,
  type ModelOptions,
  setCheckedWeights,
  sourceWeight,
  TiedLmModel,
  transferredRows,
  writeTransfer,
} from "./_tied_lm.ts";
import { mixModelSeed, randn } from "./random.ts";
import { buildConfig, checkKeys, checkNumbers } from "./_config_check.ts";

// ---------------------------------------------------------------------------------------------
// configuration

/** Hyperparameters of the LSTM language model (`kind: "lstm"` tells it from a GPT-1 config). */
export interface LstmConfig {
  /** Always `"lstm"` (a {@link Gpt1Config} has no `kind`). */
  readonly kind: "lstm";
  /** Token vocabulary without the special tokens. */
  readonly vocabSize: number;
  /** Special tokens appended after the vocabulary: 0 for pre-training, 3 for fine-tuning. */
  readonly nSpecial: number;
  /** Window length of pre-training and the truncation length of tasks (no position table). */
  readonly nCtx: number;
  /** Width E of the token embedding and of the features (tied with the output softmax). */
  readonly nEmbd: number;
  /** LSTM units H (paper: 2,048). */
  readonly nHidden: number;
  /** Dropout on the embeddings and on the LSTM outputs (0.1 as GPT-1's). */
  readonly dropout: number;
  /** Dropout on the pooled feature before the task classifier (0.1). */
  readonly clfPdrop: number;
  /** Standard deviation of the N(0, std) init of the token embedding and classifier (0.02). */
  readonly initStd: number;
}

/** Names of the presets in {@link LSTM_PRESETS} (the GPT-1 preset each one matches). */
export type LstmPresetName = "tiny" | "small" | "gpt1";

const LSTM_BASE: LstmConfig = Object.freeze({
  kind: "lstm" as const,
  vocabSize: 40478,
  nSpecial: 0,
  nCtx: 512,
  nEmbd: 768,
  nHidden: 2048,
  dropout: 0.1,
  clfPdrop: 0.1,
  initStd: 0.02,
});

/**
 * The LSTM presets, all frozen, each at the vocabulary, context and width of the GPT-1 preset of
 * the same name. With `P = (V+S)·E + E·4H + H·4H + 4H + H·E + E` ({@link countLstmParams}):
 * - `small`: V 8192, E 256, context 128, **H 748**: `P = 2,097,152 + 4H² + 1284·H + 256` =
 *   2,097,152 + 2,238,016 + 960,432 + 256 = **5,295,856**, against 5,288,960 for the `small`
 *   Transformer (+0.13%; H = 747.0 would be exact, 748 keeps 4H a multiple of 16).
 * - `tiny`: V 512, E 64, context 32, **H 124**: `32,768 + 4H² + 324·H + 64` = **134,512**,
 *   against 134,784 (-0.2%).
 * - `gpt1`: V 40,478, E 768, context 512, **H 2048** as in the paper (55,737,600 parameters;
 *   the paper does not give the LSTM's embedding size).
 * All keep dropout 0.1 and init 0.02. Override `vocabSize` with the trained vocabulary's size.
 */
export const LSTM_PRESETS: Readonly<Record<LstmPresetName, LstmConfig>> = Object.freeze({
  tiny: Object.freeze({ ...LSTM_BASE, vocabSize: 512, nCtx: 32, nEmbd: 64, nHidden: 124 }),
  small: Object.freeze({ ...LSTM_BASE, vocabSize: 8192, nCtx: 128, nEmbd: 256, nHidden: 748 }),
  gpt1: LSTM_BASE,
});

const LSTM_KEYS = Object.keys(LSTM_BASE) as (keyof LstmConfig)[];
const LSTM_INT_KEYS = ["vocabSize", "nSpecial", "nCtx", "nEmbd", "nHidden"] as const;

/** Throws ConfigError unless `c` is a complete, consistent LSTM config. */
export function validateLstmConfig(c: LstmConfig): void {
  checkKeys(c, LSTM_KEYS, "LSTM config");
  if (c.kind !== "lstm") throw new ConfigError(`kind must be "lstm", got ${c.kind}`);
  checkNumbers(c, LSTM_KEYS.filter((k) => k !== "kind"), LSTM_INT_KEYS, ["dropout", "clfPdrop"]);
  if (!(c.initStd > 0)) throw new ConfigError(`initStd must be > 0, got ${c.initStd}`);
}

/**
 * Builds a validated, frozen LSTM config from a preset name (or a partial config over the
 * `gpt1` LSTM defaults) plus overrides. Unknown keys and bad values throw ConfigError.
 *
 * @example
 * ```ts
 * makeLstmConfig("small", { vocabSize: 8000 }).nHidden; // 748
 * makeLstmConfig({ nHidden: 512 }).nEmbd;               // 768
 * ```
 */
export function makeLstmConfig(
  presetOrPartial: LstmPresetName | Partial<LstmConfig> = "gpt1",
  overrides: Partial<LstmConfig> = {},
): LstmConfig {
  return buildConfig(
    {
      label: "LSTM ",
      presets: LSTM_PRESETS,
      base: LSTM_BASE,
      keys: LSTM_KEYS,
      validate: validateLstmConfig,
    },
    presetOrPartial,
    overrides,
  );
}

/**
 * The parameter names and shapes of the base LSTM model (no classifier), in creation order.
 *
 * @example
 * ```ts
 * lstmParameterShapes(LSTM_PRESETS.small)[2]; // ["lstm.weight_hh", [748, 2992]]
 * ```
 */
export function lstmParameterShapes(c: LstmConfig): [string, number[]][] {
  const E = c.nEmbd, H = c.nHidden;
  return [
    ["tokens_embed.weight", [c.vocabSize + c.nSpecial, E]],
    ["lstm.weight_ih", [E, 4 * H]],
    ["lstm.weight_hh", [H, 4 * H]],
    ["lstm.bias", [4 * H]],
    ["lstm.proj.weight", [H, E]],
    ["lstm.proj.bias", [E]],
  ];
}

/**
 * Parameters of the base LSTM model: `(V+S)·E + E·4H + H·4H + 4H + H·E + E` (embedding, input
 * and recurrent weights, gate biases, projection). `small`: 5,295,856.
 */
export function countLstmParams(c: LstmConfig): number {
  return lstmParameterShapes(c).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
}

// ---------------------------------------------------------------------------------------------
// the recurrence as one op

/**
 * `[4H]` scale of the pre-activations: 2 on the g block, 1 elsewhere. With `A = σ(s ⊙ pre)`,
 * the g gate is `tanh(pre_g) = 2·A_g - 1`, so one sigmoid serves the four gates (sigmoid is
 * vectorized on wasm, tanh is not).
 */
function gateScale(H: number): tf.Tensor1D {
  const s = new Float32Array(4 * H).fill(1);
  s.fill(2, 2 * H, 3 * H);
  return tf.tensor1d(s);
}

/**
 * The LSTM recurrence over a whole sequence, time-major: input pre-activations
 * `xp [T, B, 4H]` (= `x·W_ih + b`, gates i, f, g, o) and `W_hh [H, 4H]` → hidden states
 * `[T, B, H]`, from a zero state. One op with a hand-written backward pass through time: per
 * step one `[B, H]·[H, 4H]` matMul forward and one `[B, 4H]·[4H, H]` backward (plain 2-D
 * matMuls: XNNPACK on wasm), and the `W_hh` gradient as one matMul over all steps.
 *
 * @example
 * ```ts
 * const hs = lstmSequence(tf.randomNormal([5, 2, 16]), tf.randomNormal([4, 16])); // [5, 2, 4]
 * ```
 */
export function lstmSequence(xp: tf.Tensor3D, whh: tf.Tensor2D): tf.Tensor3D {
  const [T, B, G] = xp.shape, H = G / 4;
  if (!Number.isInteger(H) || whh.shape[0] !== H || whh.shape[1] !== G) {
    throw new ConfigError(`lstmSequence: xp [${xp.shape}] and W_hh [${whh.shape}] do not fit`);
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xp, whh, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.GradSaveFunc];
    const s = gateScale(H);
    const ws = tf.mul(whh, s) as tf.Tensor2D; // [H, 4H], g columns doubled
    // T × [B, 4H]: split of the 2-D view (the wasm Unpack kernel takes ~0.7 s at `small`)
    const xs = tf.split(tf.reshape(tf.mul(xp, s), [T * B, G]), T, 0) as tf.Tensor2D[];
    const As: tf.Tensor2D[] = [], Cs: tf.Tensor2D[] = [], TCs: tf.Tensor2D[] = [];
    const Hs: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      const [a, c, tc, h] = tf.tidy(() => {
        const pre = t === 0 ? xs[0] : tf.add(xs[t], tf.matMul(Hs[t - 1], ws)); // [B, 4H]
        const a = tf.sigmoid(pre) as tf.Tensor2D; // σ(i), σ(f), (tanh(g)+1)/2, σ(o)
        const [ai, af, ag, ao] = tf.split(a, 4, 1);
        const ig = tf.mul(ai, tf.sub(tf.mul(ag, 2), 1)); // σ(i)·tanh(g)
        const c = (t === 0 ? ig : tf.add(tf.mul(af, Cs[t - 1]), ig)) as tf.Tensor2D; // [B, H]
        const tc = tf.tanh(c) as tf.Tensor2D;
        return [a, c, tc, tf.mul(ao, tc) as tf.Tensor2D];
      });
      As.push(a), Cs.push(c), TCs.push(tc), Hs.push(h);
    }
    save([ws, ...As, ...Cs, ...TCs, ...Hs]);
    return {
      value: tf.stack(Hs) as tf.Tensor3D, // [T, B, H]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const ws = saved[0] as tf.Tensor2D;
        const at = (k: number, t: number) => saved[1 + k * T + t] as tf.Tensor2D;
        const wt = tf.transpose(ws); // [4H, H]
        const dys = tf.split(tf.reshape(dy, [T * B, H]), T, 0) as tf.Tensor2D[]; // T × [B, H]
        const dPs: tf.Tensor2D[] = new Array(T);
        // gradients flowing into step t from step t+1 (none at the last step)
        const next: { dh?: tf.Tensor2D; dc?: tf.Tensor2D } = {};
        for (let t = T - 1; t >= 0; t--) {
          const [dp, dcPrev, dhPrev] = tf.tidy(() => {
            const a = at(0, t), tc = at(2, t);
            const [ai, af, ag, ao] = tf.split(a, 4, 1);
            const dht = next.dh ? tf.add(dys[t], next.dh) : dys[t]; // [B, H]
            let dct = tf.mul(tf.mul(dht, ao), tf.sub(1, tf.square(tc)));
            if (next.dc) dct = tf.add(dct, next.dc);
            const zeros = tf.zerosLike(dct);
            const dA = tf.concat([
              tf.mul(dct, tf.sub(tf.mul(ag, 2), 1)), // ∂/∂σ(i)
              t > 0 ? tf.mul(dct, at(1, t - 1)) : zeros, // ∂/∂σ(f)
              tf.mul(tf.mul(dct, ai), 2), // ∂/∂A_g (tanh(g) = 2·A_g - 1)
              tf.mul(dht, tc), // ∂/∂σ(o)
            ], 1); // [B, 4H]
            const dp = tf.mul(dA, tf.mul(a, tf.sub(1, a))) as tf.Tensor2D; // ∂/∂(s ⊙ pre)
            if (t === 0) return [dp];
            return [dp, tf.mul(dct, af), tf.matMul(dp, wt)] as tf.Tensor2D[]; // dc, dh of t-1
          });
          next.dh?.dispose(), next.dc?.dispose();
          dPs[t] = dp, next.dh = dhPrev, next.dc = dcPrev;
        }
        const s = gateScale(H);
        const dP = tf.stack(dPs) as tf.Tensor3D; // [T, B, 4H], w.r.t. the scaled pre-activations
        let dW: tf.Tensor;
        if (T > 1) {
          const hPrev = tf.concat(Array.from({ length: T - 1 }, (_, t) => at(3, t)), 0); // [(T-1)B, H]
          const dTail = tf.reshape(tf.slice(dP, [1, 0, 0], [T - 1, B, G]), [(T - 1) * B, G]);
          dW = tf.mul(tf.matMul(tf.transpose(hPrev), dTail), s); // [H, 4H]
        } else {
          dW = tf.zerosLike(ws);
        }
        return [tf.mul(dP, s), dW];
      },
    };
  });
  return f(xp, whh) as tf.Tensor3D;
}

// ---------------------------------------------------------------------------------------------
// the model

/** Dropout sites (part of the mask seeds). */
const SITE_EMBD = 1, SITE_OUT = 2; // the classifier's is TiedLmModel's 0x7f0

/**
 * The single-layer LSTM language model with the task heads of {@link LanguageModel}. All
 * tensor methods return new tensors the caller owns; `logits` and `lmLoss` clean up.
 */
export class LstmModel extends TiedLmModel<LstmConfig> {
  /**
   * Creates the model with the init of the module doc (forget-gate bias 1); its `params` are
   * named as in the module doc.
   */
  constructor(config: LstmConfig, opts: ModelOptions = {}) {
    validateLstmConfig(config);
    super(config, opts, lstmParameterShapes(config));
  }

  protected initParam(name: string, shape: number[], index: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1), H = this.config.nHidden;
    let data: Float32Array;
    if (name === "lstm.bias") data = new Float32Array(n).fill(1, H, 2 * H); // forget gate 1
    else if (name.endsWith("bias")) data = new Float32Array(n);
    else {
      // the embedding and the classifier: N(0, initStd) as GPT-1; the LSTM and projection
      // matrices: N(0, 1/√fan_in)
      const std = name === "tokens_embed.weight" || name.startsWith("clf.")
        ? this.config.initStd
        : 1 / Math.sqrt(shape[0]);
      data = randn(n, mixModelSeed(this.seed, 0x157a, index), std);
    }
    return tf.tidy(() => tf.variable(tf.tensor(data, shape, "float32"), true));
  }

  #checkIds(ids: tf.Tensor): [number, number] {
    if (ids.rank !== 2) throw new ConfigError(`ids must be [B, T], got [${ids.shape}]`);
    const [B, T] = ids.shape;
    if (T < 1 || B < 1) throw new ConfigError(`ids must be non-empty, got [${ids.shape}]`);
    return [B, T];
  }

  /** Token embedding of time-major int32 `ids [T, B]` → `[T*B, E]` (segment-sum gradient). */
  #embed(ids: tf.Tensor2D): tf.Tensor2D {
    const V = this.config.vocabSize + this.config.nSpecial;
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [wte, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
      const flat = tf.reshape(ids, [ids.size]) as tf.Tensor1D;
      save([flat]);
      return {
        value: tf.gather(wte, flat),
        gradFunc: (dy: tf.Tensor, [flat]: tf.Tensor[]) => [
          tf.unsortedSegmentSum(dy, flat as tf.Tensor1D, V), // [V, E]
        ],
      };
    });
    return f(this.param("tokens_embed.weight")) as tf.Tensor2D;
  }

  /**
   * Features `[B, T, E]` of int32 `ids [B, T]`: embedding, dropout, LSTM, dropout, projection.
   * Any length T >= 1 works (nCtx only sets the training windows).
   */
  hidden(ids: Ids, opts: ForwardOptions = {}): tf.Tensor3D {
    ensureKernels();
    const o = this.forwardOpts(opts);
    const t = asInt32(ids) as tf.Tensor2D;
    const [B, T] = this.#checkIds(t);
    const { nEmbd: E, nHidden: H, dropout: p } = this.config;
    // √E: N(0, initStd) rows (sized for the tied softmax) become inputs of std initStd·√E
    const emb = tf.mul(this.#embed(tf.transpose(t)), Math.sqrt(E)); // [T*B, E], time-major
    const x = this.dropout(emb, p, o, SITE_EMBD);
    const xp = linear(
      x as tf.Tensor2D,
      this.param("lstm.weight_ih") as tf.Tensor2D,
      this.param("lstm.bias") as tf.Tensor1D,
    ); // [T*B, 4H]
    const hs = lstmSequence(
      tf.reshape(xp, [T, B, 4 * H]),
      this.param("lstm.weight_hh") as tf.Tensor2D,
    ); // [T, B, H]
    const y = this.dropout(tf.reshape(hs, [T * B, H]), p, o, SITE_OUT) as tf.Tensor2D;
    const out = linear(
      y,
      this.param("lstm.proj.weight") as tf.Tensor2D,
      this.param("lstm.proj.bias") as tf.Tensor1D,
    ); // [T*B, E]
    return tf.transpose(tf.reshape(out, [T, B, E]), [1, 0, 2]); // [B, T, E]
  }

  /**
   * Sets weights by name; every name must be a parameter and every size must match, all
   * checked before anything is written (CheckpointError names the tensor).
   */
  setWeights(named: Map<string, Float32Array | tf.Tensor>): void {
    setCheckedWeights(this.params, named, {
      model: "this LSTM model",
      namesFix: "use the names of lstmParameterShapes()",
      configFields: "vocabSize, nSpecial, nEmbd, nHidden",
      fits: (got, want) => tf.util.arraysEqual(got, want),
    });
  }

  /**
   * Transfer as GPT-1's `n_transfer`: `-1` nothing, `0` the token embedding (the first
   * `min(source rows, vocabSize)` rows, so special tokens keep their fresh init), `1` the
   * embedding + the LSTM + the projection. Returns the names written.
   */
  transferFrom(src: Map<string, Float32Array>, nTransfer: number): string[] {
    if (!Number.isInteger(nTransfer) || nTransfer < -1 || nTransfer > 1) {
      throw new ConfigError(`nTransfer must be -1, 0 or 1 for the LSTM, got ${nTransfer}`);
    }
    if (nTransfer < 0) return [];
    const fix = "transfer from an LSTM checkpoint";
    const a = sourceWeight(src, "tokens_embed.weight", fix);
    const p = this.params.get("tokens_embed.weight")!;
    return writeTransfer(this, (updates) => {
      updates.set(
        "tokens_embed.weight",
        transferredRows("tokens_embed.weight", a, p, this.config.vocabSize, "E"),
      );
      if (nTransfer >= 1) {
        for (const [name] of lstmParameterShapes(this.config).slice(1)) {
          updates.set(name, sourceWeight(src, name, fix));
        }
      }
    });
  }
}

/** `new LstmModel(config, opts)`. */
export function createLstmModel(config: LstmConfig, opts: ModelOptions = {}): LstmModel {
  return new LstmModel(config, opts);
}
