/**
 * The paper's tables and figures as charts, each with the paper's values overlaid: Table 5 and
 * Tables 2–4 as bars beside the paper ({@link table5Chart}, {@link barsVsPaper}), Figure 2 left
 * ({@link layersChart}) and Figure 2 right ({@link zeroShotChart}). Pure, like `plot.ts`.
 *
 * @example
 * ```ts
 * import { layersChart } from "./paper_charts.ts";
 * import { FIGURE2_LAYERS } from "./paper.ts";
 * const fig = layersChart([{ nTransfer: 0, train: 60, valid: 55 }], FIGURE2_LAYERS);
 * ```
 * @module
 */
import {
  FIGURE2_LAYERS,
  FIGURE2_ZEROSHOT,
  type PaperTable,
  TABLE5,
  TABLE5_VARIANT_NAMES,
  type ZeroShotTask,
} from "./paper.ts";
import { type Figure, figure, line, PALETTE, type Trace } from "./_plot.ts";

// ---------------------------------------------------------------------------------------
// tables as bars

/** The fields of a Table 5 cell the chart reads (see `runs.ts` `Table5Cell`). */
export interface Table5Point {
  /** Task registry name. */
  task: string;
  /** `full`, `no-pretrain` or `no-aux` (or `lstm`). */
  variant: string;
  /** Metric name. */
  metric: string;
  /** Our score (points). */
  value: number;
  /** The paper's score for the cell, or null. */
  paper: number | null;
}

const METRIC_SHORT: Record<string, string> = {
  acc: "acc",
  accuracy: "acc",
  f1: "F1",
  mcc: "mc",
  matthews: "mc",
  pearson: "pc",
  spearman: "sc",
  score: "score",
};

const Y_POINTS = "score (points, 0–100; mc and pc × 100)";

/**
 * Table 5 as grouped bars: one group per task, one solid bar per variant (this run) next to a
 * hatched bar of the same colour (the paper's Table 5 value, where it has one).
 */
export function table5Chart(cells: readonly Table5Point[], opts: { title?: string } = {}): Figure {
  const tasks = [...new Set(cells.map((c) => c.task))];
  const label = (t: string) => {
    const m = cells.find((c) => c.task === t)!.metric;
    return `${t} (${METRIC_SHORT[m] ?? m})`;
  };
  const x = tasks.map(label);
  const variants = [
    ...Object.keys(TABLE5_VARIANT_NAMES).filter((v) => cells.some((c) => c.variant === v)),
    ...[...new Set(cells.map((c) => c.variant))].filter((v) => !(v in TABLE5_VARIANT_NAMES)),
  ];
  const data: Trace[] = [];
  variants.forEach((v, i) => {
    const color = PALETTE[i % PALETTE.length];
    const name = TABLE5_VARIANT_NAMES[v] ?? v;
    const cell = (t: string) => cells.find((c) => c.task === t && c.variant === v);
    data.push({
      type: "bar",
      name: `this run: ${name}`,
      x,
      y: tasks.map((t) => cell(t)?.value ?? null),
      marker: { color },
      offsetgroup: `ours-${v}`,
      legendgroup: v,
    });
    const paper = tasks.map((t) => cell(t)?.paper ?? null);
    if (paper.some((p) => p !== null)) {
      data.push({
        type: "bar",
        name: `paper: ${name}`,
        x,
        y: paper,
        marker: { color, opacity: 0.45, pattern: { shape: "/", fgcolor: color } },
        offsetgroup: `paper-${v}`,
        legendgroup: v,
      });
    }
  });
  return figure(
    data,
    opts.title ?? "Table 5: ablations (this run vs paper)",
    "task (metric)",
    Y_POINTS,
    {
      barmode: "group",
    },
  );
}

/** Options of {@link barsVsPaper}. */
export interface BarsVsPaperOptions {
  /** Chart title (default: the table's caption). */
  title?: string;
  /** Legend name of our bars (default "this run"). */
  label?: string;
  /** Also draw the best other method of the paper's table per column (default true). */
  previousBest?: boolean;
}

/**
 * One of the paper's Tables 2–4 (or 5) as grouped bars per column: this run (keyed by column
 * key, e.g. `{ cola: 21.3, sst2: 80.1 }`), GPT-1 as published (hatched), and the best other
 * method the paper lists (grey, method name on hover).
 *
 * @example
 * ```ts
 * import { TABLE4 } from "./paper.ts";
 * const fig = barsVsPaper(TABLE4, { cola: 12.5, sst2: 81.0 });
 * ```
 */
export function barsVsPaper(
  table: PaperTable,
  ours: Readonly<Record<string, number | null | undefined>>,
  opts: BarsVsPaperOptions = {},
): Figure {
  const cols = table.columns;
  const x = cols.map((c) => c.label);
  const gpt = table.rows.find((r) => r.ours);
  const data: Trace[] = [
    {
      type: "bar",
      name: opts.label ?? "this run",
      x,
      y: cols.map((c) => ours[c.key] ?? null),
      marker: { color: PALETTE[0] },
    },
  ];
  if (gpt) {
    data.push({
      type: "bar",
      name: "paper: GPT-1 (Finetuned Transformer LM)",
      x,
      y: cols.map((c) => gpt.scores[c.key] ?? null),
      marker: { color: PALETTE[0], opacity: 0.45, pattern: { shape: "/", fgcolor: PALETTE[0] } },
    });
  }
  if (opts.previousBest ?? true) {
    const best = cols.map((c) => {
      let b: { v: number; m: string } | null = null;
      for (const r of table.rows) {
        const v = r.scores[c.key];
        if (!r.ours && v !== undefined && (b === null || v > b.v)) b = { v, m: r.method };
      }
      return b;
    });
    if (best.some((b) => b !== null)) {
      data.push({
        type: "bar",
        name: "paper: best other method",
        x,
        y: best.map((b) => b?.v ?? null),
        text: best.map((b) => b?.m ?? ""),
        hovertemplate: "%{x}: %{y}<br>%{text}<extra></extra>",
        textposition: "none",
        marker: { color: "#9e9e9e" },
      });
    }
  }
  const id = table.id.replace("table", "Table ");
  return figure(data, opts.title ?? `${id}: ${table.title}`, "task (metric)", Y_POINTS, {
    barmode: "group",
  });
}

// ---------------------------------------------------------------------------------------
// Figure 2

/** One point of a layer-transfer ablation (Figure 2 left). Accuracies in points (0–100). */
export interface LayerRow {
  /** Layers transferred, on the paper's axis (0 = none, 1 = embeddings, k = embeddings + k−1 blocks). */
  nTransfer: number;
  /** Train accuracy (points). */
  train: number;
  /** Accuracy on the evaluation split (points). */
  valid: number;
  /** Task, when one file holds several. */
  task?: string;
  /** The evaluation split's name for the legend (`dev`, `test`; default "validation"). */
  split?: string;
}

/** Options of {@link layersChart}. */
export interface LayersChartOptions {
  /** Chart title. */
  title?: string;
  /** Which of the paper's curves to overlay: `race`, `mnli`, `both` (default) or `none`. */
  paper?: "race" | "mnli" | "both" | "none";
  /** Name of our task (legend), when rows carry none. */
  task?: string;
}

/**
 * Figure 2 left: accuracy against the number of layers transferred from the pre-trained model.
 * This run's evaluation-split (solid; named by `split`) and train (dotted) accuracy per task,
 * and the paper's digitized
 * RACE / MultiNLI dev (dashed) and train (dash-dot) curves.
 */
export function layersChart(
  rows: readonly LayerRow[],
  paperRows: typeof FIGURE2_LAYERS | null = FIGURE2_LAYERS,
  opts: LayersChartOptions = {},
): Figure {
  const tasks = [...new Set(rows.map((r) => r.task ?? opts.task ?? "this run"))];
  const data: Trace[] = [];
  tasks.forEach((t, i) => {
    const rs = rows.filter((r) => (r.task ?? opts.task ?? "this run") === t)
      .slice().sort((a, b) => a.nTransfer - b.nTransfer);
    const color = PALETTE[i % PALETTE.length];
    const x = rs.map((r) => r.nTransfer);
    data.push(
      line(`${t}: ${rs[0]?.split ?? "validation"}`, x, rs.map((r) => r.valid), color, {
        markers: true,
        legendgroup: t,
      }),
    );
    data.push(
      line(`${t}: train`, x, rs.map((r) => r.train), color, {
        dash: "dot",
        markers: true,
        legendgroup: t,
      }),
    );
  });
  const which = opts.paper ?? "both";
  if (paperRows && which !== "none") {
    const x = [...paperRows.x];
    const add = (name: string, dev: readonly number[], train: readonly number[], color: string) => {
      data.push(
        line(`paper: ${name} dev`, x, [...dev], color, {
          dash: "dash",
          width: 1.5,
          legendgroup: name,
        }),
      );
      data.push(
        line(`paper: ${name} train`, x, [...train], color, {
          dash: "dashdot",
          width: 1.5,
          legendgroup: name,
        }),
      );
    };
    if (which === "race" || which === "both") {
      add("RACE", paperRows.raceDev, paperRows.raceTrain, "#7f7f7f");
    }
    if (which === "mnli" || which === "both") {
      add("MultiNLI", paperRows.mnliDev, paperRows.mnliTrain, "#bcbd22");
    }
  }
  return figure(
    data,
    opts.title ?? "Figure 2 (left): transferring pre-trained layers",
    "layers transferred (0 = none, 1 = embeddings, k = embeddings + k−1 blocks)",
    "accuracy (%)",
    { xaxis: { dtick: 1 } },
  );
}

/** One point of a zero-shot curve (see `zeroshot.ts`); `relative` is 0 = chance, 1 = reference. */
export interface ZeroShotPoint {
  /** Pre-training updates of the checkpoint. */
  step: number;
  /** Task (`sst2`, `cola`, `race`, `storycloze`, `wsc`, ...) or heuristic name. */
  task: string;
  /** Figure 2's heuristic (`sentiment`, `winograd`, `acceptability`, `qa`); else from `task`. */
  heuristic?: string;
  /** Dataset as printed (legend), e.g. `Story Cloze`. */
  dataset?: string;
  /** Normalised score (0 = chance, 1 = the reference score). */
  relative: number;
  /** Raw score in points (for hover). */
  raw?: number;
}

/** Task names our zero-shot rows may use → the heuristic of Figure 2 right. */
export const ZERO_SHOT_ALIASES: Readonly<Record<string, ZeroShotTask>> = {
  sentiment: "sentiment",
  sst2: "sentiment",
  winograd: "winograd",
  wsc: "winograd",
  dprd: "winograd",
  acceptability: "acceptability",
  cola: "acceptability",
  qa: "qa",
  race: "qa",
};

const ZS_ORDER: ZeroShotTask[] = ["sentiment", "winograd", "acceptability", "qa"];
const ZS_LABEL: Record<ZeroShotTask, string> = {
  sentiment: "sentiment (SST-2)",
  winograd: "Winograd (DPRD/WSC)",
  acceptability: "acceptability (CoLA)",
  qa: "question answering (RACE)",
};

/** Options of {@link zeroShotChart}. */
export interface ZeroShotChartOptions {
  /** Chart title. */
  title?: string;
  /** Show the paper's LSTM curves (default: in the legend, hidden until clicked). */
  lstm?: "show" | "legendonly" | "none";
}

/**
 * Figure 2 right: zero-shot relative performance against pre-training updates (log x axis).
 * This run's curves (solid, markers) and the paper's digitized Transformer curves (dashed, same
 * colour per heuristic); the paper's LSTM curves dotted. Steps ≤ 0 cannot sit on a log axis and
 * are left out.
 */
export function zeroShotChart(
  rows: readonly ZeroShotPoint[],
  paper: typeof FIGURE2_ZEROSHOT | null = FIGURE2_ZEROSHOT,
  opts: ZeroShotChartOptions = {},
): Figure {
  const heur = (r: ZeroShotPoint): string =>
    r.heuristic ?? ZERO_SHOT_ALIASES[r.task.toLowerCase()] ?? r.task;
  const tasks = [...new Set(rows.map((r) => r.task))];
  const hs = [...new Set(rows.map(heur))];
  const order: string[] = [...ZS_ORDER, ...hs.filter((h) => !ZS_ORDER.includes(h as ZeroShotTask))];
  const color = (h: string) => PALETTE[order.indexOf(h) % PALETTE.length];
  // our curves: one per task, coloured by heuristic (two tasks of one heuristic differ by marker)
  const symbols = ["circle", "square", "diamond", "triangle-up"];
  const used = new Map<string, number>();
  const ordered = tasks.slice().sort((a, b) =>
    order.indexOf(heur(rows.find((r) => r.task === a)!)) -
    order.indexOf(heur(rows.find((r) => r.task === b)!))
  );
  const data: Trace[] = [];
  for (const t of ordered) {
    const rs = rows.filter((r) => r.task === t && r.step > 0).sort((a, b) => a.step - b.step);
    const first = rows.find((r) => r.task === t)!;
    const h = heur(first);
    const k = used.get(h) ?? 0;
    used.set(h, k + 1);
    const label = ZS_LABEL[h as ZeroShotTask]?.replace(/ \(.*\)$/, "") ?? h;
    const name = first.dataset ? `${label} (${first.dataset})` : ZS_LABEL[h as ZeroShotTask] ?? t;
    const tr = line(
      `this run: ${name}`,
      rs.map((r) => r.step),
      rs.map((r) => r.relative),
      color(h),
      {
        markers: true,
        legendgroup: h,
      },
    );
    tr.marker = { color: color(h), size: 7, symbol: symbols[k % symbols.length] };
    tr.text = rs.map((r) => (r.raw === undefined ? "" : `raw ${r.raw.toFixed(1)}`));
    data.push(tr);
  }
  if (paper) {
    const lstm = opts.lstm ?? "legendonly";
    for (const c of paper.curves) {
      if (c.model === "lstm" && lstm === "none") continue;
      const tr = line(
        `paper ${c.model === "lstm" ? "LSTM" : "Transformer"}: ${ZS_LABEL[c.task]}`,
        [...paper.updates],
        [...c.values],
        color(c.task),
        { dash: c.model === "lstm" ? "dot" : "dash", width: 1.5, legendgroup: c.task },
      );
      if (c.model === "lstm" && lstm === "legendonly") tr.visible = "legendonly";
      data.push(tr);
    }
  }
  return figure(
    data,
    opts.title ?? "Figure 2 (right): zero-shot behaviour during pre-training",
    "pre-training updates (log scale)",
    "relative task performance (0 = chance, 1 = reference score)",
    { xaxis: { type: "log" } },
  );
}

/** The paper's Table 5 value for a variant and task key, or null (for callers building cells). */
export function table5Paper(variant: string, task: string): number | null {
  const row = TABLE5.rows.find((r) => r.method === TABLE5_VARIANT_NAMES[variant]);
  return row?.scores[task] ?? null;
}
