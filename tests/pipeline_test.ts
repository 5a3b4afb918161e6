import { join } from "node:path";
import { resumableSweep, table5Markdown } from "../lib/sweeps.ts";
import { assert, assertEquals } from "./_util.ts";

interface Row {
  k: number;
  score: number;
}

Deno.test("resumableSweep: a killed sweep keeps finished items; skipDone runs only the rest", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "rows.json");
  const ran: number[] = [];
  const sweep = (failAt: number | null, skipDone: boolean) =>
    resumableSweep<number, Row>({
      path,
      listName: "rows",
      keys: [3, 1, 2],
      keyOf: (r) => r.k,
      skipDone,
      order: (a, b) => a.k - b.k,
      header: (rows) => ({ done: rows.length }),
      run: (k) => {
        if (k === failAt) throw new Error(`killed at ${k}`);
        ran.push(k);
        return Promise.resolve({ k, score: k * 10 });
      },
    });
  let err = "";
  await sweep(2, false).catch((e) => err = String(e));
  assert(err.includes("killed at 2"), err);
  const partial = JSON.parse(await Deno.readTextFile(path));
  assertEquals(partial, { done: 2, rows: [{ k: 1, score: 10 }, { k: 3, score: 30 }] });
  const rows = await sweep(null, true);
  assertEquals(ran, [3, 1, 2], "only key 2 runs again");
  assertEquals(rows.map((r) => r.k), [1, 2, 3]);
  assertEquals(JSON.parse(await Deno.readTextFile(path)).done, 3);
  // without skipDone the file starts afresh
  await sweep(null, false);
  assertEquals(ran, [3, 1, 2, 3, 1, 2]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("table5Markdown: a row per variant present, the LSTM row last, paper scores beside ours", () => {
  const cell = (
    task: string,
    variant: string,
    value: number,
    paper: number | null,
    model?: "gpt1" | "lstm",
  ) => ({
    task,
    variant,
    model,
    metric: task === "cola" ? "mcc" : "acc",
    value,
    split: "dev",
    n: 10,
    nTrain: 20,
    paper,
    run: "x",
  });
  const md = table5Markdown([
    cell("cola", "full", 12.34, 45.4),
    cell("rte", "no-aux", 50, null),
    cell("rte", "full", 51, 56, "lstm"),
    cell("cola", "lstm", 3, 30.3),
  ]);
  const lines = md.trim().split("\n");
  assertEquals(lines[0], "| method | cola (mcc) | rte (acc) |");
  assertEquals(lines.slice(2), [
    "| Transformer w/ aux LM (full) | 12.3 (paper 45.4) | – |",
    "| Transformer w/o aux LM | – | 50.0 |",
    "| LSTM w/ aux LM | 3.0 (paper 30.3) | 51.0 (paper 56) |",
  ]);
  const lstmOnly = table5Markdown([cell("rte", "no-pretrain", 49, null, "lstm")]);
  assert(lstmOnly.includes("| LSTM w/o pre-training | 49.0 |"), lstmOnly);
});

Deno.test("resumableSweep with skipDone: two sweeps into one file keep each other's items", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "rows.json");
  const sweep = (keys: number[], hold?: Promise<void>) =>
    resumableSweep<number, Row>({
      path,
      listName: "rows",
      keys,
      keyOf: (r) => r.k,
      skipDone: true,
      order: (a, b) => a.k - b.k,
      header: () => ({}),
      run: async (k) => {
        if (hold && k === keys[0]) await hold;
        return { k, score: k * 10 };
      },
    });
  // A starts first and finishes its first key only after B has written both of its keys
  let release = () => {};
  const held = new Promise<void>((r) => release = r);
  const a = sweep([1, 2], held);
  const b = await sweep([3, 4, 2]);
  assertEquals(b.map((r) => r.k), [2, 3, 4]);
  release();
  const rows = await a;
  assertEquals(rows.map((r) => r.k), [1, 2, 3, 4], "A kept B's keys and skipped key 2, B ran it");
  const file = JSON.parse(await Deno.readTextFile(path)).rows.map((r: Row) => r.k);
  assertEquals(file, [1, 2, 3, 4]);
  await Deno.remove(dir, { recursive: true });
});
