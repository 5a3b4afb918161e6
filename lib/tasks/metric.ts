/**
 * {@link taskMetric}: scores a task's predictions with the paper's metric for it, in points
 * (0-100), from `metrics.ts`'s pure functions and the task registry.
 *
 * @example
 * ```ts
 * import { taskMetric } from "./metric.ts";
 * taskMetric("cola", [1, 0, 1, 1], [1, 0, 0, 1]).value; // 57.73... (points)
 * ```
 * @module
 */
import { type MetricName, METRICS } from "../metrics.ts";
import { getTask } from "./mod.ts";

/** A task's score: the paper's metric plus the extra ones GLUE reports, in points (0-100). */
export interface TaskScore {
  /** Registry name, e.g. "cola". */
  task: string;
  /** The paper's metric for this task. */
  metric: MetricName;
  /** Its value in points (0-100; correlations × 100). */
  value: number;
  /** Further metrics in points (MRPC/QQP: acc; STS-B: spearman). */
  extra: Partial<Record<MetricName, number>>;
  /** Number of examples scored. */
  n: number;
}

/**
 * Scores predictions with the paper's metric for `task` (CoLA mcc; SST-2 acc; MRPC F1 + acc;
 * STS-B Pearson + Spearman; QQP F1 + acc; MNLI, QNLI, RTE, SNLI, SciTail, Story Cloze, RACE
 * acc), in points (0-100). `preds` are class indices (real scores for STS-B).
 *
 * @example
 * ```ts
 * taskMetric("stsb", [0.5, 2.5, 4.0], [1.0, 2.0, 5.0]).value; // Pearson × 100
 * ```
 */
export function taskMetric(
  task: string,
  preds: ArrayLike<number>,
  labels: ArrayLike<number>,
): TaskScore {
  const spec = getTask(task);
  const extra: Partial<Record<MetricName, number>> = {};
  for (const m of spec.extraMetrics) extra[m] = 100 * METRICS[m](preds, labels);
  return {
    task: spec.name,
    metric: spec.metric,
    value: 100 * METRICS[spec.metric](preds, labels),
    extra,
    n: preds.length,
  };
}
