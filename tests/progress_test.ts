import { assert, assertEquals } from "./_util.ts";
import { callbackProgress, formatDuration, formatProgressLine } from "../lib/progress.ts";

Deno.test("formatDuration", () => {
  assertEquals(formatDuration(5), "5s");
  assertEquals(formatDuration(65), "1m05s");
  assertEquals(formatDuration(3720), "1h02m");
  assertEquals(formatDuration(NaN), "?");
});

Deno.test("formatProgressLine shows counts, fields and an ETA", () => {
  const line = formatProgressLine("train", { done: 25, total: 100, fields: { loss: 3.25 } }, 10);
  assert(line.startsWith("train 25/100 (25%)"), line);
  assert(line.includes("loss=3.2500"), line);
  assert(line.includes("eta 30s"), line);
});

Deno.test("callbackProgress forwards every update", () => {
  const lines: string[] = [];
  const p = callbackProgress("x", (l) => lines.push(l));
  p.update({ done: 1, total: 2 });
  p.update({ done: 2, total: 2 });
  p.finish("ok");
  assertEquals(lines.length, 3);
  assertEquals(lines[2], "x ok");
});
