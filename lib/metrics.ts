/**
 * Evaluation metrics as pure functions over number arrays. It imports nothing of the project;
 * `tasks/metric.ts`'s `taskMetric` scores a task with the paper's metric from these.
 *
 * Scales: the primitive functions return their natural range (accuracy and F1 as fractions in
 * [0, 1], correlations in [-1, 1]). `taskMetric` returns **points, 0-100** (correlations
 * × 100), the scale the paper prints and `paper.ts` stores, so a score and the paper's number
 * can be compared directly. Undefined cases (a constant input to a correlation, no positive in
 * F1) give 0, as scikit-learn's `matthews_corrcoef` and `f1_score(zero_division=0)` do.
 *
 * @example
 * ```ts
 * import { matthewsCorr } from "./metrics.ts";
 * matthewsCorr([1, 0, 1, 1], [1, 0, 0, 1]); // 0.5773...
 * ```
 * @module
 */
/** Metric names used across the project (results files, tables, plots). */
export type MetricName = "acc" | "f1" | "mcc" | "pearson" | "spearman";

function check(preds: ArrayLike<number>, labels: ArrayLike<number>, what: string): number {
  if (preds.length !== labels.length) {
    throw new RangeError(`${what}: ${preds.length} predictions but ${labels.length} labels`);
  }
  if (preds.length === 0) throw new RangeError(`${what}: no predictions`);
  for (let i = 0; i < labels.length; i++) {
    if (typeof labels[i] !== "number" || Number.isNaN(labels[i])) {
      throw new RangeError(`${what}: label ${i} is ${labels[i]} (an unlabeled test split?)`);
    }
    if (typeof preds[i] !== "number" || Number.isNaN(preds[i])) {
      throw new RangeError(`${what}: prediction ${i} is ${preds[i]}`);
    }
  }
  return preds.length;
}

/** Fraction of positions where `preds[i] === labels[i]`. */
export function accuracy(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = check(preds, labels, "accuracy");
  let ok = 0;
  for (let i = 0; i < n; i++) if (preds[i] === labels[i]) ok++;
  return ok / n;
}

/**
 * F1 of the positive class (default 1): `2 tp / (2 tp + fp + fn)`; 0 when there is neither a
 * positive label nor a positive prediction.
 */
export function f1(preds: ArrayLike<number>, labels: ArrayLike<number>, positive = 1): number {
  const n = check(preds, labels, "f1");
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < n; i++) {
    const p = preds[i] === positive, l = labels[i] === positive;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Matthews correlation coefficient, for any number of classes (the K-class form of
 * Gorodkin 2004, as scikit-learn computes it; for two classes it is
 * `(tp·tn − fp·fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))`). 0 when undefined.
 */
export function matthewsCorr(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = check(preds, labels, "matthewsCorr");
  const t = new Map<number, number>(); // true counts per class
  const p = new Map<number, number>(); // predicted counts per class
  let correct = 0;
  for (let i = 0; i < n; i++) {
    t.set(labels[i], (t.get(labels[i]) ?? 0) + 1);
    p.set(preds[i], (p.get(preds[i]) ?? 0) + 1);
    if (preds[i] === labels[i]) correct++;
  }
  let pt = 0, pp = 0, tt = 0;
  for (const [k, pk] of p) {
    pt += pk * (t.get(k) ?? 0);
    pp += pk * pk;
  }
  for (const tk of t.values()) tt += tk * tk;
  const den = Math.sqrt((n * n - pp) * (n * n - tt));
  return den === 0 ? 0 : (correct * n - pt) / den;
}

/** Pearson correlation of two equally long arrays; 0 when either is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = check(x, y, "pearson");
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return 0;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/**
 * 1-based ranks with ties given their average rank (scipy's `rankdata(method="average")`).
 *
 * @example
 * ```ts
 * averageRanks([10, 20, 20, 5]); // [2, 3.5, 3.5, 1]
 * ```
 */
export function averageRanks(x: ArrayLike<number>): number[] {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]] === x[idx[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation: Pearson of the average ranks; 0 when either is constant. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  check(x, y, "spearman");
  return pearson(averageRanks(x), averageRanks(y));
}

/** Index of the largest value in each row (first one on ties): logits `[N][K]` → `[N]`. */
export function argmaxRows(rows: ArrayLike<ArrayLike<number>>): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    let best = 0;
    for (let k = 1; k < r.length; k++) if (r[k] > r[best]) best = k;
    out.push(best);
  }
  return out;
}

/** The metric functions by name (natural scale). */
export const METRICS: Readonly<
  Record<MetricName, (p: ArrayLike<number>, l: ArrayLike<number>) => number>
> = {
  acc: accuracy,
  f1: (p, l) => f1(p, l),
  mcc: matthewsCorr,
  pearson,
  spearman,
};

/**
 * Mean and sample standard deviation (n − 1 in the denominator; 0 for one value) of `xs`,
 * with `n`. Throws a RangeError for an empty or non-finite input.
 *
 * @example
 * ```ts
 * meanSd([80, 82, 84]); // { mean: 82, sd: 2, n: 3 }
 * ```
 */
export function meanSd(xs: ArrayLike<number>): { mean: number; sd: number; n: number } {
  const n = xs.length;
  if (n === 0) throw new RangeError("meanSd: no values");
  let s = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(xs[i])) throw new RangeError(`meanSd: value ${i} is ${xs[i]}`);
    s += xs[i];
  }
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - mean) ** 2;
  return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n };
}

/**
 * Area under the ROC curve of `scores` against binary `labels` (1 positive): the probability
 * that a random positive scores above a random negative, ties counting one half (the
 * Mann–Whitney U statistic over n₁·n₀, from average ranks; scikit-learn's `roc_auc_score`).
 * Threshold-free: 0.5 is chance, 1 a perfect ranking, 0 a perfectly reversed one. Throws a
 * RangeError when a class is absent (AUROC is undefined) or a label is not 0/1.
 *
 * @example
 * ```ts
 * auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.75
 * ```
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = check(scores, labels, "auroc");
  const r = averageRanks(scores);
  let n1 = 0, rankSum = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) {
      throw new RangeError(`auroc: label ${i} is ${labels[i]}, not 0 or 1`);
    }
    if (labels[i] === 1) {
      n1++;
      rankSum += r[i];
    }
  }
  const n0 = n - n1;
  if (n1 === 0 || n0 === 0) throw new RangeError("auroc: needs both classes among the labels");
  return (rankSum - (n1 * (n1 + 1)) / 2) / (n1 * n0);
}
