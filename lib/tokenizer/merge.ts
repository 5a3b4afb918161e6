/**
 * Byte-pair merging exactly as the released `bpe()` ({@link Bpe}): merge ranks, the `</w>`
 * end-of-word marker, a cache, and an O(n log n) merge for long words.
 *
 * @example
 * ```ts
 * import { Bpe } from "./merge.ts";
 * new Bpe([["l", "o"], ["lo", "w</w>"]]).encodeWord("low"); // "low</w>"
 * ```
 * @module
 */

/** The end-of-word marker appended to the last symbol of every word. */
export const END_OF_WORD = "</w>";

/**
 * Byte-pair encoding with merge ranks, exactly the released `bpe()`: the word is split into
 * code points, `</w>` is appended to the last one, and the adjacent pair with the lowest rank
 * is merged (every occurrence, left to right) until no ranked pair is left. Results are cached.
 *
 * Internally symbols are interned integers and pair ranks sit in an open-addressing table;
 * symbols that no merge mentions get negative ids local to one word.
 */
export class Bpe {
  /** Merges in rank order. */
  readonly merges: ReadonlyArray<readonly [string, string]>;
  readonly #symId = new Map<string, number>();
  readonly #symStr: string[] = [];
  /** rank -> merged symbol id, left id, right id */
  readonly #mergedId: Int32Array;
  readonly #leftId: Int32Array;
  readonly #rightId: Int32Array;
  /** open addressing: slot -> left id, right id, rank (-1 = empty) */
  readonly #tabA: Int32Array;
  readonly #tabB: Int32Array;
  readonly #tabRank: Int32Array;
  readonly #mask: number;
  /** UTF-16 unit -> id of that one-character symbol / of it + `</w>` (-1: not interned) */
  readonly #charSym = new Int32Array(0x10000).fill(-1);
  readonly #charEndSym = new Int32Array(0x10000).fill(-1);
  readonly #cache = new Map<string, string>();
  readonly #maxCache: number;
  /** scratch buffers of the short-word merge (words of up to LONG_WORD code points) */
  readonly #scratch = new Int32Array(LONG_WORD);
  readonly #scratchRanks = new Int32Array(LONG_WORD);
  readonly #scratchMerged = new Uint8Array(LONG_WORD);

  /** @param merges pairs in rank order (a later duplicate overrides, as Python's dict does). */
  constructor(merges: ReadonlyArray<readonly [string, string]>, maxCache = 500_000) {
    this.merges = merges;
    this.#maxCache = maxCache;
    const n = merges.length;
    this.#mergedId = new Int32Array(n);
    this.#leftId = new Int32Array(n);
    this.#rightId = new Int32Array(n);
    let cap = 16;
    while (cap < 2 * n) cap *= 2;
    this.#mask = cap - 1;
    this.#tabA = new Int32Array(cap);
    this.#tabB = new Int32Array(cap);
    this.#tabRank = new Int32Array(cap).fill(-1);
    merges.forEach(([a, b], rank) => {
      const ia = this.#intern(a), ib = this.#intern(b);
      this.#leftId[rank] = ia;
      this.#rightId[rank] = ib;
      this.#mergedId[rank] = this.#intern(a + b);
      let h = this.#slot(ia, ib);
      while (this.#tabRank[h] >= 0 && (this.#tabA[h] !== ia || this.#tabB[h] !== ib)) {
        h = (h + 1) & this.#mask;
      }
      this.#tabA[h] = ia;
      this.#tabB[h] = ib;
      this.#tabRank[h] = rank; // a later duplicate overwrites
    });
  }

  #intern(s: string): number {
    let id = this.#symId.get(s);
    if (id === undefined) {
      id = this.#symStr.length;
      this.#symStr.push(s);
      this.#symId.set(s, id);
      if (s.length === 1) this.#charSym[s.charCodeAt(0)] = id;
      else if (s.length === 5 && s.endsWith(END_OF_WORD)) this.#charEndSym[s.charCodeAt(0)] = id;
    }
    return id;
  }

  #slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b)) >>> 0 & this.#mask;
  }

  /** Rank of the pair of symbol ids (a, b), or -1. */
  #rankOf(a: number, b: number): number {
    if (a < 0 || b < 0) return -1;
    let h = this.#slot(a, b);
    while (true) {
      const r = this.#tabRank[h];
      if (r < 0) return -1;
      if (this.#tabA[h] === a && this.#tabB[h] === b) return r;
      h = (h + 1) & this.#mask;
    }
  }

  /** The rank of the pair `a b`, or undefined. */
  rank(a: string, b: string): number | undefined {
    const ia = this.#symId.get(a), ib = this.#symId.get(b);
    if (ia === undefined || ib === undefined) return undefined;
    const r = this.#rankOf(ia, ib);
    return r < 0 ? undefined : r;
  }

  /** Number of interned symbols (ids 0..n-1 of {@link mergeIds}). */
  get symbolCount(): number {
    return this.#symStr.length;
  }

  /** The string of an interned symbol id. */
  symbol(id: number): string {
    return this.#symStr[id];
  }

  /**
   * The released `bpe(token)`: pieces joined by single spaces, e.g. `"trans form ers</w>"`.
   * A word that is a single code point gives `token + "</w>"`; `"\n  </w>"` becomes `"\n</w>"`.
   */
  encodeWord(token: string): string {
    const hit = this.#cache.get(token);
    if (hit !== undefined) return hit;
    if (token.length === 0) return END_OF_WORD;
    const locals: string[] = [];
    const ids = this.mergeIds(token, locals);
    let out = this.#str(ids[0], locals);
    for (let i = 1; i < ids.length; i++) out += " " + this.#str(ids[i], locals);
    if (out === "\n  </w>") out = "\n</w>";
    if (this.#cache.size >= this.#maxCache) this.#cache.clear();
    this.#cache.set(token, out);
    return out;
  }

  /**
   * BPE of a non-empty word as symbol ids (no cache): the code points of `token`, `</w>` on
   * the last, merged. Symbols that no merge mentions get ids -1, -2, ... indexing `locals`.
   */
  mergeIds(token: string, locals: string[]): number[] {
    const n0 = token.length;
    const ids = n0 <= LONG_WORD ? this.#scratch : new Int32Array(n0);
    // where the last code point starts
    const c1 = token.charCodeAt(n0 - 1);
    const lastStart = n0 >= 2 && (c1 & 0xfc00) === 0xdc00 &&
        (token.charCodeAt(n0 - 2) & 0xfc00) === 0xd800
      ? n0 - 2
      : n0 - 1;
    let n = 0;
    for (let i = 0; i < n0;) {
      const c = token.charCodeAt(i);
      const pair = (c & 0xfc00) === 0xd800 && i + 1 < n0 &&
        (token.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      const last = i === lastStart;
      let id = pair ? -1 : (last ? this.#charEndSym[c] : this.#charSym[c]);
      if (id < 0) {
        const str = token.slice(i, pair ? i + 2 : i + 1) + (last ? END_OF_WORD : "");
        const known = this.#symId.get(str);
        if (known !== undefined) id = known;
        else {
          locals.push(str);
          id = -locals.length;
        }
      }
      ids[n++] = id;
      i += pair ? 2 : 1;
    }
    if (n > LONG_WORD) return Array.from(this.#mergeLongIds(ids.subarray(0, n)));
    const m = this.#mergeShortIds(ids, n);
    const out = new Array<number>(m);
    for (let i = 0; i < m; i++) out[i] = ids[i];
    return out;
  }

  /** Symbol ids of `symbols`; unknown symbols get -1, -2, ... indexing `locals`. */
  #toIds(symbols: readonly string[], locals: string[]): Int32Array {
    const ids = new Int32Array(symbols.length);
    for (let i = 0; i < symbols.length; i++) {
      const id = this.#symId.get(symbols[i]);
      if (id !== undefined) ids[i] = id;
      else {
        locals.push(symbols[i]);
        ids[i] = -locals.length;
      }
    }
    return ids;
  }

  #str(id: number, locals: string[]): string {
    return id >= 0 ? this.#symStr[id] : locals[-id - 1];
  }

  /**
   * The released merge loop on given symbols (the last one carrying `</w>`), round by round:
   * find the lowest-ranked pair, merge all its occurrences left to right, repeat. O(n^2) in
   * the word length. Returns the pieces joined by spaces.
   */
  mergeShort(symbols: readonly string[]): string {
    const locals: string[] = [];
    const ids = this.#toIds(symbols, locals);
    const n = this.#mergeShortIds(
      ids,
      ids.length,
      new Int32Array(ids.length),
      new Uint8Array(ids.length),
    );
    return Array.from(ids.subarray(0, n), (id) => this.#str(id, locals)).join(" ");
  }

  /**
   * {@link mergeShort} in place on `ids[0..n)`; returns the new length. `ranks[i]` holds the
   * rank of the pair at i; after a round only the pairs next to a merge are looked up again.
   */
  #mergeShortIds(
    ids: Int32Array,
    n: number,
    ranks = this.#scratchRanks,
    merged = this.#scratchMerged,
  ): number {
    const NONE = 0x7fffffff;
    for (let i = 0; i < n - 1; i++) {
      const r = this.#rankOf(ids[i], ids[i + 1]);
      ranks[i] = r < 0 ? NONE : r;
    }
    ranks[n - 1] = NONE;
    while (n > 1) {
      let best = NONE;
      for (let i = 0; i < n - 1; i++) if (ranks[i] < best) best = ranks[i];
      if (best === NONE) break;
      const a = this.#leftId[best], b = this.#rightId[best], m = this.#mergedId[best];
      let w = 0;
      for (let i = 0; i < n;) {
        if (i < n - 1 && ids[i] === a && ids[i + 1] === b) {
          ids[w] = m;
          merged[w++] = 1;
          i += 2;
        } else {
          ids[w] = ids[i];
          ranks[w] = ranks[i]; // still right unless a neighbour merged (fixed below)
          merged[w++] = 0;
          i++;
        }
      }
      n = w;
      for (let k = 0; k < n - 1; k++) {
        if (merged[k] || merged[k + 1]) {
          const r = this.#rankOf(ids[k], ids[k + 1]);
          ranks[k] = r < 0 ? NONE : r;
        }
      }
      ranks[n - 1] = NONE;
    }
    return n;
  }

  /**
   * The same result as {@link mergeShort} in O(n log n): a heap of (rank, position) over a
   * linked list of symbols. Each round pops every entry of the lowest rank and merges the
   * still-valid ones left to right; the pairs the round creates are pushed after it, so the
   * rounds happen in the same order as in the released loop.
   */
  mergeLong(symbols: readonly string[]): string {
    const locals: string[] = [];
    const ids = this.#mergeLongIds(this.#toIds(symbols, locals));
    return Array.from(ids, (id) => this.#str(id, locals)).join(" ");
  }

  #mergeLongIds(symbols: Int32Array): Int32Array {
    const n = symbols.length;
    if (this.merges.length >= 2 ** 20) {
      const m = this.#mergeShortIds(symbols, n, new Int32Array(n), new Uint8Array(n));
      return symbols.slice(0, m);
    }
    const sym = symbols.slice();
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap();
    const POS = 2 ** 32; // key = rank * POS + position: exact in a double while rank < 2^20
    const push = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const r = this.#rankOf(sym[i], sym[j]);
      if (r >= 0) heap.push(r * POS + i);
    };
    for (let i = 0; i < n - 1; i++) push(i);
    const changed: number[] = [];
    while (heap.size > 0) {
      const rank = Math.floor(heap.peek() / POS);
      const a = this.#leftId[rank], b = this.#rightId[rank], m = this.#mergedId[rank];
      changed.length = 0;
      while (heap.size > 0 && Math.floor(heap.peek() / POS) === rank) {
        const i = heap.pop() % POS;
        const j = next[i];
        if (!alive[i] || j < 0 || sym[i] !== a || sym[j] !== b) continue;
        sym[i] = m;
        alive[j] = 0;
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        changed.push(i);
      }
      for (const i of changed) {
        if (!alive[i]) continue;
        if (prev[i] >= 0) push(prev[i]);
        push(i);
      }
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
    return Int32Array.from(out);
  }
}

/** Words longer than this (code points) use the O(n log n) merge. */
const LONG_WORD = 64;

/** Binary min-heap of numbers. */
class MinHeap {
  readonly #a: number[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): number {
    return this.#a[0];
  }
  push(x: number): void {
    const a = this.#a;
    let i = a.push(x) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.#a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      while (true) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1] < a[l] ? l + 1 : l;
        if (a[c] >= last) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
