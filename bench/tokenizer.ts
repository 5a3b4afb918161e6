/**
 * Tokenizer benchmark: encodes the 2,520 texts of `../shared/gpt1-vocab/reference_dev.jsonl`
 * plus one whole book of `../shared/datasets/pretrain_gutenberg` and prints tokens/s. When
 * `python3` can import ftfy and spacy, it also times the released Python pipeline
 * (`bench/tokenizer_ref.py`) on the same texts in the same run, checks that both produce the
 * same ids, and prints the speed ratio.
 *
 *     deno task bench:tokenizer [--book austen-emma.txt] [--passes 3] [--no-python]
 *
 * Pass 1 starts with empty caches (word and span caches are per process) and includes JIT
 * warm-up; later passes are warm. Wall time and process CPU time are both reported (CPU time
 * is steadier on a busy machine); the ratios compare the same pass of both pipelines.
 * @module
 */
import { createHash } from "node:crypto";
import process from "node:process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Gpt1Tokenizer } from "../lib/tokenizer/mod.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SHARED = Deno.env.get("GPT1_SHARED") ?? resolve(ROOT, "..", "shared");

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

interface PyResult {
  texts: number;
  chars: number;
  tokens: number;
  seconds: number[];
  cpu_seconds: number[];
  ids_sha256: string;
}

async function pythonAvailable(): Promise<boolean> {
  try {
    const p = await new Deno.Command("python3", {
      args: ["-c", "import ftfy, spacy"],
      stdout: "null",
      stderr: "null",
    }).output();
    return p.success;
  } catch {
    return false;
  }
}

async function runPython(vocab: string, book: string, passes: number): Promise<PyResult> {
  const p = await new Deno.Command("python3", {
    args: [
      join(ROOT, "bench", "tokenizer_ref.py"),
      "--vocab",
      vocab,
      "--book",
      book,
      "--passes",
      String(passes),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(p.stdout).trim().split("\n").pop() ?? "";
  if (!p.success) {
    throw new Error(`tokenizer_ref.py failed:\n${new TextDecoder().decode(p.stderr)}`);
  }
  return JSON.parse(out) as PyResult;
}

/** Process CPU time in seconds (user + system, all threads). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

async function main(): Promise<void> {
  const vocab = join(SHARED, "gpt1-vocab");
  const bookName = arg("book", "austen-emma.txt");
  const book = join(SHARED, "datasets", "pretrain_gutenberg", bookName);
  const passes = Number(arg("passes", "3"));
  try {
    await Deno.stat(join(vocab, "reference_dev.jsonl"));
    await Deno.stat(book);
  } catch {
    console.log(`SKIP bench:tokenizer: ${vocab} or ${book} not found (set GPT1_SHARED)`);
    return;
  }
  const texts = (await Deno.readTextFile(join(vocab, "reference_dev.jsonl"))).split("\n")
    .filter((l) => l.trim().length > 0).map((l) => (JSON.parse(l) as { text: string }).text);
  texts.push(await Deno.readTextFile(book));
  const chars = texts.reduce((s, t) => s + t.length, 0);

  const t0 = performance.now();
  const tok = await Gpt1Tokenizer.fromFiles(
    join(vocab, "encoder_bpe_40000.json"),
    join(vocab, "vocab_40000.bpe"),
  );
  const loadMs = performance.now() - t0;

  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  let perText: number[][] = [];
  for (let p = 0; p < passes; p++) {
    const s = performance.now();
    const c = cpuNow();
    perText = texts.map((t) => tok.encode(t));
    seconds.push((performance.now() - s) / 1000);
    cpuSeconds.push(cpuNow() - c);
  }
  const ids = perText.flat();
  const digest = createHash("sha256").update(JSON.stringify(ids)).digest("hex");

  console.log(
    `texts: ${texts.length - 1} reference texts + ${bookName}, ${fmt(chars)} chars, ${
      fmt(ids.length)
    } tokens`,
  );
  console.log(`TypeScript load: ${loadMs.toFixed(0)} ms`);
  const line = (who: string, p: number, wall: number, cpu: number, n: number) =>
    console.log(
      `${who} pass ${p + 1}${p === 0 ? " (cold)" : " (warm)"}: ${wall.toFixed(3)} s wall (${
        fmt(n / wall)
      } tokens/s), ${cpu.toFixed(3)} s CPU (${fmt(n / cpu)} tokens/s)`,
    );
  seconds.forEach((s, p) => line("TypeScript", p, s, cpuSeconds[p], ids.length));

  if (Deno.args.includes("--no-python") || !(await pythonAvailable())) {
    console.log("Python reference: skipped (python3 with ftfy and spacy not available)");
    return;
  }
  const py = await runPython(vocab, book, passes);
  py.seconds.forEach((s, p) => line("Python", p, s, py.cpu_seconds[p], py.tokens));
  const same = py.ids_sha256 === digest && py.tokens === ids.length;
  console.log(`ids identical to Python: ${same ? "yes" : "NO"}`);
  for (let p = 0; p < Math.min(passes, py.seconds.length); p++) {
    console.log(
      `speed ratio pass ${p + 1} (Python time / TypeScript time): ${
        (py.seconds[p] / seconds[p]).toFixed(1)
      }x wall, ${(py.cpu_seconds[p] / cpuSeconds[p]).toFixed(1)}x CPU`,
    );
  }
}

if (import.meta.main) await main();
