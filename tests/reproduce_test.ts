/**
 * Tests of lib/reproduce.ts, lib/stages.ts, lib/sections.ts and lib/notebook.ts: the scale settings (valid, within budget, and `small` equal to the
 * committed results' settings when those are present), the stage stamps (reuse, resume,
 * recompute on a change, never touch foreign folders), the layers rows, and a micro end-to-end
 * run that writes a report (with the benchmarks when ../shared is there, without them else).
 */
import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertRejects,
  needShared,
  ROOT,
  sharedPath,
  SLOW,
} from "./_util.ts";
import { reproduce } from "../lib/reproduce.ts";
import {
  runLayersStage,
  runPretrainStage,
  runTable5Stage,
  stageKey,
  STAMP_FILE,
} from "../lib/stages.ts";
import { layoutSections, settingsRows, zeroShotTable } from "../lib/sections.ts";
import {
  inputExamples,
  liveFigure,
  notebookLayers,
  notebookPlan,
  notebookTable5,
} from "../lib/notebook.ts";
import { finetune } from "../lib/finetune.ts";
import { paperClaims, scoreNoise, spearmanCritical } from "../lib/claims.ts";
import {
  capsFor,
  GUTENBERG_BOOKS,
  REPRODUCE_SCALES,
  type ReproduceSettings,
  reproduceSettings,
  resolveDataPath,
  SCALES,
} from "../lib/settings.ts";
import { ConfigError } from "../lib/errors.ts";
import { FINETUNE_DEFAULTS, PRESETS } from "../lib/config.ts";
import { getTask } from "../lib/tasks/mod.ts";
import { prepareLmData } from "../lib/pipeline.ts";
import { TABLE5_VARIANTS } from "../lib/sweeps.ts";
import { ZEROSHOT_TASKS } from "../lib/zeroshot.ts";
import { collectDocuments, mobyDickCorpus } from "../lib/corpus.ts";
import { initBackend } from "../lib/backend.ts";
import { setJupyterApi } from "../lib/jupyter.ts";
import { lineChart } from "../lib/plot.ts";
import { BpeTrainer } from "../lib/tokenizer/trainer.ts";
import { Gpt1Tokenizer } from "../lib/tokenizer/bpe.ts";
import { COMMANDS } from "../lib/commands.ts";
import { main } from "../cli.ts";
import { committedLayout, readLayers, readTable5, reproduceLayout } from "../lib/runs.ts";

await initBackend("wasm");
const quiet = { log: () => {} };

Deno.test("every scale's settings are valid: presets, tasks, variants, transfer counts", () => {
  for (const scale of SCALES) {
    const s = reproduceSettings(scale);
    assertEquals(s.scale, scale);
    const cfg = PRESETS[s.pretrain.preset];
    assert(cfg, `${scale}: preset ${s.pretrain.preset}`);
    assert(s.pretrain.warmupSteps < s.pretrain.steps, `${scale}: warmup < steps`);
    assert(s.pretrain.steps > 0 && s.pretrain.batchSize > 0 && s.pretrain.lr > 0);
    for (const t of [...s.table5.tasks, ...s.layers.tasks]) getTask(t); // throws when unknown
    const keys = TABLE5_VARIANTS.map((v) => v.key) as string[];
    for (const v of s.table5.variants) assert(keys.includes(v), `${scale}: variant ${v}`);
    for (const n of s.layers.layers ?? []) {
      assert(n >= -1 && n <= cfg.nLayer, `${scale}: transfer count ${n} of ${cfg.nLayer} layers`);
    }
    for (const t of s.zeroshot.tasks ?? []) assert(t in ZEROSHOT_TASKS, `${scale}: ${t}`);
    assert(Object.isFrozen(s) && Object.isFrozen(s.pretrain) && Object.isFrozen(s.table5.tasks));
  }
  assertEquals(reproduceSettings("paper").pretrain.vocab, "gpt1");
  assertEquals(PRESETS[reproduceSettings("paper").pretrain.preset].nLayer, 12);
  let err: unknown;
  try {
    reproduceSettings("huge");
  } catch (e) {
    err = e;
  }
  assert(err instanceof ConfigError && /smoke \| small \| paper/.test(err.message));
});

Deno.test("smoke stays a CPU job: tiny model, embedded corpus only, small budgets", () => {
  const s = REPRODUCE_SCALES.smoke;
  assertEquals(s.pretrain.preset, "tiny");
  assertEquals([...s.pretrain.corpus], ["embedded"], "smoke must run without ../shared");
  const tokens = s.pretrain.steps * s.pretrain.batchSize * PRESETS.tiny.nCtx;
  assert(tokens <= 1_000_000, `smoke pre-trains on ${tokens} tokens`);
  const runs = s.table5.tasks.length * s.table5.variants.length + (s.layers.layers?.length ?? 0);
  assert(runs <= 20 && (s.table5.maxTrain ?? Infinity) <= 1000, `${runs} fine-tuning runs`);
  assert(Object.values(s.zeroshot.maxExamples).every((n) => n !== undefined && n <= 200));
});

Deno.test("resolveDataPath, stageKey, settingsRows, capsFor", () => {
  const st = {
    maxTrain: 100,
    maxEval: null,
    perTask: { rte: { maxEval: 50 }, cola: { maxTrain: null } },
  };
  assertEquals(capsFor(st, "rte"), { maxTrain: 100, maxEval: 50 });
  assertEquals(capsFor(st, "cola"), { maxTrain: null, maxEval: null });
  assertEquals(capsFor(st, "sst2"), { maxTrain: 100, maxEval: null });
  assertEquals(
    resolveDataPath("{data}/pretrain_gutenberg/a.txt", "/d"),
    "/d/pretrain_gutenberg/a.txt",
  );
  assertEquals(resolveDataPath("embedded", "/d"), "embedded");
  const a = stageKey("table5", { lr: 1 }, "up");
  assertEquals(a, stageKey("table5", { lr: 1 }, "up"));
  assert(a !== stageKey("table5", { lr: 2 }, "up") && a !== stageKey("table5", { lr: 1 }, "x"));
  const rows = settingsRows(REPRODUCE_SCALES.small);
  assertEquals(
    rows.find((r) => r.setting === "pretrain.corpus")?.value,
    `embedded, ${GUTENBERG_BOOKS.length} files in {data}/pretrain_gutenberg/`,
  );
  assertEquals(
    rows.find((r) => r.setting === "table5.tasks")?.value,
    "cola, sst2, mrpc, stsb, rte, snli, storycloze",
  );
  assertEquals(rows.find((r) => r.setting === "table5.maxTrain")?.value, "1000");
  assertEquals(rows.find((r) => r.setting === "pretrain.evalTextWindows")?.value, "–");
});

/** The committed results, when present, must have been made with the `small` settings. */
Deno.test("small = the settings of the committed results (checked where they are present)", async () => {
  const s = REPRODUCE_SCALES.small;
  const layout = committedLayout();
  const read = async (p: string) => {
    try {
      return JSON.parse(await Deno.readTextFile(p));
    } catch {
      return null;
    }
  };
  const cfg = await read(join(layout.pretrain, "config.json"));
  if (cfg) {
    assertEquals(cfg.train.steps, s.pretrain.steps);
    assertEquals(cfg.train.batchSize, s.pretrain.batchSize);
    assertEquals(cfg.train.lr, s.pretrain.lr);
    assertEquals(cfg.train.warmupSteps, s.pretrain.warmupSteps);
    assertEquals(cfg.train.seed, s.pretrain.seed);
    assertEquals(cfg.train.evalEvery, s.pretrain.evalEvery);
    assertEquals(cfg.preset, s.pretrain.preset);
    const base = (p: string) => p.split("/").pop();
    assertEquals(
      (cfg.corpus as string[]).map(base),
      s.pretrain.corpus.map(base),
      "the corpus and its order (the order enters the vocabulary hash)",
    );
    const { nCtx, nEmbd, nLayer, nHead } = PRESETS.small;
    assertEquals({ nCtx, nEmbd, nLayer, nHead }, {
      nCtx: cfg.model.nCtx,
      nEmbd: cfg.model.nEmbd,
      nLayer: cfg.model.nLayer,
      nHead: cfg.model.nHead,
    });
  } else console.log("SKIP committed pre-training settings: results/small/config.json absent");
  const lc = await read(join(layout.lstm, "config.json"));
  if (lc && cfg) {
    // the LSTM baseline: the Transformer's data, vocabulary, updates and schedule
    assertEquals(lc.modelKind, "lstm");
    assertEquals(lc.train, cfg.train, "the LSTM's training settings");
    assertEquals(lc.vocabHash, cfg.vocabHash, "the LSTM's vocabulary");
    assertEquals(lc.data, cfg.data, "the LSTM's token counts");
    assertEquals(lc.corpus, cfg.corpus, "the LSTM's corpus");
  } else console.log("SKIP committed LSTM settings: results/small-lstm/config.json absent");
  const lt5 = await read(join(layout.table5Lstm, "table5.json"));
  if (lt5) {
    for (const c of lt5.cells as { task: string; variant: string; nTrain: number; n: number }[]) {
      const caps = capsFor(s.table5, c.task);
      assertEquals(c.variant, "full", "the LSTM row is the full variant");
      assert(c.nTrain <= (caps.maxTrain ?? Infinity), `LSTM ${c.task}: ${c.nTrain} examples`);
      assert(c.n <= (caps.maxEval ?? Infinity), `LSTM ${c.task}: ${c.n} evaluation examples`);
    }
  } else console.log("SKIP committed LSTM row: results/table5-lstm/table5.json absent");
  const t5 = await read(join(layout.table5, "table5.json"));
  if (t5) {
    const { epochs, lr, seed } = s.table5;
    assertEquals({ epochs: t5.settings.epochs, lr: t5.settings.lr, seed: t5.settings.seed }, {
      epochs,
      lr,
      seed,
    }, "results/table5 settings");
    for (const c of t5.cells as { task: string; nTrain: number; n: number }[]) {
      const caps = capsFor(s.table5, c.task);
      assert(c.nTrain <= (caps.maxTrain ?? Infinity), `${c.task}: ${c.nTrain} training examples`);
      assert(c.n <= (caps.maxEval ?? Infinity), `${c.task}: ${c.n} evaluation examples`);
    }
  } else console.log("SKIP committed Table 5 settings: results/table5/table5.json absent");
  for (const [task, dir] of Object.entries(layout.layers)) {
    const l = await read(join(dir, "layers.json"));
    if (!l) {
      console.log(`SKIP committed layers settings: ${dir}/layers.json absent`);
      continue;
    }
    const { epochs, lr, auxLm, seed } = s.layers;
    const { maxTrain, maxEval } = capsFor(s.layers, task);
    assertEquals(l.settings, { maxTrain, maxEval, epochs, lr, auxLm, seed }, `${dir} settings`);
    assertEquals(l.task, task);
    assert(s.layers.tasks.includes(task));
  }
});

/** Micro settings: the smoke pipeline cut to seconds (Moby Dick chapters as corpus). */
function micro(corpusFile: string): ReproduceSettings {
  const s = REPRODUCE_SCALES.smoke;
  return {
    ...s,
    about: "micro test run",
    pretrain: {
      ...s.pretrain,
      corpus: [corpusFile],
      merges: 300,
      steps: 40,
      batchSize: 4,
      warmupSteps: 4,
      evalEvery: 20,
      evalWindows: 8,
      ckptEvery: 20,
      evalText: null,
    },
    table5: { ...s.table5, tasks: ["sst2"], maxTrain: 24, maxEval: 24, epochs: 1 },
    layers: { ...s.layers, tasks: ["rte"], layers: [-1, 2], maxTrain: 16, maxEval: 16, epochs: 1 },
    zeroshot: {
      tasks: ["sst2", "wsc"],
      maxExamples: { sst2: 16, wsc: 12 },
      batchSize: 8,
    },
    lstm: { enabled: true, tasks: ["sst2"] },
    protocol: null, // its stages: tests/protocol_stages_test.ts
  };
}

/** A folder of 12 Moby Dick chapters (several documents, so the split has a validation side). */
async function corpusFile(dir: string): Promise<string> {
  const docs = await collectDocuments([mobyDickCorpus()]);
  const path = join(dir, "moby-part");
  await Deno.mkdir(path);
  for (const [i, d] of docs.slice(2, 14).entries()) {
    await Deno.writeTextFile(join(path, `ch${i}.txt`), d.text);
  }
  return path;
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

Deno.test({
  name: "micro end-to-end: every stage, report with every chart; rerun reuses; a change recomputes",
  ignore: !needShared("reproduce end-to-end with benchmarks"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gpt1-repro-" });
    try {
      const s = micro(await corpusFile(dir));
      const out = join(dir, "out");
      const opts = { settings: s, outDir: out, dataRoot: sharedPath("datasets")!, ...quiet };
      const opt = { ...opts, cacheDir: join(dir, "cache") };
      const r = await reproduce(opt);
      assertEquals(r.stages.map((x) => [x.stage, x.status]), [
        ["pretrain", "ran"],
        ["pretrain-lstm", "ran"],
        ["table5", "ran"],
        ["table5-lstm", "ran"],
        ["layers", "ran"],
        ["zeroshot", "ran"],
        ["zeroshot-lstm", "ran"],
        ["report", "ran"],
      ]);
      const html = await Deno.readTextFile(r.report);
      // pre-training (2 + Transformer vs LSTM), Tables 2-4 (3), Table 5 (1), Figure 2 (2)
      assertEquals(count(html, 'class="gpt1-figure"'), 9);
      assertEquals(r.figures, 9);
      assert(html.includes("This run") && html.includes("Table 5: ablations"));
      const rec = JSON.parse(await Deno.readTextFile(join(out, "reproduce.json")));
      assertEquals(rec.report, r.report);
      assertEquals(rec.settings.pretrain.steps, 40);
      const t5 = JSON.parse(await Deno.readTextFile(join(out, "table5", "table5.json")));
      assertEquals(t5.cells.length, 3, "sst2 × 3 variants");
      const cells = await readTable5(reproduceLayout(out, ["rte"]));
      assertEquals(cells.map((c) => c.variant), ["full", "no-pretrain", "no-aux", "lstm"]);
      assertEquals(cells[3].paper, 90.5, "the paper's LSTM row, SST-2");
      const lstmCfg = JSON.parse(
        await Deno.readTextFile(join(out, "pretrain-lstm", "config.json")),
      );
      assertEquals(lstmCfg.model.kind, "lstm");
      assert(html.includes("LSTM w/ aux LM") && html.includes("SST-2, LSTM"));
      const layers = await readLayers(reproduceLayout(out, ["rte"]));
      assertEquals(layers.map((l) => l.nTransfer), [0, 3], "paper axis: nothing = 0, all = L+1");
      assertEquals(layers[0].task, "RTE");
      const zs = JSON.parse(await Deno.readTextFile(join(out, "pretrain", "zeroshot.json")));
      assertEquals(new Set(zs.rows.map((x: { step: number }) => x.step)).size, 3, "16, 32, 40");

      // rerun: every stage reused
      const again = await reproduce(opt);
      assertEquals(again.stages.slice(0, 7).map((x) => x.status), Array(7).fill("reused"));
      assert(again.stages[0].seconds > 0, "a reused stage reports the seconds it took");
      // a Table 5 change recomputes Table 5 only
      const s2 = { ...s, table5: { ...s.table5, variants: ["full"] } };
      const third = await reproduce({ ...opt, settings: s2 });
      assertEquals(third.stages.slice(0, 7).map((x) => x.status), [
        "reused",
        "reused",
        "ran",
        "reused",
        "reused",
        "reused",
        "reused",
      ]);
      const t5b = JSON.parse(await Deno.readTextFile(join(out, "table5", "table5.json")));
      assertEquals(t5b.cells.map((c: { variant: string }) => c.variant), ["full"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "without benchmark data: pre-training only, the report shows the paper's values",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gpt1-repro-nodata-" });
    try {
      const s = micro(await corpusFile(dir));
      const r = await reproduce({
        settings: {
          ...s,
          pretrain: { ...s.pretrain, steps: 20, evalEvery: 10, ckptEvery: 10 },
          lstm: { enabled: false, tasks: [] },
        },
        outDir: join(dir, "out"),
        dataRoot: join(dir, "no-datasets"),
        cacheDir: join(dir, "cache"),
        ...quiet,
      });
      assertEquals(r.stages.map((x) => x.status), [
        "ran",
        "skipped",
        "skipped",
        "skipped",
        "skipped",
        "skipped",
        "skipped",
        "ran",
      ]);
      assert(/LSTM baseline is off/.test(r.stages[1].note));
      const html = await Deno.readTextFile(r.report);
      assert(html.includes("No Table 5 run yet"), "Table 5 falls back to the paper's table");
      assert(html.includes("No zero-shot curves yet"));
      // loss, perplexity, Tables 2-4, Figure 2 left and right (paper curves); no Table 5 chart
      assertEquals(count(html, 'class="gpt1-figure"'), 7);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "stages refuse folders they did not write, and resume a stopped pre-training",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gpt1-repro-stamp-" });
    try {
      const s = micro(await corpusFile(dir));
      const layout = reproduceLayout(join(dir, "out"), ["rte"]);
      const ctx = { dataRoot: join(dir, "none"), cacheDir: join(dir, "cache"), ...quiet };
      // a foreign, non-empty folder is never deleted
      await Deno.mkdir(layout.pretrain, { recursive: true });
      await Deno.writeTextFile(join(layout.pretrain, "keep.txt"), "committed");
      await assertRejects(() => runPretrainStage(s, layout, ctx), ConfigError);
      assertEquals(await Deno.readTextFile(join(layout.pretrain, "keep.txt")), "committed");
      await Deno.remove(layout.pretrain, { recursive: true });
      // stop half-way, then continue: the log is that of one uninterrupted run
      const first = await runPretrainStage(s, layout, ctx, { stopAfter: 20 });
      assert(/stopped at update 20 of 40/.test(first.note), first.note);
      const stamp = JSON.parse(await Deno.readTextFile(join(layout.pretrain, STAMP_FILE)));
      assertEquals(stamp.finished, false);
      const second = await runPretrainStage(s, layout, ctx);
      assertEquals(second.status, "ran");
      const log = (await Deno.readTextFile(join(layout.pretrain, "log.jsonl"))).trim().split("\n")
        .map((l) => JSON.parse(l)).filter((r) => r.kind === "train").map((r) => r.step);
      assertEquals(log, [10, 20, 30, 40]);
      assertEquals((await runPretrainStage(s, layout, ctx)).status, "reused");
      // downstream stages need a finished pre-training of their own layout
      const other = reproduceLayout(join(dir, "other"), ["rte"]);
      const withData = { ...ctx, dataRoot: sharedPath("datasets") ?? join(dir, "none") };
      if (sharedPath("datasets")) {
        await assertRejects(() => runTable5Stage(s, other, withData), ConfigError);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("layoutSections: Figure 2 left from every layers file, on the paper's axis", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpt1-repro-layers-" });
  try {
    const layout = reproduceLayout(dir, ["rte", "storycloze"]);
    for (const [task, d] of Object.entries(layout.layers)) {
      await Deno.mkdir(d, { recursive: true });
      const rows = [-1, 0, 1].map((n) => ({
        task,
        nTransfer: n,
        x: n + 1,
        metric: "acc",
        train: 60 + n,
        valid: 50 + n,
        split: "dev",
        n: 100,
        run: "r",
      }));
      await Deno.writeTextFile(join(d, "layers.json"), JSON.stringify({ task, rows }));
    }
    const sections = await layoutSections(layout);
    const fig2 = sections.find((s) => s.title.startsWith("Figure 2 (left)"))!;
    const names = fig2.figures![0].data.map((t) => t.name);
    assert(names.includes("RTE: dev") && names.includes("Story Cloze: train"), names.join());
    const rte = fig2.figures![0].data.find((t) => t.name === "RTE: dev")!;
    assertEquals(rte.x, [0, 1, 2]);
    assertEquals(rte.y, [49, 50, 51]);
    assertEquals(fig2.tables![0].rows.length, 6);
    // nothing there: the paper's curves alone, no table
    const empty = await layoutSections(reproduceLayout(join(dir, "none"), ["rte"]));
    const e = empty.find((s) => s.title.startsWith("Figure 2 (left)"))!;
    assert(e.figures![0].data.length > 0 && !e.tables);
    assert(committedLayout(ROOT).table5.endsWith("results/table5"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: `reproduce` is a command; an unknown scale is a ConfigError with exit code 1", async () => {
  assert(COMMANDS.reproduce, "COMMANDS.reproduce");
  assert(/--scale/.test(COMMANDS.reproduce.help()));
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errors.push(String(m));
  try {
    assertEquals(await main(["reproduce", "--scale", "huge"]), 1);
  } finally {
    console.error = orig;
  }
  assert(errors.some((e) => e.includes("unknown scale")), errors.join("\n"));
});

Deno.test("notebookPlan: smoke computes in scratch, small reads committed results, paper reads scratch", () => {
  const smoke = notebookPlan("smoke", false);
  assert(smoke.compute && smoke.layout.pretrain.includes("_scratch/reproduce-smoke"));
  const small = notebookPlan("small", false);
  assert(!small.compute);
  assertEquals(small.layout, committedLayout());
  const again = notebookPlan("small", true);
  assert(again.compute && again.layout.pretrain.includes("_scratch/reproduce-small"));
  assert(!again.layout.pretrain.endsWith("results/small"), "never over committed results");
  const paper = notebookPlan("paper", false);
  assert(!paper.compute && paper.layout.pretrain.includes("_scratch/reproduce-paper"));
});

Deno.test("paperClaims: directions from cells, layers and zero-shot rows, with noise", () => {
  const cell = (task: string, variant: string, value: number) => ({
    task,
    variant,
    value,
    metric: "acc",
    split: "dev",
    n: 10,
    nTrain: 10,
    paper: null,
    run: "",
  });
  const cells = [
    cell("sst2", "full", 80),
    cell("sst2", "no-pretrain", 70),
    cell("sst2", "no-aux", 81),
    cell("rte", "full", 55),
    cell("rte", "no-pretrain", 56),
  ];
  // 1,000 examples: one s.e. of an accuracy gap is √2·100·√(¼/1000) = 2.24 points
  const layers = [0, 1, 2, 3].map((x) => ({
    task: "RTE",
    nTransfer: x,
    train: 60,
    valid: 50 + 5 * x,
    metric: "acc",
    split: "dev",
    n: 1000,
  }));
  // 8 checkpoints: ρ must reach 0.643 (one-sided 5%)
  const zs = [16, 32, 64, 128, 256, 512, 1024, 2048].map((step, i) => ({
    ...ZEROSHOT_TASKS.sst2,
    task: "sst2" as const,
    step,
    raw: 50 + i,
    relative: i / 10,
    n: 400,
    seconds: 0,
  }));
  const rows = paperClaims({ cells, layers, zeroshot: zs });
  const by = (re: RegExp) => rows.find((r) => re.test(String(r.claim)))!;
  // 10 examples per cell: a 4.5-point mean gap is noise
  assertEquals(by(/pre-training helps/)["this run"], "+4.5 ± 31.6 (better or equal on 1 of 2)");
  assertEquals(by(/pre-training helps/).holds, "not shown");
  const big = paperClaims({
    cells: cells.map((c) => ({ ...c, n: 100_000 })),
    layers,
    zeroshot: [],
  });
  assertEquals(big[0]["this run"], "+4.5 ± 0.3 (better or equal on 1 of 2)");
  assertEquals(big[0].holds, "yes");
  assertEquals(by(/auxiliary/)["this run"], "-1.0 (1 tasks)");
  assertEquals(by(/layers help/)["this run"], "+15.0 ± 4.5, ρ = 1.00");
  assertEquals(by(/layers help/).holds, "yes");
  assertEquals(by(/SST-2 rises/)["this run"], "ρ = 1.00 (critical 0.64, 8 checkpoints)");
  assertEquals(by(/SST-2 rises/).holds, "yes");
  // 57 on 400 examples: 7 points over chance, two s.e. = 5
  assertEquals(by(/SST-2 accuracy > 50/)["this run"], "SST-2 57.0 ± 5.0");
  assertEquals(by(/SST-2 accuracy > 50/).holds, "yes");
  // the same gaps on 10 examples are noise
  const small = paperClaims({
    cells: [],
    layers: layers.map((l) => ({ ...l, n: 10 })),
    zeroshot: zs.slice(0, 3).map((z) => ({ ...z, n: 10 })),
  });
  const sby = (re: RegExp) => small.find((r) => re.test(String(r.claim)))!;
  assertEquals(sby(/layers help/).holds, "not shown");
  assertEquals(sby(/rises/).holds, "not shown", "3 checkpoints cannot show a trend");
  assertEquals(sby(/SST-2 accuracy > 50/).holds, "not shown");
  // 57 beats chance but not a sample that is 60% one class, answered alike throughout
  const skewed = paperClaims({
    cells: [],
    layers: [],
    zeroshot: zs.map((z) => ({ ...z, majority: 60, predictedShare: 100 })),
  }).find((r) => /SST-2 accuracy > 50/.test(String(r.claim)))!;
  assertEquals(
    [skewed["this run"], skewed.holds],
    ["SST-2 57.0 ± 5.0 (majority 60.0), one answer for all", "not shown"],
  );
  // a gap beyond noise without the trend is not the claim either
  const bumpy = paperClaims({
    cells: [],
    layers: layers.map((l) => ({ ...l, valid: [50, 80, 70, 60][l.nTransfer] })),
    zeroshot: [],
  });
  assertEquals(bumpy.find((r) => /layers help/.test(String(r.claim)))!.holds, "yes");
  const falling = paperClaims({
    cells: [],
    layers: layers.map((l) => ({ ...l, valid: [70, 80, 60, 75][l.nTransfer] })),
    zeroshot: [],
  }).find((r) => /layers help/.test(String(r.claim)))!;
  assertEquals([falling["this run"], falling.holds], ["+5.0 ± 4.5, ρ = 0.00", "not shown"]);
  const withLstm = paperClaims({
    cells: [...cells, cell("sst2", "lstm", 75), cell("rte", "lstm", 56)],
    layers: [],
    zeroshot: zs,
    lstmZeroshot: zs.map((z) => ({ ...z, raw: z.raw - 1, relative: z.relative - 0.05 })),
  });
  const vs = withLstm.find((r) => /beats the LSTM \(Table 5/.test(String(r.claim)))!;
  assertEquals([vs["this run"], vs.holds], [
    "+2.0 ± 31.6 (better or equal on 1 of 2)",
    "not shown",
  ]);
  const zsVs = withLstm.find((r) => /zero-shot scores beat the LSTM/.test(String(r.claim)))!;
  assertEquals(
    [zsVs["this run"], zsVs.holds],
    ["higher on 1 of 1 (SST-2 +1.0; * beyond noise)", "not shown"],
  );
  const noisy = withLstm.find((r) => /vary more/.test(String(r.claim)))!;
  assertEquals([noisy["this run"], noisy.holds], ["on 0 of 1 (SST-2 0.23 vs 0.23)", "no"]);
  const jumpy = paperClaims({
    cells: [],
    layers: [],
    zeroshot: zs,
    lstmZeroshot: zs.map((z, i) => ({ ...z, raw: 40, relative: i % 2 ? 0.5 : -0.5 })),
  });
  const jv = jumpy.find((r) => /vary more/.test(String(r.claim)))!;
  assertEquals([jv["this run"], jv.holds], ["on 1 of 1 (SST-2 0.23 vs 0.50)", "yes"]);
  const beat = jumpy.find((r) => /zero-shot scores beat the LSTM/.test(String(r.claim)))!;
  assertEquals(
    [beat["this run"], beat.holds],
    ["higher on 1 of 1 (SST-2 +17.0 *; * beyond noise)", "yes"],
  );
  const flat = paperClaims({
    cells: [],
    layers: layers.map((l) => ({ ...l, valid: 50 })),
    zeroshot: zs.map((z) => ({ ...z, raw: 49, relative: 0.3 - z.step / 10000 })),
  });
  assertEquals(flat.find((r) => /layers help/.test(String(r.claim)))!.holds, "not shown");
  assertEquals(flat.find((r) => /rises/.test(String(r.claim)))!.holds, "no", "ρ = -1");
  assertEquals(flat[0].holds, "–", "no Table 5 cells: no verdict");
});

Deno.test("scoreNoise and spearmanCritical", () => {
  assertEquals(scoreNoise("acc", 400), 2.5);
  assertEquals(scoreNoise("mcc", 400), 5);
  assertEquals(scoreNoise("acc", 0), Infinity);
  assertEquals(spearmanCritical(8), 0.643);
  assertEquals(spearmanCritical(4), Infinity);
  assert(Math.abs(spearmanCritical(101) - 0.1645) < 1e-12);
});

Deno.test("zeroShotTable pivots rows per checkpoint", () => {
  const row = (task: "sst2" | "cola", step: number, raw: number) => ({
    ...ZEROSHOT_TASKS[task],
    task,
    step,
    raw,
    relative: 0,
    n: 1,
    seconds: 0,
  });
  assertEquals(zeroShotTable([row("sst2", 32, 51), row("cola", 16, 3), row("sst2", 16, 50)]), [
    { updates: 16, "CoLA (mcc)": 3, "SST-2 (acc)": 50 },
    { updates: 32, "SST-2 (acc)": 51 },
  ]);
});

Deno.test("liveFigure: one display, redrawn in place (display_id), final state on flush", async () => {
  const sent: { bundle: Record<string, unknown>; opts: Record<string, unknown> }[] = [];
  setJupyterApi({
    display: (obj, opts) => {
      sent.push({ bundle: obj as Record<string, unknown>, opts: opts ?? {} });
      return Promise.resolve();
    },
  });
  try {
    const ys: number[] = [];
    const live = liveFigure(() =>
      lineChart([{ name: "y", x: ys.map((_, i) => i), y: ys }], {
        title: "t",
        x: "x",
        y: "y",
      }), 60_000);
    for (let i = 0; i < 5; i++) {
      ys.push(i);
      live.update(); // throttled: only the first one is sent
    }
    await live.flush();
    assertEquals(sent.length, 2);
    assertEquals(sent[0].opts.update, undefined);
    assertEquals(sent[1].opts.update, true);
    assertEquals(sent[0].opts.display_id, sent[1].opts.display_id);
    const last = sent[1].bundle["application/vnd.plotly.v1+json"] as { data: { y: number[] }[] };
    assertEquals(last.data[0].y, [0, 1, 2, 3, 4]);
  } finally {
    setJupyterApi(undefined);
  }
});

Deno.test({
  name: "inputExamples: the paper's input transformations, one row per sequence",
  ignore: !needShared("input transformation examples"),
  async fn() {
    const v = new BpeTrainer({ merges: 200 }).train(["a small text to learn a few merges from"]);
    const tok = new Gpt1Tokenizer(v.pieces, v.merges);
    const rows = await inputExamples(["sst2", "rte", "stsb"], tok, sharedPath("datasets")!, 64);
    assertEquals(rows.map((r) => r.task), ["SST-2", "RTE", "STS-B", "STS-B"]);
    assert(
      /^\[s\] .+ \[e\]$/.test(String(rows[0].input)) && !String(rows[0].input).includes("[$]"),
    );
    assert(/^\[s\] .+ \[\$\] .+ \[e\]$/.test(String(rows[1].input)), String(rows[1].input));
    assertEquals(rows.map((r) => r.sequence), ["1 of 1", "1 of 1", "1 of 2", "2 of 2"]);
    assert(rows.every((r) => Number(r.tokens) <= 64));
  },
});

Deno.test({
  name: "small rebuilds the committed run's vocabulary and token counts (SLOW: trains 8k merges)",
  ignore: !SLOW || !needShared("small-scale corpus"),
  async fn() {
    const cfgPath = join(committedLayout().pretrain, "config.json");
    let cfg: { vocabHash: string; data: { trainTokens: number } };
    try {
      cfg = JSON.parse(await Deno.readTextFile(cfgPath));
    } catch {
      console.log(`SKIP small corpus check: ${cfgPath} absent`);
      return;
    }
    const p = REPRODUCE_SCALES.small.pretrain;
    const d = await prepareLmData({
      corpus: p.corpus.map((c) => resolveDataPath(c, sharedPath("datasets")!)),
      vocab: p.vocab,
      merges: p.merges,
      cacheDir: join(ROOT, "results", "_cache"),
    });
    assertEquals(d.tokenizer.hash, cfg.vocabHash);
    assertEquals(d.cache.train.length, cfg.data.trainTokens);
  },
});

Deno.test({
  name: "notebookTable5: fine-tunes written out in a cell give runTable5Stage's table5.json",
  ignore: !needShared("Table 5 session with benchmarks"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gpt1-t5session-" });
    try {
      const base = micro(await corpusFile(dir));
      const s = { ...base, table5: { ...base.table5, tasks: ["sst2", "rte"], maxTrain: 16 } };
      const data = sharedPath("datasets")!;
      const a = reproduceLayout(join(dir, "a"), ["rte"]);
      const b = reproduceLayout(join(dir, "b"), ["rte"]);
      const ctx = { dataRoot: data, cacheDir: join(dir, "cache"), ...quiet };
      assertEquals((await runPretrainStage(s, a, ctx)).status, "ran");
      await Deno.mkdir(b.pretrain, { recursive: true });
      for await (const e of Deno.readDir(a.pretrain)) {
        if (e.isFile) await Deno.copyFile(join(a.pretrain, e.name), join(b.pretrain, e.name));
        else if (e.name === "vocab") {
          await Deno.mkdir(join(b.pretrain, "vocab"));
          for await (const f of Deno.readDir(join(a.pretrain, "vocab"))) {
            await Deno.copyFile(
              join(a.pretrain, "vocab", f.name),
              join(b.pretrain, "vocab", f.name),
            );
          }
        }
      }
      const ra = await runTable5Stage(s, a, ctx, { variants: ["full"] });
      const nb = { plan: { layout: b, compute: true, note: "", hint: "" }, ctx, settings: s };
      const t5 = await notebookTable5(nb, "fine-tuning");
      assert(t5 !== null, "a session to fill");
      assertEquals(t5.tasks, ["sst2", "rte"]);
      for (const task of t5.tasks) {
        if (await t5.has(task, "full")) continue;
        const caps = capsFor(s.table5, task);
        const maxTrain = caps.maxTrain ?? undefined, maxEval = caps.maxEval ?? undefined;
        const r = await finetune({
          task,
          dataRoot: data,
          tokenizer: t5.tokenizer,
          init: t5.ckpt,
          config: t5.config,
          auxLm: FINETUNE_DEFAULTS.auxLm,
          maxTrain,
          maxEval,
          epochs: s.table5.epochs,
          lr: s.table5.lr,
          seed: s.table5.seed,
          outDir: t5.runDir(task, "full"),
          progress: t5.progress(task),
        });
        await t5.record(task, "full", r, { maxTrain, maxEval });
      }
      const rb = await t5.close();
      assertEquals([rb.status, rb.note], [ra.status, ra.note]);
      const strip = (j: { checkpoint: string; cells: { run: string }[] }) => ({
        ...j,
        checkpoint: j.checkpoint.split("/").slice(-2).join("/"),
        cells: j.cells.map((c) => ({ ...c, run: c.run.split("/").pop() })),
      });
      const ja = JSON.parse(await Deno.readTextFile(join(a.table5, "table5.json")));
      const jb = JSON.parse(await Deno.readTextFile(join(b.table5, "table5.json")));
      assertEquals(jb.cells.length, 2);
      assertEquals(strip(jb), strip(ja));
      assertEquals(
        await Deno.readTextFile(join(b.table5, "table5.md")),
        await Deno.readTextFile(join(a.table5, "table5.md")),
      );
      const stamp = (l: typeof a) =>
        Deno.readTextFile(join(l.table5, STAMP_FILE)).then((t) => {
          const { key, finished, settings } = JSON.parse(t);
          return { key, finished, settings };
        });
      assertEquals(await stamp(b), await stamp(a), "the same stamp: reproduce reuses either");
      const shown = await notebookTable5(nb, "fine-tuning");
      assertEquals(shown !== null, true, "partial (full only): still open");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Copies folder `from` into `to` (files and sub-folders). */
async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

Deno.test({
  name: "notebookLayers: fine-tunes written out in a cell give runLayersStage's layers.json",
  ignore: !needShared("layers session with benchmarks"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gpt1-layersession-" });
    try {
      const s = micro(await corpusFile(dir));
      const data = sharedPath("datasets")!;
      const a = reproduceLayout(join(dir, "a"), ["rte"]);
      const b = reproduceLayout(join(dir, "b"), ["rte"]);
      const ctx = { dataRoot: data, cacheDir: join(dir, "cache"), ...quiet };
      assertEquals((await runPretrainStage(s, a, ctx)).status, "ran");
      await copyDir(a.pretrain, b.pretrain);
      const ra = await runLayersStage(s, a, ctx);
      const nb = { plan: { layout: b, compute: true, note: "", hint: "" }, ctx, settings: s };
      const lay = await notebookLayers(nb, "layers");
      assert(lay !== null, "a session to fill");
      assertEquals(lay.tasks, ["rte"]);
      for (const task of lay.tasks) {
        const sweep = await lay.start(task);
        assert(sweep !== null, "not finished yet");
        assertEquals(sweep.counts, [-1, 2]);
        for (const n of sweep.counts) {
          if (await sweep.has(n)) continue;
          const r = await finetune({
            task,
            dataRoot: data,
            init: sweep.ckpt,
            tokenizer: sweep.tokenizer,
            transferLayers: n,
            auxLm: s.layers.auxLm,
            maxTrain: sweep.maxTrain,
            maxEval: sweep.maxEval,
            epochs: s.layers.epochs,
            lr: s.layers.lr,
            seed: s.layers.seed,
            outDir: sweep.runDir(n),
            progress: sweep.progress(n),
          });
          await sweep.record(n, r);
        }
        await sweep.finish();
      }
      const rb = await lay.close();
      assertEquals([rb.status, rb.note], [ra.status, ra.note]);
      const strip = (j: { checkpoint: string; rows: { run: string }[] }) => ({
        ...j,
        checkpoint: j.checkpoint.split("/").slice(-2).join("/"),
        rows: j.rows.map((r) => ({ ...r, run: r.run.split("/").pop() })),
      });
      const read = (l: typeof a, f: string) => Deno.readTextFile(join(l.layers.rte, f));
      const ja = JSON.parse(await read(a, "layers.json"));
      const jb = JSON.parse(await read(b, "layers.json"));
      assertEquals(jb.rows.length, 2);
      assertEquals(strip(jb), strip(ja));
      const stamp = async (l: typeof a) => {
        const { key, finished, settings } = JSON.parse(await read(l, STAMP_FILE));
        return { key, finished, settings };
      };
      assertEquals(await stamp(b), await stamp(a), "the same stamp: reproduce reuses either");
      assertEquals((await runLayersStage(s, b, ctx)).status, "reused");
      const again = await notebookLayers(nb, "layers");
      assertEquals(await again!.start("rte"), null, "finished: nothing to fill");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
