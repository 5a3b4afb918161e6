/**
 * The command-line commands of the small-scale protocol (issue 14): `predict` (GLUE test
 * predictions from a fine-tuned run). commands.ts merges {@link PROTOCOL_COMMANDS} into its
 * registry.
 * @module
 */
import { ConfigError } from "./errors.ts";
import {
  BACKEND_OPT,
  type Command,
  DATA_OPT,
  dataRootDefault,
  define,
  str,
  useBackend,
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
    run: { type: "string", description: "finetune run folder (or a fine-tuned checkpoint)" },
    task: { type: "string", description: "task (default: the run's config.json)" },
    data: DATA_OPT,
    vocab: { type: "string", description: "vocabulary folder (default: beside the init)" },
    out: { type: "string", description: "folder for <TASK>.tsv" },
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
