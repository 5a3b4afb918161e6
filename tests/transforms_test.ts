/**
 * The four input transforms (token diagrams of Figure 1), their truncation rules and batching.
 */
import { assert, assertEquals, assertThrows } from "./_util.ts";
import { ConfigError } from "../lib/errors.ts";
import {
  classificationInput,
  entailmentInput,
  multipleChoiceInputs,
  padBatch,
  padChoices,
  similarityInputs,
  specialsFor,
  storyClozeLimits,
  truncatePair,
} from "../lib/transforms.ts";

const sp = specialsFor(40478);
const S = 40478, D = 40479, E = 40480;
const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

Deno.test("specialsFor appends _start_, _delimiter_, _classify_ after the vocabulary", () => {
  assertEquals(sp, { start: 40478, delimiter: 40479, classify: 40480 });
  assertEquals(specialsFor(10), { start: 10, delimiter: 11, classify: 12 });
});

Deno.test("classification: [s] text [e], text cut to nCtx - 2 from the right", () => {
  assertEquals(classificationInput([5, 6, 7], sp, 512), [S, 5, 6, 7, E]);
  assertEquals(classificationInput([], sp, 512), [S, E]);
  assertEquals(classificationInput(range(1, 10), sp, 6), [S, 1, 2, 3, 4, E]);
  assertThrows(() => classificationInput([1], sp, 1), ConfigError);
});

Deno.test("entailment: [s] premise [$] hypothesis [e], pair cut longest first", () => {
  assertEquals(entailmentInput([1, 2], [3], sp, 512), [S, 1, 2, D, 3, E]);
  // budget 10 - 3 = 7: premise 10 tokens, hypothesis 2 -> premise keeps 5
  assertEquals(entailmentInput(range(1, 10), [50, 51], sp, 10), [S, 1, 2, 3, 4, 5, D, 50, 51, E]);
  // both long: 4 + 3 (the odd token goes to the premise)
  assertEquals(entailmentInput(range(1, 9), range(20, 9), sp, 10), [
    S,
    1,
    2,
    3,
    4,
    D,
    20,
    21,
    22,
    E,
  ]);
});

Deno.test("truncatePair equals the token-by-token longest-first loop (BERT) on all small cases", () => {
  const loop = (la: number, lb: number, budget: number) => {
    while (la + lb > budget) {
      if (la > lb) la--;
      else lb--;
    }
    return [la, lb];
  };
  for (let la = 0; la <= 12; la++) {
    for (let lb = 0; lb <= 12; lb++) {
      for (let budget = 0; budget <= 14; budget++) {
        const [a, b] = truncatePair(range(0, la), range(100, lb), budget);
        assertEquals([a.length, b.length], loop(la, lb, budget), `${la} ${lb} ${budget}`);
        assertEquals(a, range(0, a.length)); // cut from the right: the first tokens survive
        assertEquals(b, range(100, b.length));
      }
    }
  }
});

Deno.test("similarity: both orderings from the same cut", () => {
  assertEquals(similarityInputs([1, 2], [3], sp, 512), [[S, 1, 2, D, 3, E], [S, 3, D, 1, 2, E]]);
  const [x, y] = similarityInputs(range(1, 20), [90], sp, 8); // budget 5: a keeps 4
  assertEquals(x, [S, 1, 2, 3, 4, D, 90, E]);
  assertEquals(y, [S, 90, D, 1, 2, 3, 4, E]);
});

Deno.test("multiple choice: [s] context question [$] answer_k [e] per candidate", () => {
  const out = multipleChoiceInputs([1, 2, 3], [7, 8], [[20], [21, 22]], sp, 512);
  assertEquals(out, [[S, 1, 2, 3, 7, 8, D, 20, E], [S, 1, 2, 3, 7, 8, D, 21, 22, E]]);
  assertEquals(multipleChoiceInputs([1], [], [[2], [3]], sp, 16), [[S, 1, D, 2, E], [
    S,
    1,
    D,
    3,
    E,
  ]]);
  assertThrows(() => multipleChoiceInputs([1], [], [], sp, 16), ConfigError);
});

Deno.test("multiple choice: a long RACE document is cut from the left; question and answers survive", () => {
  const doc = range(1000, 600); // 600-token article
  const q = range(1, 12);
  const answers = [range(50, 5), range(60, 9), range(70, 3), range(80, 7)];
  const out = multipleChoiceInputs(doc, q, answers, sp, 512);
  assertEquals(out.length, 4);
  const keep = 512 - 3 - 12 - 9; // room left by the question and the longest answer
  for (let k = 0; k < 4; k++) {
    const s = out[k];
    assert(s.length <= 512);
    assertEquals(s.length, 3 + keep + 12 + answers[k].length);
    assertEquals(s.slice(1, 1 + keep), doc.slice(600 - keep)); // the END of the document
    assertEquals(s.slice(1 + keep, 1 + keep + 12), q);
    assertEquals(s.slice(-answers[k].length - 1, -1), answers[k]);
    assertEquals([s[0], s[1 + keep + 12], s[s.length - 1]], [S, D, E]);
  }
  // the longest candidate fills the context exactly
  assertEquals(out[1].length, 512);
});

Deno.test("multiple choice: answer and question caps, then the context; cut to the right on request", () => {
  // nCtx 23: budget 20, default caps floor(20/4) = 5
  const out = multipleChoiceInputs(range(1, 30), range(100, 8), [range(200, 9)], sp, 23);
  assertEquals(out[0], [S, ...range(21, 10), ...range(100, 5), D, ...range(200, 5), E]);
  assertEquals(out[0].length, 23);
  const right = multipleChoiceInputs(range(1, 30), [], [[9]], sp, 10, { cutContext: "right" });
  assertEquals(right[0], [S, 1, 2, 3, 4, 5, 6, D, 9, E]);
  const capped = multipleChoiceInputs(range(1, 30), [], [[9]], sp, 64, { maxContext: 3 });
  assertEquals(capped[0], [S, 28, 29, 30, D, 9, E]);
  assertThrows(
    () => multipleChoiceInputs([1], [1], [[1]], sp, 10, { maxAnswer: 5, maxQuestion: 3 }),
    ConfigError,
  );
});

Deno.test("Story Cloze limits are the original max_len = n_ctx // 2 - 2 per part", () => {
  assertEquals(storyClozeLimits(512).maxContext, 254);
  assertEquals(storyClozeLimits(512).maxAnswer, 254);
  const story = range(1, 400), e1 = range(1000, 300), e2 = range(2000, 10);
  const [a, b] = multipleChoiceInputs(story, [], [e1, e2], sp, 512, storyClozeLimits(512));
  // x12 = [start] + story[:254] + [delim] + end1[:254] + [clf]
  assertEquals(a, [S, ...story.slice(0, 254), D, ...e1.slice(0, 254), E]);
  assertEquals(b, [S, ...story.slice(0, 254), D, ...e2, E]);
  assertEquals(a.length, 511);
  for (const n of [7, 8, 9, 64, 77]) {
    const [x] = multipleChoiceInputs(range(1, 99), [], [range(1, 99)], sp, n, storyClozeLimits(n));
    assert(x.length <= n, `nCtx ${n}`);
  }
});

Deno.test("every transform stays within nCtx for random lengths", () => {
  let seed = 1;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let t = 0; t < 300; t++) {
    const n = 4 + rnd(60);
    const a = range(1, rnd(80)), b = range(1, rnd(80)), c = range(1, rnd(200));
    assert(classificationInput(a, sp, n).length <= n);
    assert(entailmentInput(a, b, sp, n).length <= n);
    for (const s of similarityInputs(a, b, sp, n)) assert(s.length <= n);
    for (const s of multipleChoiceInputs(c, a, [b, a], sp, n)) assert(s.length <= n);
  }
});

Deno.test("padBatch: right-pads with 0, mask 1 on real tokens, clfPos at _classify_", () => {
  const b = padBatch([[S, 1, E], [S, 1, 2, D, 3, E]], E);
  assertEquals(b.ids, [[S, 1, E, 0, 0, 0], [S, 1, 2, D, 3, E]]);
  assertEquals(b.mask, [[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]]);
  assertEquals(b.clfPos, [2, 5]);
  const fixed = padBatch([[S, E]], E, { length: 4, padId: 9 });
  assertEquals([fixed.ids, fixed.mask], [[[S, E, 9, 9]], [[1, 1, 0, 0]]]);
  assertThrows(() => padBatch([[S, 1]], E), ConfigError); // no _classify_
  assertThrows(() => padBatch([[S, 1, E]], E, { length: 2 }), ConfigError);
});

Deno.test("padChoices: [B][K][T] padded to the longest over the batch", () => {
  const g = padChoices([[[S, 1, E], [S, 1, 2, E]], [[S, E], [S, 3, 4, 5, E]]], E);
  assertEquals(g.ids, [
    [[S, 1, E, 0, 0], [S, 1, 2, E, 0]],
    [[S, E, 0, 0, 0], [S, 3, 4, 5, E]],
  ]);
  assertEquals(g.mask[1], [[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]);
  assertEquals(g.clfPos, [[2, 3], [1, 4]]);
  assertThrows(() => padChoices([[[S, E]], [[S, E], [S, E]]], E), ConfigError);
});
