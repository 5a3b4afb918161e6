import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "./_util.ts";
import { writeGlueFixture } from "./_glue_fixture.ts";
import { initBackend } from "../lib/backend.ts";
import { makeConfig } from "../lib/config.ts";
import { createLanguageModel } from "../lib/language_model.ts";
import { makeLstmConfig } from "../lib/lstm.ts";
import { saveCheckpoint } from "../lib/checkpoint.ts";
import { readTestIds, validateSubmission } from "../lib/glue_submission.ts";
import { meanSd } from "../lib/metrics.ts";
import { silentProgress } from "../lib/progress.ts";
import {
  armTransfer,
  chooseLr,
  protocolArm,
  type ProtocolCell,
  runProtocol,
  summarizeProtocol,
} from "../lib/protocol.ts";
import { parseLrs, parseTrainSizes } from "../lib/protocol_commands.ts";

await initBackend("wasm");

const cell = (p: Partial<ProtocolCell>): ProtocolCell => ({
  task: "sst2",
  arm: "full",
  model: "gpt1",
  labels: null,
  lr: 1e-4,
  seed: 42,
  nTrain: 100,
  metric: "acc",
  valid: 50,
  validByEpoch: [50],
  bestEpoch: 1,
  train: 50,
  eval: 50,
  evalExtra: {},
  split: "dev",
  n: 10,
  run: "r",
  testFile: null,
  ...p,
});

Deno.test("meanSd: sample sd, one value, bad input", () => {
  assertEquals(meanSd([80, 82, 84]), { mean: 82, sd: 2, n: 3 });
  assertEquals(meanSd([7]), { mean: 7, sd: 0, n: 1 });
  const r = meanSd([1, 2, 3, 4]); // sd = sqrt(((1.5²+0.5²)·2)/3) = sqrt(5/3)
  assert(Math.abs(r.sd - Math.sqrt(5 / 3)) < 1e-12);
  assertThrows(() => meanSd([]));
  assertThrows(() => meanSd([1, NaN]));
});

Deno.test("chooseLr / summarizeProtocol: the lr with the best validation score, never the dev score", () => {
  const lrs = [1e-4, 3e-4, 1e-3];
  const grid = [
    cell({ lr: 1e-4, valid: 70, eval: 90 }), // best on dev, not on valid: must not be chosen
    cell({ lr: 3e-4, valid: 80, eval: 60, bestEpoch: 2, testFile: "t42" }),
    cell({ lr: 1e-3, valid: 75, eval: 70 }),
  ];
  assertEquals(chooseLr(grid, lrs), 3e-4);
  assertEquals(chooseLr(grid.slice(0, 2), lrs), null, "a grid cell missing: no choice yet");
  assertEquals(
    chooseLr([cell({ lr: 1e-4, valid: 5 }), cell({ lr: 3e-4, valid: 5 })], [1e-4, 3e-4]),
    1e-4,
  );
  const seeds = [
    cell({ lr: 3e-4, seed: 43, valid: 82, eval: 62, testFile: "t43" }),
    cell({ lr: 3e-4, seed: 44, valid: 78, eval: 64 }),
    cell({ lr: 1e-4, seed: 43, valid: 99, eval: 99 }), // another lr: not a seed of the choice
  ];
  const [row] = summarizeProtocol([...grid, ...seeds], { lrs, seeds: 3, seed: 42 });
  assertEquals(row.lr, 3e-4);
  assertEquals(row.seeds, [42, 43, 44]);
  assertEquals(row.eval, meanSd([60, 62, 64]));
  assertEquals(row.valid, meanSd([80, 82, 78]));
  assertEquals(row.epochs, [2, 1, 1]);
  assertEquals(row.complete, true);
  assertEquals([row.bestSeed, row.testFile], [43, "t43"]);
  assertEquals(row.grid.map((g) => g.valid), [70, 80, 75]);
  const [part] = summarizeProtocol([...grid, seeds[0]], { lrs, seeds: 3, seed: 42 });
  assertEquals(part.complete, false);
});

Deno.test("CLI lists: --lrs and --train-sizes", () => {
  assertEquals(parseLrs(undefined, [1e-4, 3e-4]), [1e-4, 3e-4]);
  assertEquals(parseLrs("3e-4, 1e-3", []), [3e-4, 1e-3]);
  assertThrows(() => parseLrs("3e-4,x", []));
  assertEquals(parseTrainSizes("1000,4000,all"), [1000, 4000, null]);
  assertEquals(parseTrainSizes(undefined), [null]);
  assertThrows(() => parseTrainSizes("1k"));
});

Deno.test("runProtocol end to end on a tiny fixture: 4 arms, selection, seeds, resume, GLUE files", async () => {
  const fx = await writeGlueFixture({ nTrain: 80, nDev: 20, nTest: 7 });
  const dir = await Deno.makeTempDir();
  const V = fx.tokenizer.vocabSize;
  const gpt = createLanguageModel(makeConfig("tiny", { vocabSize: V, nCtx: 32 }), { seed: 1 });
  const lstm = createLanguageModel(makeLstmConfig("tiny", { vocabSize: V, nHidden: 16 }), {
    seed: 2,
  });
  const init = join(dir, "gpt.safetensors"), lstmInit = join(dir, "lstm.safetensors");
  await saveCheckpoint(init, { model: gpt, step: 1 });
  await saveCheckpoint(lstmInit, { model: lstm, step: 1 });
  gpt.dispose();
  lstm.dispose();
  const runs: string[] = [];
  const base = {
    task: "sst2",
    init,
    lstmInit,
    tokenizer: fx.tokenizer,
    dataRoot: fx.root,
    outDir: join(dir, "out"),
    lrs: [1e-3, 3e-3],
    epochs: 2,
    seeds: 2,
    batchSize: 16,
    progress: (label: string) => {
      runs.push(label);
      return silentProgress;
    },
  };
  const r = await runProtocol(base);
  // 4 arms × (2 grid runs + 1 more seed) = 12 runs
  assertEquals(runs.length, 12);
  assertEquals(r.cells.length, 12);
  assertEquals(r.rows.map((x) => x.arm), ["full", "no-pretrain", "no-aux", "lstm"]);
  for (const row of r.rows) {
    assert(row.complete, `${row.arm} complete`);
    const grid = r.cells.filter((c) => c.arm === row.arm && c.seed === 42);
    const best = grid.reduce((a, b) => (b.valid > a.valid ? b : a));
    assertEquals(row.lr, best.lr, `${row.arm}: the best-valid lr`);
    assertEquals(row.seeds, [42, 43]);
    assertEquals(
      row.eval,
      meanSd(r.cells.filter((c) => c.arm === row.arm && c.lr === row.lr).map((c) => c.eval)),
    );
  }
  assertEquals(r.cells.find((c) => c.arm === "lstm")!.model, "lstm");
  // the no-pretrain arm transferred nothing, the others did
  const cfg = JSON.parse(
    await Deno.readTextFile(join(dir, "out", "runs", "no-pretrain-all-lr0.001-s42", "config.json")),
  );
  assertEquals(cfg.init, "none");
  // GLUE files per arm, valid against the test file
  const ids = await readTestIds("sst2", join(fx.root, "SST-2"));
  assertEquals(r.glueFiles.length, 4);
  for (const arm of ["full", "no-pretrain", "no-aux", "lstm"]) {
    const text = await Deno.readTextFile(join(dir, "out", "glue", arm, "SST-2.tsv"));
    assertEquals(validateSubmission("sst2", text, ids), 7);
  }
  const summary = JSON.parse(await Deno.readTextFile(join(dir, "out", "summary.json")));
  assertEquals(summary.rows.length, 4);
  // resume: nothing recomputed; one more seed: 4 new runs only
  runs.length = 0;
  await runProtocol({ ...base, resume: true });
  assertEquals(runs.length, 0, runs.join());
  await runProtocol({
    ...base,
    resume: true,
    seeds: 3,
    arms: ["full", "no-pretrain", "no-aux", "lstm"],
  });
  assertEquals(runs.length, 4);
  assert(runs.every((l) => l.endsWith("-s44")), runs.join());
  // resume with other settings is refused
  await assertRejects(() => runProtocol({ ...base, resume: true, epochs: 3 }), /other settings/);
  // the report reads the folder back: the arms chart has one bar series per arm
  const { protocolSections, readProtocolResults } = await import("../lib/protocol_report.ts");
  const { rows } = await readProtocolResults(dir);
  assertEquals(rows.map((x) => x.arm), ["full", "no-pretrain", "no-aux", "lstm"]);
  const secs = await protocolSections(dir);
  const t5 = secs.find((s) => s.title.startsWith("Table 5 under the protocol"))!;
  assertEquals(t5.figures![0].data.map((t) => t.name).length, 4);
  assertEquals(t5.tables![0].rows.length, 4);
  assert(secs.some((s) => s.title.startsWith("The paper's claims under the protocol")));
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("label budget: the protocol per training-set size, seeded subsets of that size", async () => {
  const fx = await writeGlueFixture({ nTrain: 90, nDev: 12, nTest: 5 });
  const dir = await Deno.makeTempDir();
  const V = fx.tokenizer.vocabSize;
  const gpt = createLanguageModel(makeConfig("tiny", { vocabSize: V, nCtx: 32 }), { seed: 1 });
  const init = join(dir, "gpt.safetensors");
  await saveCheckpoint(init, { model: gpt, step: 1 });
  gpt.dispose();
  const r = await runProtocol({
    task: "stsb",
    init,
    tokenizer: fx.tokenizer,
    dataRoot: fx.root,
    outDir: join(dir, "out"),
    arms: ["full", "no-pretrain"],
    lrs: [1e-3],
    epochs: 1,
    seeds: 2,
    batchSize: 8,
    trainSizes: [20, 40, 500, null], // 500 > the 81 examples there are: the full set, run once
    glueDir: join(dir, "glue"),
  });
  assertEquals(r.rows.length, 6);
  const n = (arm: string, labels: number | null) =>
    r.rows.find((x) => x.arm === arm && x.labels === labels)!.nTrain;
  assertEquals([n("full", 20), n("full", 40), n("no-pretrain", 20)], [20, 40, 20]);
  assertEquals(n("full", null), 90 - 9); // all: the training set less its 10% validation split
  assertEquals(r.rows.every((x) => x.metric === "pearson" && x.complete), true);
  assertEquals(r.glueFiles, [
    join(dir, "glue", "full", "STS-B.tsv"),
    join(dir, "glue", "no-pretrain", "STS-B.tsv"),
  ], "GLUE files for the full training set only, in --glue-dir");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("layers<k> arms: the layers ablation under the protocol (transfer counts, checks, order)", async () => {
  assertEquals(protocolArm("layers2")?.transferLayers, 2);
  assertEquals(protocolArm("full")?.transferLayers, undefined);
  assertEquals(protocolArm("layers"), undefined);
  assertEquals(
    ["no-pretrain", "layers0", "layers3", "full", "no-aux", "lstm"].map((a) => armTransfer(a, 4)),
    [-1, 0, 3, 4, 4, undefined],
  );
  const fx = await writeGlueFixture({ nTrain: 60, nDev: 16, nTest: 0 });
  const dir = await Deno.makeTempDir();
  const gpt = createLanguageModel(
    makeConfig("tiny", { vocabSize: fx.tokenizer.vocabSize, nCtx: 32 }),
    { seed: 1 },
  );
  const init = join(dir, "gpt.safetensors");
  await saveCheckpoint(init, { model: gpt, step: 1 });
  gpt.dispose();
  const base = {
    task: "sst2",
    init,
    tokenizer: fx.tokenizer,
    dataRoot: fx.root,
    outDir: join(dir, "out"),
    lrs: [1e-3],
    epochs: 1,
    seeds: 1,
    batchSize: 16,
    predictTest: false,
  };
  // the tiny preset has 2 blocks: layers2 would be `full`
  await assertRejects(() => runProtocol({ ...base, arms: ["layers2"] }), Error, "layers0..layers1");
  const r = await runProtocol({ ...base, arms: ["full", "layers1", "layers0", "no-pretrain"] });
  assertEquals(r.rows.map((x) => x.arm), ["full", "no-pretrain", "layers0", "layers1"]);
  // what each run transferred: embeddings only, embeddings + block 0, everything, nothing
  const names = (arm: string) => r.cells.find((c) => c.arm === arm)!.run.split("/").pop()!;
  const cfg = async (arm: string) =>
    JSON.parse(await Deno.readTextFile(join(dir, "out", "runs", names(arm), "config.json")));
  assertEquals(
    await Promise.all(
      ["layers0", "layers1", "full"].map(async (a) => (await cfg(a)).transferLayers),
    ),
    [0, 1, 2],
  );
  assertEquals((await cfg("no-pretrain")).init, "none");
  // --no-train: the same rows from protocol.json, no run; nothing to summarise is an error
  await Deno.remove(join(dir, "out", "summary.json"));
  const calls: string[] = [];
  const again = await runProtocol({
    ...base,
    arms: ["full"],
    noTrain: true,
    progress: (l) => (calls.push(l), silentProgress),
  });
  assertEquals([calls.length, again.rows], [0, r.rows]);
  assert(await Deno.stat(join(dir, "out", "summary.json")).then(() => true));
  await assertRejects(
    () => runProtocol({ ...base, outDir: join(dir, "empty"), noTrain: true }),
    Error,
    "no protocol.json",
  );
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("labelBudgetChart: log x, one line per arm, mean ± sd, the full set at its size", async () => {
  const { labelBudgetChart } = await import("../lib/plot_protocol.ts");
  const row = (arm: string, labels: number | null, mean: number, sd: number) => ({
    task: "sst2",
    arm,
    labels,
    nTrain: labels ?? 66349,
    metric: "acc",
    eval: { mean, sd, n: 3 },
  });
  const fig = labelBudgetChart([
    row("full", 4000, 70, 2),
    row("full", 1000, 60, 3),
    row("full", null, 80, 1),
    row("no-pretrain", 1000, 55, 4),
    { ...row("no-pretrain", 4000, 0, 0), eval: null }, // unfinished: left out
  ]);
  assertEquals((fig.layout.xaxis as { type: string }).type, "log");
  assertEquals(fig.data.map((t) => t.name), ["pre-trained", "no pre-training"]);
  assertEquals(fig.data[0].x, [1000, 4000, 66349]);
  assertEquals(fig.data[0].y, [60, 70, 80]);
  assertEquals((fig.data[0].error_y as { array: number[] }).array, [3, 2, 1]);
  assertEquals(fig.data[1].x, [1000]);
});

Deno.test("planProtocol counts runs and full-batch steps per size", async () => {
  const { planProtocol } = await import("../lib/protocol.ts");
  const p = planProtocol({
    task: "sst2",
    available: 5000,
    arms: 4,
    lrs: 3,
    seeds: 3,
    epochs: 3,
    batchSize: 32,
    sizes: [1000, 4000, null],
    maxTrain: 4500,
  });
  // per arm 3 grid runs + 2 more seeds = 5; 4 arms = 20 runs per size
  assertEquals(p.sizes.map((s) => [s.nTrain, s.stepsPerRun, s.runs]), [
    [1000, 31 * 3, 20],
    [4000, 125 * 3, 20],
    [4500, 140 * 3, 20],
  ]);
  assertEquals(p.runs, 60);
  assertEquals(p.steps, 20 * 3 * (31 + 125 + 140));
});

Deno.test("protocolClaims: arm gaps with dev and seed noise, label-budget gaps, AUROC rows", async () => {
  const { protocolClaims, protocolNoise, aurocNoise } = await import("../lib/claims.ts");
  const row = (task: string, arm: string, labels: number | null, mean: number, sd = 0, n = 1) => ({
    task,
    arm,
    labels,
    nTrain: labels ?? 5000,
    metric: task === "stsb" ? "pearson" : "acc",
    grid: [],
    lr: 3e-4,
    seeds: [42],
    eval: { mean, sd, n },
    nEval: 1000,
    valid: null,
    epochs: [3],
    complete: true,
    bestSeed: 42,
    testFile: null,
  });
  // one seed: the dev set's noise only; three seeds add sd/√3
  assertEquals(protocolNoise(row("sst2", "full", null, 80)), 100 * Math.sqrt(0.25 / 1000));
  assert(
    protocolNoise(row("sst2", "full", null, 80, 3, 3)) >
      protocolNoise(row("sst2", "full", null, 80)),
  );
  const rows = [
    row("sst2", "full", null, 85),
    row("sst2", "no-pretrain", null, 75),
    row("stsb", "full", null, 60),
    row("stsb", "no-pretrain", null, 20),
    row("stsb", "full", 1000, 40),
    row("stsb", "no-pretrain", 1000, 40.5),
  ];
  const c = protocolClaims({
    rows,
    additions: [{
      step: 3072,
      measure: "sst2-auroc",
      addition: true,
      metric: "auroc",
      value: 51,
      chance: 50,
      n: 400,
    }],
  });
  const pre = c.find((r) => String(r.claim).startsWith("pre-training helps (protocol"))!;
  assertEquals(pre.holds, "yes");
  assert(String(pre["this run"]).startsWith("+25.0"), String(pre["this run"]));
  assertEquals(c.find((r) => String(r.claim).includes("LSTM"))!.holds, "–"); // no lstm rows
  const budget = c.find((r) => String(r.claim).includes("few labels (stsb"))!;
  assertEquals(budget.holds, "not shown"); // -0.5 at 1,000 labels is noise
  assert(String(budget["this run"]).includes("1000: -0.5"), String(budget["this run"]));
  const auroc = c.find((r) => String(r.claim).includes("AUROC of the SST-2"))!;
  assertEquals(auroc.holds, "not shown"); // 51 on 400 is within 2 s.e. (2.9) of chance
  assert(Math.abs(aurocNoise(400) - 2.89) < 0.01);
});

Deno.test("layers under the protocol: curves, chart, and the Spearman claim", async () => {
  const { protocolClaims } = await import("../lib/claims.ts");
  const { layersTransferChart, labelBudgetChart } = await import("../lib/plot_protocol.ts");
  const { layersCurves } = await import("../lib/protocol.ts");
  const row = (arm: string, labels: number | null, mean: number) => ({
    task: "sst2",
    arm,
    labels,
    nTrain: labels ?? 8000,
    metric: "acc",
    grid: [],
    lr: 3e-4,
    seeds: [42, 43, 44],
    eval: { mean, sd: 1, n: 3 },
    nEval: 872,
    valid: null,
    epochs: [3, 3, 3],
    complete: true,
    bestSeed: 42,
    testFile: null,
  });
  // 4 blocks: none, embeddings, 1..3 blocks, all (no-aux and lstm are not on the curve)
  const rising = [
    row("full", 4000, 80),
    row("no-pretrain", 4000, 60),
    row("no-aux", 4000, 79),
    row("lstm", 4000, 70),
    row("layers0", 4000, 63),
    row("layers1", 4000, 66),
    row("layers2", 4000, 71),
    row("layers3", 4000, 75),
    row("full", null, 85),
    row("no-pretrain", null, 75),
  ];
  const [curve, ...more] = layersCurves(rising, 4);
  assertEquals(more.length, 0, "one curve: sst2 at 4000 labels (no layers arm at all)");
  assertEquals(curve.labels, 4000);
  assertEquals(curve.points.map((p) => [p.transfer, p.row.arm]), [
    [-1, "no-pretrain"],
    [0, "layers0"],
    [1, "layers1"],
    [2, "layers2"],
    [3, "layers3"],
    [4, "full"],
  ]);
  const fig = layersTransferChart(rising, { nLayer: 4 });
  assertEquals(fig.data.length, 1);
  assertEquals(fig.data[0].x, [0, 1, 2, 3, 4, 5]);
  assertEquals(fig.data[0].y, [60, 63, 66, 71, 75, 80]);
  // the label-budget chart keeps the layers arms out
  const names = labelBudgetChart(rising).data.map((t) => String(t.name));
  assert(names.every((n) => !n.includes("layers")), names.join(", "));
  const claim = (rows: typeof rising) =>
    protocolClaims({ rows, nLayer: 4 }).find((r) =>
      String(r.claim).startsWith("more transferred layers help (sst2 at 4000")
    )!;
  const up = claim(rising);
  assertEquals(up.holds, "yes"); // ρ = 1 > 0.829 (6 counts)
  assert(
    String(up["this run"]).includes("ρ = 1.00 (critical 0.83, 6 counts)"),
    String(up["this run"]),
  );
  assert(String(up["this run"]).includes("all − none +20.0"), String(up["this run"]));
  // a flat, noisy curve is not a trend
  const flat = rising.map((r) =>
    r.labels === 4000 && r.arm.startsWith("layers")
      ? { ...r, eval: { ...r.eval, mean: 90 - r.eval.mean } }
      : r
  );
  assertEquals(claim(flat).holds, "not shown");
});

Deno.test("readProtocolResults: nested protocol folders are label-budget points above the cap", async () => {
  const { readProtocolResults } = await import("../lib/protocol_report.ts");
  const { protocolClaims } = await import("../lib/claims.ts");
  const dir = await Deno.makeTempDir();
  const write = async (sub: string, cells: ProtocolCell[]) => {
    await Deno.mkdir(join(dir, sub), { recursive: true });
    const rows = summarizeProtocol(cells, { lrs: [1e-4], seeds: 1, seed: 42 });
    await Deno.writeTextFile(join(dir, sub, "summary.json"), JSON.stringify({ rows }));
  };
  // the main folder: capped at 8,000 (its full set) and a 1,000-label point
  await write("sst2", [
    cell({ arm: "full", nTrain: 8000, eval: 76 }),
    cell({ arm: "no-pretrain", nTrain: 8000, eval: 73 }),
    cell({ arm: "full", labels: 1000, nTrain: 1000, eval: 66 }),
    cell({ arm: "no-pretrain", labels: 1000, nTrain: 1000, eval: 51 }),
  ]);
  // nested folders above the cap: 16,000 labels, and all 66,349 (pre-trained only)
  await write(join("sst2-16k", "sst2"), [
    cell({ arm: "full", labels: 16000, nTrain: 16000, eval: 78 }),
    cell({ arm: "no-pretrain", labels: 16000, nTrain: 16000, eval: 76 }),
  ]);
  await write(join("sst2-all", "sst2"), [cell({ arm: "full", nTrain: 66349, eval: 79 })]);
  await Deno.mkdir(join(dir, "pretrain", "vocab"), { recursive: true }); // no summary: nothing
  const { rows } = await readProtocolResults(dir);
  const at = (arm: string) => rows.filter((r) => r.arm === arm).map((r) => r.labels);
  assertEquals(at("full"), [1000, null, 16000, 66349], "by size, the 8,000 cap between");
  assertEquals(at("no-pretrain"), [1000, null, 16000]);
  assertEquals(rows.map((r) => r.arm), [...Array(4).fill("full"), ...Array(3).fill("no-pretrain")]);
  assertEquals(rows.filter((r) => r.labels === null).length, 2, "Table 5 keeps the main folder");
  const budget = protocolClaims({ rows }).find((r) => String(r.claim).includes("few labels"))!;
  const gaps = String(budget["this run"]).split(", ").map((g) => g.split(" ±")[0]);
  assertEquals(gaps, ["1000: +15.0", "8000: +3.0", "16000: +2.0"], "by size; none at 66349");
  await Deno.remove(dir, { recursive: true });
});
