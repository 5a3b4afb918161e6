/**
 * Figures of the small-scale protocol (issue 14), in the style of plot.ts (its helpers, _plot.ts) (pure functions from
 * result rows to plotly JSON): the label-budget chart, score against training labels on a log
 * axis, mean ± sd over seeds, one line per arm (and task).
 *
 * @example
 * ```ts
 * import { labelBudgetChart } from "./plot_protocol.ts";
 * const { rows } = JSON.parse(await Deno.readTextFile("results/budget-sst2/summary.json"));
 * const fig = labelBudgetChart(rows); // plotBundle(fig) in a notebook
 * ```
 * @module
 */
import { type Figure, figure, line, PALETTE, type Trace } from "./_plot.ts";
import { isLayersArm, layersCurves } from "./protocol.ts";

/** One point of the label-budget chart (a protocol summary row has these fields). */
export interface BudgetPoint {
  /** Task. */
  task: string;
  /** Arm (full, no-pretrain, ...). */
  arm: string;
  /** Requested training-set size; null = the full training set (plotted at `nTrain`). */
  labels: number | null;
  /** Training examples used. */
  nTrain: number;
  /** Metric of `eval` (acc, pearson, ...). */
  metric: string;
  /** Reported-split score over seeds (points), or null when no seed finished. */
  eval: { mean: number; sd: number; n: number } | null;
}

const ARM_NAMES: Readonly<Record<string, string>> = {
  full: "pre-trained",
  "no-pretrain": "no pre-training",
  "no-aux": "pre-trained, no aux LM",
  lstm: "LSTM, pre-trained",
};

/**
 * Score against the number of training labels (log x), mean ± sd over seeds (error bars), one
 * line per task and arm; the full-training-set point sits at its actual size. Rows without a
 * finished seed are left out.
 */
export function labelBudgetChart(
  rows: readonly BudgetPoint[],
  opts: { title?: string } = {},
): Figure {
  // the layers arms (one size each) have their own chart
  const done = rows.filter((r) => r.eval !== null && !isLayersArm(r.arm));
  const groups = [...new Set(done.map((r) => `${r.task}|${r.arm}`))];
  const tasks = [...new Set(done.map((r) => r.task))];
  const data: Trace[] = groups.map((g, i) => {
    const [task, arm] = g.split("|");
    const rs = done.filter((r) => r.task === task && r.arm === arm)
      .map((r) => ({ x: r.labels ?? r.nTrain, ...r }))
      .sort((a, b) => a.x - b.x);
    const color = PALETTE[i % PALETTE.length];
    return {
      ...line(
        `${tasks.length > 1 ? `${task}: ` : ""}${ARM_NAMES[arm] ?? arm}`,
        rs.map((r) => r.x),
        rs.map((r) => r.eval!.mean),
        color,
        { markers: true },
      ),
      error_y: { type: "data", array: rs.map((r) => r.eval!.sd), visible: true, color },
      text: rs.map((r) =>
        `${r.metric} ${r.eval!.mean.toFixed(1)} ± ${r.eval!.sd.toFixed(1)}, ${r.eval!.n} seeds`
      ),
      hoverinfo: "name+x+text",
    };
  });
  const metrics = [...new Set(done.map((r) => r.metric))];
  return figure(
    data,
    opts.title ?? "Label budget: score against training labels (mean ± sd over seeds)",
    "training labels (log scale)",
    `${metrics.join(" / ") || "score"} on dev (points)`,
    { xaxis: { type: "log" } },
  );
}

/**
 * Table 5 under the protocol: grouped bars, one group per task, one bar per arm (the full
 * training set's rows), mean over seeds with ± sd error bars. Rows without a finished seed and
 * label-budget rows are left out.
 */
export function protocolArmsChart(
  rows: readonly BudgetPoint[],
  opts: { title?: string } = {},
): Figure {
  const done = rows.filter((r) => r.eval !== null && r.labels === null);
  const tasks = [...new Set(done.map((r) => r.task))];
  const arms = Object.keys(ARM_NAMES).filter((a) => done.some((r) => r.arm === a));
  const data: Trace[] = arms.map((arm, i) => {
    const at = tasks.map((t) => done.find((r) => r.task === t && r.arm === arm));
    return {
      type: "bar",
      name: ARM_NAMES[arm],
      x: tasks.map((t) => {
        const m = done.find((r) => r.task === t)!.metric;
        return `${t} (${m})`;
      }),
      y: at.map((r) => r?.eval?.mean ?? null),
      marker: { color: PALETTE[i % PALETTE.length] },
      error_y: { type: "data", array: at.map((r) => r?.eval?.sd ?? 0), visible: true },
      text: at.map((r) => r?.eval ? `${r.eval.mean.toFixed(1)} (${r.eval.n} seeds)` : ""),
      hoverinfo: "name+x+text",
    };
  });
  return figure(
    data,
    opts.title ?? "Table 5 under the protocol: dev score per arm (mean ± sd over seeds)",
    "task (metric)",
    "dev score (points)",
    { barmode: "group" },
  );
}

/**
 * Figure 2 (left) under the protocol: dev score against layers transferred, on the paper's
 * axis (0 nothing, 1 the embeddings, k + 1 the embeddings and k blocks), mean ± sd over seeds,
 * one line per task and label budget. Data: the `no-pretrain`, `layers<k>` and `full` rows of
 * a protocol summary ({@link layersCurves}).
 *
 * @example
 * ```ts
 * const { rows } = JSON.parse(await Deno.readTextFile("results/protocol/sst2/summary.json"));
 * const fig = layersTransferChart(rows, { nLayer: 4 });
 * ```
 */
export function layersTransferChart(
  rows: readonly BudgetPoint[],
  opts: { nLayer: number; title?: string },
): Figure {
  const curves = layersCurves(rows, opts.nLayer);
  const data: Trace[] = curves.map((c, i) => {
    const color = PALETTE[i % PALETTE.length];
    const ps = c.points;
    return {
      ...line(
        `${c.task}, ${c.labels ?? "all"} labels (${ps[0]?.row.metric ?? ""})`,
        ps.map((p) => p.transfer + 1),
        ps.map((p) => p.row.eval!.mean),
        color,
        { markers: true },
      ),
      error_y: { type: "data", array: ps.map((p) => p.row.eval!.sd), visible: true, color },
      text: ps.map((p) =>
        `${p.row.arm}: ${p.row.eval!.mean.toFixed(1)} ± ${p.row.eval!.sd.toFixed(1)}, ` +
        `${p.row.eval!.n} seeds`
      ),
      hoverinfo: "name+x+text",
    };
  });
  return figure(
    data,
    opts.title ?? "Layers transferred (Figure 2 left) under the protocol: mean ± sd over seeds",
    `layers transferred (0 none, 1 embeddings, ${opts.nLayer + 1} all)`,
    "dev score (points)",
    { xaxis: { dtick: 1 } },
  );
}

/** One zero-shot addition on one checkpoint (a row of zeroshot-additions.json has these). */
export interface AdditionPoint {
  /** Pre-training updates. */
  step: number;
  /** Measure key (sst2-calibrated, sst2-auroc, cola-auroc, storycloze-pmi). */
  measure: string;
  /** Value in points. */
  value: number;
}

/**
 * The zero-shot additions over pre-training (log x): one line per measure, the Transformer
 * solid and the LSTM dotted, chance (50) dashed.
 */
export function additionsChart(
  gpt: readonly AdditionPoint[],
  lstm: readonly AdditionPoint[] = [],
): Figure {
  const measures = [...new Set([...gpt, ...lstm].map((r) => r.measure))];
  const data: Trace[] = [];
  measures.forEach((m, i) => {
    const color = PALETTE[i % PALETTE.length];
    for (
      const [model, rows, dash] of [["Transformer", gpt, "solid"], ["LSTM", lstm, "dot"]] as const
    ) {
      const rs = rows.filter((r) => r.measure === m).sort((a, b) => a.step - b.step);
      if (!rs.length) continue;
      data.push(
        line(`${m} (${model})`, rs.map((r) => r.step), rs.map((r) => r.value), color, {
          dash,
          markers: true,
          legendgroup: m,
        }),
      );
    }
  });
  const steps = [...gpt, ...lstm].map((r) => r.step);
  if (steps.length) {
    data.push({
      ...line("chance", [Math.min(...steps), Math.max(...steps)], [50, 50], "#555555", {
        dash: "dash",
        width: 1.5,
      }),
    });
  }
  return figure(
    data,
    "Zero-shot additions over pre-training (AUROC or accuracy, points; beyond the paper)",
    "pre-training updates (log scale)",
    "points (chance 50)",
    { xaxis: { type: "log" } },
  );
}
