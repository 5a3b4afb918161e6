/**
 * Metrics against values computed by hand (the arithmetic is in the comments), and taskMetric's
 * choice of the paper's metric per task.
 */
import { assert, assertEquals, assertThrows } from "./_util.ts";
import { ConfigError } from "../lib/errors.ts";
import { taskMetric } from "../lib/tasks/metric.ts";
import {
  accuracy,
  argmaxRows,
  averageRanks,
  f1,
  matthewsCorr,
  pearson,
  spearman,
} from "../lib/metrics.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert(Math.abs(a - b) <= tol, `${a} is not within ${tol} of ${b}`);

Deno.test("accuracy", () => {
  assertEquals(accuracy([1, 0, 1, 1], [1, 0, 0, 1]), 0.75);
  assertEquals(accuracy([2, 2, 0], [2, 1, 0]), 2 / 3);
  assertThrows(() => accuracy([1], [1, 0]), RangeError);
  assertThrows(() => accuracy([], []), RangeError);
});

Deno.test("f1 of the positive class", () => {
  // tp = 2 (0, 4), fp = 1 (1), fn = 1 (3): 2·2 / (2·2 + 1 + 1) = 4/6
  close(f1([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]), 4 / 6);
  // positive class 0: tp = 1 (2), fp = 1 (3), fn = 1 (1): 2/4
  close(f1([1, 1, 0, 0, 1], [1, 0, 0, 1, 1], 0), 0.5);
  assertEquals(f1([0, 0], [0, 0]), 0); // no positive anywhere
  assertEquals(f1([1, 1], [1, 1]), 1);
});

Deno.test("Matthews correlation, binary and multi-class", () => {
  // tp 2, tn 1, fp 1, fn 0: (2·1 − 1·0) / sqrt(3·2·2·1) = 2 / sqrt(12)
  close(matthewsCorr([1, 0, 1, 1], [1, 0, 0, 1]), 2 / Math.sqrt(12));
  // tp 2, tn 1, fp 1, fn 1: (2·1 − 1·1) / sqrt(3·3·2·2) = 1/6
  close(matthewsCorr([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]), 1 / 6);
  assertEquals(matthewsCorr([1, 0, 1, 0], [1, 0, 1, 0]), 1);
  assertEquals(matthewsCorr([0, 1, 0, 1], [1, 0, 1, 0]), -1);
  assertEquals(matthewsCorr([1, 1, 1, 1], [1, 0, 1, 0]), 0); // constant prediction: undefined → 0
  // 3 classes: c = 5, s = 6, t = [2,2,2], p = [2,1,3]:
  // (5·6 − (4+2+6)) / sqrt((36 − 14)(36 − 12)) = 18 / sqrt(528)
  close(matthewsCorr([0, 0, 1, 2, 2, 2], [0, 0, 1, 1, 2, 2]), 18 / Math.sqrt(528));
});

Deno.test("Pearson", () => {
  // x − 3 = [−2,−1,0,1,2], y − 4 = [−2,0,1,0,1]: sxy 6, sxx 10, syy 6 → 6 / sqrt(60)
  close(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 6 / Math.sqrt(60));
  close(pearson([1, 2, 3], [10, 20, 30]), 1);
  close(pearson([1, 2, 3], [3, 2, 1]), -1);
  assertEquals(pearson([1, 1, 1], [1, 2, 3]), 0);
});

Deno.test("Spearman uses average ranks for ties", () => {
  assertEquals(averageRanks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
  assertEquals(averageRanks([3, 3, 3]), [2, 2, 2]);
  // ranks y = [1, 2.5, 4.5, 2.5, 4.5]; x ranks 1..5: sxy 7, sxx 10, syy 9 → 7 / sqrt(90)
  close(spearman([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 7 / Math.sqrt(90));
  close(spearman([1, 2, 3, 4], [1, 8, 27, 64]), 1); // monotone, not linear
  assert(pearson([1, 2, 3, 4], [1, 8, 27, 64]) < 1);
});

Deno.test("argmaxRows picks the first maximum", () => {
  assertEquals(argmaxRows([[0.1, 0.9], [2, 1], [1, 1]]), [1, 0, 0]);
});

Deno.test("taskMetric reports the paper's metric per task, in points", () => {
  const cola = taskMetric("CoLA", [1, 0, 1, 1], [1, 0, 0, 1]);
  assertEquals([cola.task, cola.metric, cola.n], ["cola", "mcc", 4]);
  close(cola.value, 100 * 2 / Math.sqrt(12), 1e-9);
  const mrpc = taskMetric("mrpc", [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]);
  assertEquals(mrpc.metric, "f1");
  close(mrpc.value, 100 * 4 / 6, 1e-9);
  close(mrpc.extra.acc!, 60, 1e-9);
  assertEquals(taskMetric("qqp", [1], [1]).metric, "f1");
  const sts = taskMetric("STS-B", [1, 2, 3, 4, 5], [2, 4, 5, 4, 5]);
  assertEquals(sts.metric, "pearson");
  close(sts.value, 100 * 6 / Math.sqrt(60), 1e-9);
  close(sts.extra.spearman!, 100 * 7 / Math.sqrt(90), 1e-9);
  for (
    const t of ["sst2", "mnli-m", "mnli-mm", "qnli", "rte", "snli", "scitail", "race", "storycloze"]
  ) {
    const s = taskMetric(t, [0, 1, 1, 0], [0, 1, 0, 0]);
    assertEquals([s.metric, s.value, s.extra], ["acc", 75, {}], t);
  }
  assertThrows(() => taskMetric("nope", [1], [1]), ConfigError);
  assertThrows(() => taskMetric("sst2", [1], [undefined as unknown as number]), RangeError);
});
