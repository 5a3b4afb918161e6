/**
 * The command-line commands of the small-scale protocol (issue 14): `predict` (GLUE test
 * predictions from a fine-tuned run) and `protocol` (lr × epoch selection on a split held out
 * of the training data, then seeds, for every arm; with `--train-sizes`, the label-budget
 * sweep) and `zeroshot-additions` (calibrated / AUROC / PMI zero-shot measures, additions to the
 * paper's). commands.ts merges {@link PROTOCOL_COMMANDS} into its registry.
 * @module
 */
import { join } from "node:path";
import { ConfigError } from "./errors.ts";
import { PROTOCOL_DEFAULTS as D } from "./protocol.ts";
import {
  BACKEND_OPT,
  type Command,
  DATA_OPT,
  dataRootDefault,
  define,
  flag,
  int,
  optInt,
  str,
  strOpt,
  useBackend,
  vocabDirFor,
} from "./_cli.ts";

/** The commands of this file, by name. */
export const PROTOCOL_COMMANDS: Record<string, Command> = {};

PROTOCOL_COMMANDS["predict"] = define(
  "predict --run <finetune run folder | fine-tuned checkpoint> --out <dir> [--task T] [--vocab <dir>]",
  "GLUE test predictions: <out>/<TASK>.tsv (index, prediction) for the GLUE server",
  "Loads the model a fine-tuning run kept (<run>/model.safetensors: finetune --save-model),\n" +
    "predicts every row of the task's unlabeled test file under --data and writes GLUE's\n" +
    "submission file (SST-2.tsv, CoLA.tsv, MRPC.tsv, STS-B.tsv, RTE.tsv, ...; labels 0/1,\n" +
    "entailment/not_entailment, MNLI's three, STS-B a score in [0, 5]), checked against the\n" +
    "test file's indices. The vocabulary defaults to vocab/ beside the run's --init checkpoint.",
  {
    run: strOpt("finetune run folder (or a fine-tuned checkpoint)"),
    task: strOpt("task (default: the run's config.json)"),
    data: DATA_OPT,
    vocab: strOpt("vocabulary folder (default: beside the init)"),
    out: strOpt("folder for <TASK>.tsv"),
    backend: BACKEND_OPT,
  },
  async (v) => {
    const { locateFinetuned, predictRun, vocabOfRun } = await import("./glue_predict.ts");
    const { loadVocab } = await import("./vocab.ts");
    await useBackend(v);
    const run = str(v.run, "run");
    const out = str(v.out, "out");
    const vocab = typeof v.vocab === "string" ? v.vocab : await vocabOfRun(
      await locateFinetuned(run),
    );
    if (!vocab) {
      throw new ConfigError("which vocabulary? the run does not name one beside its init", {
        file: run,
        fix: "pass --vocab <dir>",
      });
    }
    const path = await predictRun({
      run,
      task: v.task as string | undefined,
      dataRoot: str(v.data, "data", await dataRootDefault()),
      tokenizer: await loadVocab(vocab),
      outDir: out,
    });
    console.log(`wrote ${path}`);
  },
);

/** A comma-separated list flag (`def` when absent). */
function csv(v: unknown, def: string): string[] {
  return (typeof v === "string" ? v : def).split(",").map((x) => x.trim()).filter((x) => x);
}

/** `--train-sizes 1000,4000,all` → [1000, 4000, null]. */
export function parseTrainSizes(v: unknown): (number | null)[] {
  return csv(v, "all").map((x) => x === "all" ? null : int(x, "train-sizes", 0));
}

/** `--lrs 1e-4,3e-4` → [1e-4, 3e-4]. */
export function parseLrs(v: unknown, def: readonly number[]): number[] {
  return csv(v, def.join(",")).map((x) => {
    const n = Number(x);
    if (!(n > 0)) throw new ConfigError(`--lrs: ${x} is not a positive number`);
    return n;
  });
}

PROTOCOL_COMMANDS["protocol"] = define(
  "protocol --task sst2[,stsb,...] --init <ckpt> [--lstm-init <ckpt>] --out results/protocol [options]",
  "fair fine-tuning: lr × epoch chosen on held-out training data per arm, then seeds (mean ± sd)",
  "For each arm (full, no-pretrain, no-aux, lstm): one fine-tune per learning rate of --lrs at\n" +
    "--seed, each keeping its best epoch on the validation split carved from the training data;\n" +
    "the lr with the best validation score is chosen; then --seeds runs at it. The dev split is\n" +
    "reported (mean ± sd), never used to choose. --train-sizes 1000,4000,16000,all repeats it per\n" +
    "training-set size (the label-budget sweep). Writes <out>/protocol.json (every run; --resume\n" +
    "keeps finished ones), summary.json, summary.md, runs/, and <glue-dir>/<arm>/<TASK>.tsv (GLUE\n" +
    "test predictions of each arm's best-validation seed). Several tasks: <out>/<task>/ each.\n" +
    "--plan prints the runs and optimizer steps (and hours, with --sec-per-step) and trains nothing.",
  {
    scale: strOpt(
      "small: every default from SMALL_PROTOCOL (lib/settings.ts): checkpoints, " +
        "tasks, caps, grid, folders",
    ),
    task: strOpt("task(s), comma-separated (sst2, stsb, cola, mrpc, rte)"),
    init: strOpt("pre-trained Transformer checkpoint"),
    "lstm-init": strOpt("pre-trained LSTM checkpoint (arm lstm)"),
    vocab: strOpt("vocabulary folder (default: <init folder>/vocab)"),
    data: DATA_OPT,
    arms: strOpt("comma-separated arms (default full,no-pretrain,no-aux, + lstm with --lstm-init)"),
    lrs: strOpt(`learning-rate grid (default ${D.lrs.join(",")})`),
    epochs: strOpt(`epochs per run, best kept (default ${D.epochs})`),
    seeds: strOpt(`seeds at the chosen setting (default ${D.seeds})`),
    seed: strOpt(`base seed (default ${D.seed})`),
    batch: strOpt(`batch size (default ${D.batchSize})`),
    "train-sizes": strOpt("training-set sizes, e.g. 1000,4000,16000,all", "all"),
    "max-train": strOpt("cap on training examples of 'all' (CPU budget)"),
    "max-eval": strOpt("cap on validation / dev examples"),
    "group-by-length": flag("length-grouped batches (seeded)"),
    "no-predict-test": flag("skip GLUE test predictions"),
    "glue-dir": strOpt("folder of the GLUE files, one folder per arm (default <out>/glue)"),
    out: strOpt("output folder"),
    resume: flag("keep the finished runs of <out>/protocol.json"),
    "no-train": flag("train nothing: summarise the finished runs of protocol.json (after a stop)"),
    plan: flag("print runs and steps only (no training)"),
    "sec-per-step": strOpt("with --plan: seconds per step, for hours"),
    backend: BACKEND_OPT,
  },
  async (v) => {
    const { runProtocol, protocolMarkdown, protocolPlan } = await import("./protocol.ts");
    const { SMALL_PROTOCOL, protocolCheckpoint } = await import("./settings.ts");
    if (v.scale !== undefined && v.scale !== "small") {
      throw new ConfigError(`--scale ${v.scale}: only small has protocol settings`, {
        fix: "--scale small, or give every option",
      });
    }
    const S = v.scale === "small" ? SMALL_PROTOCOL : null;
    const tasks = csv(v.task, S ? S.tasks.join(",") : "");
    if (tasks.length === 0) throw new ConfigError("--task is required");
    const lstmInit = (v["lstm-init"] as string | undefined) ??
      (S ? protocolCheckpoint(S.pretrain.lstmOut) : undefined);
    const common = {
      dataRoot: str(v.data, "data", await dataRootDefault()),
      arms: csv(v.arms, `full,no-pretrain,no-aux${lstmInit ? ",lstm" : ""}`),
      lrs: parseLrs(v.lrs, S?.lrs ?? D.lrs),
      epochs: int(v.epochs, "epochs", S?.epochs ?? D.epochs),
      seeds: int(v.seeds, "seeds", S?.seeds ?? D.seeds),
      batchSize: int(v.batch, "batch", S?.batchSize ?? D.batchSize),
      trainSizes: parseTrainSizes(v["train-sizes"]),
    };
    const maxTrainOf = (task: string) =>
      optInt(v["max-train"], "max-train") ?? S?.maxTrain[task] ?? undefined;
    if (v.plan === true) {
      const sps = v["sec-per-step"] === undefined ? null : Number(v["sec-per-step"]);
      let runs = 0, steps = 0;
      for (const task of tasks) {
        const p = await protocolPlan({ ...common, task, maxTrain: maxTrainOf(task) });
        runs += p.runs;
        steps += p.steps;
        const sizes = p.sizes.map((s) =>
          `${s.labels ?? "all"}: ${s.nTrain} ex, ${s.stepsPerRun} steps/run`
        );
        console.log(
          `${p.task}: ${p.available} training examples; ${sizes.join("; ")}; ` +
            `${p.runs} runs, ${p.steps} steps`,
        );
      }
      const hours = sps === null ? "" : `, ${(steps * sps / 3600).toFixed(1)} h at ${sps} s/step`;
      console.log(`total: ${runs} runs, ${steps} optimizer steps${hours}`);
      return;
    }
    const { loadVocab } = await import("./vocab.ts");
    const { terminalProgress } = await import("./progress.ts");
    await useBackend(v);
    const init = str(v.init, "init", S ? protocolCheckpoint(S.pretrain.out) : undefined);
    const tokenizer = await loadVocab(vocabDirFor(init, v.vocab));
    const out = str(v.out, "out", S?.out);
    for (const task of tasks) {
      const outDir = tasks.length > 1 || S ? join(out, task) : out;
      const r = await runProtocol({
        ...common,
        task,
        maxTrain: maxTrainOf(task),
        init,
        lstmInit,
        tokenizer,
        outDir,
        seed: int(v.seed, "seed", S?.seed ?? D.seed),
        maxEval: optInt(v["max-eval"], "max-eval") ?? S?.maxEval ?? undefined,
        groupByLength: v["group-by-length"] === true || (S?.groupByLength ?? false),
        predictTest: v["no-predict-test"] === true ? false : undefined,
        glueDir: (v["glue-dir"] as string | undefined) ?? S?.glueDir,
        resume: v.resume === true,
        noTrain: v["no-train"] === true,
        progress: (label) => terminalProgress(label),
      });
      console.log(protocolMarkdown(r.rows));
      for (const f of r.glueFiles) console.log(`wrote ${f}`);
      if (new Set(r.rows.map((x) => x.labels)).size > 1) {
        // the label-budget chart (data: summary.json's rows)
        const { labelBudgetChart } = await import("./plot_protocol.ts");
        const { writeJsonAtomic } = await import("./fsutil.ts");
        const path = join(outDir, "label-budget.plotly.json");
        await writeJsonAtomic(path, labelBudgetChart(r.rows));
        console.log(`wrote ${path}`);
      }
    }
  },
);

PROTOCOL_COMMANDS["zeroshot-additions"] = define(
  "zeroshot-additions --run results/<run> [--data <dir>] [--max N] [--force]",
  "zero-shot measures added to the paper's (calibrated sentiment, AUROCs, Story Cloze PMI)",
  "Additions beyond the paper (issue 14), on every ckpt-<step>.safetensors of a pre-training\n" +
    "run (Transformer or LSTM): SST-2 with contextual calibration (accuracy) and the AUROC of\n" +
    "log p(positive) − log p(negative); CoLA as the AUROC of the mean log-probability; Story\n" +
    "Cloze endings by PMI, log p(ending | story) − log p(ending). Same samples as `zeroshot`.\n" +
    "Writes <run>/zeroshot-additions.json (resumes; --force recomputes).",
  {
    run: strOpt("pre-training run folder (with vocab/)"),
    data: DATA_OPT,
    max: strOpt("examples per task (default: zeroshot's caps)"),
    force: flag("recompute checkpoints already in the file"),
    backend: BACKEND_OPT,
  },
  async (v) => {
    const { zeroShotAdditionCurves } = await import("./zeroshot_additions.ts");
    const { terminalProgress } = await import("./progress.ts");
    await useBackend(v);
    const max = optInt(v.max, "max");
    const { path, rows } = await zeroShotAdditionCurves(str(v.run, "run"), {
      dataRoot: str(v.data, "data", await dataRootDefault()),
      maxExamples: max === undefined ? undefined : { sst2: max, cola: max, storycloze: max },
      force: v.force === true,
      progress: terminalProgress("zeroshot-additions"),
    });
    for (const r of rows) {
      console.log(`step ${r.step} ${r.measure}: ${r.metric} ${r.value.toFixed(1)} (n=${r.n})`);
    }
    console.log(`wrote ${path}`);
  },
);

PROTOCOL_COMMANDS["protocol-report"] = define(
  "protocol-report [--dir results/protocol] [--out <dir>/report.html]",
  "the protocol's report: pre-training, Table 5 under the protocol, label budget, zero-shot, claims",
  "Reads a protocol folder (both pre-training runs, every <task>/summary.json, the zero-shot\n" +
    "files) and writes one HTML page with its charts and tables, plus the claims table as\n" +
    "claims.json beside it. Parts without files are left out.",
  {
    dir: { type: "string", description: "protocol folder (default: SMALL_PROTOCOL's out)" },
    out: { type: "string", description: "HTML file (default <dir>/report.html)" },
  },
  async (v) => {
    const { SMALL_PROTOCOL } = await import("./settings.ts");
    const { protocolSections } = await import("./protocol_report.ts");
    const { writeReport } = await import("./report.ts");
    const { writeJsonAtomic } = await import("./fsutil.ts");
    const dir = str(v.dir, "dir", SMALL_PROTOCOL.out);
    const sections = await protocolSections(dir);
    const out = str(v.out, "out", join(dir, "report.html"));
    const w = await writeReport(out, sections, { title: "gpt1-lab: the small-scale protocol" });
    const claims = sections.find((s) => s.title.startsWith("The paper's claims"));
    await writeJsonAtomic(join(dir, "claims.json"), { rows: claims?.tables?.[0].rows ?? [] });
    // every table as Markdown (the README's results section quotes them)
    const { tableMarkdown } = await import("./report.ts");
    const { writeFileAtomic } = await import("./fsutil.ts");
    const md = sections.flatMap((s) =>
      (s.tables ?? []).map((t) => `### ${s.title}: ${t.caption}\n\n${tableMarkdown(t.rows)}\n`)
    );
    await writeFileAtomic(join(dir, "tables.md"), md.join("\n"));
    console.log(
      `wrote ${out} (${w.figures} charts, ${w.tables} tables), ${dir}/claims.json, ${dir}/tables.md`,
    );
  },
);
