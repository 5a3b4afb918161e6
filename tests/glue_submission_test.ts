import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
  needShared,
  sharedPath,
} from "./_util.ts";
import { writeGlueFixture } from "./_glue_fixture.ts";
import { initBackend } from "../lib/backend.ts";
import { makeConfig } from "../lib/config.ts";
import { makeLstmConfig } from "../lib/lstm.ts";
import { DataError } from "../lib/errors.ts";
import { finetune } from "../lib/finetune.ts";
import { predictRun } from "../lib/glue_predict.ts";
import {
  formatPrediction,
  GLUE_SUBMISSION,
  readTestIds,
  submissionTsv,
  validateSubmission,
} from "../lib/glue_submission.ts";

await initBackend("wasm");

Deno.test("GLUE file names and label strings per task", () => {
  const files = Object.values(GLUE_SUBMISSION).map((f) => f.file).sort();
  assertEquals(files, [
    "AX.tsv",
    "CoLA.tsv",
    "MNLI-m.tsv",
    "MNLI-mm.tsv",
    "MRPC.tsv",
    "QNLI.tsv",
    "QQP.tsv",
    "RTE.tsv",
    "SST-2.tsv",
    "STS-B.tsv",
    "WNLI.tsv",
  ]);
  assertEquals([0, 1].map((p) => formatPrediction("cola", p)), ["0", "1"]);
  assertEquals([0, 1].map((p) => formatPrediction("sst2", p)), ["0", "1"]);
  assertEquals([0, 1].map((p) => formatPrediction("rte", p)), ["entailment", "not_entailment"]);
  assertEquals([0, 1].map((p) => formatPrediction("qnli", p)), ["entailment", "not_entailment"]);
  assertEquals([0, 1, 2].map((p) => formatPrediction("mnli-mm", p)), [
    "entailment",
    "neutral",
    "contradiction",
  ]);
  assertEquals(GLUE_SUBMISSION.qqp.idColumn, "id");
  // STS-B: clipped to [0, 5], 4 decimals
  assertEquals([-0.3, 2.123456, 7].map((p) => formatPrediction("stsb", p)), ["0", "2.1235", "5"]);
  assertThrows(() => formatPrediction("sst2", 2));
  assertThrows(() => formatPrediction("rte", 0.5));
  assertThrows(() => formatPrediction("stsb", NaN));
  assertThrows(() => formatPrediction("storycloze", 0), /not a GLUE task/);
});

Deno.test("validateSubmission catches header, count, index and label errors", () => {
  const ids = ["0", "1", "2"];
  const good = submissionTsv("rte", ids, [0, 1, 1]);
  assertEquals(good, "index\tprediction\n0\tentailment\n1\tnot_entailment\n2\tnot_entailment\n");
  assertEquals(validateSubmission("rte", good, ids), 3);
  const bad = (text: string, re: RegExp) =>
    assertThrows(() => validateSubmission("rte", text, ids), (e: unknown) => {
      assert(e instanceof DataError, String(e));
      assert(re.test(e.message), e.message);
      return true;
    });
  bad(good.replace("index\tprediction", "id\tlabel"), /header/);
  bad(good.split("\n").slice(0, 3).join("\n") + "\n", /2 predictions for 3 test rows/);
  bad(good.replace("1\tnot", "7\tnot"), /RTE\.tsv:3: index '7'/);
  bad(good.replace("2\tnot_entailment", "2\t1"), /RTE\.tsv:4: prediction '1'/);
  assertThrows(() => validateSubmission("stsb", "index\tprediction\n0\t5.5\n", ["0"]), /\[0, 5\]/);
  assertThrows(() => submissionTsv("sst2", ids, [0, 1]), /3 ids but 2 predictions/);
});

Deno.test("readTestIds reads every row's id in order; repeats and a missing column throw", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "test.tsv"), 'index\tsentence\n4\ta\n9\tb " c\n2\td\n');
  assertEquals(await readTestIds("sst2", dir), ["4", "9", "2"]);
  await Deno.writeTextFile(join(dir, "test.tsv"), "index\tsentence\n4\ta\n4\tb\n");
  await assertRejects(() => readTestIds("sst2", dir), /id '4' repeats/);
  await Deno.writeTextFile(join(dir, "test.tsv"), "idx\tsentence\n4\ta\n");
  await assertRejects(() => readTestIds("sst2", dir), /no 'index' column/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("finetune --predict-test and predict --run write the same valid SST-2.tsv / STS-B.tsv", async () => {
  const fx = await writeGlueFixture();
  const out = await Deno.makeTempDir();
  const V = fx.tokenizer.vocabSize;
  for (
    const [task, config] of [
      ["sst2", makeConfig("tiny", { vocabSize: V, nCtx: 32 })],
      ["stsb", makeConfig("tiny", { vocabSize: V, nCtx: 32 })],
      ["sst2", makeLstmConfig("tiny", { vocabSize: V, nHidden: 16 })], // the LSTM baseline too
    ] as const
  ) {
    const run = join(out, `${task}-${"kind" in config ? config.kind : "gpt1"}`);
    await Deno.remove(join(out, "during"), { recursive: true }).catch(() => {});
    const r = await finetune({
      task,
      dataRoot: fx.root,
      init: "none",
      config,
      tokenizer: fx.tokenizer,
      epochs: 1,
      batchSize: 16,
      lr: 1e-3,
      outDir: run,
      saveModel: true,
      predictTest: join(out, "during"),
    });
    const file = task === "sst2" ? "SST-2.tsv" : "STS-B.tsv";
    assertEquals(r.testFile, join(out, "during", file));
    const text = await Deno.readTextFile(r.testFile!);
    const ids = await readTestIds(task, join(fx.root, task === "sst2" ? "SST-2" : "STS-B"));
    assertEquals(ids.length, fx.nTest);
    assertEquals(validateSubmission(task, text, ids), fx.nTest);
    const rows = text.trim().split("\n").slice(1).map((l) => l.split("\t"));
    assertEquals(rows.map((c) => c[0]), ids); // the test file's own (non-contiguous) indices
    if (task === "stsb") assert(rows.every((c) => Number(c[1]) >= 0 && Number(c[1]) <= 5));
    // predict later from the saved model: the same file
    const later = await predictRun({
      run,
      dataRoot: fx.root,
      tokenizer: fx.tokenizer,
      outDir: join(out, "later"),
    });
    assertEquals(await Deno.readTextFile(later), text);
  }
  // a run folder without a saved model says how to get one
  await Deno.remove(join(out, "sst2-gpt1", "model.safetensors"));
  await assertRejects(
    () =>
      predictRun({
        run: join(out, "sst2-gpt1"),
        dataRoot: fx.root,
        tokenizer: fx.tokenizer,
        outDir: out,
      }),
    /--save-model/,
  );
  await Deno.remove(out, { recursive: true });
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test({
  name: "the shared GLUE test files: every row loads, in the order and with the ids of the file",
  ignore: !needShared("GLUE test files"),
  fn: async () => {
    const { getTask } = await import("../lib/tasks/mod.ts");
    for (const name of ["cola", "sst2", "mrpc", "stsb", "rte"]) {
      const task = getTask(name);
      const dir = sharedPath("datasets", task.folder)!;
      const ids = await readTestIds(name, dir);
      const r = await task.load(dir, "test");
      assertEquals(r.skipped, 0, name);
      assertEquals(r.examples.map((e) => e.id), ids, name);
      // a submission with every prediction 0 is accepted for exactly these ids
      const text = submissionTsv(name, ids, ids.map(() => 0));
      assertEquals(validateSubmission(name, text, ids), ids.length);
    }
  },
});

Deno.test("finetune --predict-test on a task GLUE does not score fails before training", async () => {
  const fx = await writeGlueFixture({ nTrain: 10, nDev: 2, nTest: 1 });
  await assertRejects(
    () =>
      finetune({
        task: "storycloze",
        dataRoot: fx.root,
        init: "none",
        config: makeConfig("tiny", { vocabSize: fx.tokenizer.vocabSize, nCtx: 32 }),
        tokenizer: fx.tokenizer,
        predictTest: fx.root,
      }),
    /not a GLUE task/,
  );
  await Deno.remove(fx.root, { recursive: true });
});
