/**
 * `WebGpuGptEngine`: the GPT-1 pre-training step (forward, backward, global-norm clipping,
 * Adam of opt.py) on WebGPU with the project's own kernels (`kernels.ts`), llm.c style.
 *
 * - Every buffer, pipeline, uniform and bind group is created when the engine is built; a
 *   step writes three small buffers (token ids, their inverse index, the step info), records
 *   every dispatch into one command encoder and submits once. Nothing is read back inside a
 *   step: loss, gradient norm and the NaN/Inf flag of each step go to a ring buffer of
 *   {@link RING_SLOTS} slots that {@link WebGpuGptEngine.readStats} reads (every N steps).
 * - The model is `lib/model.ts`'s GPT-1 (post-LN, tied head, learned positions, tanh-GELU) with
 *   the same parameter names, initialization (`initialWeights` = `Gpt1Model`'s) and dropout
 *   masks (`dropoutMask` of `lib/random.ts` for the same model seed, call seed and site), so a
 *   step here and a tfjs step give the same numbers up to float rounding, and weights and
 *   optimizer state move between the engines as the project's safetensors checkpoints.
 * - The LM head runs over row chunks of at most `headChunkElements` logits (forward,
 *   cross-entropy and backward per chunk), so no `[B·T, V]` buffer exists when that would be
 *   too large.
 *
 * - Gradient accumulation: `microBatches` forward/backward passes per step (the gradients add
 *   up in place, cleared at the start of the step), one clipping and Adam update, one submit.
 *
 * Not (yet) here: masks (pre-training has none), classifier heads (fine-tuning stays on tfjs),
 * f16.
 *
 * @example
 * ```ts
 * import { requestGpu, WebGpuGptEngine } from "./mod.ts";
 * const gpu = (await requestGpu())!;
 * const eng = await WebGpuGptEngine.create(gpu, makeConfig("tiny"), {
 *   batchSize: 4, seed: 42, adam: { lr: 1e-3, schedule: "constant" },
 * });
 * eng.step(ids, 7);                       // ids: B·T token ids; 7: the dropout seed
 * console.log(await eng.readStats());     // [{ step: 0, loss, gradNorm, nonFinite }]
 * eng.dispose();
 * ```
 * @module
 */
import type { Gpt1Config } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { parameterShapes } from "../model.ts";
import { type AdamOptions, adamOptions, type AdamState } from "../optim.ts";
import {
  CD,
  type Dispatch,
  type EngineCounts,
  GpuBuilder,
  MATMUL_128_MIN_TILES,
  SPLIT_K_TARGET,
} from "./_builder.ts";
import {
  adamStepSize,
  fillInputs,
  flatten,
  initialWeights,
  STEP_HEADER,
  unflatten,
} from "./_host.ts";
import { buildStep, type StepGraph } from "./_step_graph.ts";
import type { GpuContext } from "./device.ts";
import * as K from "./kernels.ts";

export { adamStepSize, type EngineCounts, initialWeights, MATMUL_128_MIN_TILES, SPLIT_K_TARGET };

/** Options of {@link WebGpuGptEngine.create}. */
export interface EngineOptions {
  /** Windows per step (all micro-batches together). */
  batchSize: number;
  /**
   * Micro-batches per step (gradient accumulation; default 1): the step's `batchSize` windows
   * run as `microBatches` forward/backward passes of `batchSize / microBatches` windows each,
   * whose gradients add up before one clipping and Adam update, in the same submit. Dropout
   * masks are those of the whole batch, so the update is the one of a single batch of
   * `batchSize` windows up to float rounding.
   */
  microBatches?: number;
  /** Window width T (default `config.nCtx`; at most `nCtx`). */
  seqLen?: number;
  /** Model seed: initialization and dropout masks, as `Gpt1Model`'s `seed` (default 0). */
  seed?: number;
  /** Adam options as `OpenAIAdam` takes them (validated with `adamOptions`). */
  adam?: Partial<AdamOptions>;
  /** The most logits one LM-head chunk may hold (default 2^26 = 256 MiB of f32). */
  headChunkElements?: number;
  /** Initial weights by name (default: `initialWeights(config, seed)`). */
  weights?: Map<string, Float32Array>;
  /**
   * The matmul kernel: `64` (64×64 tiles, 4×4 per thread, scalar loads), `128` (128×128 tiles,
   * 8×8 per thread, vec4 loads where the layout allows, register double buffering), or `auto`
   * (default): 128 for products with at least {@link MATMUL_128_MIN_TILES} such tiles (the thin
   * ones split along K, see `splitK`, to fill a large GPU), else 64 (the tiny products of tests).
   */
  matmul?: "64" | "128" | "auto";
  /**
   * Split-K for the 128×128 kernel: `auto` (default) splits a product with fewer than
   * {@link SPLIT_K_TARGET} tiles and K >= 1024 into up to 8 parts of K (at least 512 each) so
   * that it has about that many workgroups, the parts summed by a second dispatch; a number
   * splits every such product into that many parts (for tests); 1 never splits.
   */
  splitK?: "auto" | number;
}

/** The statistics of one step, as read back by {@link WebGpuGptEngine.readStats}. */
export interface StepStats {
  /** 0-based update index. */
  step: number;
  /** Mean next-token cross-entropy of the step's batch. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** True when the loss or the gradient norm was NaN/Inf (this step's update was skipped). */
  nonFinite: boolean;
  /** True when some step up to this one was non-finite (all updates since were skipped). */
  stopped: boolean;
}

/** The GPT-1 training step on WebGPU; see the module documentation. */
export class WebGpuGptEngine {
  /** The model configuration. */
  readonly config: Gpt1Config;
  /** Windows per step (all micro-batches). */
  readonly batchSize: number;
  /** Micro-batches per step. */
  readonly microBatches: number;
  /** Windows per micro-batch B (the shapes the kernels are built for). */
  readonly microBatch: number;
  /** Window width T. */
  readonly seqLen: number;
  /** Model seed (dropout masks, default initialization). */
  readonly seed: number;
  /** Adam hyperparameters (validated). */
  readonly adam: AdamOptions;
  /** The device context. */
  readonly gpu: GpuContext;
  /** Rows of one LM-head chunk. */
  readonly headRows: number;
  /** The matmul kernel choice (see {@link EngineOptions.matmul}). */
  readonly matmul: "64" | "128" | "auto";
  /** The split-K choice (see {@link EngineOptions.splitK}). */
  readonly splitK: "auto" | number;
  /**
   * JavaScript host time of the last {@link step}, in ms: writing the inputs, recording every
   * dispatch into the encoder, and `queue.submit` (which on some adapters, e.g. lavapipe under
   * Deno, waits for earlier queued work).
   */
  lastStepHostMs: { write: number; record: number; submit: number } = {
    write: 0,
    record: 0,
    submit: 0,
  };
  #device: GPUDevice;
  #t = 0;
  #pending: number[] = [];
  #g: GpuBuilder;
  #s!: StepGraph;
  #stepWords: Uint32Array<ArrayBuffer>;
  #index: Uint32Array<ArrayBuffer>;

  private constructor(gpu: GpuContext, config: Gpt1Config, o: EngineOptions) {
    this.gpu = gpu;
    this.#device = gpu.device;
    this.config = config;
    this.batchSize = o.batchSize;
    this.microBatches = o.microBatches ?? 1;
    this.matmul = o.matmul ?? "auto";
    this.splitK = o.splitK ?? "auto";
    if (this.splitK !== "auto" && !(Number.isInteger(this.splitK) && this.splitK >= 1)) {
      throw new ConfigError(`splitK ${this.splitK} is not auto or an integer >= 1`);
    }
    if (!["64", "128", "auto"].includes(this.matmul)) {
      throw new ConfigError(`matmul "${this.matmul}" is not 64 | 128 | auto`);
    }
    this.microBatch = o.batchSize / this.microBatches;
    this.seqLen = o.seqLen ?? config.nCtx;
    this.seed = o.seed ?? 0;
    this.adam = adamOptions(o.adam ?? { schedule: "constant" });
    const { nEmbd: C, nHead: H } = config;
    const B = this.microBatch, T = this.seqLen, V = config.vocabSize + config.nSpecial;
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) {
      throw new ConfigError(`batchSize ${o.batchSize} must be >= 1`);
    }
    if (!Number.isInteger(this.microBatches) || this.microBatches < 1 || !Number.isInteger(B)) {
      throw new ConfigError(
        `microBatches ${this.microBatches} must be >= 1 and divide batchSize ${o.batchSize}`,
      );
    }
    if (!Number.isInteger(T) || T < 2 || T > config.nCtx) {
      throw new ConfigError(`seqLen ${T} must be in [2, nCtx=${config.nCtx}]`);
    }
    const maxEl = o.headChunkElements ?? 2 ** 26;
    this.headRows = Math.max(1, Math.min(B * T, Math.floor(maxEl / V)));
    const wgMem = gpu.limits.maxComputeWorkgroupStorageSize;
    if ((T + K.ATT_WG) * 4 > wgMem) {
      throw new ConfigError(`seqLen ${T} needs ${(T + K.ATT_WG) * 4} bytes of workgroup memory`, {
        fix: `this adapter offers ${wgMem}; use a shorter context`,
      });
    }
    if (C / H > 4096) throw new ConfigError("head size above 4096");
    this.#stepWords = new Uint32Array(STEP_HEADER + 1 + 3 * config.nLayer);
    this.#index = new Uint32Array(3 * B * T + 2);
    this.#g = new GpuBuilder(gpu, this.matmul, this.splitK);
  }

  /**
   * Builds the engine: buffers, pipelines, bind groups, the initial weights and zero Adam
   * moments. Throws ConfigError when the shapes do not fit the device's limits.
   */
  static async create(
    gpu: GpuContext,
    config: Gpt1Config,
    opts: EngineOptions,
  ): Promise<WebGpuGptEngine> {
    const e = new WebGpuGptEngine(gpu, config, opts);
    gpu.device.pushErrorScope("validation");
    e.#s = buildStep(e.#g, {
      config,
      batchSize: e.batchSize,
      microBatches: e.microBatches,
      microBatch: e.microBatch,
      seqLen: e.seqLen,
      headRows: e.headRows,
      adam: e.adam,
      indexWords: e.#index.length,
      stepWords: e.#stepWords.length,
    });
    e.setWeights(opts.weights ?? initialWeights(config, e.seed));
    const err = await gpu.device.popErrorScope();
    if (err) {
      e.dispose();
      throw new ConfigError(`WebGPU engine build failed: ${err.message}`);
    }
    return e;
  }

  /** Number of updates done (the 0-based `t` of the next one). */
  get t(): number {
    return this.#t;
  }

  /** Dispatches recorded per training step. */
  get dispatchesPerStep(): number {
    const perMicro = this.#s.fwd.length + this.#s.head.length + this.#s.bwd.length;
    return this.microBatches * perMicro + this.#s.final.length + this.#s.opt.length;
  }

  /** What the engine created so far (buffers, bind groups, pipelines). */
  get counts(): EngineCounts {
    return { ...this.#g.counts };
  }

  /** Parameter names in `parameterShapes` order with their shapes. */
  get parameterShapes(): [string, number[]][] {
    return parameterShapes(this.config);
  }

  // -- per step -------------------------------------------------------------------------

  /**
   * Writes the inputs of update `t`: `ids` holds `windows` windows (the whole step's batch, or
   * one micro-batch for evaluation). One micro-batch goes straight into the live buffers; k
   * go to the staging buffers that {@link #encode} copies from.
   */
  #writeInputs(
    ids: ArrayLike<number>,
    dropoutSeed: number,
    training: boolean,
    t: number,
    windows: number,
  ): void {
    const T = this.seqLen, N = this.microBatch * T, k = windows / this.microBatch;
    if (ids.length !== windows * T) {
      throw new ConfigError(
        `expected ${windows * T} token ids (${windows} windows × T=${T}), got ${ids.length}`,
      );
    }
    const q = this.#device.queue;
    if (k === 1) {
      const idv = new Int32Array(N);
      fillInputs(this, ids, 0, 0, dropoutSeed, training, t, idv, this.#index, this.#stepWords);
      q.writeBuffer(this.#s.b.ids, 0, idv);
      q.writeBuffer(this.#s.b.index, 0, this.#index);
      q.writeBuffer(this.#s.b.step, 0, this.#stepWords);
      return;
    }
    const st = this.#s.stage!, xi = this.#index.length, ws = this.#stepWords.length;
    for (let j = 0; j < k; j++) {
      fillInputs(
        this,
        ids,
        j * N,
        j,
        dropoutSeed,
        training,
        t,
        st.ids.subarray(j * N, (j + 1) * N),
        st.index.subarray(j * xi, (j + 1) * xi),
        st.step.subarray(j * ws, (j + 1) * ws),
      );
    }
    q.writeBuffer(this.#s.b.idsAll, 0, st.ids);
    q.writeBuffer(this.#s.b.indexAll, 0, st.index);
    q.writeBuffer(this.#s.b.stepAll, 0, st.step);
  }

  /**
   * Records a whole step into `enc`: for each micro-batch (its inputs copied into place when
   * there are several; the gradients cleared first) forward, LM head and backward, then the
   * gradient norm and statistics, and Adam when `update`.
   */
  #encode(enc: GPUCommandEncoder, update: boolean): void {
    const k = this.microBatches, b = this.#s.b;
    if (k > 1) enc.clearBuffer(b.grads);
    const N = this.microBatch * this.seqLen, xi = this.#index.length * 4;
    const ws = this.#stepWords.length * 4;
    for (let j = 0; j < k; j++) {
      if (k > 1) {
        enc.copyBufferToBuffer(b.idsAll, j * N * 4, b.ids, 0, N * 4);
        enc.copyBufferToBuffer(b.indexAll, j * xi, b.index, 0, xi);
        enc.copyBufferToBuffer(b.stepAll, j * ws, b.step, 0, ws);
      }
      const pass = enc.beginComputePass();
      this.#record(pass, this.#s.fwd);
      this.#record(pass, this.#s.head);
      this.#record(pass, this.#s.bwd);
      pass.end();
    }
    const pass = enc.beginComputePass();
    this.#record(pass, this.#s.final);
    if (update) this.#record(pass, this.#s.opt);
    pass.end();
  }

  #record(pass: GPUComputePassEncoder, list: Dispatch[]): void {
    for (const d of list) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bind);
      pass.dispatchWorkgroups(d.x, d.y, d.z);
    }
  }

  /**
   * One training update on `ids` (`batchSize`·T token ids, row-major `[batchSize, T]`;
   * positions 0..T-2 predict 1..T-1; with micro-batches, consecutive groups of `microBatch`
   * windows) with dropout masks from `dropoutSeed` (the `seed` a tfjs forward call would get,
   * e.g. `mixSeed(seed, t, 1)` in `pretrain`). Records every dispatch into one encoder and
   * submits once; reads nothing back. Throws ConfigError when {@link RING_SLOTS} steps are
   * pending: call {@link readStats} at least that often.
   */
  step(ids: ArrayLike<number>, dropoutSeed: number): void {
    if (this.#pending.length >= K.RING_SLOTS) {
      throw new ConfigError(`${K.RING_SLOTS} steps without readStats()`, {
        fix: `read the statistics at least every ${K.RING_SLOTS} steps`,
      });
    }
    const t0 = performance.now();
    this.#writeInputs(ids, dropoutSeed, true, this.#t, this.batchSize);
    const t1 = performance.now();
    const enc = this.#device.createCommandEncoder();
    this.#encode(enc, true);
    const cmd = enc.finish();
    const t2 = performance.now();
    this.#device.queue.submit([cmd]);
    this.lastStepHostMs = { write: t1 - t0, record: t2 - t1, submit: performance.now() - t2 };
    this.#pending.push(this.#t);
    this.#t++;
  }

  /**
   * The statistics of every step since the last call, oldest first (one asynchronous readback
   * of the ring; in Deno it waits for the queued GPU work to finish).
   */
  async readStats(): Promise<StepStats[]> {
    if (this.#pending.length === 0) return [];
    const enc = this.#device.createCommandEncoder();
    enc.copyBufferToBuffer(this.#s.b.ring, 0, this.#s.ringStage, 0, K.RING_SLOTS * 16);
    this.#device.queue.submit([enc.finish()]);
    await this.#s.ringStage.mapAsync(GPUMapMode.READ);
    const u = new Uint32Array(this.#s.ringStage.getMappedRange().slice(0));
    this.#s.ringStage.unmap();
    const f = new Float32Array(u.buffer);
    const out = this.#pending.map((t) => {
      const o = (t % K.RING_SLOTS) * 4;
      if (u[o + 3] !== t) throw new Error(`stats ring slot of step ${t} holds step ${u[o + 3]}`);
      return {
        step: t,
        loss: f[o],
        gradNorm: f[o + 1],
        nonFinite: (u[o + 2] & 0xff) !== 0,
        stopped: (u[o + 2] >>> 8) !== 0,
      };
    });
    this.#pending = [];
    return out;
  }

  async #read(src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    const stage = this.#device.createBuffer({
      size: Math.ceil(bytes / 4) * 4,
      usage: GPUBufferUsage.MAP_READ | CD,
    });
    try {
      const enc = this.#device.createCommandEncoder();
      enc.copyBufferToBuffer(src, offset, stage, 0, Math.ceil(bytes / 4) * 4);
      this.#device.queue.submit([enc.finish()]);
      await stage.mapAsync(GPUMapMode.READ);
      return stage.getMappedRange().slice(0);
    } finally {
      stage.destroy();
    }
  }

  /**
   * Eval-mode logits `[B·T, V]` (row-major) of `ids`, one micro-batch of `microBatch` windows
   * (no dropout), chunk by chunk; for tests (reads back; not part of a step).
   */
  async logits(ids: ArrayLike<number>): Promise<Float32Array> {
    const N = this.microBatch * this.seqLen, V = this.config.vocabSize + this.config.nSpecial;
    this.#writeInputs(ids, 0, false, this.#t, this.microBatch);
    const out = new Float32Array(N * V);
    const enc = this.#device.createCommandEncoder();
    let pass = enc.beginComputePass();
    this.#record(pass, this.#s.fwd);
    pass.end();
    const stage = this.#device.createBuffer({
      size: N * V * 4,
      usage: GPUBufferUsage.MAP_READ | CD,
    });
    this.#s.headChunks.forEach(([s, rows], i) => {
      pass = enc.beginComputePass();
      this.#record(pass, [this.#s.head[this.#s.headChunks[i][2]]]);
      pass.end();
      enc.copyBufferToBuffer(this.#s.b.logits, 0, stage, s * V * 4, rows * V * 4);
    });
    this.#device.queue.submit([enc.finish()]);
    try {
      await stage.mapAsync(GPUMapMode.READ);
      out.set(new Float32Array(stage.getMappedRange()));
    } finally {
      stage.destroy();
    }
    return out;
  }

  /**
   * Mean next-token cross-entropy (eval mode, no dropout) of the first `windows` windows of
   * `ids`, one micro-batch of `microBatch` windows (the rest is padding): forward and LM head
   * only, one readback of the per-position losses. What validation runs between steps.
   */
  async evalLoss(ids: ArrayLike<number>, windows = this.microBatch): Promise<number> {
    const T = this.seqLen;
    if (!Number.isInteger(windows) || windows < 1 || windows > this.microBatch) {
      throw new ConfigError(`evalLoss: windows ${windows} must be in [1, ${this.microBatch}]`);
    }
    if (this.#pending.length > 0) await this.readStats();
    this.#writeInputs(ids, 0, false, this.#t, this.microBatch);
    const enc = this.#device.createCommandEncoder();
    const pass = enc.beginComputePass();
    this.#record(pass, this.#s.fwd);
    this.#s.headChunks.forEach(([, , h]) =>
      this.#record(pass, [this.#s.head[h], this.#s.head[h + 1]])
    );
    pass.end();
    this.#device.queue.submit([enc.finish()]);
    const rows = new Float32Array(await this.#read(this.#s.b.lossRows, windows * T * 4));
    let sum = 0;
    for (const r of rows) sum += r;
    return sum / (this.#s.ceWeight * windows * (T - 1));
  }

  /**
   * Loss and every parameter's gradient (by name) of `ids` (the whole step's `batchSize`
   * windows, micro-batches and all) without an update: training mode
   * with the masks of `dropoutSeed` when `training`, else eval mode. For parity tests.
   */
  async lossAndGrads(
    ids: ArrayLike<number>,
    opts: { training?: boolean; dropoutSeed?: number } = {},
  ): Promise<{ loss: number; gradNorm: number; grads: Map<string, Float32Array> }> {
    if (this.#pending.length > 0) await this.readStats();
    const training = opts.training ?? false;
    this.#writeInputs(ids, opts.dropoutSeed ?? 0, training, this.#t, this.batchSize);
    const enc = this.#device.createCommandEncoder();
    this.#encode(enc, false);
    this.#device.queue.submit([enc.finish()]);
    this.#pending.push(this.#t);
    const [st] = await this.readStats();
    // the stats kernel may have set the sticky flag; this was no update: clear it
    this.#device.queue.writeBuffer(this.#s.b.scal, 0, new Uint32Array(4));
    const g = new Float32Array(await this.#read(this.#s.b.grads, this.#s.total * 4));
    return {
      loss: st.loss,
      gradNorm: st.gradNorm,
      grads: unflatten(this.config, this.#s.slots, g),
    };
  }

  /** Every parameter as a `Float32Array`, by the project's (HF `openai-gpt`) names. */
  async getWeights(): Promise<Map<string, Float32Array>> {
    return unflatten(
      this.config,
      this.#s.slots,
      new Float32Array(await this.#read(this.#s.b.params, this.#s.total * 4)),
    );
  }

  /**
   * Sets every parameter by name (all of `parameterShapes(config)`, checked before anything is
   * written; ConfigError otherwise). Clears the non-finite flag.
   */
  setWeights(named: Map<string, Float32Array>): void {
    const flat = flatten(this.#s.slots, this.#s.total, named, "weights");
    this.#device.queue.writeBuffer(this.#s.b.params, 0, flat);
    this.#device.queue.writeBuffer(this.#s.b.scal, 0, new Uint32Array(4));
  }

  /** The Adam state in `OpenAIAdam.stateDict()`'s form (step, options, moments by name). */
  async getOptimizerState(): Promise<AdamState> {
    const m = new Float32Array(await this.#read(this.#s.b.m, this.#s.total * 4));
    const v = new Float32Array(await this.#read(this.#s.b.v, this.#s.total * 4));
    return {
      step: this.#t,
      options: { ...this.adam },
      m: unflatten(this.config, this.#s.slots, m),
      v: unflatten(this.config, this.#s.slots, v),
    };
  }

  /** Restores step and moments (an `AdamState` from a checkpoint or `OpenAIAdam`). */
  setOptimizerState(state: Pick<AdamState, "step" | "m" | "v">): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new ConfigError(`optimizer state has step ${state.step}`, { fix: "an integer >= 0" });
    }
    const m = flatten(this.#s.slots, this.#s.total, state.m, "optimizer state m"),
      v = flatten(this.#s.slots, this.#s.total, state.v, "optimizer state v");
    this.#device.queue.writeBuffer(this.#s.b.m, 0, m);
    this.#device.queue.writeBuffer(this.#s.b.v, 0, v);
    this.#device.queue.writeBuffer(this.#s.b.scal, 0, new Uint32Array(4));
    this.#t = state.step;
    this.#pending = [];
  }

  /**
   * Where a step's GPU time goes, for benches (after some steps, so that every pipeline is
   * warm): each dispatch of a step (micro-batch 0's, then the final ones) is timed alone, `reps`
   * back-to-back copies in one submit, until the queue is done, less the time of an empty submit; returns the mean ms per dispatch with its label, in
   * step order. Repeating a dispatch overwrites its outputs, so the engine's weights, moments and
   * statistics are garbage afterwards: dispose it.
   */
  async profile(reps = 10): Promise<{ label: string; ms: number }[]> {
    const q = this.#device.queue;
    const time = async (list: Dispatch[], k: number) => {
      const enc = this.#device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (let i = 0; i < k; i++) this.#record(pass, list);
      pass.end();
      const t0 = performance.now();
      q.submit([enc.finish()]);
      await q.onSubmittedWorkDone();
      return performance.now() - t0;
    };
    await time([], 0);
    const empty = Math.min(await time([], 0), await time([], 0));
    const out: { label: string; ms: number }[] = [];
    for (
      const d of [...this.#s.fwd, ...this.#s.head, ...this.#s.bwd, ...this.#s.final, ...this.#s.opt]
    ) {
      out.push({ label: d.label, ms: Math.max(0, (await time([d], reps)) - empty) / reps });
    }
    return out;
  }

  /** Frees every GPU buffer of the engine (not the device). */
  dispose(): void {
    this.#g.dispose();
  }
}
