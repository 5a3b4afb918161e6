/**
 * Each CLI command fed the wrong kind of path (a file for a folder, a missing path) fails with
 * the project's DataError/CheckpointError naming the path, never an uncaught Deno error.
 */
import { join } from "node:path";
import { assert, ROOT } from "./_util.ts";
import { COMMANDS } from "../lib/commands.ts";
import { Gpt1LabError } from "../lib/errors.ts";

Deno.test("CLI: wrong kinds of paths give the project's errors naming the path", async () => {
  const f = await Deno.makeTempFile({ prefix: "gpt1-notadir-" });
  const out = await Deno.makeTempDir({ prefix: "gpt1-cli-" });
  await Deno.mkdir(`${out}/SST-2`);
  for (const split of ["train", "dev"]) {
    await Deno.writeTextFile(`${out}/SST-2/${split}.tsv`, "sentence\tlabel\ngood \t1\nbad \t0\n");
  }
  // a committed vocabulary (ours), so the test needs nothing from ../shared
  const vocab = join(ROOT, "results", "small", "vocab");
  const ft = { task: "SST-2", init: "none", vocab, out, backend: "cpu" };
  const cases: [string, Record<string, unknown>, string[], string][] = [
    ["finetune", { ...ft, data: f }, [], f],
    ["finetune", { ...ft, data: "/nonexistent-data" }, [], "/nonexistent-data"],
    ["finetune", { ...ft, data: out, "eval-file": "/nonexistent/dev.tsv" }, [], "/nonexistent"],
    ["eval-lm", { ckpt: "/nonexistent.safetensors", text: f, backend: "cpu" }, [], "/nonexistent"],
    ["eval-lm", { ckpt: f, text: f, backend: "cpu" }, [], f],
    ["zeroshot", { run: "/nonexistent-run", data: out, backend: "cpu" }, [], "/nonexistent-run"],
    ["zeroshot", { run: f, data: out, backend: "cpu" }, [], f],
    ["zeroshot", { init: "gpt1", data: out, backend: "cpu" }, [], out],
    ["tokenize", { vocab: "/nonexistent-vocab" }, ["hi"], "/nonexistent-vocab"],
    ["fetch", { dir: f }, ["wsc"], f],
    ["reproduce", { data: f, out, backend: "cpu" }, [], f],
  ];
  try {
    for (const [name, v, pos, path] of cases) {
      let err: unknown = null;
      try {
        await COMMANDS[name].run(v as never, pos);
      } catch (e) {
        err = e;
      }
      const what = `${name} ${JSON.stringify(v)}`;
      assert(err instanceof Gpt1LabError, `${what}: ${err}`);
      assert(err.message.includes(path), `${what}: ${err.message}`);
    }
  } finally {
    await Deno.remove(f);
    await Deno.remove(out, { recursive: true });
  }
});
