/**
 * The four input transformations of the paper's Figure 1 (right), as pure functions on token
 * ids: no tokenizer, no tensors. Texts are encoded before (`tokenizer/`), the special tokens
 * `_start_`, `_delimiter_`, `_classify_` are passed in as ids (V, V+1, V+2 after a vocabulary
 * of V tokens), and every sequence is cut to fit `nCtx` tokens.
 *
 * Token diagrams (`[s]` start, `[$]` delimiter, `[e]` classify/extract):
 * ```text
 * classification   [s] text [e]
 * entailment       [s] premise [$] hypothesis [e]
 * similarity       [s] a [$] b [e]   and   [s] b [$] a [e]      (two sequences, heads summed)
 * multiple choice  [s] context question [$] answer_k [e]       (one sequence per candidate k)
 * ```
 *
 * Truncation rules (all keep `length <= nCtx`):
 * - classification: the text keeps its first `nCtx - 2` tokens;
 * - entailment / similarity: "longest first": while `|a| + |b| > nCtx - 3`, drop the last token
 *   of the longer part (of `b` on a tie, as BERT's `_truncate_seq_pair`); both similarity
 *   orderings use the same cut parts;
 * - multiple choice: each answer keeps its first `maxAnswer` tokens and the question its first
 *   `maxQuestion`; the context is capped at `maxContext` and then at whatever room the longest
 *   answer leaves, cut from the LEFT by default (RACE: the end of the document, next to the
 *   question, survives) or from the right (Story Cloze, as the original `story[:max_len]`).
 *   The context is cut the same way for every candidate. {@link storyClozeLimits} gives the
 *   original code's rule `max_len = n_ctx // 2 - 2` for the story and each ending.
 *
 * Batching pads with id 0 on the right (as the original) and returns a mask and the position
 * of `_classify_` in each sequence.
 *
 * @example
 * ```ts
 * import { entailmentInput, padBatch, specialsFor } from "./transforms.ts";
 * const sp = specialsFor(40478); // { start: 40478, delimiter: 40479, classify: 40480 }
 * const x = entailmentInput([1, 2, 3], [4, 5], sp, 512); // [40478, 1, 2, 3, 40479, 4, 5, 40480]
 * const b = padBatch([x, [40478, 7, 40480]], sp.classify);
 * b.clfPos; // [7, 2]
 * ```
 * @module
 */
import { ConfigError } from "./errors.ts";

/** Ids of the three special tokens. */
export interface Specials {
  /** `_start_`, written `[s]`. */
  start: number;
  /** `_delimiter_`, written `[$]`. */
  delimiter: number;
  /** `_classify_` (the paper's "Extract"), written `[e]`; its final hidden state feeds the head. */
  classify: number;
}

/**
 * The special-token ids appended after a vocabulary of `vocabSize` tokens, as the original
 * code does: `_start_` = V, `_delimiter_` = V + 1, `_classify_` = V + 2 (40478..40480 for GPT-1).
 */
export function specialsFor(vocabSize: number): Specials {
  return { start: vocabSize, delimiter: vocabSize + 1, classify: vocabSize + 2 };
}

function checkCtx(nCtx: number, need: number, what: string): void {
  if (!Number.isInteger(nCtx) || nCtx < need) {
    throw new ConfigError(`nCtx = ${nCtx} is too small for ${what} (needs >= ${need})`, {
      fix: "use a larger context length",
    });
  }
}

/**
 * Cuts a pair "longest first" to at most `budget` tokens in total, like BERT's
 * `_truncate_seq_pair`: while too long, drop the last token of the longer part (of `b` on a
 * tie). Returns new arrays.
 *
 * @example
 * ```ts
 * truncatePair([1, 2, 3, 4, 5], [6, 7], 4); // [[1, 2], [6, 7]]
 * truncatePair([1, 2, 3, 4], [5, 6, 7, 8], 5); // [[1, 2, 3], [5, 6]]
 * ```
 */
export function truncatePair(a: number[], b: number[], budget: number): [number[], number[]] {
  let la = a.length, lb = b.length;
  if (la + lb > budget) {
    // closed form of the token-by-token loop
    const half = Math.floor(budget / 2);
    if (la <= half) lb = budget - la; // only b is cut
    else if (lb <= half) la = budget - lb; // only a is cut
    else {
      // both cut; the tie rule leaves the odd token to a
      lb = half;
      la = budget - half;
    }
  }
  return [a.slice(0, la), b.slice(0, lb)];
}

/**
 * Classification input `[s] text [e]`; the text keeps its first `nCtx - 2` tokens.
 *
 * ```text
 * [s] t1 t2 ... tn [e]
 * ```
 */
export function classificationInput(text: number[], sp: Specials, nCtx: number): number[] {
  checkCtx(nCtx, 2, "classification");
  return [sp.start, ...text.slice(0, nCtx - 2), sp.classify];
}

/**
 * Entailment input `[s] premise [$] hypothesis [e]`, pair cut longest first to `nCtx - 3`.
 *
 * ```text
 * [s] p1 ... pm [$] h1 ... hn [e]
 * ```
 */
export function entailmentInput(
  premise: number[],
  hypothesis: number[],
  sp: Specials,
  nCtx: number,
): number[] {
  checkCtx(nCtx, 3, "entailment");
  const [p, h] = truncatePair(premise, hypothesis, nCtx - 3);
  return [sp.start, ...p, sp.delimiter, ...h, sp.classify];
}

/**
 * Similarity inputs: both orderings, `[s] a [$] b [e]` and `[s] b [$] a [e]`, from the same
 * longest-first cut to `nCtx - 3`. The model runs both and adds the two `[e]` states.
 *
 * ```text
 * [s] a1 ... am [$] b1 ... bn [e]
 * [s] b1 ... bn [$] a1 ... am [e]
 * ```
 */
export function similarityInputs(
  a: number[],
  b: number[],
  sp: Specials,
  nCtx: number,
): [number[], number[]] {
  checkCtx(nCtx, 3, "similarity");
  const [x, y] = truncatePair(a, b, nCtx - 3);
  return [
    [sp.start, ...x, sp.delimiter, ...y, sp.classify],
    [sp.start, ...y, sp.delimiter, ...x, sp.classify],
  ];
}

/** Length caps for {@link multipleChoiceInputs}. */
export interface MultipleChoiceLimits {
  /** Tokens kept from each answer (its first ones). Default `floor((nCtx - 3) / 4)`. */
  maxAnswer?: number;
  /** Tokens kept from the question (its first ones). Default `floor((nCtx - 3) / 4)`. */
  maxQuestion?: number;
  /** Cap on the context before the room rule. Default: no cap. */
  maxContext?: number;
  /** Which end of the context is cut: `"left"` (default; keeps its end) or `"right"`. */
  cutContext?: "left" | "right";
}

/**
 * The original code's ROCStories rule (`train.py`: `max_len = n_ctx // 2 - 2`): story and each
 * ending keep their first `max_len` tokens; 254 for `nCtx = 512`.
 */
export function storyClozeLimits(nCtx: number): MultipleChoiceLimits {
  const maxLen = Math.floor(nCtx / 2) - 2;
  return { maxContext: maxLen, maxAnswer: maxLen, maxQuestion: 0, cutContext: "right" };
}

/**
 * Multiple-choice inputs, one sequence per candidate answer:
 *
 * ```text
 * [s] c1 ... cm q1 ... qj [$] a_k1 ... a_kn [e]      for k = 0 .. K-1
 * ```
 *
 * Answers and the question are capped (first tokens kept); the context gets the room left by
 * the question and the LONGEST answer (so it is identical across candidates) and is cut from the
 * left by default, so for long RACE documents the question and answers always survive.
 *
 * @param question token ids of the question; pass `[]` when there is none (Story Cloze)
 */
export function multipleChoiceInputs(
  context: number[],
  question: number[],
  answers: number[][],
  sp: Specials,
  nCtx: number,
  limits: MultipleChoiceLimits = {},
): number[][] {
  checkCtx(nCtx, 3, "multiple choice");
  if (answers.length === 0) throw new ConfigError("multiple choice needs at least one answer");
  const budget = nCtx - 3;
  const quarter = Math.floor(budget / 4);
  const maxAnswer = limits.maxAnswer ?? quarter;
  const maxQuestion = limits.maxQuestion ?? quarter;
  if (maxAnswer < 0 || maxQuestion < 0 || maxAnswer + maxQuestion > budget) {
    throw new ConfigError(
      `maxAnswer ${maxAnswer} + maxQuestion ${maxQuestion} must lie in [0, nCtx - 3 = ${budget}]`,
      { fix: "lower maxAnswer or maxQuestion" },
    );
  }
  const ans = answers.map((a) => a.slice(0, maxAnswer));
  const q = question.slice(0, maxQuestion);
  const longest = Math.max(...ans.map((a) => a.length));
  const room = Math.min(budget - q.length - longest, limits.maxContext ?? Infinity);
  const keep = Math.max(0, Math.min(context.length, room));
  const ctx = (limits.cutContext ?? "left") === "left"
    ? context.slice(context.length - keep)
    : context.slice(0, keep);
  return ans.map((a) => [sp.start, ...ctx, ...q, sp.delimiter, ...a, sp.classify]);
}

/** A padded batch of single sequences. */
export interface Batch {
  /** Token ids, right-padded with `padId`: `[B][T]`. */
  ids: number[][];
  /** 1 on real tokens (including specials), 0 on padding: `[B][T]`. */
  mask: number[][];
  /** Index of the first `_classify_` in each sequence: `[B]`. */
  clfPos: number[];
}

/** A padded batch of multiple-choice (or similarity) groups. */
export interface ChoiceBatch {
  /** `[B][K][T]` token ids. */
  ids: number[][][];
  /** `[B][K][T]`, 1 on real tokens. */
  mask: number[][][];
  /** `[B][K]` index of the first `_classify_`. */
  clfPos: number[][];
}

/** Padding options. */
export interface PadOptions {
  /** Padding id (default 0, `<unk>`, as the original; the mask hides it). */
  padId?: number;
  /** Pad to this length instead of the longest sequence (must be >= the longest). */
  length?: number;
}

function padOne(
  seq: number[],
  T: number,
  classify: number,
  padId: number,
): { ids: number[]; mask: number[]; clf: number } {
  const clf = seq.indexOf(classify);
  if (clf < 0) {
    throw new ConfigError(`a sequence has no _classify_ token (id ${classify})`, {
      fix: "build inputs with the transforms of lib/transforms.ts",
    });
  }
  const ids = seq.slice();
  const mask = new Array<number>(T).fill(0);
  mask.fill(1, 0, seq.length);
  while (ids.length < T) ids.push(padId);
  return { ids, mask, clf };
}

function targetLength(lengths: number[], opts: PadOptions): number {
  const longest = Math.max(0, ...lengths);
  const T = opts.length ?? longest;
  if (T < longest) {
    throw new ConfigError(`pad length ${T} is shorter than the longest sequence (${longest})`);
  }
  return T;
}

/**
 * Right-pads sequences to the longest one (or `opts.length`).
 *
 * @example
 * ```ts
 * padBatch([[9, 1, 11], [9, 1, 2, 3, 11]], 11);
 * // ids [[9,1,11,0,0],[9,1,2,3,11]], mask [[1,1,1,0,0],[1,1,1,1,1]], clfPos [2, 4]
 * ```
 */
export function padBatch(seqs: number[][], classify: number, opts: PadOptions = {}): Batch {
  const T = targetLength(seqs.map((s) => s.length), opts);
  const out: Batch = { ids: [], mask: [], clfPos: [] };
  for (const s of seqs) {
    const p = padOne(s, T, classify, opts.padId ?? 0);
    out.ids.push(p.ids);
    out.mask.push(p.mask);
    out.clfPos.push(p.clf);
  }
  return out;
}

/**
 * Right-pads groups of K sequences (multiple choice; or the two similarity orderings) to one
 * common length, the longest over the whole batch. Every group must have the same K.
 */
export function padChoices(
  groups: number[][][],
  classify: number,
  opts: PadOptions = {},
): ChoiceBatch {
  const K = groups[0]?.length ?? 0;
  const bad = groups.findIndex((g) => g.length !== K);
  if (bad >= 0) {
    throw new ConfigError(`group ${bad} has ${groups[bad].length} sequences, group 0 has ${K}`);
  }
  const T = targetLength(groups.flat().map((s) => s.length), opts);
  const out: ChoiceBatch = { ids: [], mask: [], clfPos: [] };
  for (const g of groups) {
    const b = padBatch(g, classify, { padId: opts.padId, length: T });
    out.ids.push(b.ids);
    out.mask.push(b.mask);
    out.clfPos.push(b.clfPos);
  }
  return out;
}
