/**
 * Every seeded random number of the project, pure JS (identical on every backend and run):
 * {@link mixSeed} and {@link Rng} order the data (window batches, shuffles, samples);
 * {@link mixModelSeed}, {@link randn} and {@link dropoutMask} draw the models' initial weights
 * and dropout masks. The two seed hashes differ; each keeps the name and the numbers the
 * committed results were computed with.
 *
 * @example
 * ```ts
 * import { mixSeed, Rng, randn } from "./random.ts";
 * new Rng(mixSeed(42, 7)).shuffle([0, 1, 2, 3]);
 * randn(4, 7, 0.02); // Float32Array of 4 values
 * ```
 * @module
 */
import { ConfigError } from "./errors.ts";

// -----------------------------------------------------------------------------
// data order: batches, shuffles, samples

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes non-negative integers (seeds, steps, indices; up to 2^53) into one 32-bit seed.
 * Different argument lists give unrelated seeds: `mixSeed(seed, step)` seeds the batch at `step`.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x243f6a88;
  for (const p of parts) {
    if (!Number.isSafeInteger(p) || p < 0) {
      throw new ConfigError(`seeds and steps must be non-negative integers, got ${p}`);
    }
    h = fmix32((h + 0x9e3779b9 + (p % 2 ** 32)) >>> 0);
    h = fmix32((h ^ Math.floor(p / 2 ** 32)) >>> 0);
  }
  return h;
}

/**
 * A small seeded PRNG (mulberry32: 32-bit state, period 2^32). Its whole state is
 * {@link Rng.state}, a uint32 that can be saved in a checkpoint and restored.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.next(); // float in [0, 1)
 * rng.int(10); // integer in [0, 10)
 * const saved = rng.state; const again = new Rng(0); again.state = saved;
 * ```
 */
export class Rng {
  /** The generator state (uint32). */
  state: number;

  /** Seeds the generator; any non-negative integer (hashed with {@link mixSeed}). */
  constructor(seed: number) {
    this.state = mixSeed(seed);
  }

  /** Next uint32. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Next float in [0, 1) with 53 random bits (two draws). */
  next(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6; // 27 + 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), for 1 <= n <= 2^53. */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`int(n) needs n >= 1, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

// ---------------------------------------------------------------------------------------------
// model weights and dropout (pure JS: identical on every backend)

/**
 * Mixes numbers into one 32-bit seed (FNV-1a over the words, then a murmur3 finalizer): the
 * models' seeds (initial weights, dropout sites). A different hash from {@link mixSeed}; both
 * are kept as they are so committed results stay bit-identical.
 */
export function mixModelSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(p / 4294967296), 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The constants of {@link dropoutMask} for drop probability `p`: a word below `thr` drops the
 * element, a kept one is scaled by `keep` (float32).
 */
export function dropoutParams(p: number): { thr: number; keep: number } {
  return { thr: Math.floor(p * 4294967296), keep: Math.fround(1 / (1 - p)) };
}

/** A counter-based stream of uniform 32-bit words: word i is a hash of (seed, i). */
function hashWords(seed: number, i: number): number {
  let z = (seed + Math.imul(i + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * `n` samples of N(0, std²) (Box–Muller over {@link hashWords}), a pure function of `seed`.
 *
 * @example
 * ```ts
 * randn(4, 7, 0.02); // Float32Array of 4 values, the same for every run and backend
 * ```
 */
export function randn(n: number, seed: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = (hashWords(seed, i) + 0.5) / 4294967296; // (0, 1)
    const u2 = hashWords(seed, i + 1) / 4294967296;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * An inverted-dropout mask: each of `n` entries is 0 with probability `p`, else `1/(1-p)`.
 * A pure function of `seed`.
 */
export function dropoutMask(n: number, p: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  const { keep, thr } = dropoutParams(p);
  for (let i = 0; i < n; i++) out[i] = hashWords(seed, i) < thr ? 0 : keep;
  return out;
}
