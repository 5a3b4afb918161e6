/**
 * The GPT-1 tokenizer: the released pipeline `ftfy.fix_text` -> `text_standardize` -> spaCy
 * English tokens -> `lower()` -> BPE with the `</w>` end-of-word marker -> ids (unknown pieces
 * -> `<unk>` = 0), as in `finetune-transformer-lm/text_utils.py` (the merging itself is in
 * `merge.ts`, the vocabulary file formats in `formats.ts`).
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
import { textStandardize } from "./standardize.ts";
import { parseEncoderJson, parseMerges, type VocabNames } from "./formats.ts";
import { Bpe, END_OF_WORD } from "./merge.ts";

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
