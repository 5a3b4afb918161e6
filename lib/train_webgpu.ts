/**
 * Pre-training on the project's own WebGPU engine (`lib/webgpu/`): the {@link TrainEngine} that
 * `pretrain` runs when `--engine webgpu` (or `auto` on a hardware adapter) is chosen, and the
 * choice itself.
 *
 * - Updates are queued on the GPU (one submit each, nothing read back inside a step); the loop
 *   of `pretrain` reads the statistics back at its log, evaluation and checkpoint steps (and at
 *   least every {@link RING_SLOTS} updates), so log records are written during training.
 * - Checkpoints go through a tfjs mirror of the model (a `Gpt1Model` on the current tfjs
 *   backend and an `OpenAIAdam` over its parameters) into `saveCheckpoint`: the same files, the
 *   same names and metadata as a tfjs run; a run resumes with either engine.
 * - Validation runs on the engine (eval mode, forward and LM head only), over the windows
 *   `evaluateLm` takes.
 * - Gradient accumulation: a step of `batchSize` windows runs as micro-batches of `microBatch`
 *   windows (by default the largest divisor of the batch whose activations fit
 *   {@link MICRO_BATCH_BUDGET}); the update is that of the whole batch up to float rounding.
 *
 * @example
 * ```ts
 * const choice = await chooseEngine("auto", "gpt1");
 * console.log(choice.line); // "[gpt1] engine: tfjs (adapter llvmpipe ... is software ...)"
 * const r = await pretrain({ ...opts, engine: choice.gpu ? webgpuEngine(choice.gpu) : undefined });
 * ```
 * @module
 */
import type { Gpt1Config } from "./config.ts";
import { saveCheckpoint } from "./checkpoint.ts";
import { evalWindows } from "./data.ts";
import { ConfigError } from "./errors.ts";
import { isLstmConfig, type ModelKind } from "./language_model.ts";
import { Gpt1Model } from "./model.ts";
import { OpenAIAdam } from "./optim.ts";
import type { TrainEngine, TrainEngineFactory, UpdateStats } from "./train.ts";
import {
  type GpuContext,
  noHardwareGpuReason,
  requestGpu,
  RING_SLOTS,
  WebGpuGptEngine,
} from "./webgpu/mod.ts";

/** The engines of `pretrain --engine`. */
export const ENGINES = ["auto", "tfjs", "webgpu"] as const;
/** One of {@link ENGINES}. */
export type EngineName = typeof ENGINES[number];

/** What {@link chooseEngine} decided. */
export interface EngineChoice {
  /** The engine that runs. */
  engine: "tfjs" | "webgpu";
  /** Why, in words (also in config.json as `engineWhy`). */
  why: string;
  /** The one line to print: `[gpt1] engine: webgpu (hardware adapter NVIDIA H200)`. */
  line: string;
  /** The device, when the engine is webgpu. */
  gpu?: GpuContext;
  /** The adapter seen, if any. */
  adapter?: string;
}

/**
 * Picks the pre-training engine: `tfjs` as asked; `webgpu` as asked (ConfigError for the LSTM
 * baseline or without an adapter; a software adapter is allowed, for tests); `auto`: webgpu
 * only for GPT-1 on a hardware adapter (not lavapipe/llvmpipe/SwiftShader), else tfjs; on Linux
 * without a GPU device node it asks for no adapter (`noHardwareGpuReason`). `request` is the
 * adapter lookup and `noGpu` the reason `auto` asks for none (tests pass their own).
 */
export async function chooseEngine(
  requested: string,
  kind: ModelKind,
  request: () => Promise<GpuContext | null> = requestGpu,
  noGpu: () => string | null = noHardwareGpuReason,
): Promise<EngineChoice> {
  if (!(ENGINES as readonly string[]).includes(requested)) {
    throw new ConfigError(`unknown --engine ${requested}`, { fix: ENGINES.join(" | ") });
  }
  const done = (engine: "tfjs" | "webgpu", why: string, gpu?: GpuContext): EngineChoice => {
    const adapter = gpu?.description;
    return { engine, why, gpu, adapter, line: `[gpt1] engine: ${engine} (${why})` };
  };
  if (requested === "tfjs") return done("tfjs", "--engine tfjs");
  if (kind !== "gpt1") {
    if (requested === "webgpu") {
      throw new ConfigError("the WebGPU engine trains the GPT-1 Transformer only", {
        fix: "--engine tfjs (or auto) for --model lstm",
      });
    }
    return done("tfjs", "the WebGPU engine trains GPT-1 only, not the LSTM");
  }
  const none = requested === "auto" ? noGpu() : null;
  if (none) return done("tfjs", none); // the Vulkan loader is never loaded
  const gpu = await request();
  if (!gpu) {
    if (requested === "webgpu") {
      throw new ConfigError("--engine webgpu: no WebGPU adapter (navigator.gpu)", {
        fix: "install a Vulkan driver (mesa-vulkan-drivers for the software one) or --engine tfjs",
      });
    }
    return done("tfjs", "no WebGPU adapter");
  }
  if (requested === "webgpu") {
    const soft = gpu.hardware ? "" : "; a software adapter: slow, for tests";
    return done("webgpu", `--engine webgpu on ${gpu.description}${soft}`, gpu);
  }
  if (!gpu.hardware) {
    gpu.device.destroy();
    return {
      ...done("tfjs", `adapter ${gpu.description} is software; webgpu needs a hardware one`),
      adapter: gpu.description,
    };
  }
  return done("webgpu", `hardware adapter ${gpu.description}`, gpu);
}

/** Activation memory a micro-batch may take by default (bytes). */
export const MICRO_BATCH_BUDGET = 8 * 2 ** 30;

/** Bytes of the per-window activations the engine keeps for the backward (an estimate). */
export function activationBytesPerWindow(c: Gpt1Config, seqLen = c.nCtx): number {
  const { nEmbd: C, nInner: F, nHead: H, nLayer: L } = c, T = seqLen;
  const perLayer = T * (7 * C + 2 * F + 4) + H * T * T;
  return 4 * (L * perLayer + T * (10 * C + 2 * F));
}

/**
 * The default micro-batch: the largest divisor of `batchSize` whose activations fit `budget`
 * (at least 1).
 */
export function defaultMicroBatch(
  c: Gpt1Config,
  batchSize: number,
  budget = MICRO_BATCH_BUDGET,
): number {
  const per = activationBytesPerWindow(c);
  for (let d = batchSize; d > 1; d--) if (batchSize % d === 0 && d * per <= budget) return d;
  return 1;
}

/** Options of {@link webgpuEngine}. */
export interface WebGpuEngineOptions {
  /** Windows per micro-batch (default {@link defaultMicroBatch}); must divide the batch. */
  microBatch?: number;
  /** Most logits of one LM-head chunk (the engine's default when absent). */
  headChunkElements?: number;
  /** Receives a line when the engine is built (micro-batches, dispatches per step). */
  log?: (line: string) => void;
}

/** The {@link TrainEngineFactory} of the WebGPU engine on `gpu`. */
export function webgpuEngine(gpu: GpuContext, opts: WebGpuEngineOptions = {}): TrainEngineFactory {
  return async (init): Promise<TrainEngine> => {
    if (isLstmConfig(init.config)) {
      init.from?.model.dispose();
      throw new ConfigError("the WebGPU engine trains the GPT-1 Transformer only", {
        fix: "--engine tfjs for the LSTM baseline",
      });
    }
    const config = init.config as Gpt1Config;
    const micro = opts.microBatch ?? defaultMicroBatch(config, init.batchSize);
    if (!Number.isInteger(micro) || micro < 1 || init.batchSize % micro !== 0) {
      init.from?.model.dispose();
      throw new ConfigError(`--micro-batch ${micro} does not divide the batch ${init.batchSize}`, {
        fix: "a divisor of --batch",
      });
    }
    let weights: Map<string, Float32Array> | undefined;
    if (init.from) {
      weights = await init.from.model.readWeights();
      init.from.model.dispose();
    }
    const eng = await WebGpuGptEngine.create(gpu, config, {
      batchSize: init.batchSize,
      microBatches: init.batchSize / micro,
      seed: init.seed,
      adam: init.adam,
      weights,
      ...(opts.headChunkElements ? { headChunkElements: opts.headChunkElements } : {}),
    });
    if (init.from) eng.setOptimizerState(init.from.optimizerState!);
    opts.log?.(
      `[gpt1] webgpu engine on ${gpu.description}: ${eng.microBatches} micro-batch(es) of ` +
        `${eng.microBatch} windows, ${eng.dispatchesPerStep} dispatches per step, one submit`,
    );
    // the tfjs mirror that checkpoints are written from (created at the first save)
    let mirror: { model: Gpt1Model; opt: OpenAIAdam } | null = null;
    const mirrorOf = () =>
      mirror ??= (() => {
        const model = new Gpt1Model(config, { seed: init.seed });
        return { model, opt: new OpenAIAdam(model.params, init.adam) };
      })();
    const T = config.nCtx;
    return {
      name: "webgpu",
      backend: "webgpu-engine",
      info: {
        adapter: gpu.description,
        hardware: gpu.hardware,
        microBatch: eng.microBatch,
        microBatches: eng.microBatches,
        dispatchesPerStep: eng.dispatchesPerStep,
      },
      maxPending: RING_SLOTS,
      submit(_t, batch, dropoutSeed) {
        if (batch.width !== T || batch.batchSize !== init.batchSize) {
          throw new ConfigError(
            `batch [${batch.batchSize}, ${batch.width}] is not [${init.batchSize}, ${T}]`,
          );
        }
        eng.step(batch.tokens, dropoutSeed);
        return Promise.resolve();
      },
      async collect(): Promise<UpdateStats[]> {
        return (await eng.readStats()).map((s) => ({
          step: s.step,
          loss: init.lossHook ? init.lossHook(s.step, s.loss) : s.loss,
          gradNorm: s.gradNorm,
          bad: s.stopped && !s.nonFinite ? ["an earlier update (updates stopped)"] : [],
        }));
      },
      async evaluate(tokens, o) {
        const B = eng.microBatch;
        let sum = 0, count = 0;
        for (const b of evalWindows(tokens, { context: T - 1, batchSize: B, ...o })) {
          let ids: Int32Array = b.tokens;
          if (b.batchSize < B) { // pad with copies of the first window (not counted)
            ids = new Int32Array(B * T);
            ids.set(b.tokens);
            for (let r = b.batchSize; r < B; r++) ids.set(b.tokens.subarray(0, T), r * T);
          }
          const n = b.batchSize * (T - 1);
          sum += (await eng.evalLoss(ids, b.batchSize)) * n;
          count += n;
        }
        return { loss: sum / count, tokens: count };
      },
      async save(path, o) {
        const m = mirrorOf();
        m.model.setWeights(await eng.getWeights());
        if (o.full) m.opt.loadStateDict(await eng.getOptimizerState());
        await saveCheckpoint(path, {
          model: m.model,
          optimizer: o.full ? m.opt : undefined,
          step: o.step,
          vocabHash: o.vocabHash,
          dtype: o.dtype,
        });
      },
      async release() {
        const m = mirrorOf();
        m.model.setWeights(await eng.getWeights());
        m.opt.dispose();
        eng.dispose();
        return m.model;
      },
    };
  };
}
