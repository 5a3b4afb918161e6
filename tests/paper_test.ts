/**
 * The paper's numbers as data: internal consistency of the tables, the claims the paper's text
 * makes about them, and the shape of the digitized Figure 2.
 */
import { assert, assertEquals } from "./_util.ts";
import {
  FIGURE2_LAYERS,
  FIGURE2_ZEROSHOT,
  PAPER_FACTS,
  PAPER_SCORES,
  PAPER_TABLES,
  TABLE2,
  TABLE3,
  TABLE4,
  TABLE5,
} from "../lib/paper.ts";
import { TASK_NAMES } from "../lib/tasks/mod.ts";

const close = (a: number, b: number, tol: number, what = "") =>
  assert(Math.abs(a - b) <= tol + 1e-9, `${what} ${a} vs ${b} (tol ${tol})`);
const ours = (t: typeof TABLE2) => t.rows.find((r) => r.ours)!.scores;
/** Best score of the rows other than ours in a column. */
const bestOther = (t: typeof TABLE2, k: string) =>
  Math.max(...t.rows.filter((r) => !r.ours && k in r.scores).map((r) => r.scores[k]));

Deno.test("every table row uses only its table's columns; one 'ours' row per table", () => {
  for (const t of Object.values(PAPER_TABLES)) {
    const keys = new Set(t.columns.map((c) => c.key));
    for (const r of t.rows) {
      for (const k of Object.keys(r.scores)) assert(keys.has(k), `${t.id} ${k}`);
    }
    assertEquals(t.rows.filter((r) => r.ours).length, 1, t.id);
    assertEquals(Object.keys(ours(t)).length, t.columns.length, t.id); // ours fills every column
  }
});

Deno.test("PAPER_SCORES has every registry task, with the metric the paper uses", () => {
  for (const n of TASK_NAMES) assert(n in PAPER_SCORES, n);
  assertEquals(PAPER_SCORES.cola, { value: 45.4, metric: "mcc", table: "table4" });
  assertEquals(PAPER_SCORES.stsb.metric, "pearson");
  assertEquals(PAPER_SCORES.mrpc.metric, "f1");
  assertEquals(PAPER_SCORES.storycloze.value, 86.5);
  assertEquals(PAPER_SCORES.glue.value, PAPER_FACTS.glue);
});

Deno.test("Table 5: averages are the means of the 8 columns; the full row repeats Tables 2 and 4", () => {
  for (const r of TABLE5.rows) {
    const cols = TABLE5.columns.filter((c) => c.key !== "avg").map((c) => r.scores[c.key]);
    assertEquals(cols.length, 8);
    close(cols.reduce((a, b) => a + b) / 8, r.scores.avg, 0.07, r.method);
  }
  const full = TABLE5.rows[0].scores, t4 = ours(TABLE4), t2 = ours(TABLE2);
  for (const k of ["cola", "sst2", "mrpc", "stsb", "qqp"]) assertEquals(full[k], t4[k], k);
  assertEquals([full.qnli, full.rte], [t2.qnli, t2.rte]);
  close(full.mnli, (t2["mnli-m"] + t2["mnli-mm"]) / 2, 0.05, "mnli");
  close(TABLE5.rows[0].scores.avg - TABLE5.rows[1].scores.avg, PAPER_FACTS.noPretrainDrop, 1e-9);
});

Deno.test("the text's claimed gains follow from the tables", () => {
  const t2 = ours(TABLE2), t3 = ours(TABLE3), t4 = ours(TABLE4);
  // "absolute improvements of upto 1.5% on MNLI, 5% on SciTail, 5.8% on QNLI and 0.6% on SNLI"
  close(t2["mnli-m"] - bestOther(TABLE2, "mnli-m"), 1.5, 0.05);
  close(t2.scitail - bestOther(TABLE2, "scitail"), 5.0, 0.05);
  close(t2.qnli - bestOther(TABLE2, "qnli"), 5.8, 0.05);
  close(t2.snli - bestOther(TABLE2, "snli"), 0.6, 0.05);
  // "+8.9 on Story Cloze", "+5.7 on RACE"
  close(t3.storycloze - bestOther(TABLE3, "storycloze"), 8.9, 0.05);
  close(t3.race - bestOther(TABLE3, "race"), 5.7, 0.05);
  // CoLA 45.4 vs 35.0; GLUE 72.8 vs 68.9; RTE below the multi-task BiLSTM (61.7)
  assertEquals([t4.cola, bestOther(TABLE4, "cola")], [45.4, 35.0]);
  assertEquals([t4.glue, bestOther(TABLE4, "glue")], [72.8, 68.9]);
  assert(t2.rte < bestOther(TABLE2, "rte"));
  // RACE total lies between RACE-h and RACE-m
  assert(t3["race-h"] < t3.race && t3.race < t3["race-m"]);
});

Deno.test("Figure 2 left: 14 points per curve; full transfer matches Table 3's RACE", () => {
  const f = FIGURE2_LAYERS;
  assertEquals(f.x, Array.from({ length: 14 }, (_, i) => i));
  for (const c of [f.raceDev, f.raceTrain, f.mnliDev, f.mnliTrain]) assertEquals(c.length, 14);
  close(f.raceDev[12], ours(TABLE3).race, f.readError.race);
  // "up to 9% for full transfer on MultiNLI"
  close(f.mnliDev[12] - f.mnliDev[0], 9.7, 2 * f.readError.mnli);
  for (let i = 0; i < 14; i++) {
    assert(f.raceTrain[i] > f.raceDev[i] && f.mnliTrain[i] > f.mnliDev[i]);
  }
});

Deno.test("Figure 2 right: 8 curves over 13 update counts; the orderings the text states", () => {
  const z = FIGURE2_ZEROSHOT;
  assertEquals(z.updates.length, 13);
  assertEquals(z.curves.length, 8);
  const end: Record<string, number> = {};
  for (const c of z.curves) {
    assertEquals([c.values.length, c.clipped.length], [13, 13]);
    c.values.forEach((v, i) => assert(c.clipped[i] ? v === 0 : v >= 0 && v <= 1));
    end[`${c.model}/${c.task}`] = c.values[12];
  }
  // at 1e6: sentiment > winograd > acceptability > QA for the Transformer
  const t = (k: string) => end[`transformer/${k}`], l = (k: string) => end[`lstm/${k}`];
  assert(
    t("sentiment") > t("winograd") && t("winograd") > t("acceptability") &&
      t("acceptability") > t("qa"),
  );
  for (const k of ["sentiment", "winograd", "acceptability", "qa"]) assert(t(k) > l(k), k);
});
