/**
 * The summary of finished protocol cells (internal; re-exported by protocol.ts), pure: the cell
 * and row types, the learning rate chosen on the validation split ({@link chooseLr}), mean ± sd
 * over the seeds and the best-validation seed whose GLUE test predictions are the arm's
 * ({@link summarizeProtocol}), the layers curves, and summary.md's table.
 * @module
 */
import type { ModelKind } from "./language_model.ts";
import { meanSd } from "./metrics.ts";
import { armTransfer, isLayersArm, PROTOCOL_ARMS, protocolArm } from "./_protocol_arms.ts";

/** One fine-tuning run of the protocol (a row of protocol.json). */
export interface ProtocolCell {
  /** Task registry name. */
  task: string;
  /** Arm key. */
  arm: string;
  /** The model family fine-tuned. */
  model: ModelKind;
  /** Requested training-set size (null = all, capped by maxTrain). */
  labels: number | null;
  /** Peak learning rate. */
  lr: number;
  /** Seed. */
  seed: number;
  /** Training examples actually used. */
  nTrain: number;
  /** The task's metric. */
  metric: string;
  /** Kept model's score on the validation split held out of the training data (points). */
  valid: number;
  /** Validation score after each epoch. */
  validByEpoch: number[];
  /** The kept epoch (1-based). */
  bestEpoch: number;
  /** Kept model's score on (a sample of) its training data. */
  train: number;
  /** Kept model's score on the reported split (never used for selection). */
  eval: number;
  /** Further metrics on the reported split. */
  evalExtra: Record<string, number>;
  /** The reported split. */
  split: string;
  /** Examples scored on the reported split. */
  n: number;
  /** The run folder. */
  run: string;
  /** The run's GLUE submission file, if one was written. */
  testFile: string | null;
}

/** Mean ± sd over seeds. */
export interface Spread {
  /** Mean. */
  mean: number;
  /** Sample standard deviation (0 for one seed). */
  sd: number;
  /** Seeds. */
  n: number;
}

/** One arm at one training-set size, summarised (a row of summary.json). */
export interface ProtocolRow {
  /** Task. */
  task: string;
  /** Arm key. */
  arm: string;
  /** Requested training-set size (null = all). */
  labels: number | null;
  /** Training examples used (the seeds' mean; subsets are seeded, sizes agree unless capped). */
  nTrain: number;
  /** Metric. */
  metric: string;
  /** The grid at the base seed: validation score and kept epoch per learning rate. */
  grid: { lr: number; valid: number; bestEpoch: number }[];
  /** The chosen learning rate (best validation score of the grid), or null before selection. */
  lr: number | null;
  /** Seeds done at the chosen learning rate. */
  seeds: number[];
  /** Reported-split score over the seeds. */
  eval: Spread | null;
  /** Examples scored on the reported split (the smallest over the seeds; 0 before any). */
  nEval: number;
  /** Validation score over the seeds. */
  valid: Spread | null;
  /** The seeds' kept epochs. */
  epochs: number[];
  /** All `seeds` runs finished. */
  complete: boolean;
  /** The seed with the best validation score (its test predictions are the arm's). */
  bestSeed: number | null;
  /** That seed's GLUE submission file, if any. */
  testFile: string | null;
}

/**
 * The learning rate chosen from the grid cells of one arm and size at the base seed: the best
 * validation score, ties to the first of `lrs`. Null when a grid cell is missing. Pure.
 */
export function chooseLr(
  cells: readonly ProtocolCell[],
  lrs: readonly number[],
): number | null {
  let best: number | null = null, bestValid = -Infinity;
  for (const lr of lrs) {
    const c = cells.find((c) => c.lr === lr);
    if (!c) return null;
    if (c.valid > bestValid) {
      best = lr;
      bestValid = c.valid;
    }
  }
  return best;
}

/** One curve of the layers-transferred ablation under the protocol: a task at one label budget. */
export interface LayersCurve<R> {
  task: string;
  /** Training-set size of the curve (null: the full set). */
  labels: number | null;
  /** Its points by transfer count: -1 nothing (`no-pretrain`), 0 embeddings, … L (`full`). */
  points: { transfer: number; row: R }[];
}

/**
 * The layers curves in protocol rows (pure): for every task and training-set size with at least
 * one `layers<k>` arm, the rows of `no-pretrain`, `layers<k>` and `full` ordered by blocks
 * transferred (`no-aux` and the LSTM left out). Rows without a finished seed are left out.
 */
export function layersCurves<
  R extends { task: string; arm: string; labels: number | null; eval: unknown },
>(rows: readonly R[], nLayer: number): LayersCurve<R>[] {
  const done = rows.filter((r) => r.eval !== null);
  const keys = [
    ...new Set(
      done.filter((r) => isLayersArm(r.arm))
        .map((r) => `${r.task}|${r.labels ?? "all"}`),
    ),
  ];
  return keys.map((k) => {
    const [task, size] = k.split("|");
    const labels = size === "all" ? null : Number(size);
    const points = done.filter((r) => r.task === task && r.labels === labels && r.arm !== "no-aux")
      .flatMap((row) => {
        const transfer = armTransfer(row.arm, nLayer);
        return transfer === undefined ? [] : [{ transfer, row }];
      })
      .sort((a, b) => a.transfer - b.transfer);
    return { task, labels, points };
  });
}

/**
 * Summarises protocol cells into one row per arm and training-set size (pure): the grid, the
 * chosen learning rate, mean ± sd of the reported and validation scores over the seeds, the
 * best-validation seed.
 */
export function summarizeProtocol(
  cells: readonly ProtocolCell[],
  opts: { lrs: readonly number[]; seeds: number; seed: number },
): ProtocolRow[] {
  const groups = new Map<string, ProtocolCell[]>();
  for (const c of cells) {
    const k = `${c.task}|${c.arm}|${c.labels ?? "all"}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const rows: ProtocolRow[] = [];
  for (const cs of groups.values()) {
    const grid = opts.lrs.flatMap((lr) => {
      const c = cs.find((c) => c.lr === lr && c.seed === opts.seed);
      return c ? [{ lr, valid: c.valid, bestEpoch: c.bestEpoch }] : [];
    });
    const lr = chooseLr(cs.filter((c) => c.seed === opts.seed), opts.lrs);
    const wanted = Array.from({ length: opts.seeds }, (_, i) => opts.seed + i);
    const runs = lr === null
      ? []
      : wanted.flatMap((s) => cs.filter((c) => c.lr === lr && c.seed === s));
    let best: ProtocolCell | null = null;
    for (const c of runs) if (!best || c.valid > best.valid) best = c;
    rows.push({
      task: cs[0].task,
      arm: cs[0].arm,
      labels: cs[0].labels,
      nTrain: runs.length ? runs.reduce((s, c) => s + c.nTrain, 0) / runs.length : cs[0].nTrain,
      metric: cs[0].metric,
      grid,
      lr,
      seeds: runs.map((c) => c.seed),
      eval: runs.length ? meanSd(runs.map((c) => c.eval)) : null,
      nEval: runs.length ? Math.min(...runs.map((c) => c.n)) : 0,
      valid: runs.length ? meanSd(runs.map((c) => c.valid)) : null,
      epochs: runs.map((c) => c.bestEpoch),
      complete: runs.length === opts.seeds,
      bestSeed: best?.seed ?? null,
      testFile: best?.testFile ?? null,
    });
  }
  const armOrder = (a: string) => {
    const i = PROTOCOL_ARMS.findIndex((x) => x.key === a);
    return i >= 0 ? i : PROTOCOL_ARMS.length + (protocolArm(a)?.transferLayers ?? 1e6);
  };
  return rows.sort((a, b) =>
    a.task.localeCompare(b.task) || armOrder(a.arm) - armOrder(b.arm) ||
    (a.labels ?? Infinity) - (b.labels ?? Infinity)
  );
}

const fmt = (s: Spread | null) => s ? `${s.mean.toFixed(1)} ± ${s.sd.toFixed(1)} (n=${s.n})` : "–";

/** Protocol rows as a Markdown table (pure). */
export function protocolMarkdown(rows: readonly ProtocolRow[]): string {
  const out = [
    "| task | arm | labels | lr (chosen on valid) | epochs kept | valid | dev (reported) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    out.push(
      `| ${r.task} | ${r.arm} | ${r.labels ?? `all (${Math.round(r.nTrain)})`} | ${r.lr ?? "–"} | ${
        r.epochs.join(", ") || "–"
      } | ${fmt(r.valid)} | ${fmt(r.eval)} (${r.metric})${r.complete ? "" : " incomplete"} |`,
    );
  }
  return out.join("\n") + "\n";
}
