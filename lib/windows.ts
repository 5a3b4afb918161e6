/**
 * Training and evaluation windows over a split's tokens (re-exported by data.ts): the seeded
 * {@link WindowSampler} (a batch is a pure function of (seed, step), so a resumed run sees the
 * same batches), the non-overlapping {@link evalWindows} for validation, and inputs / targets.
 *
 * @example
 * ```ts
 * import { splitInputsTargets, WindowSampler } from "./windows.ts";
 * const sampler = new WindowSampler(cache.train, { context: 512, batchSize: 64, seed: 42 });
 * const { inputs, targets } = splitInputsTargets(sampler.batchAt(0)); // each [64, 512]
 * ```
 * @module
 */
import { ConfigError, DataError } from "./errors.ts";
import { mixSeed, Rng } from "./random.ts";

/** A batch of token windows: `tokens` is `[batchSize, width]` row-major, `width = T + 1`. */
export interface WindowBatch {
  /** `[B, T+1]` token ids; row b is `split[offsets[b] .. offsets[b] + T]`. */
  tokens: Int32Array;
  /** Rows (B). */
  batchSize: number;
  /** Columns: context length + 1, so inputs and targets shifted by one both fit. */
  width: number;
  /** Start of each row in the token array it was cut from. */
  offsets: number[];
}

/** Options of {@link WindowSampler}. */
export interface WindowSamplerOptions {
  /** Context length T (paper: 512). */
  context: number;
  /** Windows per batch B (paper: 64). */
  batchSize: number;
  /** Sampling seed. */
  seed: number;
  /** What the tokens are, for error messages (e.g. `cache/tokens.bin (train)`). */
  name?: string;
}

function checkPositiveInt(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new ConfigError(`${what} must be a positive integer, got ${v}`);
  }
}

function checkLength(n: number, T: number, name: string): void {
  if (n < T + 1) {
    throw new DataError(
      `${n} tokens is shorter than one window of ${T + 1} tokens (context ${T} + 1 target)`,
      { file: name, fix: "add more text to the corpus, or use a smaller context length" },
    );
  }
}

/**
 * Random contiguous training windows, as in the paper (64 × 512 tokens, randomly sampled).
 * Each row is `T + 1` tokens from a uniform offset in `[0, n - T - 1]`, so it never reads past
 * the end. {@link WindowSampler.batchAt} depends only on (seed, step), not on earlier calls.
 *
 * @example
 * ```ts
 * const s = new WindowSampler(cache.train, { context: 512, batchSize: 64, seed: 42 });
 * const { inputs, targets } = splitInputsTargets(s.batchAt(step)); // each [64, 512]
 * ```
 */
export class WindowSampler {
  /** Number of tokens sampled from. */
  readonly n: number;
  /** Context length T. */
  readonly context: number;
  /** Batch size B. */
  readonly batchSize: number;
  /** Seed. */
  readonly seed: number;
  private readonly tokens: ArrayLike<number>;

  /** Throws {@link DataError} if `tokens` is shorter than one window (T + 1 tokens). */
  constructor(tokens: ArrayLike<number>, opts: WindowSamplerOptions) {
    checkPositiveInt(opts.context, "context");
    checkPositiveInt(opts.batchSize, "batchSize");
    mixSeed(opts.seed); // validates
    checkLength(tokens.length, opts.context, opts.name ?? "corpus tokens");
    this.tokens = tokens;
    this.n = tokens.length;
    this.context = opts.context;
    this.batchSize = opts.batchSize;
    this.seed = opts.seed;
  }

  /** Number of distinct window offsets: `n - T`. */
  get numOffsets(): number {
    return this.n - this.context;
  }

  /** The B window offsets of batch `step`: a pure function of (seed, step). */
  offsetsAt(step: number): number[] {
    const rng = new Rng(mixSeed(this.seed, step));
    return Array.from({ length: this.batchSize }, () => rng.int(this.numOffsets));
  }

  /** Batch `step`: `[B, T+1]` windows at {@link WindowSampler.offsetsAt}(step). */
  batchAt(step: number): WindowBatch {
    return cutWindows(this.tokens, this.offsetsAt(step), this.context + 1);
  }
}

function cutWindows(tokens: ArrayLike<number>, offsets: number[], width: number): WindowBatch {
  const out = new Int32Array(offsets.length * width); // [B, T+1]
  const isTyped = ArrayBuffer.isView(tokens);
  offsets.forEach((o, b) => {
    if (isTyped) out.set((tokens as Uint32Array).subarray(o, o + width), b * width);
    else for (let t = 0; t < width; t++) out[b * width + t] = tokens[o + t];
  });
  return { tokens: out, batchSize: offsets.length, width, offsets };
}

/** Number of non-overlapping evaluation windows in `n` tokens: `floor((n - 1) / T)`. */
export function countEvalWindows(n: number, context: number): number {
  return n < context + 1 ? 0 : Math.floor((n - 1) / context);
}

/**
 * Sequential evaluation windows for validation loss: offsets `0, T, 2T, ...`, each `T + 1`
 * tokens, so every token after the first is a target exactly once (the last `< T` tokens are
 * left out). Yields batches of up to `batchSize` rows (the last may be smaller). With
 * `maxWindows`, takes that many windows evenly spaced over the split instead of all.
 * Throws {@link DataError} if `tokens` is shorter than one window.
 *
 * @example
 * ```ts
 * let nll = 0, count = 0;
 * for (const b of evalWindows(cache.valid, { context: 512, batchSize: 8 })) { ... }
 * const perplexity = Math.exp(nll / count);
 * ```
 */
export function* evalWindows(
  tokens: ArrayLike<number>,
  opts: { context: number; batchSize: number; maxWindows?: number; name?: string },
): Generator<WindowBatch> {
  const T = opts.context;
  checkPositiveInt(T, "context");
  checkPositiveInt(opts.batchSize, "batchSize");
  checkLength(tokens.length, T, opts.name ?? "evaluation tokens");
  const total = countEvalWindows(tokens.length, T);
  let count = total;
  if (opts.maxWindows !== undefined) {
    checkPositiveInt(opts.maxWindows, "maxWindows");
    count = Math.min(total, opts.maxWindows);
  }
  const offsetOf = (i: number) => Math.floor((i * total) / count) * T;
  for (let i = 0; i < count; i += opts.batchSize) {
    const offsets: number[] = [];
    for (let j = i; j < Math.min(count, i + opts.batchSize); j++) offsets.push(offsetOf(j));
    yield cutWindows(tokens, offsets, T + 1);
  }
}

/**
 * Splits a batch into model inputs (columns `0..T-1`) and next-token targets (`1..T`),
 * each `[B, T]` row-major.
 */
export function splitInputsTargets(
  batch: WindowBatch,
): { inputs: Int32Array; targets: Int32Array } {
  const { batchSize: B, width: W } = batch, T = W - 1;
  const inputs = new Int32Array(B * T), targets = new Int32Array(B * T); // [B, T] each
  for (let b = 0; b < B; b++) {
    inputs.set(batch.tokens.subarray(b * W, b * W + T), b * T);
    targets.set(batch.tokens.subarray(b * W + 1, b * W + W), b * T);
  }
  return { inputs, targets };
}
