/**
 * Benchmark loaders: the real files in ../shared/datasets (row counts and label counts from
 * its README), the Story Cloze split against numpy, the registry, and the malformed fixtures
 * written by tests/fixtures/tasks/gen_fixtures.py (each planted defect at its line).
 */
import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
  needShared,
  ROOT,
  sharedPath,
} from "./_util.ts";
import { ConfigError, DataError } from "../lib/errors.ts";
import {
  buildInputs,
  type Example,
  getTask,
  loadGlue,
  loadRace,
  loadSciTail,
  loadSnli,
  loadStoryCloze,
  loadTask,
  loadWsc,
  NumpyRandomState,
  readStoryClozeCsv,
  STORY_CLOZE_N_VALID,
  STORY_CLOZE_SEED,
  TASK_NAMES,
  TASKS,
  trainTestSplit,
  wscSubstitute,
} from "../lib/tasks/mod.ts";
import { parseCsv } from "../lib/tasks/csv.ts";
import { PAPER_SCORES } from "../lib/paper.ts";
import { specialsFor } from "../lib/transforms.ts";

const FIX = join(ROOT, "tests", "fixtures", "tasks");
const DATA = sharedPath("datasets");

function labelCounts(ex: Example[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const e of ex) c[String(e.label)] = (c[String(e.label)] ?? 0) + 1;
  return c;
}

// ---------------------------------------------------------------------------------------------
// ../shared/datasets

/** [task, split, rows, label counts by class index (undefined = unlabeled)] from the README. */
const SHARED_COUNTS: [string, "train" | "dev" | "test", number, Record<string, number>][] = [
  ["cola", "train", 8551, { "0": 2528, "1": 6023 }],
  ["cola", "dev", 1043, { "0": 322, "1": 721 }],
  ["cola", "test", 1063, { undefined: 1063 }],
  ["sst2", "train", 67349, { "0": 29780, "1": 37569 }],
  ["sst2", "dev", 872, { "0": 428, "1": 444 }],
  ["sst2", "test", 1821, { undefined: 1821 }],
  ["mrpc", "train", 3668, { "0": 1194, "1": 2474 }],
  ["mrpc", "dev", 408, { "0": 129, "1": 279 }],
  ["mrpc", "test", 1725, { undefined: 1725 }],
  ["rte", "train", 2490, { "0": 1249, "1": 1241 }],
  ["rte", "dev", 277, { "0": 146, "1": 131 }],
  ["rte", "test", 3000, { undefined: 3000 }],
  ["stsb", "train", 5749, {}],
  ["stsb", "dev", 1500, {}],
  ["stsb", "test", 1379, { undefined: 1379 }],
  ["snli", "dev", 9842, {}],
  ["snli", "test", 9824, { "0": 3368, "1": 3219, "2": 3237 }],
  ["storycloze", "train", 1497, {}],
  ["storycloze", "dev", 374, {}],
  ["storycloze", "test", 1871, { "0": 960, "1": 911 }],
];

Deno.test({
  name: "loaders read every split in ../shared/datasets with the README's row and label counts",
  ignore: !needShared("tasks: ../shared/datasets loaders"),
  fn: async () => {
    for (const [task, split, rows, labels] of SHARED_COUNTS) {
      const r = await loadTask(task, DATA!, split);
      assertEquals([task, split, r.examples.length, r.skipped], [task, split, rows, 0]);
      if (Object.keys(labels).length > 0) {
        assertEquals(labelCounts(r.examples), labels, `${task} ${split}`);
      }
      for (const e of r.examples) {
        assert(/:\d+$/.test(e.source), e.source);
        if (task === "stsb" && split !== "test") assert(e.label! >= 0 && e.label! <= 5);
      }
    }
  },
});

Deno.test({
  name: "shared files: first rows parse into the right fields (BOM, no header, quotes)",
  ignore: !needShared("tasks: ../shared/datasets first rows"),
  fn: async () => {
    const cola = await loadGlue("cola", join(DATA!, "CoLA"), "train", { limit: 1 });
    assertEquals(
      cola.examples[0].text,
      "Our friends won't buy this analysis, let alone the next one we propose.",
    );
    assertEquals(cola.examples[0].label, 1);
    assert(cola.examples[0].source.endsWith("CoLA/train.tsv:1"));
    const mrpc = await loadGlue("mrpc", join(DATA!, "MRPC"), "train", { limit: 1 });
    assertEquals(mrpc.examples[0].a.startsWith("Amrozi accused his brother"), true);
    assertEquals(mrpc.examples[0].label, 1);
    assert(mrpc.examples[0].source.endsWith("MRPC/train.tsv:2"));
    const dev = await loadGlue("mrpc", join(DATA!, "MRPC"), "dev", { limit: 1 });
    assert(dev.examples[0].b.startsWith('"The foodservice pie'), "literal quote kept");
    const snli = await loadSnli(join(DATA!, "SNLI"), "validation", { limit: 2 });
    assertEquals(snli.examples[1].hypothesis, "Two woman are holding packages .");
    assertEquals(snli.examples[1].label, 0);
    const stsb = await loadGlue("stsb", join(DATA!, "STS-B"), "dev", { limit: 2 });
    assertEquals(stsb.examples.map((e) => e.label), [5, 4.75]);
  },
});

Deno.test({
  name: "WSC: 273 schemas (285 with 'all'), A/B balanced-ish, whitespace collapsed",
  ignore: !needShared("tasks: ../shared/datasets WSC"),
  fn: async () => {
    const w = await loadWsc(join(DATA!, "WSC"));
    assertEquals(w.examples.length, 273);
    assertEquals((await loadWsc(join(DATA!, "WSC"), "all")).examples.length, 285);
    const e = w.examples[0];
    assertEquals(
      e.text,
      "The city councilmen refused the demonstrators a permit because they feared violence.",
    );
    assertEquals([e.candidates, e.label], [["The city councilmen", "the demonstrators"], 0]);
    assertEquals(w.examples[1].label, 1);
    for (const x of w.examples) {
      assert(!/\s\s|^\s|\s$/.test(x.text), x.source);
      assert(x.label === 0 || x.label === 1);
    }
    const zeros = w.examples.filter((x) => x.label === 0).length;
    assert(zeros > 120 && zeros < 153, `A answers: ${zeros}`);
  },
});

Deno.test({
  name: "Story Cloze train/dev are the original code's split (numpy permutation, seed 3535999445)",
  ignore: !needShared("tasks: ../shared/datasets StoryCloze split"),
  fn: async () => {
    const dir = join(DATA!, "StoryCloze");
    const all = await readStoryClozeCsv(join(dir, "cloze_test_val__spring2016.csv"));
    const perm: number[] = JSON.parse(
      await Deno.readTextFile(join(FIX, "split_expected.json")),
    ).permutations[0].permutation;
    const train = (await loadStoryCloze(dir, "train")).examples;
    const dev = (await loadStoryCloze(dir, "validation")).examples;
    assertEquals(train.map((e) => e.id), perm.slice(374).map((i) => all.examples[i].id));
    assertEquals(dev.map((e) => e.id), perm.slice(0, 374).map((i) => all.examples[i].id));
    // checked with numpy by hand: the first train / valid stories of the original code
    assertEquals(train[0].id, "98181079-1081-48ba-bb83-031bb0046b92");
    assertEquals(dev[0].id, "84b1b98f-1e3b-460b-92a7-ef7b8f87e76a");
    assertEquals(new Set([...train, ...dev].map((e) => e.id)).size, 1871);
    assertEquals(all.examples[0].context.split(". ").length, 4);
    assertEquals(all.examples[0].answers, ["He is happy now.", "He joined a gang."]);
  },
});

// ---------------------------------------------------------------------------------------------
// the numpy RandomState port

Deno.test("NumpyRandomState reproduces numpy's MT19937 words and permutations exactly", async () => {
  const exp = JSON.parse(await Deno.readTextFile(join(FIX, "split_expected.json")));
  const r = new NumpyRandomState(exp.uint32.seed);
  const words = Array.from({ length: 629 }, () => r.nextUint32());
  assertEquals(words.slice(0, 5), exp.uint32.first);
  assertEquals(words.slice(624), exp.uint32.after_twist);
  for (const c of exp.permutations) {
    assertEquals(
      new NumpyRandomState(c.seed).permutation(c.n),
      c.permutation,
      `n=${c.n} seed=${c.seed}`,
    );
  }
  const { train, test } = trainTestSplit(1871, STORY_CLOZE_N_VALID, STORY_CLOZE_SEED);
  assertEquals([train.length, test.length], [1497, 374]);
  assertEquals(test, exp.permutations[0].permutation.slice(0, 374));
  assertThrows(() => new NumpyRandomState(2 ** 32), RangeError);
  assertThrows(() => trainTestSplit(10, 10, 0), RangeError);
});

// ---------------------------------------------------------------------------------------------
// registry

Deno.test("registry: every paper benchmark, its input type, metric and the paper's score", () => {
  assertEquals(TASK_NAMES.length, 15);
  for (const n of TASK_NAMES) {
    const t = TASKS[n];
    assertEquals(t.name, n);
    assertEquals(t.paper, PAPER_SCORES[n], n);
    assert(t.labels === null ? t.inputType === "regression-similarity" : t.labels.length >= 2, n);
  }
  assertEquals(getTask("SST-2").name, "sst2");
  assertEquals(getTask("STS-B").metric, "pearson");
  assertEquals(getTask("STS-B").extraMetrics, ["spearman"]);
  assertEquals(getTask("MNLI-mm").name, "mnli-mm");
  assertEquals(getTask("MNLI").name, "mnli-m");
  assertEquals(getTask("ROCStories").name, "storycloze");
  assertEquals(getTask("RACE-h").paper.value, 57.4);
  assertEquals(getTask("cola").metric, "mcc");
  assertEquals([getTask("mrpc").metric, getTask("qqp").metric], ["f1", "f1"]);
  assertEquals(getTask("race").nSequences, 4);
  assertThrows(() => getTask("wnli"), ConfigError);
});

Deno.test("buildInputs: one sequence per input type's rule", () => {
  const enc = (s: string) => s.split(" ").map((w) => w.length); // toy tokenizer
  const sp = specialsFor(100);
  const [s, d, e] = [100, 101, 102];
  assertEquals(
    buildInputs(getTask("sst2"), { id: "0", source: "x:1", text: "ab c" }, enc, sp, 16),
    [[s, 2, 1, e]],
  );
  assertEquals(
    buildInputs(
      getTask("rte"),
      { id: "0", source: "x:1", premise: "a", hypothesis: "bb" },
      enc,
      sp,
      16,
    ),
    [[s, 1, d, 2, e]],
  );
  assertEquals(
    buildInputs(getTask("stsb"), { id: "0", source: "x:1", a: "a", b: "bb" }, enc, sp, 16),
    [[s, 1, d, 2, e], [s, 2, d, 1, e]],
  );
  assertEquals(
    buildInputs(
      getTask("race"),
      { id: "0", source: "x:1", context: "aaaa bbb", question: "cc", answers: ["d", "ee"] },
      enc,
      sp,
      16,
    ),
    [[s, 4, 3, 2, d, 1, e], [s, 4, 3, 2, d, 2, e]],
  );
  // Story Cloze: the original max_len = 8 // 2 - 2 = 2 per part, story cut from the right
  assertEquals(
    buildInputs(
      getTask("storycloze"),
      { id: "0", source: "x:1", context: "a bb ccc", answers: ["dddd eeeee fffff", "g"] },
      enc,
      sp,
      8,
    ),
    [[s, 1, 2, d, 4, 5, e], [s, 1, 2, d, 1, e]],
  );
});

// ---------------------------------------------------------------------------------------------
// missing files

Deno.test("a missing file says where it goes and where to get it", async () => {
  const empty = await Deno.makeTempDir();
  try {
    for (const name of TASK_NAMES) {
      await assertRejects(() => loadTask(name, empty, "train"), DataError);
    }
    const e = await dataError(() => loadTask("qqp", empty, "dev"));
    assertEquals(e.file, join(empty, "QQP", "dev.tsv"));
    assert(e.message.includes("gluebenchmark.com"), e.message);
    assert(e.message.includes("datasets/README.md"), e.message);
    const r = await dataError(() => loadTask("race-h", empty, "test"));
    assert(r.message.includes("RACE-h test folder not found"), r.message);
    assert(r.message.includes("cmu.edu"), r.message);
    const s = await dataError(() => loadSnli(empty, "train"));
    assert(s.message.includes("snli_1.0_train.jsonl") && s.message.includes("stanford.edu"));
    const w = await dataError(() => loadWsc(empty));
    assert(w.message.includes("WSCollection.xml"), w.message);
    const v = await dataError(() => loadTask("cola", empty, "val" as never));
    assert(v.message.includes("no split 'val'"), v.message);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// malformed fixtures

const G = (t: string) => join(FIX, "glue", t);

/** The DataError `p` rejects with (fails when it resolves or rejects with something else). */
async function dataError(p: () => Promise<unknown>): Promise<DataError> {
  const e = await p().then(() => null, (x) => x);
  assert(e instanceof DataError, `expected DataError, got ${e}`);
  return e;
}

/** Asserts that `p` rejects with a DataError naming `file:line` and containing `text`. */
async function rejectsAt(p: () => Promise<unknown>, fileLine: string, text: string) {
  const e = await dataError(p);
  assert(e.message.includes(fileLine), `'${e.message}' should name ${fileLine}`);
  assert(e.message.includes(text), `'${e.message}' should say '${text}'`);
}

Deno.test("GLUE fixtures: malformed rows throw with file:line, or are skipped and counted", async () => {
  const cola = join(G("CoLA"), "train.tsv");
  await rejectsAt(
    () => loadGlue("cola", G("CoLA"), "train"),
    `${cola}:3`,
    "expected 4 tab-separated cells, got 3",
  );
  const r = await loadGlue("cola", G("CoLA"), "train", { onBadRow: "skip" });
  assertEquals(r.examples.map((e) => [e.text, e.label, e.source]), [
    ["The cat sat on the mat.", 1, `${cola}:1`],
    ["Cat the mat on sat.", 0, `${cola}:2`],
    ["Sat mat the.", 0, `${cola}:6`],
  ]);
  assertEquals(r.skipped, 3);
  assertEquals(r.problems, [
    `${cola}:3: expected 4 tab-separated cells, got 3`,
    `${cola}:4: unknown label '2' (expected 0 | 1)`,
    `${cola}:5: empty text in column 4`,
  ]);
  const t = await loadGlue("cola", G("CoLA"), "test");
  assertEquals(t.examples.map((e) => [e.id, e.label]), [["0", undefined], ["1", undefined]]);

  // SST-2: CRLF, trailing blank lines ignored, a blank line inside is malformed
  const sst = join(G("SST-2"), "dev.tsv");
  await rejectsAt(() => loadGlue("sst2", G("SST-2"), "dev"), `${sst}:4`, "got 1");
  const s = await loadGlue("sst2", G("SST-2"), "dev", { onBadRow: "skip" });
  assertEquals(s.examples.map((e) => [e.text, e.label]), [
    ['a "quoted" , charming film', 1],
    ["dull and flat", 0],
    ["it works", 1],
  ]);
  assertEquals(s.problems[1], `${sst}:5: unknown label 'pos' (expected 0 | 1)`);
  await rejectsAt(
    () => loadGlue("sst2", G("SST-2"), "test"),
    "SST-2/test.tsv:3",
    "not valid UTF-8",
  );

  // MRPC: BOM header found by name; literal quotes kept
  const m = await loadGlue("mrpc", G("MRPC"), "train");
  assertEquals(m.examples[0], {
    id: "0",
    a: 'He said "yes.',
    b: 'He agreed "yes.',
    label: 1,
    source: `${join(G("MRPC"), "train.tsv")}:2`,
  });
  assertEquals((await loadGlue("mrpc", G("MRPC"), "test")).examples[0].label, undefined);

  // STS-B: scores must be numbers in [0, 5]
  const st = join(G("STS-B"), "dev.tsv");
  await rejectsAt(() => loadGlue("stsb", G("STS-B"), "dev"), `${st}:3`, "score '6.1'");
  const sb = await loadGlue("stsb", G("STS-B"), "dev", { onBadRow: "skip" });
  assertEquals(sb.examples.map((e) => e.label), [4.75, 0]);
  assertEquals(sb.problems.map((p) => p.split(": ")[0]), [`${st}:3`, `${st}:4`]);
  assertEquals((await loadGlue("stsb", G("STS-B"), "test")).examples.length, 1);

  // MNLI: 16-column dev found by header names; a 15-cell row
  const mn = join(G("MNLI"), "dev_matched.tsv");
  await rejectsAt(() => loadGlue("mnli-m", G("MNLI"), "dev"), `${mn}:3`, "expected 16");
  const mm = await loadGlue("mnli-m", G("MNLI"), "validation", { onBadRow: "skip" });
  assertEquals(mm.examples.map((e) => [e.premise, e.hypothesis, e.label]), [
    ["The dog sleeps.", "An animal rests.", 0],
    ["It is raining.", "The sun is out.", 2],
  ]);
  const mt = await loadGlue("mnli-m", G("MNLI"), "test");
  assertEquals(mt.examples.map((e) => [e.premise, e.label]), [["A.", undefined]]);
  const mis = await dataError(() => loadGlue("mnli-mm", G("MNLI"), "dev"));
  assert(mis.message.includes("dev_mismatched.tsv"), mis.message);

  // QQP: truncated rows; QNLI: unknown label; RTE: header without label; empty file
  const q = await loadGlue("qqp", G("QQP"), "train", { onBadRow: "skip" });
  assertEquals([q.examples.map((e) => e.id), q.skipped], [["7", "9"], 1]);
  await rejectsAt(
    () => loadGlue("qnli", G("QNLI"), "dev"),
    `${join(G("QNLI"), "dev.tsv")}:3`,
    "unknown label 'entails'",
  );
  await rejectsAt(
    () => loadGlue("rte", G("RTE"), "train"),
    `${join(G("RTE"), "train.tsv")}:1`,
    "label column 'label'",
  );
  await rejectsAt(() => loadGlue("rte", G("RTE"), "dev"), "RTE/dev.tsv", "file is empty");
});

Deno.test("limit stops reading early", async () => {
  const r = await loadGlue("cola", G("CoLA"), "train", { limit: 2 });
  assertEquals(r.examples.length, 2);
  const s = await loadSnli(join(FIX, "snli"), "dev", { limit: 1, onBadRow: "skip" });
  assertEquals(s.examples.length, 1);
});

Deno.test("SNLI fixtures: jsonl with '-' labels dropped, bad JSON reported; TSV layout", async () => {
  const dir = join(FIX, "snli");
  const f = join(dir, "snli_1.0_dev.jsonl");
  await rejectsAt(() => loadSnli(dir, "dev"), `${f}:3`, "not a JSON object");
  const r = await loadSnli(dir, "dev", { onBadRow: "skip" });
  assertEquals(r.examples.map((e) => [e.id, e.label, e.source]), [
    ["p1", 1, `${f}:1`],
    ["p5", 2, `${f}:5`],
  ]);
  assertEquals(r.skipped, 3);
  assertEquals(r.problems, [
    `${f}:2: no gold label ('-')`,
    `${f}:3: not a JSON object`,
    `${f}:4: premise or hypothesis is missing or not a string`,
  ]);
  const t = join(dir, "test.tsv");
  await rejectsAt(() => loadSnli(dir, "test"), `${t}:3`, 'unknown label "unrelated"');
  const tt = await loadSnli(dir, "test", { onBadRow: "skip" });
  assertEquals(tt.examples.map((e) => [e.premise, e.hypothesis, e.label]), [[
    "A cat sleeps .",
    "An animal sleeps .",
    0,
  ]]);
});

Deno.test("SciTail fixtures: tsv_format and snli_format", async () => {
  const dir = join(FIX, "scitail");
  const f = join(dir, "tsv_format", "scitail_1.0_dev.tsv");
  await rejectsAt(() => loadSciTail(dir, "dev"), `${f}:2`, "expected 3 tab-separated cells, got 1");
  const r = await loadSciTail(dir, "dev", { onBadRow: "skip" });
  assertEquals(r.examples.map((e) => e.label), [0, 1]);
  const t = await loadSciTail(dir, "test");
  assertEquals(t.examples.map((e) => [e.hypothesis, e.label]), [["Heat melts ice.", 0], [
    "Mars is red.",
    1,
  ]]);
});

Deno.test("RACE fixtures: natural file order, one example per question, bad files reported", async () => {
  const dir = join(FIX, "race");
  await rejectsAt(() => loadRace(dir, "dev"), "middle/2.txt#1", 'answer "E" is not one of A B C D');
  const r = await loadRace(dir, "dev", { onBadRow: "skip" });
  assertEquals(r.examples.map((e) => [e.id, e.group, e.label]), [
    ["middle2.txt#0", "middle", 0],
    ["middle10.txt#0", "middle", 0],
    ["high8.txt#0", "high", 1],
  ]);
  assertEquals(r.examples[0].question, "What color is the ball?");
  assertEquals(r.examples[0].answers, ["red", "blue", "green", "black"]);
  assertEquals(r.skipped, 3);
  assert(r.problems[1].includes("high/5.txt:1: not a JSON object"), r.problems[1]);
  assert(r.problems[2].includes("high/7.txt#0: options must be 4 strings"), r.problems[2]);
  const m = await loadRace(dir, "dev", { levels: ["middle"], onBadRow: "skip" });
  assertEquals(m.examples.length, 2);
});

Deno.test("Story Cloze fixtures: CSV quoting, multi-line fields, bad rows; too-small val file", async () => {
  const dir = join(FIX, "storycloze");
  const f = join(dir, "cloze_test_test__spring2016.csv");
  await rejectsAt(() => loadStoryCloze(dir, "test"), `${f}:5`, "AnswerRightEnding is '3'");
  const r = await loadStoryCloze(dir, "test", { onBadRow: "skip" });
  assertEquals(r.examples.map((e) => [e.id, e.context, e.answers, e.label, e.source]), [
    [
      "s1",
      'Ann woke up. She was tired, very. She said "hi". She ate.',
      ["She slept.", "She flew."],
      0,
      `${f}:2`,
    ],
    [
      "s2",
      "Bo ran. He ran\nfar. He stopped. He rested.",
      ["He sang.", "He drank water."],
      1,
      `${f}:3`,
    ],
  ]);
  assertEquals(r.problems, [
    `${f}:5: AnswerRightEnding is '3', expected 1 or 2`,
    `${f}:6: expected 8 comma-separated fields, got 7`,
  ]);
  const small = await dataError(() => loadStoryCloze(dir, "train"));
  assert(small.message.includes("needs more than 374"), small.message);
});

Deno.test("parseCsv: quoting rules and an unterminated quote", async () => {
  assertEquals(parseCsv('a,"b, c"\r\n1,"say ""hi"""\n\nx,\n', "t.csv"), [
    { line: 1, cells: ["a", "b, c"] },
    { line: 2, cells: ["1", 'say "hi"'] },
    { line: 4, cells: ["x", ""] },
  ]);
  assertEquals(parseCsv('a"b,"c"d', "t.csv"), [{ line: 1, cells: ['a"b', "cd"] }]);
  const text = await Deno.readTextFile(join(FIX, "csv", "unterminated.csv"));
  const e = (() => {
    try {
      parseCsv(text, "u.csv");
    } catch (x) {
      return x;
    }
  })();
  assert(
    e instanceof DataError && e.message.includes("u.csv:2") && e.message.includes("unterminated"),
  );
});

Deno.test("WSC fixture: ISO-8859-1, entities, irregular whitespace, 'A.' answers, bad answer", async () => {
  const dir = join(FIX, "wsc");
  const f = join(dir, "WSCollection.xml");
  await rejectsAt(() => loadWsc(dir), `${f}:32`, "<correctAnswer> is 'C'");
  const r = await loadWsc(f, "all", { onBadRow: "skip" });
  assertEquals(r.skipped, 1);
  const [a, b] = r.examples;
  assertEquals(a.text, "The trophy doesn't fit into the brown suitcase because it is too large.");
  assertEquals([a.pronoun, a.candidates, a.label, a.origin, a.source], [
    "it",
    ["the trophy", "the suitcase"],
    0,
    "(test)",
    `${f}:4`,
  ]);
  assertEquals(b.text, "José thanked Bill & Sue for helping him.");
  assertEquals(b.label, 1);
  assertEquals(wscSubstitute(a, 1), {
    prefix: "The trophy doesn't fit into the brown suitcase because the suitcase",
    rest: " is too large.",
  });
  assertEquals(wscSubstitute(b, 0), {
    prefix: "José thanked Bill & Sue for helping José",
    rest: ".",
  });
});
