/**
 * What the WebGPU engine computes on the host: the initial weights (those of `Gpt1Model`), the
 * Adam step size of an update, the inputs of a micro-batch (token ids, their inverse index and
 * the step info words with the dropout seeds), and the flat buffers' named parameters.
 * @module
 */
import type { Gpt1Config } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { parameterShapes } from "../model.ts";
import { type AdamOptions, SCHEDULES } from "../optim.ts";
import { mixModelSeed, randn } from "../random.ts";
import type { Slot } from "./_step_graph.ts";
import * as K from "./kernels.ts";

/** Words of the step info before the dropout site seeds. */
export const STEP_HEADER = 8;

/** What {@link fillInputs} needs of the engine. */
export interface InputSpec {
  config: Gpt1Config;
  microBatch: number;
  seqLen: number;
  seed: number;
  adam: AdamOptions;
}

/**
 * The initial weights of `new Gpt1Model(config, { seed })`, computed the same way: biases 0,
 * LayerNorm gains 1, everything else N(0, initStd) from `randn(n, mixModelSeed(seed, 0x1417,
 * index))` with `index` the position in `parameterShapes(config)`.
 */
export function initialWeights(config: Gpt1Config, seed = 0): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  parameterShapes(config).forEach(([name, shape], index) => {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith(".bias")) data = new Float32Array(n);
    else if (/ln_\d\.weight$/.test(name)) data = new Float32Array(n).fill(1);
    else data = randn(n, mixModelSeed(seed, 0x1417, index), config.initStd);
    out.set(name, data);
  });
  return out;
}

/** `lr · schedule(t/tTotal) · sqrt(1 - b2^(t+1)) / (1 - b1^(t+1))`, as `OpenAIAdam.stepSizeAt`. */
export function adamStepSize(o: AdamOptions, t: number): number {
  const sched = SCHEDULES[o.schedule](o.schedule === "constant" ? 0 : t / o.tTotal, o.warmup);
  const tt = t + 1;
  return o.lr * sched * Math.sqrt(1 - Math.pow(o.b2, tt)) / (1 - Math.pow(o.b1, tt));
}

/**
 * Fills `idv` (token ids), `x` (their inverse index) and `w` (the step info) of micro-batch
 * `j` from `ids[from .. from + B·T)`, for update `t`, for the step of `e` (B = `e.microBatch`
 * windows of T = `e.seqLen`; dropout site seeds from `e.seed` and `dropoutSeed`).
 */
export function fillInputs(
  e: InputSpec,
  ids: ArrayLike<number>,
  from: number,
  j: number,
  dropoutSeed: number,
  training: boolean,
  t: number,
  idv: Int32Array,
  x: Uint32Array,
  w: Uint32Array,
): void {
  const B = e.microBatch, T = e.seqLen, N = B * T;
  const { nEmbd: C, nHead: H } = e.config;
  const V = e.config.vocabSize + e.config.nSpecial;
  for (let i = 0; i < N; i++) {
    const v = ids[from + i];
    if (!(Number.isInteger(v) && v >= 0 && v < V)) {
      throw new ConfigError(`token id ${v} at ${from + i} is not in [0, ${V - 1}]`);
    }
    idv[i] = v;
  }
  // inverse index: distinct ids, their start offsets, positions grouped by id
  const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => idv[a] - idv[b] || a - b);
  x.fill(0);
  let U = 0;
  for (let k = 0; k < N; k++) {
    const tok = idv[order[k]];
    if (k === 0 || tok !== idv[order[k - 1]]) {
      x[1 + U] = tok;
      x[1 + N + U] = k;
      U++;
    }
    x[2 + 2 * N + k] = order[k];
  }
  x[0] = U;
  x[1 + N + U] = N;
  w.fill(0);
  w[0] = t;
  w[1] = t % K.RING_SLOTS;
  w[2] = K.f32bits(adamStepSize(e.adam, t));
  w[3] = training ? 1 : 0;
  // micro-batch j: its place in the step's dropout sites ([B_step, T, C] and [B_step, H, T, T])
  w[4] = j;
  w[5] = j * N * C;
  w[6] = j * B * H * T * T;
  const callSeed = dropoutSeed;
  w[STEP_HEADER] = mixModelSeed(e.seed, callSeed, 0);
  for (let l = 0; l < e.config.nLayer; l++) {
    for (let k = 0; k < 3; k++) {
      w[STEP_HEADER + 1 + 3 * l + k] = mixModelSeed(e.seed, callSeed, 10 * l + 1 + k);
    }
  }
}

/** The named parameters (`parameterShapes(config)` order) of a flat buffer's copy. */
export function unflatten(
  config: Gpt1Config,
  slots: readonly Slot[],
  flat: Float32Array,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name] of parameterShapes(config)) {
    const s = slots.find((x) => x.name === name)!;
    out.set(name, flat.slice(s.offset, s.offset + s.size));
  }
  return out;
}

/**
 * The flat buffer (`total` floats) of named parameters, every one of `slots` checked present
 * and of its size, and none unknown (ConfigError naming `what` otherwise).
 */
export function flatten(
  slots: readonly Slot[],
  total: number,
  named: Map<string, Float32Array>,
  what: string,
): Float32Array<ArrayBuffer> {
  const flat = new Float32Array(total);
  for (const s of slots) {
    const a = named.get(s.name);
    if (!a) {
      throw new ConfigError(`${what} lacks "${s.name}"`, {
        fix: "give every parameter of parameterShapes(config)",
      });
    }
    if (a.length !== s.size) {
      throw new ConfigError(
        `${what} "${s.name}" has ${a.length} values, the engine expects [${s.shape}]`,
        { fix: "check the config (vocabSize, nSpecial, nCtx, nEmbd, nInner)" },
      );
    }
    flat.set(a, s.offset);
  }
  for (const name of named.keys()) {
    if (!slots.some((s) => s.name === name)) {
      throw new ConfigError(`${what} has unknown tensor "${name}"`, {
        fix: "the WebGPU engine trains the base model only (no clf.*)",
      });
    }
  }
  return flat;
}
