/**
 * numpy's legacy `RandomState` (MT19937) just far enough to reproduce
 * `sklearn.model_selection.train_test_split(..., test_size, random_state=seed)` exactly, which
 * the original GPT-1 code uses to cut the Story Cloze validation file into train/valid
 * (seed 3535999445, 374 valid stories).
 *
 * The chain being reproduced:
 * - `check_random_state(seed)` = `np.random.RandomState(seed)` → `mt19937_seed(seed)`
 *   (Matsumoto & Nishimura's `init_genrand`);
 * - `ShuffleSplit`: `permutation = rng.permutation(n)`; test = `permutation[:n_test]`,
 *   train = `permutation[n_test:n_test + n_train]`;
 * - `permutation(n)` = `shuffle(arange(n))`; legacy `shuffle` is Fisher–Yates from the end:
 *   `for i in n-1..1: j = random_interval(i); swap(i, j)`;
 * - `random_interval(max)`: draw 32-bit words (64-bit above 2^32-1), mask them to the smallest
 *   all-ones mask >= max, reject values > max.
 *
 * Verified against numpy 2.4 by `tests/fixtures/tasks/gen_split.py`.
 *
 * @example
 * ```ts
 * import { trainTestSplit } from "./split.ts";
 * const { train, test } = trainTestSplit(1871, 374, 3535999445);
 * train.length; // 1497, test.length: 374
 * ```
 * @module
 */

const N = 624;
const M = 397;

/** numpy's legacy `RandomState`: MT19937 seeded with one 32-bit integer. */
export class NumpyRandomState {
  #mt = new Uint32Array(N);
  #pos = N;

  /** Seeds like `np.random.RandomState(seed)`; `seed` must be an integer in [0, 2^32 - 1]. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer between 0 and 2**32 - 1, got ${seed}`);
    }
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next 32-bit output (`genrand_int32`). */
  nextUint32(): number {
    const mt = this.#mt;
    if (this.#pos >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
        mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.#pos = 0;
    }
    let y = mt[this.#pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A uniform integer in [0, max] by masked rejection (numpy's `random_interval`). */
  randomInterval(max: number): number {
    if (max === 0) return 0;
    if (max > 0xffffffff) throw new RangeError("randomInterval: max above 2**32 - 1 unsupported");
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.nextUint32() & mask) >>> 0; while (v > max);
    return v;
  }

  /** Shuffles `arr` in place like legacy `RandomState.shuffle` on a 1-D array. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.randomInterval(i);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** `RandomState.permutation(n)`: a shuffled `[0, 1, ..., n-1]`. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }
}

/**
 * Indices of `sklearn.model_selection.train_test_split(range(n), test_size=nTest,
 * random_state=seed)` (shuffle on, no stratification): `test` = the first `nTest` entries of
 * the permutation, `train` = the remaining `n - nTest`, both in permutation order.
 */
export function trainTestSplit(
  n: number,
  nTest: number,
  seed: number,
): { train: number[]; test: number[] } {
  if (!Number.isInteger(nTest) || nTest < 1 || nTest >= n) {
    throw new RangeError(`nTest must be an integer in [1, ${n - 1}], got ${nTest}`);
  }
  const perm = new NumpyRandomState(seed).permutation(n);
  return { test: perm.slice(0, nTest), train: perm.slice(nTest) };
}
