/**
 * gpt1-lab: the public API. Notebooks, `cli.ts`, tests and users import from here.
 *
 * @example
 * ```ts
 * import { Gpt1Tokenizer, makeConfig, createModel, selectBackend } from "./lib/mod.ts";
 * await selectBackend();
 * const model = createModel(makeConfig("tiny"), { seed: 42 });
 * console.log(await model.lmLoss([[1, 2, 3, 4]]));
 * ```
 * @module
 */
export * from "./errors.ts";
export * from "./fsutil.ts";
export * from "./progress.ts";
export * from "./tokenizer/mod.ts";
export * from "./config.ts";
export * from "./backend.ts";
export {
  createModel,
  crossEntropy,
  type ForwardOptions,
  gelu,
  Gpt1Model,
  type Ids,
  layerNorm,
  linear,
  type LmLossOptions,
  type ModelOptions,
  parameterShapes,
  sumRows,
  tiedLogits,
} from "./model.ts";
export * from "./optim.ts";
export * from "./safetensors.ts";
export * from "./checkpoint.ts";
export * from "./pretrained.ts";
export * from "./random.ts";
export * from "./corpus.ts";
export * from "./data.ts";
export * from "./tasks/mod.ts";
export * from "./tasks/metric.ts";
export * from "./transforms.ts";
export * from "./metrics.ts";
export * from "./paper.ts";
export * from "./runs.ts";
export * from "./train.ts";
export * from "./finetune.ts";
export * from "./vocab.ts";
export * from "./pipeline.ts";
export * from "./sweeps.ts";
export * from "./plot.ts";
export * from "./paper_charts.ts";
export * from "./report.ts";
export * from "./jupyter.ts";
export * from "./scoring.ts";
export * from "./zeroshot_heuristics.ts";
export * from "./zeroshot.ts";
export * from "./language_model.ts";
export * from "./lstm.ts";
export * from "./settings.ts";
export * from "./claims.ts";
export * from "./stages.ts";
export * from "./sections.ts";
export * from "./notebook.ts";
export * from "./frames.ts";
export * from "./released.ts";
export * from "./glue_submission.ts";
export * from "./glue_predict.ts";
export * from "./protocol.ts";
export * from "./plot_protocol.ts";
export * from "./protocol_report.ts";
export * from "./protocol_stages.ts";
export * from "./zeroshot_additions.ts";
export * from "./reproduce.ts";
