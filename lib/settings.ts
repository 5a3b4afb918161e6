/**
 * Every setting of `deno task reproduce`, as data: the scales (smoke / small / paper), each
 * stage's settings, the per-task example caps, and where data and output go by default.
 *
 * @example
 * ```ts
 * import { reproduceSettings } from "./settings.ts";
 * reproduceSettings("small").table5.tasks; // the Table 5 tasks of the committed results
 * ```
 * @module
 */
import { join, resolve } from "node:path";
import { ConfigError } from "./errors.ts";
import {
  FINETUNE_DEFAULTS,
  type PresetName,
  PRETRAIN_DEFAULTS,
  ZEROSHOT_DEFAULTS,
} from "./config.ts";
import { REPO_ROOT } from "./fsutil.ts";
import { PROTOCOL_DEFAULTS } from "./protocol.ts";
import { TABLE5_TASKS, TABLE5_VARIANTS } from "./sweeps.ts";
import { ZEROSHOT_CAPS } from "./zeroshot.ts";
import { checkpointName, type ZeroShotTaskName } from "./runs.ts";

// ---------------------------------------------------------------------------------------------
// settings as data

/** Training settings per preset for `pretrain` (the model shape comes from `PRESETS`). */
export interface PretrainSettings {
  /** Windows per batch. */
  batchSize: number;
  /** Total updates. */
  steps: number;
  /** Peak learning rate. */
  lr: number;
  /** Warmup updates. */
  warmupSteps: number;
  /** Default vocabulary (`train` = BPE on the corpus, `gpt1` = released). */
  vocab: string;
  /** Merges learned when `vocab` is `train`. */
  merges: number;
  /** Validation every N updates. */
  evalEvery: number;
  /** Latest-checkpoint interval. */
  ckptEvery: number;
}

/**
 * Run settings by preset. `gpt1` is the paper (batch 64 × 512, lr 2.5e-4, 2000 warmup updates,
 * the released 40k-merge vocabulary; the paper's total number of updates is not stated: 100
 * epochs of BooksCorpus). `small` and `tiny` are ours: a larger learning rate and shorter warmup
 * suit the smaller models and shorter runs (deviation, written down in the README).
 */
export const PRETRAIN_SETTINGS: Readonly<Record<string, Readonly<PretrainSettings>>> = Object
  .freeze({
    tiny: Object.freeze({
      batchSize: 8,
      steps: 300,
      lr: 1e-3,
      warmupSteps: 30,
      vocab: "train",
      merges: 1000,
      evalEvery: 100,
      ckptEvery: 100,
    }),
    small: Object.freeze({
      batchSize: 16,
      steps: 4000,
      lr: 6e-4,
      warmupSteps: 200,
      vocab: "train",
      merges: 8000,
      evalEvery: 250,
      ckptEvery: 250,
    }),
    gpt1: Object.freeze({
      batchSize: 64,
      steps: 100_000,
      lr: PRETRAIN_DEFAULTS.lr,
      warmupSteps: 2000,
      vocab: "gpt1",
      merges: 40_000,
      evalEvery: 1000,
      ckptEvery: 1000,
    }),
  });

/** How much work a run does: `smoke` (CI, minutes), `small` (CPU hours), `paper` (GPU). */
export type Scale = "smoke" | "small" | "paper";

/** The scales, smallest first. */
export const SCALES: readonly Scale[] = ["smoke", "small", "paper"];

/** Pre-training settings. Paths starting with `{data}/` are inside the datasets folder. */
export interface PretrainStageSettings {
  /** Model preset. */
  preset: PresetName;
  /** Corpus specs in order (`embedded`, files, folders); the order enters the vocabulary hash. */
  corpus: readonly string[];
  /** `train` (BPE learned on the corpus) or `gpt1` (the released vocabulary). */
  vocab: string;
  /** Merges learned when `vocab` is `train`. */
  merges: number;
  /** Total updates. */
  steps: number;
  /** Windows per batch. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Warmup updates. */
  warmupSteps: number;
  /** Validation every N updates. */
  evalEvery: number;
  /** Validation windows per evaluation. */
  evalWindows: number;
  /** Resumable-checkpoint interval. */
  ckptEvery: number;
  /** Seed. */
  seed: number;
  /** A held-out book for a final per-word perplexity, or null. */
  evalText: string | null;
  /** Cap on the windows of `evalText` evaluated (null: all). */
  evalTextWindows: number | null;
}

/** Caps on the examples of one task, overriding the stage's. */
export interface TaskCaps {
  /** Training examples (null: all). */
  maxTrain?: number | null;
  /** Evaluation examples (null: all). */
  maxEval?: number | null;
}

/** Fine-tuning settings of Table 5 (full / w/o pre-training / w/o aux LM per task). */
export interface Table5StageSettings {
  /** Task registry names; those without data are skipped. */
  tasks: readonly string[];
  /** Variant keys (`full`, `no-pretrain`, `no-aux`). */
  variants: readonly string[];
  /** Cap on training examples per task (null: all). */
  maxTrain: number | null;
  /** Cap on evaluation examples per task (null: all). */
  maxEval: number | null;
  /** Caps of single tasks, overriding `maxTrain` / `maxEval`. */
  perTask?: Readonly<Record<string, TaskCaps>>;
  /** Epochs. */
  epochs: number;
  /** Peak learning rate. */
  lr: number;
  /** Seed. */
  seed: number;
}

/** Settings of the layers-transferred ablation (Figure 2 left). */
export interface LayersStageSettings {
  /** Tasks, one ablation each; those without data are skipped. */
  tasks: readonly string[];
  /** Transfer counts (-1 nothing, 0 embeddings, k blocks); null: every count -1..L. */
  layers: readonly number[] | null;
  /** Cap on training examples (null: all). */
  maxTrain: number | null;
  /** Cap on evaluation examples (null: all). */
  maxEval: number | null;
  /** Caps of single tasks, overriding `maxTrain` / `maxEval`. */
  perTask?: Readonly<Record<string, TaskCaps>>;
  /** Epochs. */
  epochs: number;
  /** Peak learning rate. */
  lr: number;
  /** Auxiliary LM weight. */
  auxLm: number;
  /** Seed. */
  seed: number;
}

/** Settings of the zero-shot curves (Figure 2 right). */
export interface ZeroShotStageSettings {
  /** Tasks (null: every task with data). */
  tasks: readonly ZeroShotTaskName[] | null;
  /** Examples per task (evenly spaced samples). */
  maxExamples: Readonly<Partial<Record<ZeroShotTaskName | "colaTrain", number>>>;
  /** Windows per forward pass. */
  batchSize: number;
}

/** The LSTM baseline (Table 5's last row, Figure 2's dashed curves). */
export interface LstmStageSettings {
  /** Pre-train the LSTM too (same corpus, vocabulary, updates and schedule as the Transformer). */
  enabled: boolean;
  /** Tasks of Table 5's "LSTM w/ aux LM" row (Table 5's fine-tuning settings); [] for none. */
  tasks: readonly string[];
}

/** Everything one scale runs. */
export interface ReproduceSettings {
  /** The scale. */
  scale: Scale;
  /** One sentence saying what this scale is for. */
  about: string;
  /** Pre-training. */
  pretrain: PretrainStageSettings;
  /** Table 5 fine-tuning (also our column of Tables 2–4). */
  table5: Table5StageSettings;
  /** Figure 2 left. */
  layers: LayersStageSettings;
  /** Figure 2 right. */
  zeroshot: ZeroShotStageSettings;
  /** The LSTM baseline, pre-trained like the Transformer (its preset matches the parameters). */
  lstm: LstmStageSettings;
  /**
   * The small-scale protocol (issue 14), run after the stages above into `<out>/protocol`
   * (`SMALL_PROTOCOL` at `small`, `SMOKE_PROTOCOL` at `smoke`; null: not run).
   */
  protocol: ProtocolScaleSettings | null;
}

/** The 22 Gutenberg books of the committed `small` run, in its order (sherlock.txt held out). */
export const GUTENBERG_BOOKS: readonly string[] = [
  "alice_in_wonderland.txt",
  "austen-emma.txt",
  "austen-persuasion.txt",
  "austen-sense.txt",
  "blake-poems.txt",
  "blake-songs.txt",
  "canterbury_tales.txt",
  "gullivers_travels.txt",
  "ivanhoe.txt",
  "leviathan.txt",
  "melville-moby_dick.txt",
  "milton-paradise.txt",
  "platon.txt",
  "pride_and_prejudice.txt",
  "shakespeare-caesar.txt",
  "shakespeare-hamlet.txt",
  "shakespeare-macbeth.txt",
  "tinyshakespeare.txt",
  "tom_sawyer.txt",
  "us_constitution.txt",
  "war_and_piece.txt",
  "whitman-leaves.txt",
];

const books = GUTENBERG_BOOKS.map((b) => `{data}/pretrain_gutenberg/${b}`);
const HELD_OUT = "{data}/pretrain_gutenberg/sherlock.txt";

function freeze<T>(s: T): Readonly<T> {
  for (const v of Object.values(s as object)) {
    if (typeof v === "object" && v !== null) freeze(v);
  }
  return Object.freeze(s);
}

// ---------------------------------------------------------------------------------------------
// the small-scale protocol (issue 14)

/** Settings of the small-scale protocol's pre-training (one run per model family). */
export interface ProtocolPretrainSettings {
  /** Transformer run folder. */
  out: string;
  /** LSTM run folder (same corpus, vocabulary, batches and order). */
  lstmOut: string;
  /** Preset of both models (the LSTM's is parameter-matched). */
  preset: PresetName;
  /** Corpus specs (`{data}/` = the datasets folder). */
  corpus: readonly string[];
  /** BPE merges learned on the corpus. */
  merges: number;
  /** Total updates. */
  steps: number;
  /** Windows per batch. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Warmup updates. */
  warmupSteps: number;
  /** Log-spaced checkpoints per octave (2: 16, 24, 32, 48, ... ; 16 up to 3,072). */
  ckptPerOctave: 1 | 2;
  /** Seed of the models and the data order. */
  seed: number;
  /** Held-out book for the final perplexity. */
  evalText: string;
  /** Validation every N updates, on this many windows. */
  evalEvery: number;
  evalWindows: number;
  /** Latest-checkpoint interval (a killed run resumes from it). */
  ckptEvery: number;
}

/** One protocol folder of label-budget points above a task's cap ({@link ProtocolScaleSettings}). */
export interface BeyondCapSettings {
  /** Folder name inside the protocol's `out`. */
  name: string;
  task: string;
  /** Cap on training examples (at or above the training set: all of it). */
  maxTrain: number;
  arms: readonly string[];
  /** Training-set sizes (null = all, up to `maxTrain`). */
  sizes: readonly (number | null)[];
  /** Learning-rate grid (default: the protocol's). */
  lrs?: readonly number[];
}

/** Settings of the small-scale protocol (what `deno task gpt1 protocol --scale small` runs). */
export interface ProtocolScaleSettings {
  /** Pre-training of both model families. */
  pretrain: ProtocolPretrainSettings;
  /** Output folder: `<out>/<task>/protocol.json`, summary, runs. */
  out: string;
  /** GLUE submission folders, one per arm: `<glueDir>/<arm>/<TASK>.tsv`. */
  glueDir: string;
  /** Tasks, in the order they are run. */
  tasks: readonly string[];
  /** Cap on training examples per task (null: the whole training set less the hold-out). */
  maxTrain: Readonly<Record<string, number | null>>;
  /** Learning-rate grid (chosen on the held-out split, per arm). */
  lrs: readonly number[];
  /** Epochs per run (the best on the held-out split is kept). */
  epochs: number;
  /** Seeds at the chosen learning rate. */
  seeds: number;
  /** Base seed. */
  seed: number;
  /** Batch size. */
  batchSize: number;
  /** Length-grouped batches. */
  groupByLength: boolean;
  /** Cap on validation / dev examples (null: all of them). */
  maxEval: number | null;
  /** The label-budget sweep: tasks and training-set sizes (null = the task's full set). */
  labelBudget: { tasks: readonly string[]; sizes: readonly (number | null)[] };
  /**
   * Label-budget points above a task's `maxTrain` cap: each a protocol folder of its own,
   * nested in `out` (`<out>/<name>/<task>/`, GLUE files in `<out>/<name>/glue/`), since a
   * `protocol.json` has one cap and one grid. The report reads a nested folder's rows as
   * label-budget points at their actual size (`readProtocolResults`).
   */
  beyondCap: readonly BeyondCapSettings[];
  /**
   * The layers-transferred ablation under the protocol (Figure 2 left): tasks, each at one label
   * budget, with the arms `no-pretrain` (nothing), `layers<k>` (embeddings + k blocks) and `full`
   * (all). Empty: none.
   */
  layers: readonly { task: string; labels: number; arms: readonly string[] }[];
  /** Zero-shot caps per task (missing: the zero-shot defaults). */
  zeroshotMax: Readonly<Record<string, number>>;
}

/** The `layers<k>` arms of the `small` Transformer (4 blocks: k = 0..3; `full` is all 4). */
const LAYERS_ARMS_SMALL = ["layers0", "layers1", "layers2", "layers3"] as const;

/**
 * The small-scale protocol (issue 14). Pre-training: the `small` Transformer and the matched
 * LSTM on the corpus of `small`, 3,072 updates of 16 × 128 tokens (6.3M tokens, 0.78 epochs
 * of the 8.0M training tokens; `small` in REPRODUCE_SCALES ran 1,200), checkpoints at half
 * octaves. Fine-tuning: every arm gets the same selection on the split held out of the
 * training data (lr from the grid, epoch by early stopping), then seeds. Caps are a CPU budget:
 * SST-2 is fine-tuned on 8,000 of its 66,349 training sentences (67,349 less the hold-out) (said wherever it is reported);
 * the other tasks on their whole training sets.
 */
export const SMALL_PROTOCOL: Readonly<ProtocolScaleSettings> = freeze({
  pretrain: {
    out: "results/protocol/pretrain",
    lstmOut: "results/protocol/pretrain-lstm",
    preset: "small",
    corpus: ["embedded", ...books],
    merges: PRETRAIN_SETTINGS.small.merges,
    steps: 3072,
    batchSize: PRETRAIN_SETTINGS.small.batchSize,
    lr: PRETRAIN_SETTINGS.small.lr,
    warmupSteps: PRETRAIN_SETTINGS.small.warmupSteps,
    ckptPerOctave: 2,
    seed: PRETRAIN_DEFAULTS.seed,
    evalText: HELD_OUT,
    evalEvery: PRETRAIN_SETTINGS.small.evalEvery,
    evalWindows: 64,
    ckptEvery: PRETRAIN_SETTINGS.small.ckptEvery,
  },
  out: "results/protocol",
  glueDir: "results/glue",
  tasks: ["stsb", "sst2", "cola", "rte", "mrpc"],
  maxTrain: { sst2: 8000, stsb: null, cola: null, rte: null, mrpc: null },
  lrs: [...PROTOCOL_DEFAULTS.lrs],
  epochs: PROTOCOL_DEFAULTS.epochs,
  seeds: PROTOCOL_DEFAULTS.seeds,
  seed: PROTOCOL_DEFAULTS.seed,
  batchSize: PROTOCOL_DEFAULTS.batchSize,
  groupByLength: true,
  maxEval: null,
  labelBudget: { tasks: ["sst2", "stsb"], sizes: [1000, 4000, 16000, null] },
  // SST-2 above its 8,000-sentence cap: 16,000 (grid and seeds, both arms), and all 66,349
  // (pre-trained only, at the lr the 8,000-sentence selection chose: a grid at this size costs
  // three ~35-minute runs; a deviation from the protocol's per-size selection)
  beyondCap: [
    {
      name: "sst2-16k",
      task: "sst2",
      maxTrain: 70000,
      arms: ["full", "no-pretrain"],
      sizes: [16000],
    },
    { name: "sst2-all", task: "sst2", maxTrain: 70000, arms: ["full"], sizes: [null], lrs: [3e-4] },
  ],
  // SST-2 at 1,000 labels, and STS-B at 4,000, the size where its pre-training gap was first
  // beyond noise (the issue names both tasks "at a limited label budget")
  layers: [
    { task: "sst2", labels: 1000, arms: ["no-pretrain", ...LAYERS_ARMS_SMALL, "full"] },
    { task: "stsb", labels: 4000, arms: ["no-pretrain", ...LAYERS_ARMS_SMALL, "full"] },
  ],
  zeroshotMax: {},
});

/**
 * The protocol as a pipeline check (`reproduce --scale smoke`, CI): the `tiny` model on the
 * embedded corpus for 256 updates, SST-2 with 160 training sentences and 100 dev, a grid of two
 * learning rates, 2 seeds, the label budget at 40 / 80 and the layers arms at 40. Its numbers
 * mean nothing.
 */
export const SMOKE_PROTOCOL: Readonly<ProtocolScaleSettings> = freeze({
  pretrain: {
    out: "results/protocol/pretrain",
    lstmOut: "results/protocol/pretrain-lstm",
    preset: "tiny",
    corpus: ["embedded"],
    merges: PRETRAIN_SETTINGS.tiny.merges,
    steps: 256,
    batchSize: 16,
    lr: PRETRAIN_SETTINGS.tiny.lr,
    warmupSteps: 30,
    ckptPerOctave: 1,
    seed: PRETRAIN_DEFAULTS.seed,
    evalText: HELD_OUT,
    evalEvery: 64,
    evalWindows: 32,
    ckptEvery: 128,
  },
  out: "results/protocol",
  glueDir: "results/glue",
  tasks: ["sst2"],
  maxTrain: { sst2: 160 },
  lrs: [1e-3, 3e-3],
  epochs: 2,
  seeds: 2,
  seed: PROTOCOL_DEFAULTS.seed,
  batchSize: 16,
  groupByLength: true,
  maxEval: 100,
  labelBudget: { tasks: ["sst2"], sizes: [40, 80, null] },
  beyondCap: [
    { name: "sst2-more", task: "sst2", maxTrain: 320, arms: ["full"], sizes: [null], lrs: [3e-3] },
  ],
  layers: [{ task: "sst2", labels: 40, arms: ["no-pretrain", "layers0", "layers1", "full"] }],
  zeroshotMax: { sst2: 60, cola: 60, colaTrain: 100, storycloze: 60, wsc: 40, race: 20 },
});

/**
 * The protocol's settings with its folders moved under `root` (pure): `results/protocol/...`
 * becomes `<root>/...` and the GLUE folder `<root>/glue` (what `reproduce` writes into its
 * output folder instead of the committed results).
 */
export function protocolAt(
  p: Readonly<ProtocolScaleSettings>,
  root: string,
): ProtocolScaleSettings {
  const move = (path: string) =>
    path === p.out
      ? root
      : path.startsWith(`${p.out}/`)
      ? join(root, path.slice(p.out.length + 1))
      : path;
  return {
    ...p,
    pretrain: { ...p.pretrain, out: move(p.pretrain.out), lstmOut: move(p.pretrain.lstmOut) },
    out: root,
    glueDir: join(root, "glue"),
  };
}

/** The final checkpoint of a protocol pre-training run folder. */
export function protocolCheckpoint(run: string, s = SMALL_PROTOCOL.pretrain): string {
  return join(run, checkpointName(s.steps));
}

/**
 * The settings of each scale.
 * - `smoke`: the `tiny` model (2 layers, width 64) on the embedded corpus (its whole 18 MB is
 *   tokenized in seconds), 512 updates; three tasks (one of each of Tables 2–4) with 512
 *   training examples; every transfer count of the 2-layer model on RTE; zero-shot on about a
 *   hundred examples per task. A pipeline check in a few minutes on two CPU cores (fine-tuning
 *   at 4× the paper's learning rate, for the tiny model): its numbers mean nothing.
 * - `small`: the settings of the committed results (`results/small`, `results/table5`,
 *   `results/layers-*`): the `small` model on the embedded corpus plus 22 Gutenberg books.
 * - `paper`: the paper's settings (12 layers, the released vocabulary, batch 64 × 512, every
 *   example); a GPU job. BooksCorpus is not available: the corpus is the one of `small`.
 */
export const REPRODUCE_SCALES: Readonly<Record<Scale, Readonly<ReproduceSettings>>> = freeze({
  smoke: {
    scale: "smoke",
    about: "a pipeline check on the tiny model (minutes on a CPU); the numbers mean nothing",
    pretrain: {
      preset: "tiny",
      corpus: ["embedded"],
      vocab: "train",
      merges: PRETRAIN_SETTINGS.tiny.merges,
      steps: 512,
      batchSize: 16,
      lr: PRETRAIN_SETTINGS.tiny.lr,
      warmupSteps: 50,
      evalEvery: 64,
      evalWindows: 64,
      ckptEvery: 128,
      seed: PRETRAIN_DEFAULTS.seed,
      evalText: HELD_OUT,
      evalTextWindows: 200,
    },
    table5: {
      tasks: ["sst2", "rte", "storycloze"],
      variants: TABLE5_VARIANTS.map((v) => v.key),
      maxTrain: 512,
      maxEval: 300,
      epochs: FINETUNE_DEFAULTS.epochs,
      lr: 2.5e-4,
      seed: FINETUNE_DEFAULTS.seed,
    },
    layers: {
      tasks: ["rte"],
      layers: [-1, 0, 1, 2],
      maxTrain: 512,
      maxEval: 300,
      epochs: FINETUNE_DEFAULTS.epochs,
      lr: 2.5e-4,
      auxLm: FINETUNE_DEFAULTS.auxLm,
      seed: FINETUNE_DEFAULTS.seed,
    },
    zeroshot: {
      tasks: null,
      maxExamples: { sst2: 100, cola: 100, colaTrain: 200, storycloze: 100, race: 50, wsc: 80 },
      batchSize: ZEROSHOT_DEFAULTS.batchSize,
    },
    lstm: { enabled: true, tasks: ["sst2", "rte", "storycloze"] },
    protocol: SMOKE_PROTOCOL,
  },
  small: {
    scale: "small",
    about: "the committed results: the small model (4 layers, width 256) pre-trained on CPU",
    pretrain: {
      preset: "small",
      corpus: ["embedded", ...books],
      vocab: "train",
      merges: PRETRAIN_SETTINGS.small.merges,
      steps: 1200,
      batchSize: PRETRAIN_SETTINGS.small.batchSize,
      lr: PRETRAIN_SETTINGS.small.lr,
      warmupSteps: 150,
      evalEvery: PRETRAIN_SETTINGS.small.evalEvery,
      evalWindows: 64,
      ckptEvery: PRETRAIN_SETTINGS.small.ckptEvery,
      seed: PRETRAIN_DEFAULTS.seed,
      evalText: HELD_OUT,
      evalTextWindows: null,
    },
    table5: {
      tasks: [...TABLE5_TASKS],
      variants: TABLE5_VARIANTS.map((v) => v.key),
      maxTrain: 1000,
      maxEval: 500,
      // the committed run: CoLA and SST-2 at 1000/500; the rest at 200/200 (CPU budget)
      perTask: {
        mrpc: { maxTrain: 200, maxEval: 200 },
        stsb: { maxTrain: 200, maxEval: 200 },
        rte: { maxTrain: 200, maxEval: 200 },
        snli: { maxTrain: 200, maxEval: 200 },
        storycloze: { maxTrain: 200, maxEval: 200 },
      },
      epochs: FINETUNE_DEFAULTS.epochs,
      lr: FINETUNE_DEFAULTS.lr,
      seed: FINETUNE_DEFAULTS.seed,
    },
    layers: {
      tasks: ["rte", "storycloze"],
      layers: null, // committed: RTE -1..4; Story Cloze -1, 0, 2, 4
      // the committed sweeps: RTE on 1,000 training pairs and its whole dev set (277); Story
      // Cloze on 1,000 of its 1,497 training stories, scored on 500 of the 1,871 test stories
      maxTrain: 1000,
      maxEval: 500,
      perTask: { rte: { maxEval: null } },
      epochs: FINETUNE_DEFAULTS.epochs,
      lr: FINETUNE_DEFAULTS.lr,
      auxLm: FINETUNE_DEFAULTS.auxLm,
      seed: FINETUNE_DEFAULTS.seed,
    },
    zeroshot: {
      tasks: null,
      maxExamples: { ...ZEROSHOT_CAPS },
      batchSize: ZEROSHOT_DEFAULTS.batchSize,
    },
    lstm: { enabled: true, tasks: [...TABLE5_TASKS] },
    protocol: SMALL_PROTOCOL,
  },
  paper: {
    scale: "paper",
    about: "the paper's settings (12 layers, released vocabulary, batch 64 × 512): a GPU job",
    pretrain: {
      preset: "gpt1",
      corpus: ["embedded", ...books],
      vocab: PRETRAIN_SETTINGS.gpt1.vocab,
      merges: PRETRAIN_SETTINGS.gpt1.merges,
      steps: PRETRAIN_SETTINGS.gpt1.steps,
      batchSize: PRETRAIN_SETTINGS.gpt1.batchSize,
      lr: PRETRAIN_SETTINGS.gpt1.lr,
      warmupSteps: PRETRAIN_SETTINGS.gpt1.warmupSteps,
      evalEvery: PRETRAIN_SETTINGS.gpt1.evalEvery,
      evalWindows: 64,
      ckptEvery: PRETRAIN_SETTINGS.gpt1.ckptEvery,
      seed: PRETRAIN_DEFAULTS.seed,
      evalText: HELD_OUT,
      evalTextWindows: null,
    },
    table5: {
      tasks: [...TABLE5_TASKS],
      variants: TABLE5_VARIANTS.map((v) => v.key),
      maxTrain: null,
      maxEval: null,
      epochs: FINETUNE_DEFAULTS.epochs,
      lr: FINETUNE_DEFAULTS.lr,
      seed: FINETUNE_DEFAULTS.seed,
    },
    layers: {
      tasks: ["mnli-m", "race", "rte", "storycloze"],
      layers: null,
      maxTrain: null,
      maxEval: null,
      epochs: FINETUNE_DEFAULTS.epochs,
      lr: FINETUNE_DEFAULTS.lr,
      auxLm: FINETUNE_DEFAULTS.auxLm,
      seed: FINETUNE_DEFAULTS.seed,
    },
    zeroshot: {
      tasks: null,
      maxExamples: { ...ZEROSHOT_CAPS },
      batchSize: ZEROSHOT_DEFAULTS.batchSize,
    },
    lstm: { enabled: true, tasks: [...TABLE5_TASKS] },
    protocol: null,
  },
});

/**
 * The settings of a scale by name; ConfigError for an unknown one.
 *
 * @example
 * ```ts
 * reproduceSettings("smoke").pretrain.preset; // "tiny"
 * ```
 */
export function reproduceSettings(scale: string): Readonly<ReproduceSettings> {
  if (!(SCALES as readonly string[]).includes(scale)) {
    throw new ConfigError(`unknown scale "${scale}"`, { fix: `use ${SCALES.join(" | ")}` });
  }
  return REPRODUCE_SCALES[scale as Scale];
}

/**
 * The example caps of one task under a stage's settings (`perTask` wins).
 *
 * @example
 * ```ts
 * capsFor(REPRODUCE_SCALES.small.layers, "rte"); // { maxTrain: 1000, maxEval: null }
 * ```
 */
export function capsFor(
  st: {
    maxTrain: number | null;
    maxEval: number | null;
    perTask?: Readonly<Record<string, TaskCaps>>;
  },
  task: string,
): { maxTrain: number | null; maxEval: number | null } {
  const o = st.perTask?.[task] ?? {};
  return {
    maxTrain: o.maxTrain !== undefined ? o.maxTrain : st.maxTrain,
    maxEval: o.maxEval !== undefined ? o.maxEval : st.maxEval,
  };
}

/** A settings path with `{data}/` replaced by `dataRoot`; other specs unchanged. */
export function resolveDataPath(spec: string, dataRoot: string): string {
  return spec.startsWith("{data}/") ? join(dataRoot, spec.slice("{data}/".length)) : spec;
}

/** The datasets folder: `$GPT1_DATA`, else `../shared/datasets` beside the checkout. */
export function defaultDataRoot(): string {
  return Deno.env.get("GPT1_DATA") ?? resolve(REPO_ROOT, "..", "shared", "datasets");
}

/** The vocabulary and token-cache folder: `results/_cache` (git-ignored). */
export function defaultCacheDir(): string {
  return join(REPO_ROOT, "results", "_cache");
}

/** The default output folder of a scale: `results/_scratch/reproduce-<scale>` (git-ignored). */
export function defaultOutDir(scale: Scale): string {
  return join(REPO_ROOT, "results", "_scratch", `reproduce-${scale}`);
}
