/**
 * spaCy 3.8's English tokenizer (`spacy.lang.en.English().tokenizer`), ported rule for rule:
 * the same algorithm as `spacy/tokenizer.pyx` (whitespace split, special cases, the
 * prefix / suffix loop, URL match, infixes, then the special-case matcher pass) driven by
 * spaCy's own rule tables, translated from Python by `gen_tables.py` into `spacy_tables.ts`.
 *
 * GPT-1 runs it on the output of `textStandardize`, so spans are separated by single
 * spaces; a `\n` there becomes its own whitespace token `"\n "` (which BPE maps to `\n</w>`).
 *
 * Same results, better worst cases than Python: the suffix search looks only at the end of a
 * string (every suffix is at most 5 characters long, except a final run of dots), special
 * cases are not looked up for strings longer than the longest one, and the URL pattern's
 * user-info part is written without its quadratic backtracking (see `URL_SRC`). So a 1 MB
 * string without spaces takes well under a second instead of minutes. Spans and their
 * tokens are cached (spaCy caches too); see {@link SpacyTokenizerOptions} for the shortcuts.
 *
 * @example
 * ```ts
 * import { pretokenize } from "./pretokenize.ts";
 * pretokenize("I'm sure he doesn't (can't) know.");
 * // ["I", "'m", "sure", "he", "does", "n't", "(", "ca", "n't", ")", "know", "."]
 * ```
 * @module
 */
import {
  INFIX_SRC,
  PREFIX_SRC,
  SPECIAL_CASES,
  SUFFIX_MAX_WIDTH,
  SUFFIX_SRC,
  URL_SRC,
} from "./spacy_tables.ts";
import { isPySpace } from "./pystr.ts";

const PREFIX_RE = new RegExp(PREFIX_SRC, "u");
const SUFFIX_RE = new RegExp(SUFFIX_SRC, "u");
const SUFFIX_RE_FROM = new RegExp(SUFFIX_SRC, "gu");
const INFIX_RE = new RegExp(INFIX_SRC, "gu");
const URL_RE = new RegExp(URL_SRC, "u");

/** spaCy's `find_prefix`: length of the prefix to split off, 0 when none. */
export function findPrefix(s: string): number {
  const m = PREFIX_RE.exec(s);
  return m ? m[0].length : 0;
}

/**
 * spaCy's `find_suffix`: length of the suffix to split off, 0 when none. The search starts
 * near the end (every suffix but `\.\.+$` is at most SUFFIX_MAX_WIDTH characters; that one
 * starts where the final run of dots starts), so long strings cost O(1), not O(length).
 */
export function findSuffix(s: string): number {
  const n = s.length;
  // 2 code units per character, +1 for a final "\n" that Python's `$` may skip
  let from = n - 2 * SUFFIX_MAX_WIDTH - 2;
  if (from <= 0) {
    const m = SUFFIX_RE.exec(s);
    return m ? m[0].length : 0;
  }
  let end = n;
  if (s.charCodeAt(end - 1) === 0x0a) end--;
  let dots = end;
  while (dots > 0 && s.charCodeAt(dots - 1) === 0x2e) dots--;
  if (dots < from) from = dots;
  SUFFIX_RE_FROM.lastIndex = from;
  const m = SUFFIX_RE_FROM.exec(s);
  return m ? m[0].length : 0;
}

/** spaCy's `find_infix`: `[start, end]` of every infix match, left to right. */
export function findInfixes(s: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  INFIX_RE.lastIndex = 0;
  for (let m = INFIX_RE.exec(s); m !== null; m = INFIX_RE.exec(s)) {
    out.push([m.index, m.index + m[0].length]);
    if (m[0].length === 0) INFIX_RE.lastIndex++; // (the English infixes never match empty)
  }
  return out;
}

/** spaCy's `url_match` (English has no `token_match`). */
export function urlMatch(s: string): boolean {
  // Every alternative of the URL pattern needs a "." (IP address or host.tld): a cheap exact
  // pre-check that skips the regex for ordinary words.
  return s.includes(".") && URL_RE.test(s);
}

/** Spans that spaCy's affix rules leave whole: only ASCII letters, or only digits. */
const PLAIN_WORD_RE = /^(?:[A-Za-z]+|[0-9]+)$/;

/** Tokens of a document: texts, and whether a single space follows each one. */
interface Doc {
  words: string[];
  spaces: boolean[];
}

/** Trie node of the special-case matcher (spaCy's PhraseMatcher on ORTH). */
interface TrieNode {
  next: Map<string, TrieNode>;
  terminal: boolean;
}

/**
 * What is known about one whitespace-free (or all-whitespace) span, independent of context:
 * its tokens (`_tokenize` of it, or its special case), the tokens after the special-case
 * matcher pass run inside the span alone, and the matcher states still open at its end
 * (a pattern that started in the span and could continue into the next one).
 */
interface SpanEntry {
  tokens: readonly string[];
  local: readonly string[];
  openEnds: readonly TrieNode[];
  /** ids of `local` under `idsFor` (see {@link SpacyEnglishTokenizer.encode}) */
  ids?: readonly number[];
  idsFor?: (token: string) => readonly number[];
}

const NO_NODES: readonly TrieNode[] = Object.freeze([]);

const HASH_SEED = 0x811c9dc5 | 0;

/** One step of the span hash (FNV-1a over UTF-16 code units). */
function mix(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}

function hashRange(s: string, start: number, end: number): number {
  let h = HASH_SEED;
  for (let i = start; i < end; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

/**
 * Span -> entry, open addressing. Looked up by (text, start, end, hash) so that a hit needs
 * no substring and no string hashing by the engine.
 */
class SpanTable {
  #hashes: Int32Array;
  #keys: Array<string | undefined>;
  #vals: Array<SpanEntry | undefined>;
  #mask: number;
  size = 0;

  constructor(capacity: number) {
    let cap = 16;
    while (cap < 2 * capacity) cap *= 2;
    this.#mask = cap - 1;
    this.#hashes = new Int32Array(cap);
    this.#keys = new Array(cap).fill(undefined);
    this.#vals = new Array(cap).fill(undefined);
  }

  get(text: string, start: number, end: number, h: number): SpanEntry | undefined {
    const len = end - start;
    for (let i = h & this.#mask;; i = (i + 1) & this.#mask) {
      const k = this.#keys[i];
      if (k === undefined) return undefined;
      if (this.#hashes[i] === h && k.length === len && text.startsWith(k, start)) {
        return this.#vals[i];
      }
    }
  }

  set(key: string, h: number, entry: SpanEntry): void {
    let i = h & this.#mask;
    while (this.#keys[i] !== undefined && this.#keys[i] !== key) i = (i + 1) & this.#mask;
    if (this.#keys[i] === undefined) this.size++;
    this.#hashes[i] = h;
    this.#keys[i] = key;
    this.#vals[i] = entry;
  }

  clear(): void {
    this.#keys.fill(undefined);
    this.#vals.fill(undefined);
    this.size = 0;
  }
}

/** Options of {@link SpacyEnglishTokenizer}. */
export interface SpacyTokenizerOptions {
  /** `[text, tokens]` pairs; default: spaCy's English tokenizer exceptions. */
  specialCases?: ReadonlyArray<readonly [string, readonly string[]]>;
  /** Span cache size (the cache is emptied when full). Default 100,000. */
  maxCache?: number;
  /**
   * Exact shortcuts (default true): spans of only ASCII letters or only digits skip the affix
   * rules (no prefix, suffix, infix or URL rule can split them), and the special-case matcher
   * pass runs per span unless a pattern crosses spans. false runs spaCy's algorithm as written
   * (tests compare the two).
   */
  shortcuts?: boolean;
}

/**
 * The spaCy English tokenizer. Use the shared instance through {@link pretokenize}; a class
 * so that tests can build one with other special cases, and so that each vocabulary can keep
 * its ids in its own span cache ({@link encode}).
 *
 * Speed without changing results: spans (the text between whitespace) are cached with their
 * tokens; the special-case matcher pass, which spaCy runs over the whole document, is run per
 * span and cached, and the document-level pass is only run when a pattern crosses a span
 * boundary (then exactly as spaCy does, on all tokens).
 */
export class SpacyEnglishTokenizer {
  /** text -> token texts (spaCy's `rules` / `_specials`). */
  readonly specials: Map<string, readonly string[]>;
  /** Length of the longest special case: longer strings are never looked up (O(1) for them). */
  readonly #maxSpecial: number;
  readonly #root: TrieNode = { next: new Map(), terminal: false };
  /** span -> entry: the special cases (permanent) and tokenized spans (cleared when full) */
  readonly #cache: SpanTable;
  readonly #maxCache: number;
  readonly #fastPath: boolean;

  /** See {@link SpacyTokenizerOptions}. */
  constructor(options: SpacyTokenizerOptions = {}) {
    const { specialCases = SPECIAL_CASES, maxCache = 100_000, shortcuts = true } = options;
    this.#maxCache = Math.max(maxCache, 2 * specialCases.length);
    this.#cache = new SpanTable(this.#maxCache);
    this.#fastPath = shortcuts;
    this.specials = new Map();
    for (const [text, tokens] of specialCases) {
      if (tokens.join("") !== text) {
        throw new Error(`special case ${JSON.stringify(text)}: tokens do not spell the text`);
      }
      this.specials.set(text, tokens);
    }
    this.#maxSpecial = Math.max(0, ...[...this.specials.keys()].map((k) => k.length));
    // spaCy (faster_heuristics=True) puts into its matcher only the special cases that the
    // affix rules would split, or that contain a space; the pattern is their tokenization
    // without special cases.
    for (const text of [...this.specials.keys()].sort()) {
      if (
        findPrefix(text) || findInfixes(text).length > 0 || findSuffix(text) || text.includes(" ")
      ) {
        let node = this.#root;
        for (const orth of this.#tokenizeWithoutSpecials(text).words) {
          let nxt = node.next.get(orth);
          if (!nxt) {
            nxt = { next: new Map(), terminal: false };
            node.next.set(orth, nxt);
          }
          node = nxt;
        }
        node.terminal = true;
      }
    }
    this.#resetCache();
  }

  #special(s: string): readonly string[] | undefined {
    return s.length <= this.#maxSpecial ? this.specials.get(s) : undefined;
  }

  /** Empties the span cache and puts the special cases back in. */
  #resetCache(): void {
    this.#cache.clear();
    for (const [text, tokens] of this.specials) {
      this.#cache.set(text, hashRange(text, 0, text.length), this.#newEntry(tokens));
    }
  }

  #newEntry(tokens: readonly string[]): SpanEntry {
    const first = this.#root.next;
    if (tokens.length === 1) {
      const node = first.get(tokens[0]);
      if (!node) return { tokens, local: tokens, openEnds: NO_NODES };
    }
    // the matcher pass inside the span (its tokens are adjacent: no spaces between them)
    const local = this.#applySpecialCases({ words: tokens as string[], spaces: [] });
    // matcher states that reach the end of the span and may go on
    let openEnds: TrieNode[] | undefined;
    for (let j = 0; j < tokens.length; j++) {
      let node = first.get(tokens[j]);
      for (let k = j + 1; node && k < tokens.length; k++) node = node.next.get(tokens[k]);
      if (node && node.next.size > 0) (openEnds ??= []).push(node);
    }
    return { tokens, local, openEnds: openEnds ?? NO_NODES };
  }

  /**
   * The entry of the span `text[start, end)` (`h` = its hash): the special case or the
   * cached tokenization (spaCy's `_try_specials_and_cache`), else `_tokenize` of it, cached.
   */
  #entry(text: string, start: number, end: number, h: number): SpanEntry {
    const hit = this.#cache.get(text, start, end, h);
    if (hit) return hit;
    const span = text.slice(start, end);
    let tokens: string[];
    if (this.#fastPath && PLAIN_WORD_RE.test(span)) {
      // "US$", "C$", "A$" are the only prefixes that start with a letter (they need "$");
      // every suffix, infix and URL needs a character outside [A-Za-z] or [0-9]
      tokens = [span];
    } else {
      tokens = [];
      this.#tokenize(span, true, tokens);
    }
    if (this.#cache.size >= this.#maxCache) this.#resetCache();
    const entry = this.#newEntry(tokens);
    this.#cache.set(span, h, entry);
    return entry;
  }

  /**
   * `_tokenize_affixes`: the spans between whitespace (a single ' ' after a span is absorbed
   * into it: `spaceAfter`), each with its entry.
   */
  #spans(text: string): { entries: SpanEntry[]; spaceAfter: boolean[] } {
    const entries: SpanEntry[] = [];
    const spaceAfter: boolean[] = [];
    const n = text.length;
    if (n === 0) return { entries, spaceAfter };
    let start = 0;
    let inWs = isPySpace(text.charCodeAt(0));
    let h = HASH_SEED;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      // (a cheap test first: most characters are printable ASCII and not spaces)
      const ws = c > 0x20 && c < 0x7f ? false : isPySpace(c);
      if (ws !== inWs) {
        if (start < i) {
          entries.push(this.#entry(text, start, i, h));
          spaceAfter.push(false);
        }
        inWs = !inWs;
        h = HASH_SEED;
        if (c === 0x20) {
          spaceAfter[spaceAfter.length - 1] = true;
          start = i + 1;
          continue; // the absorbed space belongs to no span
        }
        start = i;
      }
      h = mix(h, c);
    }
    if (start < n) {
      entries.push(this.#entry(text, start, n, h));
      spaceAfter.push(false);
    }
    return { entries, spaceAfter };
  }

  /** Does some special-case pattern match tokens of two or more spans? */
  #crossesSpans(entries: readonly SpanEntry[]): boolean {
    if (!this.#fastPath) return true; // (always the document-level pass)
    for (let k = 0; k < entries.length - 1; k++) {
      for (const open of entries[k].openEnds) {
        let node: TrieNode | undefined = open;
        for (let m = k + 1; node && m < entries.length; m++) {
          const t = entries[m].tokens;
          for (let j = 0; node && j < t.length; j++) {
            node = node.next.get(t[j]);
            if (node?.terminal) return true;
          }
        }
      }
    }
    return false;
  }

  /** All tokens of the spans, for the document-level matcher pass. */
  #flatDoc(entries: readonly SpanEntry[], spaceAfter: readonly boolean[]): Doc {
    const words: string[] = [];
    const spaces: boolean[] = [];
    for (let k = 0; k < entries.length; k++) {
      const t = entries[k].tokens;
      for (let j = 0; j < t.length; j++) {
        words.push(t[j]);
        spaces.push(j === t.length - 1 && spaceAfter[k]);
      }
    }
    return { words, spaces };
  }

  /** Tokenizes `text` exactly as spaCy's `Tokenizer.__call__` and returns the token texts. */
  tokenize(text: string): string[] {
    const { entries, spaceAfter } = this.#spans(text);
    if (this.#crossesSpans(entries)) {
      return this.#applySpecialCases(this.#flatDoc(entries, spaceAfter));
    }
    const out: string[] = [];
    for (const e of entries) for (const t of e.local) out.push(t);
    return out;
  }

  /**
   * Tokenizes `text` as {@link tokenize} does and appends the ids of the tokens to `out`,
   * `idsOf(token)` giving each token's ids. The ids of a span are cached with the span (for
   * this `idsOf`), so a warm cache costs one table lookup per span.
   */
  encode(text: string, idsOf: (token: string) => readonly number[], out: number[]): void {
    const { entries, spaceAfter } = this.#spans(text);
    if (this.#crossesSpans(entries)) {
      for (const w of this.#applySpecialCases(this.#flatDoc(entries, spaceAfter))) {
        for (const id of idsOf(w)) out.push(id);
      }
      return;
    }
    for (const e of entries) {
      let ids = e.ids;
      if (ids === undefined || e.idsFor !== idsOf) {
        const acc: number[] = [];
        for (const t of e.local) for (const id of idsOf(t)) acc.push(id);
        e.ids = ids = acc;
        e.idsFor = idsOf;
      }
      for (let j = 0; j < ids.length; j++) out.push(ids[j]);
    }
  }

  /** `_tokenize_affixes(text, with_special_cases=False)` (builds the matcher patterns). */
  #tokenizeWithoutSpecials(s: string): Doc {
    const doc: Doc = { words: [], spaces: [] };
    const n = s.length;
    if (n === 0) return doc;
    let start = 0;
    let inWs = isPySpace(s.charCodeAt(0));
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (isPySpace(c) !== inWs) {
        if (start < i) this.#tokenize(s.slice(start, i), false, doc.words);
        while (doc.spaces.length < doc.words.length) doc.spaces.push(false);
        if (c === 0x20) {
          doc.spaces[doc.spaces.length - 1] = true;
          start = i + 1;
        } else {
          start = i;
        }
        inWs = !inWs;
      }
    }
    if (start < n) this.#tokenize(s.slice(start), false, doc.words);
    while (doc.spaces.length < doc.words.length) doc.spaces.push(false);
    return doc;
  }

  /** `_split_affixes` then `_attach_tokens`, appending the tokens of `span` to `out`. */
  #tokenize(span: string, withSpecials: boolean, out: string[]): void {
    const prefixes: string[] = [];
    const suffixes: string[] = [];
    let s = span;
    let lastSize = 0;
    while (s.length > 0 && s.length !== lastSize) {
      if (withSpecials && this.#special(s)) break;
      lastSize = s.length;
      const preLen = findPrefix(s);
      let prefix = "";
      let minusPre = "";
      if (preLen !== 0) {
        prefix = s.slice(0, preLen);
        minusPre = s.slice(preLen);
        if (minusPre && withSpecials && this.#special(minusPre)) {
          s = minusPre;
          prefixes.push(prefix);
          break;
        }
      }
      const sufLen = findSuffix(s.slice(preLen));
      let suffix = "";
      let minusSuf = "";
      if (sufLen !== 0) {
        suffix = s.slice(s.length - sufLen);
        minusSuf = s.slice(0, s.length - sufLen);
        if (minusSuf && withSpecials && this.#special(minusSuf)) {
          s = minusSuf;
          suffixes.push(suffix);
          break;
        }
      }
      if (preLen && sufLen && preLen + sufLen <= s.length) {
        s = s.slice(preLen, s.length - sufLen);
        prefixes.push(prefix);
        suffixes.push(suffix);
      } else if (preLen) {
        s = minusPre;
        prefixes.push(prefix);
      } else if (sufLen) {
        s = minusSuf;
        suffixes.push(suffix);
      }
    }
    for (const p of prefixes) out.push(p);
    if (s.length > 0) this.#attachCore(s, withSpecials, out);
    for (let i = suffixes.length - 1; i >= 0; i--) out.push(suffixes[i]);
  }

  /** The middle of `_attach_tokens`: special case, URL, or infix split. */
  #attachCore(s: string, withSpecials: boolean, out: string[]): void {
    const special = withSpecials ? this.#special(s) : undefined;
    if (special) {
      for (const t of special) out.push(t);
      return;
    }
    if (urlMatch(s)) {
      out.push(s);
      return;
    }
    const matches = findInfixes(s);
    if (matches.length === 0) {
      out.push(s);
      return;
    }
    let start = 0;
    for (const [infixStart, infixEnd] of matches) {
      if (infixStart === 0) continue; // an infix at the very start is not split off
      if (infixStart !== start) out.push(s.slice(start, infixStart));
      if (infixStart !== infixEnd) out.push(s.slice(infixStart, infixEnd));
      start = infixEnd;
    }
    if (start < s.length) out.push(s.slice(start));
  }

  /**
   * `_apply_special_cases`: the PhraseMatcher pass that re-joins split special cases.
   * Returns `doc.words` itself when nothing is replaced. (`spaces` may be shorter than
   * `words`: missing entries mean no space.)
   */
  #applySpecialCases(doc: Doc): string[] {
    const { words, spaces } = doc;
    const first = this.#root.next;
    // find_matches: every pattern that matches at every start
    let matches: Array<[number, number]> | undefined;
    for (let i = 0; i < words.length; i++) {
      let node = first.get(words[i]);
      if (!node) continue;
      let j = i + 1;
      while (true) {
        if (node.terminal) (matches ??= []).push([i, j]);
        if (j >= words.length) break;
        const nxt: TrieNode | undefined = node.next.get(words[j]);
        if (!nxt) break;
        node = nxt;
        j++;
      }
    }
    if (!matches) return words;
    // _filter_special_spans: longest first, then leftmost; a span is kept when neither its
    // first nor its last token was seen (every visited span marks its tokens as seen)
    matches.sort((a, b) => (b[1] - b[0]) - (a[1] - a[0]) || a[0] - b[0]);
    const seen = new Set<number>();
    const kept = new Map<number, number>();
    for (const [s, e] of matches) {
      if (!seen.has(s) && !seen.has(e - 1)) kept.set(s, e);
      for (let k = s; k < e; k++) seen.add(k);
    }
    // _retokenize_special_spans: replace a kept span when its text is a special case
    let replaced = false;
    const out: string[] = [];
    for (let i = 0; i < words.length;) {
      const e = kept.get(i);
      if (e === undefined) {
        out.push(words[i++]);
        continue;
      }
      let text = "";
      for (let k = i; k < e; k++) text += words[k] + (k < e - 1 && spaces[k] ? " " : "");
      const special = this.#special(text);
      if (special) {
        for (const t of special) out.push(t);
        replaced = true;
      } else {
        for (let k = i; k < e; k++) out.push(words[k]);
      }
      i = e;
    }
    return replaced ? out : words;
  }
}

let shared: SpacyEnglishTokenizer | undefined;

/**
 * Splits text into spaCy English tokens (no lowercasing, no BPE). Whitespace other than a
 * single separating space becomes tokens of its own, as in spaCy.
 *
 * @example
 * ```ts
 * pretokenize("U.S. e-mail: ann@b.com, :)");
 * // ["U.S.", "e", "-", "mail", ":", "ann@b.com", ",", ":)"]
 * ```
 */
export function pretokenize(text: string): string[] {
  shared ??= new SpacyEnglishTokenizer();
  return shared.tokenize(text);
}
