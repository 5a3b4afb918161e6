/**
 * The fine-tuning commands of the command line: `finetune` (one benchmark), `table5` (Table 5
 * at our scale) and `ablate-layers` (Figure 2 left). `commands.ts` adds them to `COMMANDS`.
 * @module
 */
import { join } from "node:path";
import { FINETUNE_DEFAULTS as FT } from "./config.ts";
import { ConfigError } from "./errors.ts";
import {
  BACKEND_OPT,
  type Command,
  DATA_OPT,
  dataRootDefault,
  define,
  flag,
  int,
  list,
  num,
  optInt,
  type OptionSpec,
  str,
  strOpt,
  sweepArgs,
  sweepOptions,
  useBackend,
  vocabDirFor,
} from "./_cli.ts";

/** The commands of this file, by name. */
export const FINETUNE_COMMANDS: Record<string, Command> = {};

const FT_OPTS: Record<string, OptionSpec> = {
  task: strOpt("task: CoLA, SST-2, MRPC, STS-B, RTE, SNLI, StoryCloze, ..."),
  data: DATA_OPT,
  init: strOpt("pre-trained checkpoint, released-weights folder, gpt1 (<data>/gpt1), or none"),
  vocab: strOpt("vocabulary folder (default: <checkpoint folder>/vocab)"),
  "aux-lm": strOpt("auxiliary LM weight λ (0 disables)", String(FT.auxLm)),
  "transfer-layers": strOpt("blocks transferred (-1..L; default all)"),
  epochs: strOpt("epochs", String(FT.epochs)),
  batch: strOpt("batch size", String(FT.batchSize)),
  lr: strOpt("peak learning rate", FT.lr.toExponential()),
  "max-train": strOpt("cap on training examples (seeded sample)"),
  "max-eval": strOpt("cap on evaluation examples (seeded sample)"),
  "eval-file": strOpt("evaluate on this labeled file/folder instead"),
  "group-by-length": flag("batch examples of similar length (less padding; seeded)"),
  "micro-tokens": strOpt(
    "tokens per micro-batch (default 2048; 1024 from width 768, e.g. the released " +
      "117M weights, whose backward pass at 2048 overflows the wasm heap)",
  ),
  seed: strOpt("seed", String(FT.seed)),
  out: strOpt("run folder, e.g. results/ft-sst2"),
  "save-model": flag("keep the best model as <out>/model.safetensors (for predict)"),
  "predict-test": strOpt("write GLUE's <TASK>.tsv for the test file into this folder"),
  backend: BACKEND_OPT,
};

async function ftArgs(v: Record<string, unknown>) {
  const { loadVocab } = await import("./vocab.ts");
  const { resolveInit } = await import("./fetch/mod.ts");
  const r = await resolveInit(str(v.init, "init"), v.data as string | undefined);
  const init = r.path;
  const vocabDir = init === "none"
    ? str(v.vocab, "vocab", "")
    : r.vocab && v.vocab === undefined
    ? r.vocab
    : vocabDirFor(init, v.vocab);
  if (!vocabDir) throw new ConfigError("--init none needs --vocab <dir>");
  // unset: finetune's defaultMicroTokens of the model (1,024 for the released 117M model)
  const micro = optInt(v["micro-tokens"], "micro-tokens");
  return {
    ...(micro !== undefined ? { microTokens: micro } : {}),
    init,
    tokenizer: await loadVocab(vocabDir),
    dataRoot: str(v.data, "data", await dataRootDefault()),
    auxLm: num(v["aux-lm"], "aux-lm", FT.auxLm),
    transferLayers: optInt(v["transfer-layers"], "transfer-layers"),
    epochs: int(v.epochs, "epochs", FT.epochs),
    batchSize: int(v.batch, "batch", FT.batchSize),
    lr: num(v.lr, "lr", FT.lr),
    maxTrain: optInt(v["max-train"], "max-train"),
    maxEval: optInt(v["max-eval"], "max-eval"),
    evalFile: v["eval-file"] as string | undefined,
    seed: int(v.seed, "seed", FT.seed),
    groupByLength: v["group-by-length"] === true,
  };
}

FINETUNE_COMMANDS["finetune"] = define(
  "finetune --task SST-2 --data <dir> --init <checkpoint|none> --out results/<run> [options]",
  "fine-tune on a benchmark (writes metrics.json and predictions.jsonl)",
  "One linear head on the _classify_ state, input transforms of the paper's Figure 1,\n" +
    "L = task loss + λ·LM loss, Adam with warmup_linear, best validation model kept.\n" +
    "--init none is the paper's 'Transformer w/o pre-training' row (then --vocab is needed).",
  FT_OPTS,
  async (v) => {
    const { finetune } = await import("./finetune.ts");
    const { terminalProgress } = await import("./progress.ts");
    await useBackend(v);
    const a = await ftArgs(v);
    const r = await finetune({
      ...a,
      task: str(v.task, "task"),
      outDir: str(v.out, "out"),
      progress: terminalProgress("finetune"),
      saveModel: v["save-model"] === true,
      predictTest: v["predict-test"] as string | undefined,
    });
    if (r.testFile) console.log(`wrote ${r.testFile}`);
    console.log(
      `${r.task}: ${r.eval.metric} ${
        r.eval.value.toFixed(2)
      } on ${r.eval.split} (n=${r.eval.n}); ` +
        `valid ${r.valid.value.toFixed(2)}, train ${
          r.train.value.toFixed(2)
        }, best epoch ${r.bestEpoch}`,
    );
  },
);

FINETUNE_COMMANDS["table5"] = define(
  "table5 --init <checkpoint> --out results/table5 [--data <dir>] [--max-train N] [options]",
  "Table 5 at our scale: full / w/o pre-training / w/o aux LM on every task with data",
  "Fine-tunes each task three times from the same checkpoint and settings; writes\n" +
    "<out>/table5.json (rewritten after each run; --resume skips finished cells) and table5.md.",
  {
    ...sweepOptions(" per task"),
    out: strOpt("output folder", "results/table5"),
    task: { type: "string", multiple: true, description: "only these tasks (repeat)" },
    variant: { type: "string", multiple: true, description: "only these: full no-pretrain no-aux" },
    resume: flag("keep finished cells of <out>/table5.json"),
  },
  async (v) => {
    const { runTable5, table5Markdown } = await import("./sweeps.ts");
    const { terminalProgress } = await import("./progress.ts");
    const { writeFileAtomic } = await import("./fsutil.ts");
    await useBackend(v);
    const out = str(v.out, "out", "results/table5");
    const cells = await runTable5({
      ...(await sweepArgs(v, out)),
      tasks: list(v.task).length ? list(v.task) : undefined,
      variants: list(v.variant).length ? list(v.variant) : undefined,
      progress: (t, k) => terminalProgress(`${t} ${k}`),
    });
    const md = table5Markdown(cells);
    await writeFileAtomic(join(out, "table5.md"), md);
    console.log(md);
  },
);

FINETUNE_COMMANDS["ablate-layers"] = define(
  "ablate-layers --task <task> --init <checkpoint> --out results/<run> [--layers -1,0,1,...]",
  "Figure 2 left: fine-tune once per number of transferred layers",
  "Transfers nothing (-1), the embeddings (0), or the embeddings and the first k blocks, then\n" +
    "fine-tunes; writes <out>/layers.json with train and evaluation scores per count.",
  {
    task: strOpt("task (e.g. RTE, StoryCloze, MNLI-m, RACE)"),
    ...sweepOptions(""),
    out: strOpt("output folder"),
    layers: strOpt("comma-separated transfer counts (default -1..L)"),
    "aux-lm": strOpt("auxiliary LM weight", String(FT.auxLm)),
    resume: flag("keep finished counts of <out>/layers.json"),
  },
  async (v) => {
    const { ablateLayers } = await import("./sweeps.ts");
    const { terminalProgress } = await import("./progress.ts");
    await useBackend(v);
    str(v.init, "init"); // the checkpoint is required first
    const layers = typeof v.layers === "string"
      ? v.layers.split(",").map((s) => int(s.trim(), "layers", 0))
      : undefined;
    const task = str(v.task, "task");
    const rows = await ablateLayers({
      ...(await sweepArgs(v, str(v.out, "out"))),
      task,
      layers,
      auxLm: num(v["aux-lm"], "aux-lm", FT.auxLm),
      progress: (n) => terminalProgress(`transfer ${n}`),
    });
    for (const r of rows) {
      console.log(
        `transfer ${String(r.nTransfer).padStart(2)}: train ${r.train.toFixed(1)}  ` +
          `${r.split} ${r.valid.toFixed(1)} (${r.metric})`,
      );
    }
  },
);
