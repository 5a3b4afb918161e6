import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "./_util.ts";
import { writeGlueFixture } from "./_glue_fixture.ts";
import { initBackend } from "../lib/backend.ts";
import { makeConfig } from "../lib/config.ts";
import { createLanguageModel } from "../lib/language_model.ts";
import { saveCheckpoint } from "../lib/checkpoint.ts";
import { saveVocab } from "../lib/vocab.ts";
import { checkpointName } from "../lib/runs.ts";
import { auroc } from "../lib/metrics.ts";
import { contextPrefix, sequenceLogProbs } from "../lib/scoring.ts";
import {
  ADDITIONS_FILE,
  calibrate,
  pmiScores,
  zeroShotAdditionCurves,
} from "../lib/zeroshot_additions.ts";

await initBackend("wasm");

Deno.test("auroc against hand-computed values: pairs, ties, reversal, one class", () => {
  // positives 0.35, 0.8 vs negatives 0.1, 0.4: 0.35 beats 0.1, loses to 0.4; 0.8 beats both → 3/4
  assertEquals(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assertEquals(auroc([1, 1, 1, 1], [0, 1, 0, 1]), 0.5); // all ties: one half each
  // positive 2 vs negatives 1, 2, 3: win, tie, loss → (1 + 0.5 + 0) / 3
  assertEquals(auroc([1, 2, 3, 2], [0, 0, 0, 1]), 0.5);
  assertEquals(auroc([3, 2, 1], [0, 1, 1]), 0);
  assertEquals(auroc([-Infinity, 0, 5], [0, 1, 1]), 1);
  assertThrows(() => auroc([1, 2], [1, 1]), /both classes/);
  assertThrows(() => auroc([1, 2], [0, 2]), /not 0 or 1/);
});

Deno.test("calibrate removes a label-word prior (hand-computed)", () => {
  const L = Math.log;
  // content-free rows renormalise to [0.2, 0.8] and [0.4, 0.6]: the prior is their mean [0.3, 0.7]
  const { prior, preds, calibrated } = calibrate(
    [[L(0.35), L(0.65)], [L(0.1), L(0.9)], [L(0.2), L(0.2)]],
    [[L(0.1), L(0.4)], [L(0.4), L(0.6)]],
  );
  assert(Math.abs(prior[0] - 0.3) < 1e-12 && Math.abs(prior[1] - 0.7) < 1e-12, String(prior));
  // 0.35/0.3 vs 0.65/0.7 → 0; 0.1/0.3 vs 0.9/0.7 → 1; 0.5/0.3 vs 0.5/0.7 → 0
  assertEquals(preds, [0, 1, 0]);
  assert(Math.abs(calibrated[1][1] - L(0.9 / 0.7)) < 1e-12);
  // every raw prediction is "positive"; after calibration the ranking decides
  const raw = [[L(0.45), L(0.55)], [L(0.35), L(0.65)], [L(0.3), L(0.7)], [L(0.2), L(0.8)]];
  assertEquals(calibrate(raw, [[L(0.33), L(0.67)]]).preds, [0, 0, 1, 1]);
  assertThrows(() => calibrate(raw, []));
});

Deno.test("pmiScores = Σ log p(ending | story) − Σ log p(ending | prefix), per ending", async () => {
  const fx = await writeGlueFixture({ nTrain: 10, nDev: 2, nTest: 1 });
  const tok = fx.tokenizer;
  const model = createLanguageModel(makeConfig("tiny", { vocabSize: tok.vocabSize, nCtx: 32 }), {
    seed: 5,
  });
  const ex = [
    {
      id: "0",
      context: "the film is good",
      answers: ["a fun story", "cold"],
      label: 0,
      source: "x",
    },
    {
      id: "1",
      context: "the plot",
      answers: ["is weak", "is very warm and fun"],
      label: 1,
      source: "y",
    },
  ];
  const before = tf.memory().numTensors;
  const got = await pmiScores(model, tok, ex);
  assertEquals(tf.memory().numTensors, before);
  const pre = contextPrefix(tok);
  const sum = (a: Float32Array) => a.reduce((s, x) => s + x, 0);
  for (const [i, e] of ex.entries()) {
    for (const [k, a] of e.answers.entries()) {
      const c = [...pre, ...tok.encode(e.context)], x = tok.encode(a);
      const skip = pre.length ? 0 : 1;
      const [cond] = await sequenceLogProbs(model, [[...c, ...x]], {
        scoreFrom: [c.length + skip],
      });
      const [unc] = await sequenceLogProbs(model, [[...pre, ...x]], {
        scoreFrom: [Math.max(1, pre.length + skip)],
      });
      assert(Math.abs(got[i][k] - (sum(cond) - sum(unc))) < 1e-4, `${i}/${k}: ${got[i][k]}`);
    }
  }
  model.dispose();
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("zeroShotAdditionCurves: rows per checkpoint, labelled additions, resumable", async () => {
  const fx = await writeGlueFixture({ nTrain: 10, nDev: 40, nTest: 1 });
  const tok = fx.tokenizer;
  // a CoLA dev file (headerless: source, label, mark, sentence)
  await Deno.mkdir(join(fx.root, "CoLA"));
  const cola = Array.from(
    { length: 20 },
    (_, i) => `src\t${i % 2}\t\tthe film is ${i % 2 ? "good" : "is the"}`,
  );
  await Deno.writeTextFile(join(fx.root, "CoLA", "dev.tsv"), cola.join("\n") + "\n");
  const run = await Deno.makeTempDir();
  await saveVocab(tok, join(run, "vocab"));
  for (const step of [1, 2]) {
    const m = createLanguageModel(makeConfig("tiny", { vocabSize: tok.vocabSize, nCtx: 32 }), {
      seed: step,
    });
    await saveCheckpoint(join(run, checkpointName(step)), { model: m, step });
    m.dispose();
  }
  const { rows } = await zeroShotAdditionCurves(run, { dataRoot: fx.root });
  assertEquals(rows.map((r) => `${r.step}:${r.measure}`), [
    "1:sst2-calibrated",
    "1:sst2-auroc",
    "1:cola-auroc",
    "2:sst2-calibrated",
    "2:sst2-auroc",
    "2:cola-auroc",
  ]);
  for (const r of rows) {
    assert(r.addition && r.value >= 0 && r.value <= 100, JSON.stringify(r));
    assertEquals(r.n, r.measure === "cola-auroc" ? 20 : 40);
  }
  const cf = rows[0].contentFreePositive!;
  assert(cf > 0 && cf < 1, String(cf));
  const file = JSON.parse(await Deno.readTextFile(join(run, ADDITIONS_FILE)));
  assertEquals(file.rows.length, 6);
  // resume: nothing to do, the same rows
  const again = await zeroShotAdditionCurves(run, { dataRoot: fx.root });
  assertEquals(again.rows, rows);
  await Deno.remove(run, { recursive: true });
  await Deno.remove(fx.root, { recursive: true });
});
