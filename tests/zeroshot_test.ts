/**
 * Zero-shot heuristics: the batched scorer against unbatched logits, the pure helpers against
 * brute force, an untrained model near chance on the real benchmarks (with curves written and
 * resumed), and a tiny LM trained on a toy corpus picking the expected answers.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { assert, assertEquals, assertRejects, needShared, sharedPath } from "./_util.ts";
import { initBackend } from "../lib/backend.ts";
import { makeConfig } from "../lib/config.ts";
import { createModel, type Gpt1Model } from "../lib/model.ts";
import { saveCheckpoint } from "../lib/checkpoint.ts";
import { Rng } from "../lib/random.ts";
import { pretrain } from "../lib/train.ts";
import { BpeTrainer } from "../lib/tokenizer/trainer.ts";
import { Gpt1Tokenizer } from "../lib/tokenizer/bpe.ts";
import { loadTask, loadWsc, type TextExample, wscSubstitute } from "../lib/tasks/mod.ts";
import type { MultipleChoiceExample, WscExample } from "../lib/tasks/mod.ts";
import { ConfigError } from "../lib/errors.ts";
import { topShare, zeroShotCurves, zeroShotEvaluate, zeroShotTaskName } from "../lib/zeroshot.ts";
import { readZeroShot } from "../lib/runs.ts";
import {
  zeroShotAcceptability,
  zeroShotMultipleChoice,
  zeroShotSentiment,
  zeroShotWinograd,
} from "../lib/zeroshot_heuristics.ts";
import {
  bestThreshold,
  contextPrefix,
  evenSample,
  meanOf,
  nextTokenLogProbs,
  relativeScore,
  scoringWindows,
  sequenceLogProbs,
} from "../lib/scoring.ts";

await initBackend("wasm");

/** log-softmax over the first `V` entries of a row of logits. */
function logSoftmaxRow(z: number[], V: number): number[] {
  const r = z.slice(0, V);
  const m = Math.max(...r);
  const lse = m + Math.log(r.reduce((s, x) => s + Math.exp(x - m), 0));
  return r.map((x) => x - lse);
}

// ---------------------------------------------------------------------------------------------
// pure helpers

Deno.test("scoringWindows: every scored token once, with context, inside nCtx", () => {
  for (const nCtx of [2, 3, 4, 7, 8]) {
    for (let len = 1; len <= 30; len++) {
      for (let from = 1; from <= len + 1; from++) {
        const ws = scoringWindows(len, from, nCtx);
        const seen = new Array(len).fill(0);
        for (const w of ws) {
          assert(w.end - w.start <= nCtx && w.start >= 0 && w.end <= len, JSON.stringify(w));
          assert(w.start < w.from && w.from <= w.end, JSON.stringify(w));
          for (let t = w.from; t < w.end; t++) seen[t]++;
          // the first scored token has context; across several windows, half a context
          const ctx = w.from - w.start;
          assert(ctx >= (ws.length > 1 ? Math.min(w.from, Math.floor(nCtx / 2)) : 1), `ctx ${ctx}`);
        }
        for (let t = 0; t < len; t++) {
          assertEquals(seen[t], t >= from ? 1 : 0, `${len} ${from} ${t}`);
        }
        // what fits is one window, cut from the left only when needed
        if (len - from <= nCtx - 1 && len > from) {
          assertEquals(ws, [{ start: Math.max(0, len - nCtx), end: len, from }]);
        }
      }
    }
  }
  assertEquals(scoringWindows(40, 30, 32), [{ start: 8, end: 40, from: 30 }]);
  let err: unknown;
  try {
    scoringWindows(5, 0, 8);
  } catch (e) {
    err = e;
  }
  assert(err instanceof ConfigError);
});

Deno.test("bestThreshold equals a brute-force search over all cuts", () => {
  const rng = new Rng(7);
  const mcc = (s: number[], y: number[], th: number) => {
    let tp = 0, tn = 0, fp = 0, fn = 0;
    s.forEach((x, i) => {
      const p = x > th ? 1 : 0;
      if (p && y[i]) tp++;
      else if (p) fp++;
      else if (y[i]) fn++;
      else tn++;
    });
    const d = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
    return d === 0 ? 0 : (tp * tn - fp * fn) / d;
  };
  for (let trial = 0; trial < 30; trial++) {
    const n = 1 + rng.int(40);
    // coarse scores force ties; labels loosely follow the score
    const s = Array.from({ length: n }, () => rng.int(8) - 4);
    const y = s.map((x) => (rng.next() < 0.5 + 0.08 * x ? 1 : 0));
    const cand = [...new Set(s)].sort((a, b) => a - b);
    const cuts = [cand[0] - 1, ...cand.map((c, i) => (c + (cand[i + 1] ?? c + 2)) / 2)];
    const brute = Math.max(...cuts.map((c) => mcc(s, y, c)));
    const got = bestThreshold(s, y);
    assert(Math.abs(got.mcc - brute) < 1e-12, `trial ${trial}: ${got.mcc} vs ${brute}`);
    assert(Math.abs(mcc(s, y, got.threshold) - got.mcc) < 1e-12, "threshold does not give its mcc");
  }
  assertEquals(bestThreshold([-3, -2, -1, 0], [0, 0, 1, 1]), { threshold: -1.5, mcc: 1 });
});

Deno.test("small pure helpers", () => {
  assertEquals(evenSample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4), [0, 2, 5, 7]);
  assertEquals(topShare([1, 1, 0]), 2 / 3);
  assertEquals(topShare([]), 0);
  assertEquals(evenSample([1, 2], 5), [1, 2]);
  assertEquals(relativeScore(70, 50, 90), 0.5);
  assertEquals(relativeScore(0, 0, 45.4), 0);
  assertEquals(meanOf([]), -Infinity);
  assertEquals(meanOf([1, 2, 3]), 2);
  assertEquals(zeroShotTaskName("SST-2"), "sst2");
  assertEquals(zeroShotTaskName("ROCStories"), "storycloze");
  assertEquals(zeroShotTaskName("WSC273"), "wsc");
});

// ---------------------------------------------------------------------------------------------
// the batched scorer

Deno.test("sequenceLogProbs / nextTokenLogProbs equal unbatched log-softmax of the logits", async () => {
  for (const nSpecial of [0, 3]) {
    const V = 37;
    const model = createModel(
      makeConfig("tiny", { vocabSize: V, nSpecial, nCtx: 8, nEmbd: 16, nInner: 32 }),
      { seed: 3 },
    );
    const rng = new Rng(11);
    const seqs = [3, 1, 8, 5, 12, 20, 2, 9].map((n) => Array.from({ length: n }, () => rng.int(V)));
    const scoreFrom = [1, 1, 1, 3, 10, 2, 1, 8];
    const before = tf.memory().numTensors;
    const got = await sequenceLogProbs(model, seqs, { batchSize: 3, scoreFrom });
    const next = await nextTokenLogProbs(model, seqs, [0, 5, V - 1], { batchSize: 3 });
    assertEquals(tf.memory().numTensors, before, "tensor leak");
    for (let i = 0; i < seqs.length; i++) {
      const s = seqs[i];
      const want: number[] = new Array(Math.max(0, s.length - scoreFrom[i]));
      for (const w of scoringWindows(s.length, scoreFrom[i], 8)) {
        const [z] = await model.logits([s.slice(w.start, w.end)]); // one window alone, no padding
        for (let t = w.from; t < w.end; t++) {
          want[t - scoreFrom[i]] = logSoftmaxRow(z[t - 1 - w.start], V)[s[t]];
        }
      }
      assertEquals(got[i].length, want.length);
      for (let j = 0; j < want.length; j++) {
        assert(
          Math.abs(got[i][j] - want[j]) < 1e-4,
          `seq ${i} pos ${j}: ${got[i][j]} vs ${want[j]}`,
        );
      }
      const [z] = await model.logits([s.slice(-8)]);
      const lsm = logSoftmaxRow(z[z.length - 1], V);
      [0, 5, V - 1].forEach((id, k) => assert(Math.abs(next[i][k] - lsm[id]) < 1e-4));
    }
    await assertRejects(() => sequenceLogProbs(model, [[1, V + nSpecial]]), ConfigError);
    await assertRejects(() => sequenceLogProbs(model, [[]]), ConfigError);
    model.dispose();
  }
});

/** A tokenizer over a fixed word list (one id per word), enough for the heuristics. */
function wordTokenizer(words: string[]) {
  const ids = new Map(words.map((w, i) => [w, i]));
  return {
    encode: (text: string) => text.split(/\s+/).filter((w) => w).map((w) => ids.get(w) ?? 0),
    tokenToId: (p: string) => ids.get(p.replace("</w>", "")) ?? 0,
    idToToken: (i: number) => words[i] + "</w>",
  };
}

Deno.test("sentiment: multi-piece words are scored as whole continuations", async () => {
  const words = ["<unk>", "\n", "very", "posi", "tive", "nega", "good", "bad", "film", "positive"];
  const model = createModel(makeConfig("tiny", { vocabSize: words.length, nCtx: 16 }), { seed: 5 });
  const base = wordTokenizer(words);
  // "positive" and "negative" as several pieces; "very" one
  const tok = {
    ...base,
    encode: (t: string) =>
      base.encode(t.replace("positive", "posi tive").replace("negative", "nega tive")),
  };
  const ex: TextExample[] = ["good film", "bad film"].map((text, i) => ({
    id: `${i}`,
    source: `x:${i}`,
    text,
    label: 1 - i,
  }));
  const r = await zeroShotSentiment(model, tok, ex);
  const pre = contextPrefix(tok);
  assertEquals(pre, [1]);
  for (const [i, e] of ex.entries()) {
    const prompt = [...pre, ...tok.encode(e.text), 2];
    const lp = await sequenceLogProbs(model, [[...prompt, 5, 4], [...prompt, 3, 4]], {
      scoreFrom: [prompt.length, prompt.length],
    });
    assert(Math.abs(r.scores[i][0] - (lp[0][0] + lp[0][1])) < 1e-5);
    assert(Math.abs(r.scores[i][1] - (lp[1][0] + lp[1][1])) < 1e-5);
  }
  // single-token words take the one-distribution path and agree with the scorer
  const r1 = await zeroShotSentiment(model, { ...base, encode: (t) => base.encode(t) }, ex);
  const prompt = [...pre, ...base.encode("good film"), 2];
  const lp = await sequenceLogProbs(model, [[...prompt, 9]], { scoreFrom: [prompt.length] });
  assert(Math.abs(r1.scores[0][1] - lp[0][0]) < 1e-5);
  model.dispose();
});

// ---------------------------------------------------------------------------------------------
// an untrained model on the real benchmarks: near chance; curves written, resumed, deterministic

Deno.test({
  name: "untrained model: every heuristic near chance; zeroshot.json written and resumed",
  ignore: !needShared("zero-shot on the real benchmarks"),
  fn: async () => {
    const root = sharedPath("datasets")!;
    const texts = [
      ...(await loadTask("sst2", root, "dev")).examples.map((e) => (e as TextExample).text),
      ...(await loadTask("cola", root, "dev")).examples.map((e) => (e as TextExample).text),
    ];
    const v = new BpeTrainer({ merges: 300 }).train(texts);
    const tok = new Gpt1Tokenizer(v.pieces, v.merges);
    assert(tok.encode("negative").length > 1, "the test vocabulary should split 'negative'");
    const config = makeConfig("tiny", { vocabSize: tok.vocabSize, nCtx: 64 });
    const dir = await Deno.makeTempDir();
    const model = createModel(config, { seed: 1 });
    await saveCheckpoint(join(dir, "ckpt-000000.safetensors"), { model, step: 0 });
    await saveCheckpoint(join(dir, "ckpt-000001.safetensors"), { model, step: 1 });
    const maxExamples = { sst2: 300, cola: 300, colaTrain: 600, storycloze: 300, wsc: 273 };
    const single = await zeroShotEvaluate(model, tok, {
      dataRoot: root,
      tasks: ["sst2"],
      maxExamples,
      batchSize: 32,
    });
    model.dispose();
    const opts = { dataRoot: root, tokenizer: tok, maxExamples, batchSize: 32, steps: [0] };
    const before = tf.memory().numTensors;
    const { rows } = await zeroShotCurves(dir, opts);
    assertEquals(tf.memory().numTensors, before, "tensor leak");
    assertEquals(rows.map((r) => r.task), ["sst2", "cola", "storycloze", "wsc"]);
    for (const r of rows) {
      console.log(
        `  step ${r.step} ${r.task}: ${r.metric} ${r.raw.toFixed(1)} (n=${r.n}) ` +
          `relative ${r.relative.toFixed(2)}`,
      );
      // 300 two-way examples: one standard deviation of chance accuracy is 2.9 points
      assert(Math.abs(r.raw - r.chance) < 12, `${r.task} ${r.raw} not near chance ${r.chance}`);
      assertEquals(r.relative, relativeScore(r.raw, r.chance, r.reference));
      assert(r.reference > r.chance && r.referenceSource.length > 0);
      assert(r.predictedShare! >= 50 && r.predictedShare! <= 100, `${r.predictedShare}`);
      if (r.metric === "acc") assert(r.majority! >= 50 && r.majority! <= 100, `${r.majority}`);
      else assertEquals(r.majority, undefined);
    }
    // the SST-2 sample's class balance, counted here from the gold labels
    const sst = (await loadTask("sst2", root, "dev")).examples;
    const sample = evenSample(sst, 300).map((e) => (e as TextExample).label as number);
    assertEquals(rows[0].majority, 100 * topShare(sample));
    assertEquals(rows.find((r) => r.task === "wsc")!.n, 273);
    assertEquals(single.map((r) => [r.task, r.raw]), [["sst2", rows[0].raw]]);
    assertEquals(rows.find((r) => r.task === "cola")!.nTrain, 600);
    // resume: the finished step is skipped, the new one added; nothing recomputed
    let updates = 0;
    const progress = { update: () => void updates++, finish: () => {} };
    const two = await zeroShotCurves(dir, { ...opts, steps: [0, 1], tasks: ["sst2"], progress });
    assertEquals(updates, 1);
    assertEquals(two.rows.map((r) => `${r.step}:${r.task}`), [
      "0:sst2",
      "0:cola",
      "0:storycloze",
      "0:wsc",
      "1:sst2",
    ]);
    // same weights, same score: deterministic
    assertEquals(two.rows[4].raw, two.rows[0].raw);
    assertEquals((await readZeroShot(dir)).length, 5);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "the released vocabulary has very / positive / negative as single tokens",
  ignore: !needShared("released GPT-1 vocabulary"),
  fn: async () => {
    const d = sharedPath("gpt1-vocab")!;
    const tok = await Gpt1Tokenizer.fromFiles(
      join(d, "encoder_bpe_40000.json"),
      join(d, "vocab_40000.bpe"),
    );
    assertEquals([tok.encode("very"), tok.encode("positive"), tok.encode("negative")], [
      [963],
      [6353],
      [9503],
    ]);
    assertEquals(contextPrefix(tok), [40477]);
  },
});

// ---------------------------------------------------------------------------------------------
// a tiny LM trained on a toy corpus picks the expected answers

const SUBJECTS = ["the movie", "the book", "the play", "the song"];
const GOOD = ["good", "great", "lovely"];
const BAD = ["bad", "awful", "dull"];
const NAMES = ["tom", "ann", "bob", "sue"];
const STORIES: [string, string][] = [
  ["was hungry", "ate some bread"],
  ["was tired", "went to bed"],
  ["was cold", "lit a fire"],
];
const ANIMALS: [string, string][] = [["cat", "mouse"], ["fox", "hen"], ["wolf", "sheep"]];

/** One toy sentence of kind 0 (a review), 1 (a story) or 2 (a chase). */
function toySentence(rng: Rng, kind = rng.int(3)): string {
  const pick = <T>(xs: readonly T[]) => xs[rng.int(xs.length)];
  if (kind === 0) {
    const good = rng.int(2) === 0;
    return `${pick(SUBJECTS)} was ${pick(good ? GOOD : BAD)} . very ${
      good ? "positive" : "negative"
    } .`;
  }
  if (kind === 1) {
    const n = pick(NAMES), [state, action] = pick(STORIES);
    return `${n} ${state} . ${n} ${action} .`;
  }
  const [a, b] = pick(ANIMALS);
  return rng.int(2) === 0
    ? `the ${a} chased the ${b} because the ${a} was hungry .`
    : `the ${a} chased the ${b} because the ${b} was scared .`;
}

/**
 * The toy corpus: reviews alternate with stories / chases, so that a review's "very" rarely
 * sees another review's adjective in its 16-token context.
 */
function toyCorpus(rng: Rng, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(toySentence(rng, 0), toySentence(rng, 1 + rng.int(2)));
  return out.join("\n");
}

let toy: { model: Gpt1Model; tok: Gpt1Tokenizer } | undefined;
async function toyLm(): Promise<{ model: Gpt1Model; tok: Gpt1Tokenizer }> {
  if (toy) return toy;
  const rng = new Rng(2018);
  const text = toyCorpus(rng, 1500);
  const v = new BpeTrainer({ merges: 200 }).train([text]);
  const tok = new Gpt1Tokenizer(v.pieces, v.merges);
  const dir = await Deno.makeTempDir();
  const r = await pretrain({
    // init std 0.1 instead of 0.02: with 0.02 the attention that looks back at the adjective
    // appears only after ~1,000 updates (a PyTorch replica behaves the same); with 0.1, in ~300
    config: makeConfig("tiny", { vocabSize: tok.vocabSize, nCtx: 16, initStd: 0.1 }),
    train: tok.encode(text),
    outDir: dir,
    seed: 42,
    steps: 500,
    batchSize: 16,
    lr: 1e-2,
    warmupSteps: 20,
    evalEvery: 1000,
    ckptEvery: 1000,
    logCkptFrom: 30,
  });
  console.log(`  toy LM: final train loss ${r.losses.at(-1)!.toFixed(3)}`);
  await Deno.remove(dir, { recursive: true });
  toy = { model: r.model, tok };
  return toy;
}

const ex = (i: number) => ({ id: `${i}`, source: `hand:${i}` });

/** Smallest margin (nats) of the right answer over the best wrong one. */
function minMargin(scores: number[][], labels: number[]): number {
  return Math.min(
    ...scores.map((s, i) => s[labels[i]] - Math.max(...s.filter((_, k) => k !== labels[i]))),
  );
}

Deno.test("toy LM: sentiment picks positive for good words and negative for bad ones", async () => {
  const { model, tok } = await toyLm();
  const cases: TextExample[] = [
    { ...ex(0), text: "the song was great .", label: 1 },
    { ...ex(1), text: "the play was dull .", label: 0 },
    { ...ex(2), text: "the book was lovely .", label: 1 },
    { ...ex(3), text: "the movie was bad .", label: 0 },
    { ...ex(4), text: "the song was good .", label: 1 },
    { ...ex(5), text: "the book was awful .", label: 0 },
  ];
  const r = await zeroShotSentiment(model, tok, cases);
  console.log(`  sentiment: smallest margin ${minMargin(r.scores, r.labels).toFixed(2)} nats`);
  assertEquals(r.preds, [1, 0, 1, 0, 1, 0], JSON.stringify(r.scores));
  assertEquals(r.raw, 100);
});

Deno.test("toy LM: multiple choice picks the ending that follows the story", async () => {
  const { model, tok } = await toyLm();
  const mc = (i: number, name: string, s: number, a: number, b: number): MultipleChoiceExample => ({
    ...ex(i),
    context: `${name} ${STORIES[s][0]} .`,
    answers: [`${name} ${STORIES[a][1]} .`, `${name} ${STORIES[b][1]} .`],
    label: s === a ? 0 : 1,
  });
  const cases = [
    mc(0, "tom", 1, 0, 1),
    mc(1, "ann", 0, 0, 2),
    mc(2, "sue", 2, 1, 2),
    mc(3, "bob", 0, 2, 0),
  ];
  const r = await zeroShotMultipleChoice(model, tok, cases);
  console.log(`  story: smallest margin ${minMargin(r.scores, r.labels).toFixed(2)} nats`);
  assertEquals(r.preds, cases.map((c) => c.label), JSON.stringify(r.scores));
  // a question between context and answers is part of the conditioning
  const q = await zeroShotMultipleChoice(model, tok, [{ ...cases[0], question: "the" }]);
  assert(q.scores[0][0] !== r.scores[0][0], "the question did not change the scores");
});

Deno.test("toy LM: Winograd partial scoring resolves the pronoun", async () => {
  const { model, tok } = await toyLm();
  const wsc = (i: number, a: string, b: string, txt2: string, label: number): WscExample => ({
    ...ex(i),
    txt1: `the ${a} chased the ${b} because`,
    pronoun: "it",
    txt2,
    text: `the ${a} chased the ${b} because it ${txt2}`,
    candidates: [`the ${a}`, `the ${b}`],
    label,
    origin: "toy",
  });
  const cases = ANIMALS.flatMap(([a, b], i) => [
    wsc(2 * i, a, b, "was hungry .", 0),
    wsc(2 * i + 1, a, b, "was scared .", 1),
  ]);
  const r = await zeroShotWinograd(model, tok, cases);
  console.log(`  winograd: smallest margin ${minMargin(r.scores, r.labels).toFixed(2)} nats`);
  assertEquals(r.preds, cases.map((c) => c.label), JSON.stringify(r.scores));
});

Deno.test("toy LM: acceptability separates corpus-like sentences from scrambled ones", async () => {
  const { model, tok } = await toyLm();
  const rng = new Rng(99);
  const make = (n: number, off: number): TextExample[] =>
    Array.from({ length: n }, (_, i) => {
      const s = toySentence(rng);
      if (i % 2 === 0) return { ...ex(off + i), text: s, label: 1 };
      let bad = rng.shuffle(s.split(" ")).join(" ");
      if (bad === s) bad = s.split(" ").reverse().join(" ");
      return { ...ex(off + i), text: bad, label: 0 };
    });
  const train = make(24, 0), dev = make(24, 100);
  const r = await zeroShotAcceptability(model, tok, train, dev);
  console.log(
    `  toy CoLA: dev MCC ${r.raw.toFixed(1)}, train MCC ${r.threshold!.trainMcc.toFixed(1)}`,
  );
  assert(r.raw > 80, `dev MCC ${r.raw}`);
  assert(Number.isFinite(r.threshold!.value));
});

Deno.test("toy LM: cleanup", () => {
  toy?.model.dispose();
  toy = undefined;
});

// WSC data: every real schema leaves tokens to score after the substitution
Deno.test({
  name: "WSC273: the partial score always has tokens after the candidate",
  ignore: !needShared("WSC"),
  fn: async () => {
    const { examples } = await loadWsc(sharedPath("datasets", "WSC")!);
    assertEquals(examples.length, 273);
    const tok = new Gpt1Tokenizer(...(() => {
      const v = new BpeTrainer({ merges: 50 }).train(examples.map((e) => e.text));
      return [v.pieces, v.merges] as const;
    })());
    for (const e of examples) {
      for (const k of [0, 1] as const) {
        assert(tok.encode(wscSubstitute(e, k).rest).length > 0, e.source);
      }
    }
  },
});
