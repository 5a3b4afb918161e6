/**
 * The command-line commands as data: name → options, help, and a `run` that calls the library.
 * `cli.ts` parses `Deno.args` and dispatches here; tests call `run` directly.
 * @module
 */
import { join } from "node:path";
import { PRETRAIN_DEFAULTS as PT, ZEROSHOT_DEFAULTS as ZS } from "./config.ts";
import { ConfigError } from "./errors.ts";
import {
  BACKEND_OPT,
  CACHE_OPT,
  cacheDirDefault,
  type Command,
  DATA_OPT,
  dataRootDefault,
  define,
  flag,
  int,
  list,
  num,
  optInt,
  str,
  strOpt,
  useBackend,
  vocabDirFor,
} from "./_cli.ts";
import { portablePath } from "./fsutil.ts";
import type { TextEval } from "./pipeline.ts";
import { FINETUNE_COMMANDS } from "./finetune_commands.ts";
import { PROTOCOL_COMMANDS } from "./protocol_commands.ts";

export type { Command, OptionSpec } from "./_cli.ts";
export { helpText } from "./_cli.ts";

/** Every command, by name. Filled in as the library grows. */
export const COMMANDS: Record<string, Command> = {};

// ---------------------------------------------------------------------------------------------
// commands

COMMANDS["backend"] = define(
  "backend [--backend B]",
  "show which TensorFlow.js backend is chosen and why",
  "Tries tensorflow (tfjs-node-gpu / tfjs-node), webgpu, wasm, cpu in order; prints the choice.",
  { backend: BACKEND_OPT },
  async (v) => {
    await useBackend(v);
    const { blasLine } = await import("./blas.ts");
    const { nativeKernelsLine } = await import("./_native_kernels.ts");
    console.log(`[gpt1] ${blasLine()} (used by wasm; GPT1_BLAS, GPT1_THREADS)`);
    console.log(`[gpt1] ${nativeKernelsLine()} (used by wasm; GPT1_KERNELS, GPT1_FUSED)`);
  },
);

COMMANDS["tokenize"] = define(
  "tokenize [--vocab gpt1|<dir>] <text...>",
  "encode text with the GPT-1 tokenizer (pieces and ids)",
  "Runs the released pipeline (ftfy subset, text_standardize, spaCy rules, BPE) on the text.",
  {
    vocab: strOpt("vocabulary: gpt1 or a folder", "gpt1"),
    ids: flag("print only the ids"),
  },
  async (v, pos) => {
    const { loadVocab } = await import("./vocab.ts");
    const tok = await loadVocab(str(v.vocab, "vocab", "gpt1"));
    const text = pos.length ? pos.join(" ") : await new Response(Deno.stdin.readable).text();
    const ids = tok.encode(text);
    if (v.ids) console.log(JSON.stringify(ids));
    else {
      const pieces = tok.tokenize(text);
      console.log(pieces.map((p, i) => `${JSON.stringify(p)}=${ids[i]}`).join(" "));
    }
  },
);

COMMANDS["train-bpe"] = define(
  "train-bpe --corpus embedded|<dir|file> --merges N --out <dir>",
  "learn BPE merges on a corpus (writes encoder_bpe.json + vocab.bpe)",
  "Counts words after the GPT-1 pre-tokenization and learns N merges (ties broken by order).",
  {
    corpus: { type: "string", multiple: true, description: "embedded, a folder, or a file" },
    merges: strOpt("number of merges", "8000"),
    out: strOpt("output folder"),
  },
  async (v) => {
    const { openCorpus, collectDocuments } = await import("./corpus.ts");
    const { BpeTrainer } = await import("./tokenizer/trainer.ts");
    const { Gpt1Tokenizer } = await import("./tokenizer/bpe.ts");
    const { saveVocab } = await import("./vocab.ts");
    const { terminalProgress } = await import("./progress.ts");
    const specs = list(v.corpus);
    const docs = await collectDocuments(specs.flatMap((s) => openCorpus(s)));
    const p = terminalProgress("train-bpe");
    const trainer = new BpeTrainer({
      merges: int(v.merges, "merges", 8000),
      minCharCount: 2,
      onProgress: (d, t) => p.update({ done: d, total: t }),
      progressEvery: 100,
    });
    for (const d of docs) trainer.addText(d.text);
    const voc = trainer.train();
    const tok = new Gpt1Tokenizer(voc.pieces, voc.merges);
    const out = str(v.out, "out");
    await saveVocab(tok, out);
    p.finish(`${voc.merges.length} merges, vocabulary ${tok.vocabSize} → ${out}`);
  },
);

COMMANDS["pretrain"] = define(
  "pretrain --preset tiny|small|gpt1 --corpus embedded|<dir> --out results/<run> [options]",
  "pre-train the language model (resumable; checkpoints at 2^k steps)",
  "Corpus → vocabulary → token cache → LM training with Adam + warmup_cosine.\n" +
    "Settings default to the preset's (see lib/settings.ts PRETRAIN_SETTINGS).\n" +
    "--engine auto runs GPT-1 on the project's WebGPU engine (lib/webgpu/) when the adapter is a\n" +
    "hardware GPU, else on tfjs (--backend); either engine writes the same log and checkpoints,\n" +
    "and a run resumes with either.",
  {
    preset: strOpt("model preset", "small"),
    model: strOpt("gpt1 (Transformer) | lstm (baseline)", "gpt1"),
    corpus: { type: "string", multiple: true, description: "embedded | folder | file (repeat)" },
    out: strOpt("run folder, e.g. results/small"),
    steps: strOpt("total updates"),
    batch: strOpt("windows per batch"),
    lr: strOpt("peak learning rate"),
    warmup: strOpt("warmup updates"),
    vocab: strOpt("train | gpt1 | <dir>"),
    merges: strOpt("BPE merges when --vocab train"),
    seed: strOpt("seed", String(PT.seed)),
    "eval-every": strOpt("validation interval (updates)"),
    "eval-text": strOpt("held-out text (file|dir) for a final perplexity"),
    "cache-dir": CACHE_OPT,
    "ckpt-per-octave": strOpt(
      "log-spaced checkpoints per octave: 1 (2^k) | 2 (also 3·2^(k-1))",
      "1",
    ),
    backend: BACKEND_OPT,
    engine: strOpt(
      "auto (webgpu on a hardware adapter, else tfjs) | tfjs | webgpu " +
        "(else GPT1_ENGINE, else auto)",
    ),
    "micro-batch": strOpt("webgpu: windows per micro-batch"),
    resume: flag("continue from <out>/latest.safetensors"),
  },
  async (v) => {
    const { runPretraining, evaluateText } = await import("./pipeline.ts");
    const { PRETRAIN_SETTINGS } = await import("./settings.ts");
    const { terminalProgress } = await import("./progress.ts");
    const preset = str(v.preset, "preset", "small");
    const s = PRETRAIN_SETTINGS[preset];
    if (!s) throw new ConfigError(`unknown preset ${preset}`, { fix: "tiny | small | gpt1" });
    const out = str(v.out, "out");
    const backend = await useBackend(v);
    const corpus = list(v.corpus).length ? list(v.corpus) : ["embedded"];
    const kind = str(v.model, "model", "gpt1");
    if (kind !== "gpt1" && kind !== "lstm") {
      throw new ConfigError(`unknown --model ${kind}`, { fix: "gpt1 | lstm" });
    }
    const steps = int(v.steps, "steps", s.steps);
    const { result: r, data } = await runPretraining({
      model: kind,
      preset: preset as "tiny" | "small" | "gpt1",
      corpus,
      vocab: str(v.vocab, "vocab", s.vocab),
      merges: int(v.merges, "merges", s.merges),
      cacheDir: str(v["cache-dir"], "cache-dir", await cacheDirDefault()),
      outDir: out,
      steps,
      batchSize: int(v.batch, "batch", s.batchSize),
      lr: num(v.lr, "lr", s.lr),
      warmupSteps: int(v.warmup, "warmup", Math.min(s.warmupSteps, Math.max(1, steps >> 3))),
      seed: int(v.seed, "seed", PT.seed),
      evalEvery: int(v["eval-every"], "eval-every", s.evalEvery),
      ckptEvery: s.ckptEvery,
      ckptPerOctave: (() => {
        const n = int(v["ckpt-per-octave"], "ckpt-per-octave", 1);
        if (n !== 1 && n !== 2) {
          throw new ConfigError(`--ckpt-per-octave must be 1 or 2, got ${n}`, { fix: "1 | 2" });
        }
        return n;
      })(),
      resume: Boolean(v.resume),
      progress: { data: terminalProgress("data"), train: terminalProgress("pretrain") },
      warn: (m) => console.warn(`warning: ${m}`),
      corpusInfo: corpus.map(portablePath),
      vocabDirInfo: `${out}/vocab`,
      runInfo: { backendDetail: backend.detail },
      engine: typeof v.engine === "string" ? v.engine : undefined,
      microBatch: optInt(v["micro-batch"], "micro-batch"),
    });
    console.log(
      `step ${r.step}: train loss ${r.losses.at(-1)?.toFixed(4)}` +
        (r.validLoss !== undefined
          ? `, valid loss ${r.validLoss.toFixed(4)} (perplexity ${
            Math.exp(r.validLoss).toFixed(2)
          })`
          : ""),
    );
    if (typeof v["eval-text"] === "string") {
      const ev = await evaluateText(r.model, data.tokenizer, v["eval-text"]);
      console.log(formatEval(ev));
      await writeEval(join(out, "eval-text.json"), ev, `${out}/latest.safetensors`);
    }
    r.model.dispose();
  },
);

COMMANDS["eval-lm"] = define(
  "eval-lm --ckpt <file|gpt1> --text <file|dir> [--vocab <dir>] [--out <file.json>]",
  "loss and perplexity (per token and per word) of a checkpoint on a text",
  "Evaluates on non-overlapping context-length windows. The vocabulary defaults to\n" +
    "<checkpoint folder>/vocab (written by pretrain).",
  {
    ckpt: strOpt("checkpoint (.safetensors), released-weights folder, or gpt1 (<data>/gpt1)"),
    init: strOpt("same as --ckpt"),
    data: strOpt("data root for gpt1 (default $GPT1_DATA)"),
    text: strOpt("a text file or a folder of .txt/.md"),
    vocab: strOpt("vocabulary folder or gpt1"),
    "max-windows": strOpt("cap on windows evaluated"),
    out: strOpt("also write the result as JSON (e.g. <run>/eval-text.json)"),
    backend: BACKEND_OPT,
  },
  async (v) => {
    const { loadAnyCheckpoint } = await import("./checkpoint.ts");
    const { evaluateText } = await import("./pipeline.ts");
    const { loadVocab } = await import("./vocab.ts");
    await useBackend(v, true);
    const { resolveInit } = await import("./fetch/mod.ts");
    const r = await resolveInit(str(v.ckpt ?? v.init, "ckpt"), v.data as string | undefined);
    const ckpt = r.path;
    const ck = await loadAnyCheckpoint(ckpt);
    const tok = await loadVocab(
      r.vocab && v.vocab === undefined ? r.vocab : vocabDirFor(ckpt, v.vocab),
    );
    if (ck.vocabHash && ck.vocabHash !== tok.hash) {
      throw new ConfigError("the vocabulary does not match the checkpoint's", {
        file: ckpt,
        fix: "pass --vocab with the folder the model was trained with",
      });
    }
    const maxWindows = optInt(v["max-windows"], "max-windows");
    const ev = await evaluateText(ck.model, tok, str(v.text, "text"), { maxWindows });
    console.log(formatEval(ev));
    ck.model.dispose();
    if (typeof v.out === "string") await writeEval(v.out, ev, ckpt);
  },
);

/** Writes a text evaluation as JSON (paths repository-relative), as `reproduce` does. */
async function writeEval(path: string, ev: TextEval, ckpt: string): Promise<void> {
  const { writeJsonAtomic } = await import("./fsutil.ts");
  await writeJsonAtomic(path, {
    ...ev,
    source: portablePath(ev.source),
    checkpoint: portablePath(ckpt),
  });
  console.log(`wrote ${path}`);
}

function formatEval(ev: {
  loss: number;
  tokens: number;
  words: number;
  perplexity: number;
  wordPerplexity: number;
  source: string;
}): string {
  return [
    `text: ${ev.source}`,
    `tokens evaluated: ${ev.tokens}`,
    `loss: ${ev.loss.toFixed(4)} nats/token`,
    `perplexity per token: ${ev.perplexity.toFixed(2)}`,
    `perplexity per word: ${ev.wordPerplexity.toFixed(2)} (${ev.words} words)`,
  ].join("\n");
}

// the fine-tuning commands: finetune, table5, ablate-layers
Object.assign(COMMANDS, FINETUNE_COMMANDS);

COMMANDS["zeroshot"] = define(
  "zeroshot --run results/<run> | --init <ckpt|gpt1> [--data <dir>] [--tasks sst2,cola,storycloze,wsc,race]",
  "Figure 2 right: zero-shot heuristics over every checkpoint of a pre-training run",
  "Scores each ckpt-<step>.safetensors with the paper's four heuristics (no fine-tuning, no\n" +
    "special tokens); writes <run>/zeroshot.json (raw score and relative performance per step).",
  {
    run: strOpt("pre-training run folder"),
    init: strOpt("one checkpoint instead of a run: a file, a released-weights folder, or gpt1"),
    vocab: strOpt("vocabulary for --init (default beside it, or gpt1)"),
    data: DATA_OPT,
    tasks: strOpt("comma-separated tasks (default: all with data)"),
    batch: strOpt("batch size", String(ZS.batchSize)),
    force: flag("recompute points already in zeroshot.json"),
    backend: BACKEND_OPT,
  },
  async (v) => {
    const { zeroShotCurves, zeroShotTaskName } = await import("./zeroshot.ts");
    const { terminalProgress } = await import("./progress.ts");
    await useBackend(v);
    const tasks = typeof v.tasks === "string"
      ? v.tasks.split(",").map((t) => zeroShotTaskName(t.trim()))
      : undefined;
    if (v.init !== undefined) {
      // a single checkpoint (e.g. the released GPT-1): print its rows, write nothing
      const { resolveInit } = await import("./fetch/mod.ts");
      const { loadAnyCheckpoint } = await import("./checkpoint.ts");
      const { zeroShotEvaluate } = await import("./zeroshot.ts");
      const { loadVocab } = await import("./vocab.ts");
      const r = await resolveInit(str(v.init, "init"), v.data as string | undefined);
      const ck = await loadAnyCheckpoint(r.path);
      try {
        const tok = await loadVocab(
          v.vocab !== undefined ? str(v.vocab, "vocab") : r.vocab ?? vocabDirFor(r.path, undefined),
        );
        const rows = await zeroShotEvaluate(ck.model, tok, {
          dataRoot: str(v.data, "data", await dataRootDefault()),
          tasks,
          batchSize: int(v.batch, "batch", ZS.batchSize),
          step: ck.step,
          progress: terminalProgress("zeroshot"),
        });
        for (const row of rows) {
          console.log(
            `${row.task.padEnd(12)} ${row.raw.toFixed(1).padStart(6)} (relative ${
              row.relative.toFixed(2)
            })`,
          );
        }
      } finally {
        ck.model.dispose();
      }
      return;
    }
    const run = str(v.run, "run");
    const { path, rows } = await zeroShotCurves(run, {
      dataRoot: str(v.data, "data", await dataRootDefault()),
      tasks,
      batchSize: int(v.batch, "batch", ZS.batchSize),
      force: Boolean(v.force),
      progress: terminalProgress("zeroshot"),
    });
    const steps = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b);
    const names = [...new Set(rows.map((r) => r.task))];
    console.log(`step     ${names.map((n) => n.padStart(12)).join("")}`);
    for (const s of steps) {
      const cells = names.map((n) => {
        const r = rows.find((r) => r.step === s && r.task === n);
        return (r ? `${r.raw.toFixed(1)} (${r.relative.toFixed(2)})` : "–").padStart(12);
      });
      console.log(`${String(s).padEnd(8)} ${cells.join("")}`);
    }
    console.log(`written ${path}`);
  },
);

COMMANDS["reproduce"] = define(
  "reproduce [--scale smoke|small|paper] [--out <dir>] [--data <dir>] [--fresh]",
  "the whole paper: pre-train → fine-tune → layers → zero-shot → results/<run>/report.html",
  "Runs every stage of a scale (settings: lib/settings.ts REPRODUCE_SCALES) and writes an\n" +
    "offline HTML report with every chart and every table beside the paper's; prints its path.\n" +
    "smoke: minutes on a CPU (a pipeline check); small: the committed results' settings (CPU\n" +
    "hours); paper: the paper's settings (GPU). Finished stages are reused, a killed one resumes.",
  {
    scale: strOpt("smoke | small | paper", "smoke"),
    out: strOpt("output folder (default results/_scratch/reproduce-<scale>)"),
    data: DATA_OPT,
    "cache-dir": CACHE_OPT,
    fresh: flag("recompute every stage"),
    backend: BACKEND_OPT,
  },
  async (v) => {
    const { reproduce } = await import("./reproduce.ts");
    const { reproduceSettings } = await import("./settings.ts");
    const { terminalProgress } = await import("./progress.ts");
    const s = reproduceSettings(str(v.scale, "scale", "smoke"));
    const r = await reproduce({
      settings: s,
      outDir: v.out as string | undefined,
      dataRoot: v.data as string | undefined,
      cacheDir: str(v["cache-dir"], "cache-dir", await cacheDirDefault()),
      fresh: Boolean(v.fresh),
      backend: v.backend as string | undefined,
      progress: (label) => terminalProgress(label),
      log: (line) => console.error(line),
    });
    console.error(`reproduce: done in ${(r.seconds / 60).toFixed(1)} minutes`);
    console.log(r.report);
  },
);

COMMANDS["fetch"] = define(
  "fetch <name...|all> [--dir <data root>]",
  "download the public benchmarks and the released GPT-1 weights (verified, resumable)",
  "Downloads from the official sources in lib/fetch/manifest.ts (GLUE from dl.fbaipublicfiles.com,\n" +
    "SNLI 1.0, SciTail, RACE, WSC273, GPT-1 from openai/finetune-transformer-lm) into the folder\n" +
    "the loaders read (default $GPT1_DATA, else ../shared/datasets). Size and sha256 are checked\n" +
    "before anything is unpacked; a cut download resumes. Story Cloze and MRPC: printed how to get.",
  {
    dir: strOpt("data root (default $GPT1_DATA or ../shared/datasets)"),
    list: flag("list what can be fetched, from where"),
  },
  async (v, positionals) => {
    const { fetchData, FETCH_MANIFEST } = await import("./fetch/mod.ts");
    const { terminalProgress } = await import("./progress.ts");
    if (v.list || positionals.length === 0) {
      for (const e of FETCH_MANIFEST) {
        const src = e.files.length ? e.files[0].url : `manual: ${e.manual}`;
        const sum = e.files[0]?.checksum.kind === "published" ? "sha256 published" : "tofu";
        console.log(
          `${e.name.padEnd(11)} ${e.folder.padEnd(11)} ${src}${e.files.length ? ` (${sum})` : ""}`,
        );
      }
      if (positionals.length === 0) {
        console.log("usage: deno task gpt1 fetch <name...|all> [--dir D]");
      }
      return;
    }
    const out = await fetchData(positionals, {
      dir: v.dir as string | undefined,
      progress: (label) => terminalProgress(label),
    });
    const manual = out.filter((o) => o.status === "manual");
    if (manual.length) {
      console.log(`not fetched (see above): ${manual.map((o) => o.name).join(", ")}`);
    }
  },
);

// the small-scale protocol's commands (issue 14): predict, protocol, zeroshot-additions
Object.assign(COMMANDS, PROTOCOL_COMMANDS);
