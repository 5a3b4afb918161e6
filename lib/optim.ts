/**
 * Adam exactly as in the released GPT-1 code (`opt.py` of openai/finetune-transformer-lm),
 * its learning-rate schedules, and global-norm gradient clipping.
 *
 * The update for 0-based step `t` (paper.md §1.4):
 * ```
 * g   = clip_by_global_norm(grads, maxGradNorm)            // over all parameters together
 * lrt = lr * sqrt(1 - b2^(t+1)) / (1 - b1^(t+1)) * schedule(t / tTotal, warmup)
 * m   = b1*m + (1-b1)*g ;  v = b2*v + (1-b2)*g*g           // no separate bias correction
 * p   = p - lrt * (m / (sqrt(v) + e) + l2*p)               // l2 term only when rank(p) > 1
 * ```
 * The first update (t = 0) has schedule 0, so the weights do not move, but m and v do.
 * On wasm the update runs in place on the heap (`_native_adam.ts`, same math, float32
 * rounding aside); `GPT1_NATIVE_ADAM=0` keeps the tensor ops.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { OpenAIAdam } from "./optim.ts";
 * const w = tf.variable(tf.ones([2, 2]));
 * const opt = new OpenAIAdam(new Map([["w", w]]), {
 *   lr: 2.5e-4, schedule: "warmup_cosine", warmup: 0.002, tTotal: 100_000,
 * });
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(w);
 * const norm = opt.step(new Map([["w", g]])); // global grad norm before clipping
 * console.log((await norm.data())[0]);
 * tf.dispose([g, norm]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type NativeAdamOptions, nativeAdamStep } from "./_native_adam.ts";
import { FINETUNE_DEFAULTS } from "./config.ts";
import { ConfigError } from "./errors.ts";

// ---------------------------------------------------------------------------------------------
// schedules (pure functions of x = t / tTotal)

/**
 * `warmup_cosine` of opt.py: linear warmup to 1 at `x = warmup`, then `0.5 (1 + cos(pi x))`.
 *
 * @example
 * ```ts
 * warmupCosine(0.5, 0.002); // 0.5
 * ```
 */
export function warmupCosine(x: number, warmup = 0.002): number {
  return x <= warmup ? x / warmup : 0.5 * (1 + Math.cos(Math.PI * x));
}

/**
 * `warmup_linear` of opt.py: `(x <= warmup ? x/warmup : 1) * (1 - x)`. Note that the
 * linear decay also multiplies the warmup part (0.4995 at x = 0.001).
 *
 * @example
 * ```ts
 * warmupLinear(0.1, 0.002); // 0.9
 * ```
 */
export function warmupLinear(x: number, warmup = 0.002): number {
  return (x <= warmup ? x / warmup : 1) * (1 - x);
}

/** `warmup_constant` of opt.py: linear warmup to 1 at `x = warmup`, then 1. */
export function warmupConstant(x: number, warmup = 0.002): number {
  return x <= warmup ? x / warmup : 1;
}

/** A constant schedule (always 1): no warmup, no decay. */
export function constantSchedule(_x: number, _warmup = 0): number {
  return 1;
}

/** Names of the learning-rate schedules. */
export type ScheduleName = "warmup_cosine" | "warmup_linear" | "warmup_constant" | "constant";

/** Schedule functions by name; each maps `(x = t/tTotal, warmup fraction)` to a factor. */
export const SCHEDULES: Readonly<Record<ScheduleName, (x: number, warmup: number) => number>> =
  Object.freeze({
    warmup_cosine: warmupCosine,
    warmup_linear: warmupLinear,
    warmup_constant: warmupConstant,
    constant: constantSchedule,
  });

// ---------------------------------------------------------------------------------------------
// options

/**
 * Hyperparameters of {@link OpenAIAdam}; names follow opt.py / train.py. The update's own
 * (`b1` 0.9, `b2` 0.999, `e` 1e-8, `l2` 0.01 decoupled and scaled by the step size, `vectorL2`
 * false, `maxGradNorm` 1 with ≤ 0 turning clipping off) are {@link NativeAdamOptions}.
 */
export interface AdamOptions extends NativeAdamOptions {
  /** Peak learning rate (train.py: 6.25e-5 fine-tuning; paper pre-training: 2.5e-4). */
  lr: number;
  /** Learning-rate schedule (train.py default `warmup_linear`; pre-training `warmup_cosine`). */
  schedule: ScheduleName;
  /** Warmup as a fraction of `tTotal` (train.py: 0.002). */
  warmup: number;
  /** Total number of updates the schedule spans (x = t / tTotal); unused by `constant`. */
  tTotal: number;
}

/** The released defaults (train.py argparse); `tTotal` must still be given for warmup schedules. */
export const ADAM_DEFAULTS: Readonly<AdamOptions> = Object.freeze({
  lr: FINETUNE_DEFAULTS.lr, // 6.25e-5
  schedule: "warmup_linear",
  warmup: FINETUNE_DEFAULTS.warmup, // 0.002
  tTotal: 0,
  b1: 0.9,
  b2: 0.999,
  e: 1e-8,
  l2: 0.01,
  vectorL2: false,
  maxGradNorm: 1,
});

/**
 * Fills in {@link ADAM_DEFAULTS} and validates; throws ConfigError on unknown keys or bad
 * values (e.g. a warmup schedule without `tTotal`).
 */
export function adamOptions(opts: Partial<AdamOptions> = {}): AdamOptions {
  for (const k of Object.keys(opts)) {
    if (!(k in ADAM_DEFAULTS)) {
      throw new ConfigError(`unknown optimizer option "${k}"`, {
        fix: `use one of ${Object.keys(ADAM_DEFAULTS).join(", ")}`,
      });
    }
  }
  const o: AdamOptions = { ...ADAM_DEFAULTS, ...opts };
  const bad = (what: string, fix: string) => {
    throw new ConfigError(`optimizer option ${what}`, { fix });
  };
  if (!(o.schedule in SCHEDULES)) {
    bad(`schedule "${o.schedule}" is unknown`, `use ${Object.keys(SCHEDULES).join(" | ")}`);
  }
  for (const k of ["lr", "e", "l2", "maxGradNorm", "warmup"] as const) {
    if (typeof o[k] !== "number" || !Number.isFinite(o[k])) bad(`${k} = ${o[k]}`, "a number");
  }
  if (o.lr < 0 || o.e < 0 || o.l2 < 0 || o.warmup < 0) {
    bad("lr, e, l2 and warmup must be >= 0", "give non-negative values");
  }
  for (const k of ["b1", "b2"] as const) {
    if (!(o[k] >= 0 && o[k] < 1)) bad(`${k} = ${o[k]} is outside [0, 1)`, "e.g. 0.9 / 0.999");
  }
  if (o.schedule !== "constant" && !(Number.isInteger(o.tTotal) && o.tTotal > 0)) {
    bad(`tTotal = ${o.tTotal} with schedule ${o.schedule}`, "set tTotal to the number of updates");
  }
  if (o.schedule.startsWith("warmup") && !(o.warmup > 0)) {
    bad(`warmup = ${o.warmup} with schedule ${o.schedule}`, "e.g. warmup 0.002");
  }
  if (typeof o.vectorL2 !== "boolean") bad(`vectorL2 = ${o.vectorL2}`, "true or false");
  return o;
}

// ---------------------------------------------------------------------------------------------
// the optimizer

/** Serializable optimizer state: the next 0-based step, the moments, the hyperparameters. */
export interface AdamState {
  /** Number of updates done so far (= the 0-based `t` of the next update). */
  step: number;
  /** Hyperparameters the moments were accumulated with. */
  options: AdamOptions;
  /** First moments by parameter name, row-major float32. */
  m: Map<string, Float32Array>;
  /** Second moments by parameter name, row-major float32. */
  v: Map<string, Float32Array>;
}

/**
 * Adam as in the released `opt.py`, over a map of named variables (e.g. `model.params`).
 * Moments live in non-trainable variables next to each parameter; each parameter's update
 * runs in its own `tf.tidy`, so the tensor count is constant across steps.
 */
export class OpenAIAdam {
  /** The parameters being optimized (not owned: `dispose()` leaves them alone). */
  readonly params: Map<string, tf.Variable>;
  /** Hyperparameters (validated). */
  readonly options: AdamOptions;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  #t = 0;

  /** Creates zero moments for every parameter; throws ConfigError on bad options. */
  constructor(params: Map<string, tf.Variable>, options: Partial<AdamOptions> = {}) {
    this.params = params;
    this.options = adamOptions(options);
    for (const [name, p] of params) {
      if (p.dtype !== "float32") {
        throw new ConfigError(`parameter ${name} has dtype ${p.dtype}`, { fix: "use float32" });
      }
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /**
   * Builds an optimizer and loads `state` into it (options from the state unless overridden).
   *
   * @example
   * ```ts
   * const opt2 = OpenAIAdam.fromStateDict(model.params, await opt.stateDict());
   * ```
   */
  static fromStateDict(
    params: Map<string, tf.Variable>,
    state: AdamState,
    overrides: Partial<AdamOptions> = {},
  ): OpenAIAdam {
    const opt = new OpenAIAdam(params, { ...state.options, ...overrides });
    try {
      opt.loadStateDict(state);
    } catch (e) {
      opt.dispose();
      throw e;
    }
    return opt;
  }

  /** Number of updates done so far = the 0-based `t` of the next update (opt.py's `t`). */
  get t(): number {
    return this.#t;
  }

  /** The schedule factor at 0-based update `t`: `schedule(t / tTotal, warmup)`. */
  scheduleAt(t: number): number {
    const o = this.options;
    return SCHEDULES[o.schedule](o.schedule === "constant" ? 0 : t / o.tTotal, o.warmup);
  }

  /** The scheduled learning rate at update `t` (what one logs): `lr * schedule(t/tTotal)`. */
  lrAt(t: number = this.#t): number {
    return this.options.lr * this.scheduleAt(t);
  }

  /**
   * The step size opt.py actually applies at update `t`, bias correction included:
   * `lr * sqrt(1 - b2^(t+1)) / (1 - b1^(t+1)) * schedule(t/tTotal)`.
   */
  stepSizeAt(t: number = this.#t): number {
    const { b1, b2 } = this.options;
    const tt = t + 1;
    return this.lrAt(t) * Math.sqrt(1 - Math.pow(b2, tt)) / (1 - Math.pow(b1, tt));
  }

  /**
   * One update. `grads` maps parameter names to gradients of the same shape (e.g. from
   * `tf.variableGrads`); parameters without a gradient are left untouched (as opt.py's
   * "can't train"), names that are not parameters throw. The caller keeps ownership of `grads`.
   *
   * @returns the global L2 norm of `grads` **before** clipping, as a new float32 scalar tensor
   * that the caller owns: read it with `await norm.data()` (works on every backend; `dataSync`
   * does not work on webgpu under Deno) and then `norm.dispose()`.
   */
  step(grads: Map<string, tf.Tensor>): tf.Scalar {
    const names: string[] = [];
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (!p) throw new ConfigError(`gradient for unknown parameter "${name}"`);
      if (!tf.util.arraysEqual(g.shape, p.shape)) {
        throw new ConfigError(
          `gradient for ${name} has shape [${g.shape}] but the parameter has [${p.shape}]`,
        );
      }
      names.push(name);
    }
    if (names.length === 0) throw new ConfigError("step() got no gradients");
    const o = this.options;
    const lrt = this.stepSizeAt(this.#t);
    // wasm: the same update in place on the heap (_native_adam.ts), else the tensor ops below
    const fast = nativeAdamStep(names, this.params, this.m, this.v, grads, o, lrt);
    if (fast) {
      this.#t++;
      return fast;
    }
    // global norm of all gradients: []
    const norm = tf.tidy(() => {
      const sq = names.map((n) => tf.sum(tf.square(grads.get(n)!.toFloat())));
      return tf.sqrt(sq.length === 1 ? sq[0] : tf.addN(sq)) as tf.Scalar;
    });
    // tf.clip_by_global_norm: g * clip / max(norm, clip)
    const scale = o.maxGradNorm > 0
      ? tf.tidy(() => tf.div(o.maxGradNorm, tf.maximum(norm, o.maxGradNorm)))
      : null;
    // one tidy per parameter keeps the peak memory at one parameter's temporaries
    for (const name of names) {
      tf.tidy(() => {
        const p = this.params.get(name)!, m = this.m.get(name)!, v = this.v.get(name)!;
        const g0 = grads.get(name)!.toFloat();
        const g = scale ? tf.mul(g0, scale) : g0;
        const mt = tf.add(tf.mul(m, o.b1), tf.mul(g, 1 - o.b1));
        const vt = tf.add(tf.mul(v, o.b2), tf.mul(tf.square(g), 1 - o.b2));
        let upd = tf.div(mt, tf.add(tf.sqrt(vt), o.e));
        if ((p.rank > 1 || o.vectorL2) && o.l2 > 0) upd = tf.add(upd, tf.mul(p, o.l2));
        const pt = tf.sub(p, tf.mul(upd, lrt));
        m.assign(mt);
        v.assign(vt);
        p.assign(pt);
      });
    }
    scale?.dispose();
    this.#t++;
    return norm;
  }

  /**
   * The state as plain arrays (reads every moment back from the backend, hence async).
   * Pair it with {@link OpenAIAdam.loadStateDict} or {@link OpenAIAdam.fromStateDict}.
   */
  async stateDict(): Promise<AdamState> {
    const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
    for (const name of this.params.keys()) {
      m.set(name, new Float32Array(await this.m.get(name)!.data()));
      v.set(name, new Float32Array(await this.v.get(name)!.data()));
    }
    return { step: this.#t, options: { ...this.options }, m, v };
  }

  /**
   * Restores step and moments. Checks every name and size first and changes nothing when
   * any is wrong (throws ConfigError). The options of `state` are not applied (use
   * {@link OpenAIAdam.fromStateDict} for that).
   */
  loadStateDict(state: Pick<AdamState, "step" | "m" | "v">): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new ConfigError(`optimizer state has step ${state.step}`, { fix: "an integer >= 0" });
    }
    for (const [kind, moments] of [["m", state.m], ["v", state.v]] as const) {
      for (const [name, p] of this.params) {
        const a = moments.get(name);
        if (!a) {
          throw new ConfigError(`optimizer state lacks ${kind} for parameter ${name}`, {
            fix: "load the state saved for this same model",
          });
        }
        if (a.length !== p.size) {
          throw new ConfigError(
            `optimizer state ${kind}.${name} has ${a.length} values, parameter has ${p.size}`,
            { fix: "load the state saved for this same model" },
          );
        }
      }
      for (const name of moments.keys()) {
        if (!this.params.has(name)) {
          throw new ConfigError(`optimizer state has ${kind} for unknown parameter ${name}`, {
            fix: "load the state saved for this same model",
          });
        }
      }
    }
    for (const [name, p] of this.params) {
      tf.tidy(() => {
        this.m.get(name)!.assign(tf.tensor(state.m.get(name)!, p.shape, "float32"));
        this.v.get(name)!.assign(tf.tensor(state.v.get(name)!, p.shape, "float32"));
      });
    }
    this.#t = state.step;
  }

  /** Frees the moment variables (not the parameters). */
  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}
