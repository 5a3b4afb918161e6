/**
 * The toy language-modelling data the training tests share (GPT-1 and LSTM alike).
 * @module
 */
import { Rng } from "../lib/random.ts";

/** A toy corpus with structure: a repeating pattern with 10% noise, vocabulary 32. */
export function toyCorpus(n: number, seed: number): Uint16Array {
  const rng = new Rng(seed);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = rng.next() < 0.1 ? rng.int(32) : (i * 7 + Math.floor(i / 5)) % 32;
  }
  return out;
}

/** Unigram entropy (nats per token) of `tokens` over a vocabulary of `V`. */
export function unigramEntropy(tokens: ArrayLike<number>, V: number): number {
  const c = new Float64Array(V);
  for (let i = 0; i < tokens.length; i++) c[tokens[i]]++;
  let h = 0;
  for (const x of c) if (x > 0) h -= (x / tokens.length) * Math.log(x / tokens.length);
  return h;
}
