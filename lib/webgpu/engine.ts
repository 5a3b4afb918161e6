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
import { type AdamOptions, adamOptions, type AdamState, SCHEDULES } from "../optim.ts";
import { mixModelSeed, randn } from "../random.ts";
import type { GpuContext } from "./device.ts";
import * as K from "./kernels.ts";

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

/** Split-K (`auto`) aims at this many workgroups for a product (2 per multiprocessor on an H200). */
export const SPLIT_K_TARGET = 264;

/** Under `matmul: "auto"`, the fewest 128×128 output tiles a product needs to use that kernel. */
export const MATMUL_128_MIN_TILES = 32;

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

/** Counts of what the engine created (the hygiene test checks they do not grow per step). */
export interface EngineCounts {
  /** GPU buffers. */
  buffers: number;
  /** Bind groups. */
  bindGroups: number;
  /** Compute pipelines. */
  pipelines: number;
}

interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
  x: number;
  y: number;
  z: number;
}

/** A parameter's place in the flat buffers. */
interface Slot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
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

const ALIGN = 64; // floats (256 bytes) between parameters in the flat buffers
const STEP_HEADER = 8;
const S = GPUBufferUsage.STORAGE, CD = GPUBufferUsage.COPY_DST, CS = GPUBufferUsage.COPY_SRC;

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
  #slots: Slot[] = [];
  #total = 0;
  #l2End = 0;
  #t = 0;
  #pending: number[] = [];
  #counts: EngineCounts = { buffers: 0, bindGroups: 0, pipelines: 0 };
  #pipes = new Map<string, GPUComputePipeline>();
  #bufs: GPUBuffer[] = [];
  #b!: Record<string, GPUBuffer>;
  #layerBufs: Record<string, GPUBuffer>[] = [];
  #fwd: Dispatch[] = [];
  #head: Dispatch[] = [];
  #bwd: Dispatch[] = [];
  #final: Dispatch[] = [];
  #ceWeight = 0;
  #splitFloats = 0;
  #splitBuf: GPUBuffer | null = null;
  #stage: {
    ids: Int32Array<ArrayBuffer>;
    index: Uint32Array<ArrayBuffer>;
    step: Uint32Array<ArrayBuffer>;
  } | null = null;
  #opt: Dispatch[] = [];
  #chunks: [number, number, number][] = [];
  #ringStage!: GPUBuffer;
  #stepWords: Uint32Array<ArrayBuffer>;
  #index: Uint32Array<ArrayBuffer>;
  #sitePs: number[] = [];

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
    e.#build();
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
    const perMicro = this.#fwd.length + this.#head.length + this.#bwd.length;
    return this.microBatches * perMicro + this.#final.length + this.#opt.length;
  }

  /** What the engine created so far (buffers, bind groups, pipelines). */
  get counts(): EngineCounts {
    return { ...this.#counts };
  }

  /** Parameter names in `parameterShapes` order with their shapes. */
  get parameterShapes(): [string, number[]][] {
    return parameterShapes(this.config);
  }

  // -- build ------------------------------------------------------------------------------

  #buffer(label: string, bytes: number, usage: number): GPUBuffer {
    const b = this.#device.createBuffer({
      label,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage,
    });
    this.#bufs.push(b);
    this.#counts.buffers++;
    return b;
  }

  #uniform(words: number[]): GPUBuffer {
    const n = Math.max(4, Math.ceil(words.length / 4) * 4);
    const b = this.#device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.UNIFORM,
      mappedAtCreation: true,
    });
    new Uint32Array(b.getMappedRange()).set(words.map((w) => w >>> 0));
    b.unmap();
    this.#bufs.push(b);
    this.#counts.buffers++;
    return b;
  }

  #pipeline(code: string): GPUComputePipeline {
    let p = this.#pipes.get(code);
    if (!p) {
      const module = this.#device.createShaderModule({ code });
      p = this.#device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
      this.#pipes.set(code, p);
      this.#counts.pipelines++;
    }
    return p;
  }

  /** One dispatch: `entries[i]` is bound at binding i (null = skipped). */
  #dispatch(
    label: string,
    code: string,
    entries: (GPUBuffer | null)[],
    x: number,
    y = 1,
    z = 1,
  ): Dispatch {
    const pipeline = this.#pipeline(code);
    const bind = this.#device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: entries.flatMap((b, i) => (b ? [{ binding: i, resource: { buffer: b } }] : [])),
    });
    this.#counts.bindGroups++;
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new ConfigError(`${label}: grid ${x}×${y}×${z} exceeds ${max}`);
    }
    return { label, pipeline, bind, x, y, z };
  }

  #mm(
    label: string,
    v: K.MatmulVariant,
    a: GPUBuffer,
    b: GPUBuffer,
    c: GPUBuffer,
    dims: {
      M: number;
      N: number;
      K: number;
      lda: number;
      ldb: number;
      ldc: number;
      offA?: number;
      offB?: number;
      offC?: number;
      offBias?: number;
      acc?: boolean;
    },
    noSplit = false,
  ): Dispatch[] {
    const tiles = Math.ceil(dims.N / K.TILE_L) * Math.ceil(dims.M / K.TILE_L);
    const large = this.matmul === "128" ||
      (this.matmul === "auto" && tiles >= MATMUL_128_MIN_TILES);
    // split-K: thin products with a long K (the weight gradients) get more workgroups
    let splits = 1;
    if (large && !noSplit) {
      if (typeof this.splitK === "number") splits = Math.min(this.splitK, Math.ceil(dims.K / 8));
      else if (tiles < SPLIT_K_TARGET && dims.K >= 1024) {
        splits = Math.min(8, Math.floor(dims.K / 512), Math.ceil(SPLIT_K_TARGET / tiles));
      }
    }
    const kChunk = Math.ceil(dims.K / splits / 8) * 8;
    if (splits > 1) splits = Math.ceil(dims.K / kChunk);
    const u = this.#uniform([
      dims.M,
      dims.N,
      dims.K,
      dims.lda,
      dims.ldb,
      dims.ldc,
      dims.offA ?? 0,
      dims.offB ?? 0,
      dims.offC ?? 0,
      dims.offBias ?? 0,
      dims.acc ? 1 : 0,
      splits > 1 ? kChunk : 0,
    ]);
    const T = large ? K.TILE_L : K.TILE;
    if (splits === 1) {
      return [this.#dispatch(
        label,
        large ? K.matmul128Wgsl(v, K.matmulVec4(v, dims)) : K.matmulWgsl(v),
        [u, a, b, c, v.bias ? this.#b.params : null],
        Math.ceil(dims.N / T),
        Math.ceil(dims.M / T),
      )];
    }
    const need = splits * dims.M * dims.N;
    if (need > this.#splitFloats) {
      throw new Error(
        `${label}: split-K needs ${need} floats, the buffer has ${this.#splitFloats}`,
      );
    }
    this.#splitBuf ??= this.#buffer("split-k partials", this.#splitFloats * 4, S);
    const r = this.#uniform([
      dims.M,
      dims.N,
      dims.ldc,
      dims.offC ?? 0,
      dims.offBias ?? 0,
      dims.acc ? 1 : 0,
      splits,
      0,
    ]);
    return [
      this.#dispatch(
        label,
        K.matmul128Wgsl(v, K.matmulVec4(v, dims), true),
        [u, a, b, this.#splitBuf],
        Math.ceil(dims.N / T),
        Math.ceil(dims.M / T),
        splits,
      ),
      this.#dispatch(
        `${label}.splitk`,
        K.splitReduceWgsl(v.bias),
        [r, this.#splitBuf, c, v.bias ? this.#b.params : null],
        Math.max(1, Math.min(Math.ceil((dims.M * dims.N) / K.WG), 4096)),
      ),
    ];
  }

  #off(name: string): number {
    const s = this.#slots.find((x) => x.name === name);
    if (!s) throw new Error(`no parameter ${name}`);
    return s.offset;
  }

  #build(): void {
    const cfg = this.config;
    const { nEmbd: C, nHead: H, nInner: F, nLayer: L } = cfg;
    const B = this.microBatch, T = this.seqLen, N = B * T, V = cfg.vocabSize + cfg.nSpecial;
    const k = this.microBatches, acc = k > 1; // accumulating: every gradient write adds
    const sh: K.Shapes = { B, T, C, H, F, V, eps: cfg.layerNormEps };
    // flat layout: matrices first (the L2 term applies below l2End), then vectors
    const shapes = parameterShapes(cfg);
    let off = 0;
    for (const pass of [true, false]) {
      for (const [name, shape] of shapes) {
        if ((shape.length > 1) !== pass) continue;
        const size = shape.reduce((a, b) => a * b, 1);
        this.#slots.push({ name, shape, offset: off, size });
        off = Math.ceil((off + size) / ALIGN) * ALIGN;
      }
      if (pass) this.#l2End = off;
    }
    if (this.adam.vectorL2) this.#l2End = off;
    this.#total = off;
    const lim = this.gpu.limits.maxStorageBufferBindingSize;
    const sizes: [string, number, string][] = [
      [
        "the parameters (and gradients, Adam moments)",
        off,
        "a hardware adapter (gpt1 needs 466 MB)",
      ],
      ["a layer's attention probabilities", B * H * T * T, "a smaller --micro-batch or context"],
      ["an LM-head chunk", this.headRows * V, "a smaller headChunkElements"],
      ["the widest activation", N * Math.max(3 * C, F), "a smaller --micro-batch"],
    ];
    for (const [what, floats, fix] of sizes) {
      if (floats * 4 > lim) {
        throw new ConfigError(
          `${what}: ${floats * 4} bytes exceed this device's storage binding limit ${lim} ` +
            `(${this.gpu.description})`,
          { fix: `use ${fix}` },
        );
      }
    }
    const f = (label: string, floats: number, extra = 0) =>
      this.#buffer(label, floats * 4, S | extra);
    const b: Record<string, GPUBuffer> = {
      params: f("params", off, CD | CS),
      grads: f("grads", off, CS | CD),
      m: f("adam.m", off, CD | CS),
      v: f("adam.v", off, CD | CS),
      ids: f("ids", N, CD),
      index: f("index", this.#index.length, CD),
      step: f("step", this.#stepWords.length, CD),
      sub: f("sub", N * C),
      dX: f("dX", N * C),
      dR: f("dR", N * C),
      dRm: f("dRm", N * C),
      dF: f("dF", N * F),
      dY: f("dY", N * C),
      dQKV: f("dQKV", N * 3 * C),
      logits: f("logits", this.headRows * V, CS),
      lossRows: f("lossRows", k * N, CS),
      partial: f("partial", K.NORM_WGS),
      colPartial: f("colPartial", K.colChunks(sh) * Math.max(2 * C, 3 * C, F)),
      scal: f("scal", 4, CD),
      ring: f("ring", K.RING_SLOTS * 4, CS),
    };
    this.#b = b;
    // split-K partials (created at the first split product): `auto` keeps splits·tiles below
    // 2·SPLIT_K_TARGET; a forced count needs that many copies of the largest product
    const maxMN = Math.max(N * Math.max(3 * C, F), V * C, this.headRows * C, F * C, 3 * C * C);
    this.#splitFloats = typeof this.splitK === "number"
      ? this.splitK * maxMN
      : Math.min(2 * SPLIT_K_TARGET * K.TILE_L * K.TILE_L, 8 * maxMN);
    if (k > 1) {
      // what the host writes for each micro-batch; copied into ids/index/step before its pass
      b.idsAll = this.#buffer("ids.all", k * N * 4, CD | CS);
      b.indexAll = this.#buffer("index.all", k * this.#index.length * 4, CD | CS);
      b.stepAll = this.#buffer("step.all", k * this.#stepWords.length * 4, CD | CS);
      this.#stage = {
        ids: new Int32Array(k * N),
        index: new Uint32Array(k * this.#index.length),
        step: new Uint32Array(k * this.#stepWords.length),
      };
    }
    this.#ringStage = this.#buffer(
      "ring.stage",
      K.RING_SLOTS * 16,
      GPUBufferUsage.MAP_READ | CD,
    );
    const X: GPUBuffer[] = [f("x0", N * C)];
    for (let l = 0; l < L; l++) {
      this.#layerBufs.push({
        qkv: f(`h${l}.qkv`, N * 3 * C),
        P: f(`h${l}.P`, B * H * T * T),
        Y: f(`h${l}.Y`, N * C),
        R1: f(`h${l}.R1`, N * C),
        N1: f(`h${l}.N1`, N * C),
        S1: f(`h${l}.S1`, 2 * N),
        Hfc: f(`h${l}.Hfc`, N * F),
        G: f(`h${l}.G`, N * F),
        R2: f(`h${l}.R2`, N * C),
        S2: f(`h${l}.S2`, 2 * N),
      });
      X.push(f(`x${l + 1}`, N * C));
    }
    // dropout sites: 0 embeddings; 1 + 3l + k (attention probs, attention out, MLP out)
    const drop = (site: number) => {
      const p = this.#sitePs[site];
      return [Math.floor(p * 4294967296), K.f32bits(1 / (1 - p))];
    };
    this.#sitePs = [cfg.embdPdrop];
    for (let l = 0; l < L; l++) this.#sitePs.push(cfg.attnPdrop, cfg.residPdrop, cfg.residPdrop);
    const grid = (n: number) => Math.max(1, Math.min(Math.ceil(n / K.WG), 4096));
    const rowsGrid = (n: number) => Math.max(1, Math.min(n, 65535));
    const wte = this.#off("tokens_embed.weight"), wpe = this.#off("positions_embed.weight");
    const p = (l: number, n: string) => this.#off(`h.${l}.${n}`);
    const NN = { transA: false, transB: false, bias: true };
    const NT = { transA: false, transB: true, bias: false };
    const TN = { transA: true, transB: false, bias: false };

    // forward
    this.#fwd.push(this.#dispatch(
      "embed",
      K.embedFwdWgsl(sh),
      [b.step, this.#uniform([wte, wpe, ...drop(0)]), b.ids, b.params, X[0]],
      grid(N * C),
    ));
    for (let l = 0; l < L; l++) {
      const lb = this.#layerBufs[l], s0 = 1 + 3 * l;
      this.#fwd.push(
        ...this.#mm(`h${l}.c_attn`, NN, X[l], b.params, lb.qkv, {
          M: N,
          N: 3 * C,
          K: C,
          lda: C,
          ldb: 3 * C,
          ldc: 3 * C,
          offB: p(l, "attn.c_attn.weight"),
          offBias: p(l, "attn.c_attn.bias"),
        }),
        this.#dispatch(
          "attn",
          K.attnFwdWgsl(sh),
          [
            b.step,
            this.#uniform([s0, ...drop(s0), 0]),
            lb.qkv,
            lb.P,
            lb.Y,
          ],
          T,
          B * H,
        ),
        ...this.#mm(`h${l}.attn.c_proj`, NN, lb.Y, b.params, b.sub, {
          M: N,
          N: C,
          K: C,
          lda: C,
          ldb: C,
          ldc: C,
          offB: p(l, "attn.c_proj.weight"),
          offBias: p(l, "attn.c_proj.bias"),
        }),
        this.#dispatch("ln_1", K.residualLnFwdWgsl(sh), [
          b.step,
          this.#uniform([s0 + 1, ...drop(s0 + 1), p(l, "ln_1.weight"), p(l, "ln_1.bias")]),
          X[l],
          b.sub,
          b.params,
          lb.R1,
          lb.N1,
          lb.S1,
        ], rowsGrid(N)),
        ...this.#mm(`h${l}.mlp.c_fc`, NN, lb.N1, b.params, lb.Hfc, {
          M: N,
          N: F,
          K: C,
          lda: C,
          ldb: F,
          ldc: F,
          offB: p(l, "mlp.c_fc.weight"),
          offBias: p(l, "mlp.c_fc.bias"),
        }),
        this.#dispatch("gelu", K.geluFwdWgsl(sh), [lb.Hfc, lb.G], grid(N * F)),
        ...this.#mm(`h${l}.mlp.c_proj`, NN, lb.G, b.params, b.sub, {
          M: N,
          N: C,
          K: F,
          lda: F,
          ldb: C,
          ldc: C,
          offB: p(l, "mlp.c_proj.weight"),
          offBias: p(l, "mlp.c_proj.bias"),
        }),
        this.#dispatch("ln_2", K.residualLnFwdWgsl(sh), [
          b.step,
          this.#uniform([s0 + 2, ...drop(s0 + 2), p(l, "ln_2.weight"), p(l, "ln_2.bias")]),
          lb.N1,
          b.sub,
          b.params,
          lb.R2,
          X[l + 1],
          lb.S2,
        ], rowsGrid(N)),
      );
    }
    // tied head + cross-entropy + head backward, chunk by chunk
    const R = this.headRows, xL = X[L];
    const w = 1 / (this.batchSize * (T - 1));
    this.#ceWeight = w;
    for (let s = 0; s < N; s += R) {
      const rows = Math.min(R, N - s);
      // [first row, rows, index in #head of the chunk's forward product (the CE follows it)]
      this.#chunks.push([s, rows, this.#head.length]);
      this.#head.push(
        ...this.#mm("head", NT, xL, b.params, b.logits, {
          M: rows,
          N: V,
          K: C,
          lda: C,
          ldb: C,
          ldc: V,
          offA: s * C,
          offB: wte,
        }, true),
        this.#dispatch("ce", K.crossEntropyWgsl(sh), [
          this.#uniform([s, rows, K.f32bits(w), 0]),
          b.ids,
          b.logits,
          b.lossRows,
          b.step,
        ], rowsGrid(rows)),
        ...this.#mm("head.dx", { ...NN, bias: false }, b.logits, b.params, b.dX, {
          M: rows,
          N: C,
          K: V,
          lda: V,
          ldb: C,
          ldc: C,
          offB: wte,
          offC: s * C,
        }),
        ...this.#mm("head.dE", TN, b.logits, xL, b.grads, {
          M: V,
          N: C,
          K: rows,
          lda: V,
          ldb: C,
          ldc: C,
          offB: s * C,
          offC: wte,
          acc: s > 0 || acc,
        }),
      );
    }
    // backward through the blocks
    // column sums in two passes: partial sums over row chunks, then their sum into the gradients
    const chunks = K.colChunks(sh);
    const finish = (label: string, width: number, split: number, off1: number, off2: number) =>
      this.#dispatch(label, K.colFinishWgsl(sh), [
        this.#uniform([width, split, off1, off2, acc ? 1 : 0, 0, 0, 0]),
        b.colPartial,
        b.grads,
      ], Math.ceil(width / K.WG));
    const colsum = (label: string, d: GPUBuffer, width: number, goff: number) => [
      this.#dispatch(
        label,
        K.colPartialWgsl(sh),
        [
          this.#uniform([width, 0, 0, 0]),
          d,
          b.colPartial,
        ],
        Math.ceil(width / K.COL_WG),
        chunks,
      ),
      finish(`${label}.sum`, width, width, goff, 0),
    ];
    const lnGrads = (
      label: string,
      dout: GPUBuffer,
      r: GPUBuffer,
      st: GPUBuffer,
      l: number,
      k: 1 | 2,
    ) => [
      this.#dispatch(
        label,
        K.lnPartialWgsl(sh),
        [dout, r, st, b.colPartial],
        Math.ceil(C / K.COL_WG),
        chunks,
      ),
      finish(`${label}.sum`, 2 * C, C, p(l, `ln_${k}.weight`), p(l, `ln_${k}.bias`)),
    ];
    for (let l = L - 1; l >= 0; l--) {
      const lb = this.#layerBufs[l], s0 = 1 + 3 * l;
      this.#bwd.push(
        this.#dispatch("ln_2.bwd", K.lnBwdWgsl(sh), [
          b.step,
          this.#uniform([s0 + 2, ...drop(s0 + 2), p(l, "ln_2.weight")]),
          b.dX,
          lb.R2,
          lb.S2,
          b.params,
          b.dR,
          b.dRm,
        ], rowsGrid(N)),
        ...lnGrads("ln_2.dg", b.dX, lb.R2, lb.S2, l, 2),
        ...this.#mm("mlp.c_proj.dW", TN, lb.G, b.dRm, b.grads, {
          M: F,
          N: C,
          K: N,
          lda: F,
          ldb: C,
          ldc: C,
          offC: p(l, "mlp.c_proj.weight"),
          acc,
        }),
        ...colsum("mlp.c_proj.db", b.dRm, C, p(l, "mlp.c_proj.bias")),
        ...this.#mm("mlp.c_proj.dx", NT, b.dRm, b.params, b.dF, {
          M: N,
          N: F,
          K: C,
          lda: C,
          ldb: C,
          ldc: F,
          offB: p(l, "mlp.c_proj.weight"),
        }),
        this.#dispatch("gelu.bwd", K.geluBwdWgsl(sh), [lb.Hfc, b.dF], grid(N * F)),
        ...this.#mm("mlp.c_fc.dW", TN, lb.N1, b.dF, b.grads, {
          M: C,
          N: F,
          K: N,
          lda: C,
          ldb: F,
          ldc: F,
          offC: p(l, "mlp.c_fc.weight"),
          acc,
        }),
        ...colsum("mlp.c_fc.db", b.dF, F, p(l, "mlp.c_fc.bias")),
        ...this.#mm("mlp.c_fc.dx", NT, b.dF, b.params, b.dR, {
          M: N,
          N: C,
          K: F,
          lda: F,
          ldb: F,
          ldc: C,
          offB: p(l, "mlp.c_fc.weight"),
          acc: true,
        }),
        this.#dispatch("ln_1.bwd", K.lnBwdWgsl(sh), [
          b.step,
          this.#uniform([s0 + 1, ...drop(s0 + 1), p(l, "ln_1.weight")]),
          b.dR,
          lb.R1,
          lb.S1,
          b.params,
          b.dX,
          b.dRm,
        ], rowsGrid(N)),
        ...lnGrads("ln_1.dg", b.dR, lb.R1, lb.S1, l, 1),
        ...this.#mm("attn.c_proj.dW", TN, lb.Y, b.dRm, b.grads, {
          M: C,
          N: C,
          K: N,
          lda: C,
          ldb: C,
          ldc: C,
          offC: p(l, "attn.c_proj.weight"),
          acc,
        }),
        ...colsum("attn.c_proj.db", b.dRm, C, p(l, "attn.c_proj.bias")),
        ...this.#mm("attn.c_proj.dx", NT, b.dRm, b.params, b.dY, {
          M: N,
          N: C,
          K: C,
          lda: C,
          ldb: C,
          ldc: C,
          offB: p(l, "attn.c_proj.weight"),
        }),
        this.#dispatch(
          "attn.dv",
          K.attnBwdVWgsl(sh),
          [
            b.step,
            this.#uniform([s0, ...drop(s0), 0]),
            lb.P,
            b.dY,
            b.dQKV,
          ],
          T,
          B * H,
        ),
        this.#dispatch(
          "attn.dq",
          K.attnBwdQWgsl(sh),
          [
            b.step,
            this.#uniform([s0, ...drop(s0), 0]),
            lb.qkv,
            b.dY,
            lb.P,
            b.dQKV,
          ],
          T,
          B * H,
        ),
        this.#dispatch(
          "attn.dk",
          K.attnBwdKWgsl(sh),
          [
            null,
            null,
            lb.qkv,
            lb.P,
            b.dQKV,
          ],
          T,
          B * H,
        ),
        ...this.#mm("attn.c_attn.dW", TN, X[l], b.dQKV, b.grads, {
          M: C,
          N: 3 * C,
          K: N,
          lda: C,
          ldb: 3 * C,
          ldc: 3 * C,
          offC: p(l, "attn.c_attn.weight"),
          acc,
        }),
        ...colsum("attn.c_attn.db", b.dQKV, 3 * C, p(l, "attn.c_attn.bias")),
        ...this.#mm("attn.c_attn.dx", NT, b.dQKV, b.params, b.dX, {
          M: N,
          N: C,
          K: 3 * C,
          lda: 3 * C,
          ldb: 3 * C,
          ldc: C,
          offB: p(l, "attn.c_attn.weight"),
          acc: true,
        }),
      );
    }
    this.#bwd.push(
      this.#dispatch("embed.dpos", K.embedBwdPosWgsl(sh), [
        b.step,
        this.#uniform([wpe, ...drop(0), acc ? 1 : 0]),
        b.dX,
        b.grads,
      ], grid(T * C)),
      this.#dispatch("embed.dtok", K.embedBwdTokWgsl(sh), [
        b.step,
        this.#uniform([wte, ...drop(0), 0]),
        b.dX,
        b.index,
        b.grads,
      ], rowsGrid(N)),
    );
    // once per step, after the last micro-batch
    this.#final.push(
      this.#dispatch("norm.partial", K.sumSquaresWgsl(this.#total), [
        b.grads,
        b.partial,
      ], K.NORM_WGS),
      this.#dispatch("stats", K.statsWgsl(sh, k), [
        b.step,
        this.#uniform([K.f32bits(this.adam.maxGradNorm), 0, 0, 0]),
        b.lossRows,
        b.partial,
        b.ring,
        b.scal,
      ], 1),
    );
    const a = this.adam;
    this.#opt.push(this.#dispatch("adam", K.adamWgsl(this.#total), [
      b.step,
      this.#uniform([
        K.f32bits(a.b1),
        K.f32bits(1 - a.b1),
        K.f32bits(a.b2),
        K.f32bits(1 - a.b2),
        K.f32bits(a.e),
        K.f32bits(a.l2),
        a.l2 > 0 ? this.#l2End : 0,
        0,
      ]),
      b.params,
      b.grads,
      b.m,
      b.v,
      b.scal,
    ], grid(this.#total)));
  }

  // -- per step -------------------------------------------------------------------------

  /**
   * Fills `idv` (token ids), `x` (their inverse index) and `w` (the step info) of micro-batch
   * `j` from `ids[from .. from + B·T)`, for update `t`.
   */
  #fill(
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
    const B = this.microBatch, T = this.seqLen, N = B * T;
    const { nEmbd: C, nHead: H } = this.config;
    const V = this.config.vocabSize + this.config.nSpecial;
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
    w[2] = K.f32bits(adamStepSize(this.adam, t));
    w[3] = training ? 1 : 0;
    // micro-batch j: its place in the step's dropout sites ([B_step, T, C] and [B_step, H, T, T])
    w[4] = j;
    w[5] = j * N * C;
    w[6] = j * B * H * T * T;
    const callSeed = dropoutSeed;
    w[STEP_HEADER] = mixModelSeed(this.seed, callSeed, 0);
    for (let l = 0; l < this.config.nLayer; l++) {
      for (let k = 0; k < 3; k++) {
        w[STEP_HEADER + 1 + 3 * l + k] = mixModelSeed(this.seed, callSeed, 10 * l + 1 + k);
      }
    }
  }

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
      this.#fill(ids, 0, 0, dropoutSeed, training, t, idv, this.#index, this.#stepWords);
      q.writeBuffer(this.#b.ids, 0, idv);
      q.writeBuffer(this.#b.index, 0, this.#index);
      q.writeBuffer(this.#b.step, 0, this.#stepWords);
      return;
    }
    const st = this.#stage!, xi = this.#index.length, ws = this.#stepWords.length;
    for (let j = 0; j < k; j++) {
      this.#fill(
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
    q.writeBuffer(this.#b.idsAll, 0, st.ids);
    q.writeBuffer(this.#b.indexAll, 0, st.index);
    q.writeBuffer(this.#b.stepAll, 0, st.step);
  }

  /**
   * Records a whole step into `enc`: for each micro-batch (its inputs copied into place when
   * there are several; the gradients cleared first) forward, LM head and backward, then the
   * gradient norm and statistics, and Adam when `update`.
   */
  #encode(enc: GPUCommandEncoder, update: boolean): void {
    const k = this.microBatches, b = this.#b;
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
      this.#record(pass, this.#fwd);
      this.#record(pass, this.#head);
      this.#record(pass, this.#bwd);
      pass.end();
    }
    const pass = enc.beginComputePass();
    this.#record(pass, this.#final);
    if (update) this.#record(pass, this.#opt);
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
    enc.copyBufferToBuffer(this.#b.ring, 0, this.#ringStage, 0, K.RING_SLOTS * 16);
    this.#device.queue.submit([enc.finish()]);
    await this.#ringStage.mapAsync(GPUMapMode.READ);
    const u = new Uint32Array(this.#ringStage.getMappedRange().slice(0));
    this.#ringStage.unmap();
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
    this.#record(pass, this.#fwd);
    pass.end();
    const stage = this.#device.createBuffer({
      size: N * V * 4,
      usage: GPUBufferUsage.MAP_READ | CD,
    });
    this.#chunks.forEach(([s, rows], i) => {
      pass = enc.beginComputePass();
      this.#record(pass, [this.#head[this.#chunks[i][2]]]);
      pass.end();
      enc.copyBufferToBuffer(this.#b.logits, 0, stage, s * V * 4, rows * V * 4);
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
    this.#record(pass, this.#fwd);
    this.#chunks.forEach(([, , h]) => this.#record(pass, [this.#head[h], this.#head[h + 1]]));
    pass.end();
    this.#device.queue.submit([enc.finish()]);
    const rows = new Float32Array(await this.#read(this.#b.lossRows, windows * T * 4));
    let sum = 0;
    for (const r of rows) sum += r;
    return sum / (this.#ceWeight * windows * (T - 1));
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
    this.#device.queue.writeBuffer(this.#b.scal, 0, new Uint32Array(4));
    const g = new Float32Array(await this.#read(this.#b.grads, this.#total * 4));
    return { loss: st.loss, gradNorm: st.gradNorm, grads: this.#unflatten(g) };
  }

  #unflatten(flat: Float32Array): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name] of parameterShapes(this.config)) {
      const s = this.#slots.find((x) => x.name === name)!;
      out.set(name, flat.slice(s.offset, s.offset + s.size));
    }
    return out;
  }

  #flatten(named: Map<string, Float32Array>, what: string): Float32Array<ArrayBuffer> {
    const flat = new Float32Array(this.#total);
    for (const s of this.#slots) {
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
      if (!this.#slots.some((s) => s.name === name)) {
        throw new ConfigError(`${what} has unknown tensor "${name}"`, {
          fix: "the WebGPU engine trains the base model only (no clf.*)",
        });
      }
    }
    return flat;
  }

  /** Every parameter as a `Float32Array`, by the project's (HF `openai-gpt`) names. */
  async getWeights(): Promise<Map<string, Float32Array>> {
    return this.#unflatten(new Float32Array(await this.#read(this.#b.params, this.#total * 4)));
  }

  /**
   * Sets every parameter by name (all of `parameterShapes(config)`, checked before anything is
   * written; ConfigError otherwise). Clears the non-finite flag.
   */
  setWeights(named: Map<string, Float32Array>): void {
    const flat = this.#flatten(named, "weights");
    this.#device.queue.writeBuffer(this.#b.params, 0, flat);
    this.#device.queue.writeBuffer(this.#b.scal, 0, new Uint32Array(4));
  }

  /** The Adam state in `OpenAIAdam.stateDict()`'s form (step, options, moments by name). */
  async getOptimizerState(): Promise<AdamState> {
    const m = new Float32Array(await this.#read(this.#b.m, this.#total * 4));
    const v = new Float32Array(await this.#read(this.#b.v, this.#total * 4));
    return {
      step: this.#t,
      options: { ...this.adam },
      m: this.#unflatten(m),
      v: this.#unflatten(v),
    };
  }

  /** Restores step and moments (an `AdamState` from a checkpoint or `OpenAIAdam`). */
  setOptimizerState(state: Pick<AdamState, "step" | "m" | "v">): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new ConfigError(`optimizer state has step ${state.step}`, { fix: "an integer >= 0" });
    }
    const m = this.#flatten(state.m, "optimizer state m"),
      v = this.#flatten(state.v, "optimizer state v");
    this.#device.queue.writeBuffer(this.#b.m, 0, m);
    this.#device.queue.writeBuffer(this.#b.v, 0, v);
    this.#device.queue.writeBuffer(this.#b.scal, 0, new Uint32Array(4));
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
    for (const d of [...this.#fwd, ...this.#head, ...this.#bwd, ...this.#final, ...this.#opt]) {
      out.push({ label: d.label, ms: Math.max(0, (await time([d], reps)) - empty) / reps });
    }
    return out;
  }

  /** Frees every GPU buffer of the engine (not the device). */
  dispose(): void {
    for (const b of this.#bufs) b.destroy();
    this.#bufs = [];
  }
}
