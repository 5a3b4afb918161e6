/**
 * The GPT-1 tokenizer: the released pipeline `ftfy.fix_text` -> `text_standardize` -> spaCy
 * English tokens -> `lower()` -> BPE with the `</w>` end-of-word marker -> ids (unknown pieces
 * -> `<unk>` = 0), as in `finetune-transformer-lm/text_utils.py`, plus the vocabulary files.
 *
 * @example
 * ```ts
 * import { Gpt1Tokenizer } from "./bpe.ts";
 * const tok = await Gpt1Tokenizer.fromFiles(
 *   "../shared/gpt1-vocab/encoder_bpe_40000.json",
 *   "../shared/gpt1-vocab/vocab_40000.bpe",
 * );
 * tok.encode("I'm sure he is"); // [249, 719, 881, 487, 544]
 * tok.decode([481, 4735, 544]); // "the president is"
 * const { start, delimiter, classify } = tok.withSpecialTokens(); // 40478, 40479, 40480
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { DataError } from "../errors.ts";
import { fixText } from "./fix_text.ts";
import { pretokenize, SpacyEnglishTokenizer } from "./pretokenize.ts";
import { isPySpace, pyLower, pyStrip } from "./pystr.ts";
import { PY_SPACE_CLASS } from "./spacy_tables.ts";
import { textStandardize } from "./standardize.ts";

/** The end-of-word marker appended to the last symbol of every word. */
export const END_OF_WORD = "</w>";

/** Names of the fine-tuning special tokens, in id order after the vocabulary. */
export const SPECIAL_TOKEN_NAMES = ["_start_", "_delimiter_", "_classify_"] as const;

/** Ids of the special tokens appended after a vocabulary of size V (V, V+1, V+2). */
export interface SpecialTokens {
  /** `_start_` = V. */
  start: number;
  /** `_delimiter_` = V + 1. */
  delimiter: number;
  /** `_classify_` = V + 2. */
  classify: number;
  /** V + 3: the size of the embedding table that holds the special tokens. */
  vocabSizeWithSpecials: number;
}

/** Display names of the vocabulary files, used in error messages. */
export interface VocabNames {
  /** Name of the encoder JSON (default `encoder.json`). */
  encoder?: string;
  /** Name of the merges file (default `merges.bpe`). */
  merges?: string;
}

/**
 * The words BPE sees: `pretokenize(textStandardize(fixText(text)))`, each lowercased with
 * Python's `str.lower()`.
 *
 * @example
 * ```ts
 * gpt1Words("Don't panic!\nOK"); // ["do", "n't", "panic", "!", "\n ", "ok"]
 * ```
 */
export function gpt1Words(text: string): string[] {
  return pretokenize(textStandardize(fixText(text))).map(pyLower);
}

/**
 * The text that `decode(encode(text))` gives back when no piece is unknown: the words of
 * {@link gpt1Words} joined by spaces (a whitespace token reads as its first character), stripped.
 *
 * @example
 * ```ts
 * normalizeText("I'm OK!\n\nBye"); // "i 'm ok ! \n bye"
 * ```
 */
export function normalizeText(text: string): string {
  let s = "";
  for (const w of gpt1Words(text)) s += (isPySpace(w.charCodeAt(0)) ? w[0] : w) + " ";
  return pyStrip(s);
}

// ---------------------------------------------------------------------------------------
// file formats

function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < pos; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/**
 * Parses an encoder JSON (`{"piece": id, ...}`) into pieces by id. Ids must be the integers
 * 0..n-1, each once; a malformed file throws {@link DataError} naming the file and line.
 */
export function parseEncoderJson(text: string, file = "encoder.json"): string[] {
  const fail = (pos: number, msg: string, fix: string): never => {
    throw new DataError(msg, { file, line: lineAt(text, pos), fix });
  };
  const fixJson = "the encoder must be one JSON object mapping each piece to its integer id";
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    if (text[i] !== '"') fail(i, `expected a string key, found ${describeAt(text, i)}`, fixJson);
    const start = i++;
    let out = "";
    let run = i;
    while (true) {
      if (i >= n) fail(start, "unterminated string", fixJson);
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail(i, "control character inside a string", "escape it as \\u00XX");
      if (c === 0x5c) {
        out += text.slice(run, i);
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          fail(i, `invalid escape ${JSON.stringify(text.slice(i, i + 2))}`, fixJson);
        }
        run = i;
        continue;
      }
      i++;
    }
    out += text.slice(run, i);
    i++;
    return out;
  };
  const entries: Array<[string, number, number]> = [];
  ws();
  if (text[i] !== "{") fail(i, `expected "{", found ${describeAt(text, i)}`, fixJson);
  i++;
  ws();
  if (text[i] === "}") i++;
  else {
    while (true) {
      ws();
      const pos = i;
      const key = str();
      ws();
      if (text[i] !== ":") {
        fail(i, `expected ":" after a key, found ${describeAt(text, i)}`, fixJson);
      }
      i++;
      ws();
      const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 40));
      if (!m) fail(i, `expected a number for ${JSON.stringify(key)}`, fixJson);
      const id = Number(m![0]);
      if (!Number.isSafeInteger(id) || id < 0 || !/^[0-9]+$/.test(m![0])) {
        fail(i, `id of ${JSON.stringify(key)} is ${m![0]}, not a non-negative integer`, fixJson);
      }
      i += m![0].length;
      entries.push([key, id, pos]);
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        break;
      }
      fail(i, `expected "," or "}", found ${describeAt(text, i)}`, fixJson);
    }
  }
  ws();
  if (i < n) fail(i, `unexpected ${describeAt(text, i)} after the object`, fixJson);
  const pieces: string[] = new Array(entries.length);
  const seen = new Set<string>();
  for (const [key, id, pos] of entries) {
    if (seen.has(key)) fail(pos, `piece ${JSON.stringify(key)} appears twice`, "remove one");
    seen.add(key);
    if (id >= entries.length) {
      fail(
        pos,
        `id ${id} of ${JSON.stringify(key)} is outside 0..${entries.length - 1}`,
        "ids must be 0..n-1 without gaps",
      );
    }
    if (pieces[id] !== undefined) {
      fail(
        pos,
        `id ${id} is used by ${JSON.stringify(pieces[id])} and ${JSON.stringify(key)}`,
        "give every piece its own id",
      );
    }
    pieces[id] = key;
  }
  return pieces;
}

function describeAt(text: string, i: number): string {
  return i >= text.length ? "the end of the file" : JSON.stringify(text.slice(i, i + 12));
}

const PY_SPACE_RUN = new RegExp(PY_SPACE_CLASS + "+", "u");

/** Python's `line.split()` (splits on runs of Python whitespace, drops empty parts). */
function pySplit(line: string): string[] {
  return line.split(PY_SPACE_RUN).filter((p) => p.length > 0);
}

/**
 * Parses a merges file: a first line `#version: ...`, then one merge `a b` per line (rank =
 * line index), and a final newline, read as the released code does
 * (`read().split('\n')[1:-1]`, each line `.split()`). A malformed file throws
 * {@link DataError} naming the file and line.
 */
export function parseMerges(text: string, file = "merges.bpe"): Array<[string, string]> {
  const lines = text.split("\n");
  if (!lines[0].startsWith("#")) {
    throw new DataError(`first line is ${JSON.stringify(lines[0].slice(0, 40))}, not a header`, {
      file,
      line: 1,
      fix: "start the file with the line '#version: 0.2' (the released loader skips line 1)",
    });
  }
  if (lines.length > 1 && lines[lines.length - 1] !== "") {
    throw new DataError("the last line does not end with a newline", {
      file,
      line: lines.length,
      fix: "add a final newline (the released loader would drop this merge)",
    });
  }
  const merges: Array<[string, string]> = [];
  for (let k = 1; k < lines.length - 1; k++) {
    const parts = pySplit(lines[k]);
    if (parts.length !== 2) {
      throw new DataError(
        `expected two symbols separated by a space, found ${parts.length}: ${
          JSON.stringify(lines[k].slice(0, 60))
        }`,
        { file, line: k + 1, fix: "each line after the header must be 'left right'" },
      );
    }
    merges.push([parts[0], parts[1]]);
  }
  return merges;
}

/** Serializes pieces (by id) as an encoder JSON object, one entry per line, in id order. */
export function formatEncoderJson(pieces: readonly string[]): string {
  return "{\n" + pieces.map((p, id) => `  ${JSON.stringify(p)}: ${id}`).join(",\n") + "\n}\n";
}

/** Serializes merges in the released format (`#version: 0.2` header, trailing newline). */
export function formatMerges(merges: ReadonlyArray<readonly [string, string]>): string {
  merges.forEach(([a, b], rank) => {
    if (!isSymbol(a) || !isSymbol(b)) {
      throw new DataError(`merge ${rank} ${JSON.stringify([a, b])}: empty or holds whitespace`, {
        fix: "merge symbols must be non-empty and free of whitespace in the released format",
      });
    }
  });
  return "#version: 0.2\n" + merges.map(([a, b]) => `${a} ${b}\n`).join("");
}

// ---------------------------------------------------------------------------------------
// BPE

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

// ---------------------------------------------------------------------------------------
// the tokenizer

/**
 * The GPT-1 tokenizer over one vocabulary (the released one or one from {@link BpeTrainer}).
 *
 * @example
 * ```ts
 * const tok = Gpt1Tokenizer.fromStrings(encoderJsonText, mergesText);
 * tok.tokenize("lower"); // ["low", "er</w>"]
 * ```
 */
export class Gpt1Tokenizer {
  /** Pieces by id. */
  readonly pieces: readonly string[];
  /** Number of vocabulary entries (40,478 for the released one); special tokens follow it. */
  readonly vocabSize: number;
  /** The BPE merges and cache. */
  readonly bpe: Bpe;
  /** Id of unknown pieces: that of `<unk>` if the vocabulary has one (0 when released), else 0. */
  readonly unkId: number;
  readonly #encoder: Map<string, number>;
  readonly #idCache = new Map<string, number[]>();
  /** Bpe symbol id -> vocabulary id (unkId when the symbol is not a piece). */
  readonly #symToVocab: Int32Array;
  /** Own spaCy tokenizer: its span cache also caches this vocabulary's ids. */
  readonly #spacy = new SpacyEnglishTokenizer();
  /** Ids of one spaCy token (lowercased, BPE, looked up), cached by the token. */
  readonly #tokenIds = (token: string): number[] => {
    let ids = this.#idCache.get(token);
    if (ids === undefined) {
      ids = this.#wordIds(pyLower(token));
      if (this.#idCache.size >= 500_000) this.#idCache.clear();
      this.#idCache.set(token, ids);
    }
    return ids;
  };
  #hash: string | undefined;

  /** Builds a tokenizer from pieces by id and merges in rank order. */
  constructor(pieces: readonly string[], merges: ReadonlyArray<readonly [string, string]>) {
    this.pieces = pieces;
    this.vocabSize = pieces.length;
    this.#encoder = new Map(pieces.map((p, id) => [p, id]));
    this.unkId = this.#encoder.get("<unk>") ?? 0;
    this.bpe = new Bpe(merges);
    this.#symToVocab = Int32Array.from(
      { length: this.bpe.symbolCount },
      (_, i) => this.#encoder.get(this.bpe.symbol(i)) ?? this.unkId,
    );
  }

  /**
   * Loads the encoder JSON and the merges file from text (`names` label error messages).
   *
   * @example
   * ```ts
   * Gpt1Tokenizer.fromStrings('{"a": 0, "a</w>": 1}', "#version: 0.2\n");
   * ```
   */
  static fromStrings(
    encoderJsonText: string,
    mergesText: string,
    names: VocabNames = {},
  ): Gpt1Tokenizer {
    const pieces = parseEncoderJson(encoderJsonText, names.encoder ?? "encoder.json");
    const merges = parseMerges(mergesText, names.merges ?? "merges.bpe");
    return new Gpt1Tokenizer(pieces, merges);
  }

  /**
   * Loads the released files (`encoder_bpe_40000.json`, `vocab_40000.bpe`) or files written
   * by {@link BpeTrainer}. Missing or malformed files throw {@link DataError}.
   */
  static async fromFiles(encoderJsonPath: string, mergesPath: string): Promise<Gpt1Tokenizer> {
    const read = async (path: string, what: string) => {
      try {
        return await Deno.readTextFile(path);
      } catch (e) {
        throw new DataError(`cannot read the ${what}: ${(e as Error).message}`, {
          file: path,
          fix: "pass the path of an existing file (see ../shared/gpt1-vocab/README.md)",
        });
      }
    };
    const [enc, merges] = await Promise.all([
      read(encoderJsonPath, "encoder JSON"),
      read(mergesPath, "merges file"),
    ]);
    return Gpt1Tokenizer.fromStrings(enc, merges, { encoder: encoderJsonPath, merges: mergesPath });
  }

  /**
   * sha256 (hex) of the vocabulary content: `JSON.stringify({pieces, merges})`, independent of
   * file formatting. Token caches and checkpoints record it.
   */
  get hash(): string {
    this.#hash ??= createHash("sha256")
      .update(JSON.stringify({ pieces: this.pieces, merges: this.bpe.merges }))
      .digest("hex");
    return this.#hash;
  }

  /** The special token ids `_start_`, `_delimiter_`, `_classify_` = V, V+1, V+2 (V = vocabSize). */
  withSpecialTokens(): SpecialTokens {
    const v = this.vocabSize;
    return { start: v, delimiter: v + 1, classify: v + 2, vocabSizeWithSpecials: v + 3 };
  }

  /** `vocabSize + 3`: the embedding rows needed with the special tokens. */
  get vocabSizeWithSpecials(): number {
    return this.vocabSize + 3;
  }

  /** The id of a piece, or {@link unkId} when unknown. */
  tokenToId(piece: string): number {
    return this.#encoder.get(piece) ?? this.unkId;
  }

  /** The piece of an id; special token ids give their names. Throws RangeError otherwise. */
  idToToken(id: number): string {
    if (Number.isInteger(id) && id >= 0 && id < this.vocabSize) return this.pieces[id];
    const k = id - this.vocabSize;
    if (k === 0 || k === 1 || k === 2) return SPECIAL_TOKEN_NAMES[k];
    throw new RangeError(`token id ${id} is outside 0..${this.vocabSize + 2}`);
  }

  /** BPE pieces of `text` (e.g. `["trans", "form", "ers</w>"]`). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const w of gpt1Words(text)) {
      if (w.length > 0) { for (const p of this.bpe.encodeWord(w).split(" ")) out.push(p); }
    }
    return out;
  }

  /** Token ids of `text`, exactly as the released `TextEncoder.encode` (unknown: {@link unkId}). */
  encode(text: string): number[] {
    const out: number[] = [];
    this.#spacy.encode(textStandardize(fixText(text)), this.#tokenIds, out);
    return out;
  }

  /** Ids of one lowercased word: the released `bpe(w).split(' ')` looked up in the encoder. */
  #wordIds(w: string): number[] {
    if (w.includes(" ")) {
      // whitespace tokens: the released code joins symbols with spaces, then splits on them
      return this.bpe.encodeWord(w).split(" ").map((p) => this.#encoder.get(p) ?? this.unkId);
    }
    const table = this.#symToVocab;
    const locals: string[] = [];
    const sym = this.bpe.mergeIds(w, locals);
    const ids = new Array<number>(sym.length);
    for (let i = 0; i < sym.length; i++) {
      const s = sym[i];
      ids[i] = s >= 0 ? table[s] : this.#encoder.get(locals[-s - 1]) ?? this.unkId;
    }
    return ids;
  }

  /**
   * Text of ids: pieces concatenated, `</w>` read as a space, then stripped (as HF's
   * `convert_tokens_to_string`). Special token ids print their names. The text is the
   * normalized one (lowercase, spaCy tokens separated by spaces).
   */
  decode(ids: readonly number[]): string {
    let s = "";
    for (const id of ids) {
      const p = this.idToToken(id);
      s += id >= this.vocabSize ? p + " " : p;
    }
    return pyStrip(s.replaceAll(END_OF_WORD, " "));
  }
}

function isSymbol(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isPySpace(s.charCodeAt(i))) return false;
  return s.length > 0;
}
