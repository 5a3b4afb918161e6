/**
 * lib/protocol_stages.ts: the protocol as reproduce stages on micro settings (Moby Dick chapters
 * as corpus, the tiny GLUE-shaped fixture of _glue_fixture.ts as datasets): both pre-training
 * runs, the zero-shot files (SST-2, the only zero-shot task the fixture has), the arms, the
 * label budget, the layers arms and a label-budget folder above the cap; the report's protocol
 * sections; a second call recomputes nothing.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./_util.ts";
import { writeGlueFixture } from "./_glue_fixture.ts";
import { initBackend } from "../lib/backend.ts";
import { collectDocuments, mobyDickCorpus } from "../lib/corpus.ts";
import { runProtocolStages } from "../lib/protocol_stages.ts";
import type { ProtocolCell } from "../lib/protocol.ts";
import { protocolSections, readProtocolResults } from "../lib/protocol_report.ts";
import { protocolAt, type ProtocolScaleSettings, SMOKE_PROTOCOL } from "../lib/settings.ts";

await initBackend("wasm");

Deno.test({
  name: "runProtocolStages on micro settings: every stage, the report's sections, a rerun reuses",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gpt1-protocol-" });
    try {
      const corpus = join(dir, "moby-part");
      await Deno.mkdir(corpus);
      const docs = await collectDocuments([mobyDickCorpus()]);
      for (const [i, d] of docs.slice(2, 10).entries()) {
        await Deno.writeTextFile(join(corpus, `ch${i}.txt`), d.text);
      }
      const base = protocolAt(SMOKE_PROTOCOL, join(dir, "protocol"));
      const P: ProtocolScaleSettings = {
        ...base,
        pretrain: {
          ...base.pretrain,
          corpus: [corpus],
          merges: 300,
          steps: 24,
          batchSize: 4,
          warmupSteps: 4,
          evalEvery: 12,
          evalWindows: 8,
          ckptEvery: 12,
          evalText: join(dir, "no-such-book.txt"),
        },
        maxTrain: { sst2: 48 },
        maxEval: 24,
        lrs: [1e-3],
        epochs: 1,
        labelBudget: { tasks: ["sst2"], sizes: [16, null] },
        layers: [{ task: "sst2", labels: 16, arms: ["no-pretrain", "layers0", "full"] }],
        // above the 48 cap: the whole training set (54 after the hold-out), pre-trained arm
        beyondCap: [{
          name: "sst2-more",
          task: "sst2",
          maxTrain: 1000,
          arms: ["full"],
          sizes: [null],
          lrs: [3e-3],
        }],
        zeroshotMax: { sst2: 12 },
      };
      const fx = await writeGlueFixture({ nTrain: 60, nDev: 20, nTest: 7 });
      const ctx = { dataRoot: fx.root, cacheDir: join(dir, "cache"), log: () => {} };
      const stages = await runProtocolStages(P, ctx);
      assertEquals(stages.map((s) => [s.stage, s.status]), [
        ["protocol pretrain", "ran"],
        ["protocol pretrain-lstm", "ran"],
        ["protocol zero-shot", "ran"],
        ["protocol zero-shot-lstm", "ran"],
        ["protocol sst2", "ran"],
        ["protocol label budget sst2", "ran"],
        ["protocol layers sst2", "ran"],
        ["protocol label budget sst2 beyond its cap (sst2-more)", "ran"],
      ]);
      // its own folder, cap, grid and GLUE folder; read back as a label-budget point at 54
      const more = JSON.parse(
        await Deno.readTextFile(join(P.out, "sst2-more", "sst2", "protocol.json")),
      );
      assertEquals(more.cells.map((c: ProtocolCell) => [c.arm, c.lr, c.nTrain, c.seed]), [
        ["full", 3e-3, 54, 42],
        ["full", 3e-3, 54, 43],
      ]);
      assert((await Deno.stat(join(P.out, "sst2-more", "glue", "full", "SST-2.tsv"))).isFile);
      const { rows } = await readProtocolResults(P.out);
      assertEquals(
        rows.filter((r) => r.arm === "full").map((r) => r.labels),
        [16, null, 54],
        "the main folder's 16 and full set (48), then the nested 54",
      );
      const file = join(P.out, "sst2", "protocol.json");
      const cells = JSON.parse(await Deno.readTextFile(file)).cells;
      // 4 arms × (1 lr + 1 more seed) on the full set; the budget adds full / no-pretrain at
      // 16 (2 each); the layers arms add layers0 at 16 (2): 8 + 4 + 2
      assertEquals(cells.length, 14);
      const summary = JSON.parse(await Deno.readTextFile(join(P.out, "sst2", "summary.json")));
      const arms16 = summary.rows.filter((r: { labels: number | null }) => r.labels === 16)
        .map((r: { arm: string }) => r.arm);
      assertEquals(arms16, ["full", "no-pretrain", "layers0"]);
      for (const arm of ["full", "no-pretrain", "no-aux", "lstm"]) {
        assert((await Deno.stat(join(P.glueDir, arm, "SST-2.tsv"))).isFile, `${arm} GLUE file`);
      }
      const zs = JSON.parse(await Deno.readTextFile(join(P.pretrain.lstmOut, "zeroshot.json")));
      assert(zs.rows.length > 0, "the LSTM's zero-shot curve");
      // the report's sections from the folder: pre-training, Table 5, label budget, layers, …
      const titles = (await protocolSections(P.out)).map((s) => s.title);
      for (
        const t of [
          "Protocol at small scale: pre-training",
          "Table 5 under the protocol (fair fine-tuning)",
          "Label budget (beyond the paper)",
          "Layers transferred (Figure 2 left) under the protocol",
        ]
      ) assert(titles.includes(t), `${t} in ${titles.join(" | ")}`);
      // a second call: pre-training reused, no new fine-tune
      const again = await runProtocolStages(P, ctx);
      assertEquals(again.slice(0, 2).map((s) => s.status), ["reused", "reused"]);
      assertEquals(JSON.parse(await Deno.readTextFile(file)).cells.length, 14);
      await Deno.remove(fx.root, { recursive: true });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("SMALL_PROTOCOL describes the committed protocol (results/protocol, where present)", async () => {
  const { REPO_ROOT } = await import("../lib/fsutil.ts");
  const { SMALL_PROTOCOL: S } = await import("../lib/settings.ts");
  const read = async (p: string) => {
    try {
      return JSON.parse(await Deno.readTextFile(join(REPO_ROOT, p)));
    } catch {
      return null;
    }
  };
  const p = S.pretrain;
  for (const run of [p.out, p.lstmOut]) {
    const cfg = await read(join(run, "config.json"));
    if (!cfg) {
      console.log(`SKIP ${run}: no config.json`);
      continue;
    }
    assertEquals(cfg.train.steps, p.steps, `${run} steps`);
    assertEquals(
      [cfg.train.batchSize, cfg.train.lr, cfg.train.warmupSteps, cfg.train.seed],
      [p.batchSize, p.lr, p.warmupSteps, p.seed],
      `${run} schedule`,
    );
    assertEquals([cfg.train.evalEvery, cfg.train.evalWindows], [p.evalEvery, p.evalWindows]);
    assertEquals(cfg.preset, p.preset);
    assertEquals(cfg.corpus.length, p.corpus.length, `${run} corpus`);
  }
  for (const task of S.tasks) {
    const pr = await read(join(S.out, task, "protocol.json"));
    if (!pr) {
      console.log(`SKIP ${task}: no protocol.json`);
      continue;
    }
    const st = pr.settings;
    assertEquals(
      [st.epochs, st.seed, st.batchSize, st.maxTrain, st.maxEval, st.groupByLength],
      [S.epochs, S.seed, S.batchSize, S.maxTrain[task], S.maxEval, S.groupByLength],
      `${task} protocol settings`,
    );
    assertEquals(pr.lrs, S.lrs, `${task} grid`);
  }
  for (const b of S.beyondCap) {
    const pr = await read(join(S.out, b.name, b.task, "protocol.json"));
    if (!pr) {
      console.log(`SKIP ${b.name}: no protocol.json`);
      continue;
    }
    const st = pr.settings;
    assertEquals(
      [st.epochs, st.seed, st.batchSize, st.maxTrain, st.maxEval, st.groupByLength],
      [S.epochs, S.seed, S.batchSize, b.maxTrain, S.maxEval, S.groupByLength],
      `${b.name} protocol settings`,
    );
    assertEquals(pr.lrs, b.lrs ?? S.lrs, `${b.name} grid`);
    const arms = new Set(pr.cells.map((c: { arm: string }) => c.arm));
    assertEquals([...arms].sort(), [...b.arms].sort(), `${b.name} arms`);
  }
  // every layers arm of the settings is committed at its label budget with all its seeds
  for (const l of S.layers) {
    const pr = await read(join(S.out, l.task, "protocol.json"));
    if (!pr) {
      console.log(`SKIP the layers arms of ${l.task}: no protocol.json`);
      continue;
    }
    for (const arm of l.arms) {
      const cells = pr.cells.filter((c: { arm: string; labels: number | null }) =>
        c.arm === arm && c.labels === l.labels
      );
      const seeds = new Set(cells.map((c: { seed: number }) => c.seed));
      assertEquals(seeds.size, S.seeds, `${l.task} ${arm} at ${l.labels} labels: seeds`);
    }
  }
});
