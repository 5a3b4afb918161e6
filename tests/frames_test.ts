/**
 * Tests of lib/frames.ts: danfojs-node loads under Deno without touching TensorFlow.js (same
 * backend, same registry, same model output, no tensor left), the results frames of a layout
 * (groupby counts and means checked against sums computed here), the committed results as
 * frames, and dataset exploration over a fixture data root (label balance, lengths, chart).
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { assert, assertEquals } from "./_util.ts";
import { initBackend } from "../lib/backend.ts";
import { createModel } from "../lib/model.ts";
import { makeConfig } from "../lib/config.ts";
import { writeJsonAtomic } from "../lib/fsutil.ts";
import { committedLayout, readTable5, reproduceLayout } from "../lib/runs.ts";
import {
  danfo,
  datasetRows,
  exploreDatasets,
  frameRows,
  lengthChart,
  RESULTS_COLUMNS,
  resultsFrame,
  resultsRows,
  toFrame,
} from "../lib/frames.ts";

await initBackend("wasm");

/** |actual − expected| ≤ tol. */
function assertAlmostEquals(actual: number, expected: number, tol: number, msg = ""): void {
  assert(Math.abs(actual - expected) <= tol, `${msg}: ${actual} ≠ ${expected} (± ${tol})`);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Rows of a frame keyed by the values of `keys` joined with "|". */
const byKey = (rows: Record<string, unknown>[], keys: string[]) =>
  new Map(rows.map((r) => [keys.map((k) => String(r[k])).join("|"), r]));

Deno.test("danfojs-node leaves TensorFlow.js alone: backend, registry, model output, tensors", async () => {
  const registry = () =>
    Object.keys(
      (tf.engine() as unknown as { registryFactory: object })
        .registryFactory,
    ).sort();
  const backend = tf.getBackend();
  const before = registry();
  const cfg = makeConfig("tiny");
  const model = createModel(cfg, { seed: 7 });
  const ids = [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]];
  const loss0 = await model.lmLoss(ids);
  const n0 = tf.memory().numTensors;
  const dfd = await danfo();
  assert(dfd.tensorflow.engine() === tf.engine(), "danfo uses the project's tfjs instance");
  const df = await toFrame([{ a: "x", v: 1 }, { a: "y", v: 2 }, { a: "x", v: 4 }]);
  frameRows(df.groupby(["a"]).agg({ v: ["mean", "count"] }));
  frameRows(df.describe());
  assertEquals(tf.getBackend(), backend, "same backend after danfo");
  assertEquals(registry(), before, "no backend registered by danfo");
  assertEquals(tf.memory().numTensors, n0, "no tensors left by the frames");
  assertEquals(await model.lmLoss(ids), loss0, "same loss after importing danfo");
  model.dispose();
});

/** A layout with two Table 5 cells per variant, a layers file and both zero-shot files. */
async function fixtureLayout(dir: string) {
  const layout = reproduceLayout(dir, ["rte"]);
  for (
    const d of [layout.table5, layout.table5Lstm, layout.layers.rte, layout.pretrain, layout.lstm]
  ) {
    await Deno.mkdir(d, { recursive: true });
  }
  const cell = (task: string, variant: string, value: number, paper: number | null) => ({
    task,
    variant,
    metric: "acc",
    value,
    split: "dev",
    n: 10,
    nTrain: 20,
    paper,
    run: "x",
  });
  await writeJsonAtomic(join(layout.table5, "table5.json"), {
    cells: [
      cell("sst2", "full", 80, 93.2),
      cell("rte", "full", 56, 60),
      cell("sst2", "no-pretrain", 60, 88.9),
      cell("rte", "no-pretrain", 52, null),
      cell("sst2", "no-aux", 78, 92),
      cell("rte", "no-aux", 55.5, 60),
    ],
  });
  await writeJsonAtomic(join(layout.table5Lstm, "table5.json"), {
    cells: [cell("sst2", "full", 70, null)],
  });
  const lrow = (nTransfer: number, valid: number) => ({
    task: "rte",
    nTransfer,
    x: nTransfer + 1,
    metric: "acc",
    train: valid + 5,
    valid,
    split: "dev",
    n: 30,
    run: "x",
  });
  await writeJsonAtomic(join(layout.layers.rte, "layers.json"), {
    rows: [lrow(-1, 50), lrow(0, 51), lrow(1, 55)],
  });
  const zrow = (step: number, task: string, relative: number) => ({
    step,
    task,
    heuristic: task === "sst2" ? "sentiment" : "winograd",
    metric: "acc",
    raw: 50 + relative,
    relative,
    chance: 50,
    n: 12,
    seconds: 1,
  });
  const zfile = (rows: unknown[]) => ({ format: "gpt1-lab/zeroshot-1", normalisation: "", rows });
  await writeJsonAtomic(
    join(layout.pretrain, "zeroshot.json"),
    zfile([zrow(16, "sst2", 0.1), zrow(16, "wsc", 0.2), zrow(32, "sst2", 0.3)]),
  );
  await writeJsonAtomic(join(layout.lstm, "zeroshot.json"), zfile([zrow(16, "sst2", -0.1)]));
  return layout;
}

Deno.test("resultsFrame: Table 5, layers and zero-shot rows, groupby and describe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpt1-frames-" });
  try {
    const layout = await fixtureLayout(dir);
    const t5 = await resultsFrame("table5", layout);
    assertEquals(t5.shape, [7, RESULTS_COLUMNS.table5.length]);
    assertEquals(t5.columns, [...RESULTS_COLUMNS.table5]);
    const rows = await resultsRows("table5", layout);
    const g = byKey(frameRows(t5.groupby(["variant"]).agg({ value: ["mean", "count"] })), [
      "variant",
    ]);
    for (const v of ["full", "no-pretrain", "no-aux", "lstm"]) {
      const mine = rows.filter((r) => r.variant === v).map((r) => r.value as number);
      assertEquals(g.get(v)?.value_count, mine.length, `${v} count`);
      assertAlmostEquals(g.get(v)?.value_mean as number, mean(mine), 1e-9, `${v} mean`);
    }
    assertEquals(g.get("full")?.value_mean, 68);
    assertEquals(g.get("lstm")?.value_count, 1);
    const lstm = rows.find((r) => r.variant === "lstm")!;
    assertEquals(lstm.model, "lstm");
    assertEquals(lstm.paper, 90.5, "the paper's LSTM row, SST-2");
    const rteNp = rows.find((r) => r.task === "rte" && r.variant === "no-pretrain")!;
    assert(Number.isNaN(rteNp.paper) && Number.isNaN(rteNp.diff), "no paper score: NaN");
    assertAlmostEquals(rows[0].diff as number, 80 - 93.2, 1e-9);
    // describe: count skips NaN, the other statistics of a complete column are right
    const d = byKey(frameRows(t5.describe()), ["index"]);
    assertEquals(d.get("count")?.value, 7);
    assertEquals(d.get("count")?.paper, 6, "count skips the NaN paper cell");
    const values = rows.map((r) => r.value as number);
    assertAlmostEquals(d.get("mean")?.value as number, mean(values), 1e-9);
    assertEquals(d.get("min")?.value, Math.min(...values));
    assertEquals(d.get("max")?.value, Math.max(...values));

    const layers = await resultsFrame("layers", layout);
    assertEquals(layers.shape[0], 3);
    assertEquals(layers.column("nTransfer").values, [0, 1, 2], "the paper's axis");
    assertEquals(layers.column("task").values, ["RTE", "RTE", "RTE"]);

    const zs = await resultsFrame("zeroshot", layout);
    assertEquals(zs.shape[0], 4);
    const zg = byKey(
      frameRows(zs.groupby(["model", "task"]).agg({ relative: ["mean", "count"] })),
      ["model", "task"],
    );
    assertAlmostEquals(zg.get("gpt1|sst2")?.relative_mean as number, 0.2, 1e-9);
    assertEquals(zg.get("gpt1|sst2")?.relative_count, 2);
    assertEquals(zg.get("lstm|sst2")?.relative_count, 1);
    assertEquals(zg.get("gpt1|wsc")?.relative_count, 1);

    // nothing computed: empty frames with the columns
    const none = reproduceLayout(join(dir, "none"), ["rte"]);
    for (const k of ["table5", "layers", "zeroshot"] as const) {
      const e = await resultsFrame(k, none);
      assertEquals(e.shape[0], 0);
      assertEquals(e.columns, [...RESULTS_COLUMNS[k]]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resultsFrame over the committed results: per-variant means match readTable5", async () => {
  const cells = await readTable5(committedLayout());
  if (cells.length === 0) {
    console.log("SKIP: no committed Table 5 results");
    return;
  }
  const df = await resultsFrame("table5");
  assertEquals(df.shape[0], cells.length);
  const g = byKey(frameRows(df.groupby(["variant"]).agg({ value: "mean" })), ["variant"]);
  for (const v of new Set(cells.map((c) => c.variant))) {
    const mine = cells.filter((c) => c.variant === v).map((c) => c.value);
    assertAlmostEquals(g.get(v)?.value_mean as number, mean(mine), 1e-9, v);
  }
});

/** A data root with SST-2 (train + dev) and RTE (train only). */
async function fixtureData(dir: string): Promise<void> {
  const sst = join(dir, "SST-2");
  await Deno.mkdir(sst, { recursive: true });
  const sentences = ["a fine film", "dull", "very good indeed , really", "bad bad", "ok", "fun"];
  const labels = [1, 0, 1, 0, 1, 1];
  await Deno.writeTextFile(
    join(sst, "train.tsv"),
    "sentence\tlabel\n" + sentences.map((s, i) => `${s} \t${labels[i]}\n`).join(""),
  );
  await Deno.writeTextFile(join(sst, "dev.tsv"), "sentence\tlabel\ngreat fun \t1\nmeh \t0\n");
  const rte = join(dir, "RTE");
  await Deno.mkdir(rte, { recursive: true });
  await Deno.writeTextFile(
    join(rte, "train.tsv"),
    "index\tsentence1\tsentence2\tlabel\n0\tA man sleeps.\tA man rests.\tentailment\n" +
      "1\tIt rains today.\tIt is dry.\tnot_entailment\n2\tCats purr.\tCats make sounds.\tentailment\n",
  );
}

Deno.test("exploreDatasets: label balance, lengths per task and split, chart, missing tasks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpt1-frames-data-" });
  try {
    await fixtureData(dir);
    const { rows, missing } = await datasetRows(["sst2", "rte", "cola"], dir);
    assertEquals(missing, ["cola"]);
    assertEquals(rows.length, 6 + 2 + 3, "RTE has no dev file: skipped");
    assertEquals(rows[2].words, 5);
    assertEquals(rows[6].label, "positive");
    assertEquals(rows.find((r) => r.task === "rte")!.words, 3 + 3, "premise + hypothesis");

    const x = await exploreDatasets(["sst2", "rte", "cola"], dir, {
      encode: (t) => [...t].map((c) => c.charCodeAt(0)),
    });
    assertEquals(x.missing, ["cola"]);
    const bal = byKey(frameRows(x.balance), ["task", "split", "label"]);
    assertEquals(bal.get("sst2|train|positive")?.count, 4);
    assertEquals(bal.get("sst2|train|negative")?.count, 2);
    assertAlmostEquals(bal.get("sst2|train|positive")?.share as number, 400 / 6, 1e-9);
    assertEquals(bal.get("sst2|dev|negative")?.count, 1);
    assertAlmostEquals(bal.get("rte|train|entailment")?.share as number, 200 / 3, 1e-9);
    for (const [task, split] of [["sst2", "train"], ["sst2", "dev"], ["rte", "train"]]) {
      const shares = frameRows(x.balance).filter((r) => r.task === task && r.split === split)
        .map((r) => r.share as number);
      assertAlmostEquals(shares.reduce((a, b) => a + b, 0), 100, 1e-9, `${task} ${split}`);
    }
    const len = byKey(frameRows(x.lengths), ["task", "split"]);
    const sstTrain = rows.filter((r) => r.task === "sst2" && r.split === "train").map((r) =>
      r.words
    );
    assertEquals(len.get("sst2|train")?.count, 6);
    assertAlmostEquals(len.get("sst2|train")?.mean as number, mean(sstTrain), 1e-9);
    assertEquals(len.get("sst2|train")?.max, 5);
    assertEquals(len.get("sst2|train")?.min, 1);
    // tokens: the fake encode counts characters (spaces included)
    const tok = frameRows(x.examples).find((r) => r.task === "sst2")!;
    assertEquals(tok.tokens, "a fine film".length);
    // chart: one line per task (train split), shares sum to 100
    assertEquals(x.chart.data.length, 2);
    for (const t of x.chart.data) {
      const s = (t.y as number[]).reduce((a, b) => a + b, 0);
      assertAlmostEquals(s, 100, 1e-9, t.name);
    }
    assert(x.chart.data[0].name.startsWith("SST-2 (train, n = 6)"));
    assertEquals(lengthChart([]).data.length, 0);
    // no data at all: empty frames, every task missing
    const empty = await exploreDatasets(["sst2"], join(dir, "nothing"));
    assertEquals(empty.missing, ["sst2"]);
    assertEquals(empty.balance.shape[0], 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
