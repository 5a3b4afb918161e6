/**
 * The released GPT-1 weights as a starting point, on a tiny fixture in the released format
 * (tests/_released.ts): the one-line skip when absent, zero-shot on the released checkpoint,
 * fine-tuning from it (lib/released.ts), and `deno task gpt1 finetune --init gpt1` end to end in
 * a fresh process through the CLI.
 */
import { join } from "node:path";
import { assert, assertEquals, ROOT } from "./_util.ts";
import { initBackend } from "../lib/backend.ts";
import {
  findReleasedWeights,
  releasedBudget,
  releasedFinetune,
  releasedZeroShot,
} from "../lib/released.ts";
import { writeBenchmarks, writeReleased } from "./_released.ts";

await initBackend("wasm");

Deno.test("findReleasedWeights: a one-line skip naming the fetch command, then the folder", async () => {
  const root = await Deno.makeTempDir({ prefix: "gpt1-released-" });
  try {
    const none = await findReleasedWeights(root);
    assertEquals(none.present, false);
    assertEquals(none.dir, join(root, "gpt1"));
    assert(!none.note.includes("\n"), "one line");
    assert(none.note.startsWith("skipped: no released GPT-1 weights in "), none.note);
    assert(none.note.includes(`deno task gpt1 fetch gpt1 --dir ${root}`), none.note);
    assertEquals(await releasedZeroShot({ dataRoot: root }), null);
    assertEquals(await releasedFinetune({ task: "sst2", dataRoot: root }), null);
    await writeReleased(join(root, "gpt1"));
    const rel = await findReleasedWeights(root);
    assertEquals(rel.present, true);
    assertEquals(rel.vocab, join(root, "gpt1"), "the vocabulary beside the weights");
    assert(releasedBudget("smoke").finetune.maxTrain <= 32, "smoke stays a few updates");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "released weights: zero-shot rows and a fine-tuning run from the fixture",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "gpt1-released-" });
    try {
      await writeBenchmarks(root);
      await writeReleased(join(root, "gpt1"));
      const rows = (await releasedZeroShot({ dataRoot: root, maxExamples: 8 }))!;
      assertEquals(rows.map((r) => r.task).sort(), ["sst2", "wsc"], "the tasks with data");
      for (const r of rows) {
        assertEquals(r.step, 0);
        assert(Number.isFinite(r.raw) && r.raw >= 0 && r.raw <= 100, `${r.task}: ${r.raw}`);
      }
      assertEquals(rows.find((r) => r.task === "sst2")!.n, 8);
      assertEquals(rows.find((r) => r.task === "wsc")!.n, 4);
      const out = join(root, "ft");
      const r = (await releasedFinetune({
        task: "sst2",
        dataRoot: root,
        outDir: out,
        budget: { maxTrain: 8, maxEval: 8, batchSize: 4, epochs: 1 },
      }))!;
      assertEquals(r.task, "sst2");
      assertEquals(r.eval.n, 8);
      assert(r.transferred.includes("h.0.attn.c_attn.weight"), "the released block transferred");
      const cfg = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
      assertEquals(cfg.model.nHead, 12);
      assertEquals(cfg.model.nSpecial, 3, "the three special tokens added for fine-tuning");
      assertEquals(cfg.sizes.train, 8);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "CLI end to end: finetune --init gpt1 from a released-format folder (fresh process)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "gpt1-released-cli-" });
    try {
      await writeBenchmarks(root);
      await writeReleased(join(root, "gpt1"));
      const out = join(root, "ft-rte");
      const args = ["run", "-A", join(ROOT, "cli.ts"), "finetune", "--task", "RTE"];
      args.push("--data", root, "--init", "gpt1", "--out", out, "--max-train", "8");
      args.push("--max-eval", "6", "--epochs", "1", "--batch", "4", "--backend", "wasm");
      const p = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(p.stdout) + new TextDecoder().decode(p.stderr);
      assertEquals(p.code, 0, text);
      assert(/rte: acc \d+\.\d\d on dev \(n=6\)/.test(text), text);
      const cfg = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
      assertEquals(cfg.sizes, { train: 8, valid: 2, eval: 6 });
      assert(String(cfg.init).endsWith("/gpt1"), cfg.init);
      const metrics = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
      assert(JSON.stringify(metrics).includes("rte"), JSON.stringify(metrics));
      // without the weights: the project's error naming the fetch command, exit 1
      const missing = await new Deno.Command(Deno.execPath(), {
        args: args.map((a) => (a === root ? join(root, "nothing") : a)),
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(missing.stderr);
      assertEquals(missing.code, 1, err);
      assert(err.includes("deno task gpt1 fetch"), err);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
