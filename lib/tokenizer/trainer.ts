/**
 * `BpeTrainer`: learns BPE merges from a corpus the way GPT-1's vocabulary was built
 * (word counts after the same pre-tokenization, `</w>` on the last character of each word),
 * and writes the released file formats, so that a vocabulary trained here and the released
 * one are interchangeable in {@link Gpt1Tokenizer}.
 *
 * Vocabulary layout (the released one): id 0 `<unk>`; the alphabet (every character seen at
 * least `minCharCount` times, most frequent first, ties by code point order); the same
 * characters followed by `</w>`, in the same order; the result of each merge in merge order
 * (a result already in the vocabulary is not added twice, so ids stay contiguous); finally
 * `\n</w>` (always added: the released pipeline turns every newline into that piece).
 *
 * Training: repeatedly merge the adjacent symbol pair with the highest count (summed over
 * word occurrences), ties broken by the smaller first symbol, then the smaller second symbol
 * (JavaScript string order), with the same left-to-right merge as encoding. Pairs with
 * characters outside the alphabet are never merged. Whitespace tokens are not words.
 *
 * @example
 * ```ts
 * import { BpeTrainer } from "./trainer.ts";
 * const trainer = new BpeTrainer({ merges: 1000 });
 * trainer.train(["some text", "more text"]);
 * await trainer.save("results/vocab/encoder.json", "results/vocab/merges.bpe");
 * const tok = trainer.toTokenizer();
 * ```
 * @module
 */
import { ConfigError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { Gpt1Tokenizer, gpt1Words } from "./bpe.ts";
import { formatEncoderJson, formatMerges } from "./formats.ts";
import { END_OF_WORD } from "./merge.ts";
import { isPySpace } from "./pystr.ts";

/** Options of {@link BpeTrainer}. */
export interface BpeTrainerOptions {
  /** Number of merges to learn (fewer when the corpus runs out of pairs). */
  merges: number;
  /** Characters seen fewer times stay out of the alphabet (they encode to `<unk>`). Default 1. */
  minCharCount?: number;
  /** Stop early when the best pair occurs fewer times than this. Default 1. */
  minPairCount?: number;
  /** Called every `progressEvery` merges with (merges done, merges asked). */
  onProgress?: (done: number, total: number) => void;
  /** Default 1000. */
  progressEvery?: number;
}

/** A learned vocabulary: pieces by id and merges in rank order. */
export interface BpeVocab {
  /** Pieces by id (layout in the module doc). */
  pieces: string[];
  /** Merges in rank order. */
  merges: Array<[string, string]>;
}

/** Max number of distinct symbols (pair keys are `a * SYMBOL_LIMIT + b`, exact in a double). */
const SYMBOL_LIMIT = 2 ** 24;

/** Learns BPE merges; see the module doc for the vocabulary layout and the tie rule. */
export class BpeTrainer {
  /** The options, with defaults filled in. */
  readonly options: Required<Omit<BpeTrainerOptions, "onProgress">> & {
    onProgress?: BpeTrainerOptions["onProgress"];
  };
  /** Word (lowercased spaCy token) -> count, from {@link addText} / {@link addWordCounts}. */
  readonly wordCounts: Map<string, number> = new Map();
  #vocab: BpeVocab | undefined;

  /** @param options `merges` is required. */
  constructor(options: BpeTrainerOptions) {
    const { merges, minCharCount = 1, minPairCount = 1, progressEvery = 1000 } = options;
    for (const [k, v] of Object.entries({ merges, minCharCount, minPairCount, progressEvery })) {
      if (!Number.isInteger(v) || v < 0 || (k === "progressEvery" && v === 0)) {
        throw new ConfigError(`BpeTrainer option ${k} = ${v} is not a valid count`, {
          fix: `pass a non-negative integer ${k}`,
        });
      }
    }
    this.options = {
      merges,
      minCharCount,
      minPairCount,
      progressEvery,
      onProgress: options.onProgress,
    };
  }

  /** Adds the words of one text (the GPT-1 pre-tokenization, lowercased). */
  addText(text: string): this {
    for (const w of gpt1Words(text)) {
      if (!isAllSpace(w)) this.wordCounts.set(w, (this.wordCounts.get(w) ?? 0) + 1);
    }
    return this;
  }

  /**
   * Adds precomputed word counts (words are used as given: already pre-tokenized and
   * lowercased). A word holding whitespace is a {@link ConfigError}: the merges file could
   * not represent its symbols.
   */
  addWordCounts(counts: Iterable<readonly [string, number]>): this {
    for (const [w, c] of counts) {
      if (w.length === 0 || isAllSpace(w) || !(c > 0)) continue;
      for (let i = 0; i < w.length; i++) {
        if (isPySpace(w.charCodeAt(i))) {
          throw new ConfigError(`word ${JSON.stringify(w)} contains whitespace`, {
            fix: "split texts into words first (addText does it the GPT-1 way)",
          });
        }
      }
      this.wordCounts.set(w, (this.wordCounts.get(w) ?? 0) + c);
    }
    return this;
  }

  /**
   * Adds `texts` (if given) and learns the merges from all words added so far.
   *
   * @example
   * ```ts
   * const { pieces, merges } = new BpeTrainer({ merges: 10 }).train(["a low lower lowest"]);
   * ```
   */
  train(texts: Iterable<string> = []): BpeVocab {
    for (const t of texts) this.addText(t);
    this.#vocab = learn(this.wordCounts, this.options);
    return this.#vocab;
  }

  /** The last learned vocabulary (throws when {@link train} has not run). */
  get vocab(): BpeVocab {
    if (!this.#vocab) throw new ConfigError("BpeTrainer: call train() first");
    return this.#vocab;
  }

  /** The two files as text: `encoderJson` (`{piece: id}`) and `merges` (`#version: 0.2` ...). */
  toStrings(): { encoderJson: string; merges: string } {
    const { pieces, merges } = this.vocab;
    return { encoderJson: formatEncoderJson(pieces), merges: formatMerges(merges) };
  }

  /** Writes the two files atomically; `Gpt1Tokenizer.fromFiles` reads them back. */
  async save(encoderPath: string, mergesPath: string): Promise<void> {
    const { encoderJson, merges } = this.toStrings();
    await writeFileAtomic(encoderPath, encoderJson);
    await writeFileAtomic(mergesPath, merges);
  }

  /** A tokenizer over the learned vocabulary. */
  toTokenizer(): Gpt1Tokenizer {
    const { pieces, merges } = this.vocab;
    return new Gpt1Tokenizer(pieces, merges);
  }
}

function isAllSpace(w: string): boolean {
  for (let i = 0; i < w.length; i++) if (!isPySpace(w.charCodeAt(i))) return false;
  return true;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Max-heap of [count, pairKey] with the trainer's tie rule; stale entries are skipped on pop. */
class PairHeap {
  readonly #counts: number[] = [];
  readonly #keys: number[] = [];
  constructor(readonly better: (ca: number, ka: number, cb: number, kb: number) => boolean) {}
  get size(): number {
    return this.#keys.length;
  }
  push(count: number, key: number): void {
    const c = this.#counts, k = this.#keys;
    let i = k.length;
    c.push(count);
    k.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(c[i], k[i], c[p], k[p])) break;
      [c[i], c[p]] = [c[p], c[i]];
      [k[i], k[p]] = [k[p], k[i]];
      i = p;
    }
  }
  pop(): [number, number] {
    const c = this.#counts, k = this.#keys;
    const top: [number, number] = [c[0], k[0]];
    const lc = c.pop()!, lk = k.pop()!;
    if (k.length > 0) {
      c[0] = lc;
      k[0] = lk;
      let i = 0;
      while (true) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < k.length && this.better(c[l], k[l], c[m], k[m])) m = l;
        if (r < k.length && this.better(c[r], k[r], c[m], k[m])) m = r;
        if (m === i) break;
        [c[i], c[m]] = [c[m], c[i]];
        [k[i], k[m]] = [k[m], k[i]];
        i = m;
      }
    }
    return top;
  }
}

/** The training loop (see the module doc). */
function learn(
  wordCounts: ReadonlyMap<string, number>,
  opts: BpeTrainer["options"],
): BpeVocab {
  // alphabet: characters by count (desc), ties by code point order
  const charCounts = new Map<string, number>();
  for (const [w, c] of wordCounts) {
    for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  }
  const alphabet = [...charCounts.entries()]
    .filter(([, c]) => c >= opts.minCharCount)
    .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))
    .map(([ch]) => ch);
  const pieces = ["<unk>", ...alphabet, ...alphabet.map((ch) => ch + END_OF_WORD)];
  const inVocab = new Set(pieces);

  // symbols: interned strings; -1 = a character outside the alphabet (never merged)
  const symbols: string[] = [];
  const symbolId = new Map<string, number>();
  const intern = (s: string): number => {
    let id = symbolId.get(s);
    if (id === undefined) {
      id = symbols.length;
      if (id >= SYMBOL_LIMIT) throw new ConfigError("BpeTrainer: too many symbols");
      symbols.push(s);
      symbolId.set(s, id);
    }
    return id;
  };
  for (const p of pieces.slice(1)) intern(p);

  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    const chars = Array.from(w);
    if (chars.length < 2) continue; // single code points are never merged
    chars[chars.length - 1] += END_OF_WORD;
    words.push(chars.map((s) => symbolId.get(s) ?? -1));
    counts.push(c);
  }

  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number, dirty: Set<number>) => {
    const w = words[wi];
    const c = counts[wi] * sign;
    for (let i = 0; i < w.length - 1; i++) {
      const a = w[i], b = w[i + 1];
      if (a < 0 || b < 0) continue;
      const key = a * SYMBOL_LIMIT + b;
      pairCount.set(key, (pairCount.get(key) ?? 0) + c);
      dirty.add(key);
      if (sign > 0) {
        let set = where.get(key);
        if (!set) where.set(key, set = new Set());
        set.add(wi);
      }
    }
  };
  const better = (ca: number, ka: number, cb: number, kb: number) => {
    if (ca !== cb) return ca > cb;
    const a1 = symbols[Math.floor(ka / SYMBOL_LIMIT)], b1 = symbols[Math.floor(kb / SYMBOL_LIMIT)];
    if (a1 !== b1) return a1 < b1;
    return symbols[ka % SYMBOL_LIMIT] < symbols[kb % SYMBOL_LIMIT];
  };
  const heap = new PairHeap(better);
  const initial = new Set<number>();
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1, initial);
  for (const key of initial) heap.push(pairCount.get(key)!, key);

  const merges: Array<[string, string]> = [];
  const done = new Set<number>(); // each pair once (a file with duplicates reads differently)
  while (merges.length < opts.merges && heap.size > 0) {
    const [count, key] = heap.pop();
    if (pairCount.get(key) !== count || count <= 0 || done.has(key)) continue; // stale entry
    if (count < opts.minPairCount) break;
    const a = Math.floor(key / SYMBOL_LIMIT), b = key % SYMBOL_LIMIT;
    const merged = symbols[a] + symbols[b];
    const m = intern(merged);
    merges.push([symbols[a], symbols[b]]);
    done.add(key);
    if (!inVocab.has(merged)) {
      inVocab.add(merged);
      pieces.push(merged);
    }
    const dirty = new Set<number>();
    for (const wi of where.get(key) ?? []) {
      const w = words[wi];
      let found = false;
      for (let i = 0; i < w.length - 1 && !found; i++) found = w[i] === a && w[i + 1] === b;
      if (!found) continue;
      addPairs(wi, -1, dirty);
      const next: number[] = [];
      for (let i = 0; i < w.length;) {
        if (i < w.length - 1 && w[i] === a && w[i + 1] === b) {
          next.push(m);
          i += 2;
        } else {
          next.push(w[i++]);
        }
      }
      words[wi] = next;
      addPairs(wi, 1, dirty);
    }
    where.delete(key);
    for (const k of dirty) {
      const c = pairCount.get(k)!;
      if (c > 0) heap.push(c, k);
      else pairCount.delete(k);
    }
    if (opts.onProgress && merges.length % opts.progressEvery === 0) {
      opts.onProgress(merges.length, opts.merges);
    }
  }
  if (!inVocab.has("\n" + END_OF_WORD)) pieces.push("\n" + END_OF_WORD);
  return { pieces, merges };
}
