/**
 * The paper's claims checked against results at our scale, each with its noise: gaps against
 * two standard errors ({@link scoreNoise}), trends against Spearman's 5% critical value
 * ({@link spearmanCritical}); "not shown" where the effect is within noise. Pure functions.
 *
 * @example
 * ```ts
 * import { scoreNoise } from "./claims.ts";
 * scoreNoise("acc", 277); // one standard error in points on RTE's dev set
 * ```
 * @module
 */
import type { LayersPoint, Table5Cell, ZeroShotRow } from "./runs.ts";
import { PAPER_FACTS } from "./paper.ts";
import { spearman } from "./metrics.ts";
import type { Row } from "./report.ts";
import { layersCurves, type ProtocolRow } from "./protocol.ts";
import type { AdditionRow } from "./zeroshot_additions.ts";

export type { LayersPoint } from "./runs.ts";

/** Everything {@link paperClaims} checks. */
export interface ClaimInputs {
  /** Table 5 cells. */
  cells: readonly Table5Cell[];
  /** Layers ablation rows (paper axis). */
  layers: readonly LayersPoint[];
  /** Zero-shot rows. */
  zeroshot: readonly ZeroShotRow[];
  /** Zero-shot rows of the LSTM baseline. */
  lstmZeroshot?: readonly ZeroShotRow[];
}

const fmt1 = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * One standard error, in points, of a score on `n` examples when there is no effect: accuracy
 * or F1 as a proportion near 1/2 (`100·√(¼/n)`), a correlation (MCC, Pearson, Spearman) near
 * 0 (`100/√n`). A difference of two such scores has √2 times that.
 *
 * @example
 * ```ts
 * scoreNoise("acc", 400); // 2.5
 * ```
 */
export function scoreNoise(metric: string, n: number): number {
  if (!(n > 0)) return Infinity;
  return ["acc", "f1"].includes(metric) ? 100 * Math.sqrt(0.25 / n) : 100 / Math.sqrt(n);
}

/**
 * The one-sided 5% critical value of Spearman's ρ for `n` points (no ties): exact-table values
 * for n ≤ 10, else the normal approximation `1.645/√(n−1)`.
 */
export function spearmanCritical(n: number): number {
  const table: Record<number, number> = { 5: 0.9, 6: 0.829, 7: 0.714, 8: 0.643, 9: 0.6, 10: 0.564 };
  if (n < 5) return Infinity;
  return table[n] ?? 1.645 / Math.sqrt(n - 1);
}

/** yes / no when a difference `d` is beyond two standard errors `se`, else "not shown". */
const verdict = (d: number, se: number) => d > 2 * se ? "yes" : d < -2 * se ? "no" : "not shown";

/**
 * The paper's qualitative claims (../shared/notes/paper.md §8, checks 9–11) next to this run:
 * rows `{claim, paper, "this run", holds}` with `holds` yes / no / "not shown" (the effect is
 * within noise: a gap under two standard errors of {@link scoreNoise}, or a Spearman ρ under
 * its 5% critical value) / "–" (no data, or not a claim a small run is held to). Pure.
 *
 * @example
 * ```ts
 * paperClaims({ cells, layers: [], zeroshot: [] })[0]["this run"]; // "+3.1 (2 of 3 tasks)"
 * ```
 */
export function paperClaims(r: ClaimInputs): Row[] {
  const rows: Row[] = [];
  // per task present in both: [gap, one s.e. of the gap]
  const pair = (a: string, b: string) =>
    [...new Set(r.cells.map((c) => c.task))].flatMap((t) => {
      const x = r.cells.find((c) => c.task === t && c.variant === a);
      const y = r.cells.find((c) => c.task === t && c.variant === b);
      return x && y
        ? [[x.value - y.value, Math.SQRT2 * scoreNoise(x.metric, Math.min(x.n, y.n))]]
        : [];
    });
  /** Mean gap ± 2 s.e. of the mean, and how many tasks are better or equal. */
  const gapText = (g: number[][]) => {
    const m = mean(g.map(([d]) => d));
    const se = Math.sqrt(g.reduce((a, [, s]) => a + s * s, 0)) / g.length;
    return {
      text: `${fmt1(m)} ± ${(2 * se).toFixed(1)} (better or equal on ${
        g.filter(([d]) => d >= 0).length
      } of ${g.length})`,
      holds: verdict(m, se),
    };
  };
  const pre = gapText(pair("full", "no-pretrain"));
  const nPre = pair("full", "no-pretrain").length;
  rows.push({
    claim: "pre-training helps (Table 5: full vs w/o pre-training, mean gap ± 2 s.e.)",
    paper: `+${PAPER_FACTS.noPretrainDrop} (better on 8 of 8)`,
    "this run": nPre ? pre.text : "–",
    holds: nPre ? pre.holds : "–",
  });
  const nLstm = pair("full", "lstm").length;
  const vsLstm = gapText(pair("full", "lstm"));
  rows.push({
    claim: "the Transformer beats the LSTM (Table 5: full vs LSTM w/ aux LM, mean gap ± 2 s.e.)",
    paper: "+5.6 (74.7 vs 69.1; the LSTM wins only MRPC)",
    "this run": nLstm ? vsLstm.text : "–",
    holds: nLstm ? vsLstm.holds : "–",
  });
  const aux = pair("full", "no-aux").map(([d]) => d);
  rows.push({
    claim: "the auxiliary LM helps large datasets, not small ones (full vs w/o aux LM)",
    paper: "-0.3 on average (74.7 vs 75.0)",
    "this run": aux.length ? `${fmt1(mean(aux))} (${aux.length} tasks)` : "–",
    holds: "–",
  });
  for (const task of [...new Set(r.layers.map((l) => l.task))]) {
    const ls = r.layers.filter((l) => l.task === task).sort((a, b) => a.nTransfer - b.nTransfer);
    const none = ls.find((l) => l.nTransfer === 0);
    const all = ls.at(-1)!;
    const rho = ls.length >= 3 ? spearman(ls.map((l) => l.nTransfer), ls.map((l) => l.valid)) : NaN;
    const gap = none ? all.valid - none.valid : NaN;
    const se = Math.SQRT2 * scoreNoise(all.metric, all.n);
    let holds = "–";
    if (none && all.nTransfer > 1) {
      const v = verdict(gap, se);
      // "yes" also needs the trend: scores rising with the number of layers
      holds = v === "yes" && !(rho > 0) ? "not shown" : v;
    }
    rows.push({
      claim: `more transferred layers help (${task}: all layers vs none, ± 2 s.e.; Spearman ρ ` +
        "of layers and score)",
      paper: "MNLI +9.7, RACE +20.3",
      "this run": none
        ? `${fmt1(gap)} ± ${(2 * se).toFixed(1)}${
          Number.isNaN(rho) ? "" : `, ρ = ${rho.toFixed(2)}`
        }`
        : "–",
      holds,
    });
  }
  for (const task of [...new Set(r.zeroshot.map((z) => z.task))]) {
    const zs = r.zeroshot.filter((z) => z.task === task).sort((a, b) => a.step - b.step);
    if (zs.length < 3) continue;
    const rho = spearman(zs.map((z) => z.step), zs.map((z) => z.relative));
    const crit = spearmanCritical(zs.length);
    rows.push({
      claim: `zero-shot ${zs[0].dataset} rises with pre-training (Spearman ρ over checkpoints, ` +
        "one-sided 5% critical value)",
      paper: "rises steadily",
      "this run": `ρ = ${rho.toFixed(2)} (critical ${crit.toFixed(2)}, ${zs.length} checkpoints)`,
      holds: rho >= crit ? "yes" : rho <= -crit ? "no" : "not shown",
    });
  }
  const lz = r.lstmZeroshot ?? [];
  const lastOf = (rows: readonly ZeroShotRow[], t: string) =>
    rows.filter((z) => z.task === t).sort((a, b) => b.step - a.step)[0];
  const both = [...new Set(r.zeroshot.map((z) => z.task))].filter((t) => lastOf(lz, t));
  if (both.length) {
    const above = both.filter((t) => lastOf(r.zeroshot, t).relative > lastOf(lz, t).relative);
    // beyond noise: the raw gap over two standard errors of a difference on the same examples
    const clear = both.map((t) => {
      const a = lastOf(r.zeroshot, t), b = lastOf(lz, t);
      return verdict(a.raw - b.raw, Math.SQRT2 * scoreNoise(a.metric, Math.min(a.n, b.n)));
    });
    rows.push({
      claim: "at the end of pre-training the Transformer's zero-shot scores beat the LSTM's " +
        "(raw gap beyond 2 s.e.)",
      paper: "on all 4 heuristics",
      "this run": `higher on ${above.length} of ${both.length} (${
        both.map((t, i) =>
          `${lastOf(r.zeroshot, t).dataset} ${fmt1(lastOf(r.zeroshot, t).raw - lastOf(lz, t).raw)}${
            clear[i] === "not shown" ? "" : " *"
          }`
        ).join(", ")
      }; * beyond noise)`,
      holds: clear.every((c) => c === "yes")
        ? "yes"
        : clear.some((c) => c === "no")
        ? "no"
        : "not shown",
    });
  }
  if (both.length) {
    // the paper: "the LSTM exhibits higher variance in its zero-shot performance"
    const sd = (rows: readonly ZeroShotRow[], t: string) => {
      const v = rows.filter((z) => z.task === t).map((z) => z.relative);
      const m = mean(v);
      return Math.sqrt(mean(v.map((x) => (x - m) ** 2)));
    };
    const noisier = both.filter((t) => sd(lz, t) > sd(r.zeroshot, t));
    rows.push({
      claim: "the LSTM's zero-shot scores vary more over pre-training (std of relative score)",
      paper: "yes (higher variance)",
      "this run": `on ${noisier.length} of ${both.length} (${
        both.map((t) =>
          `${lastOf(r.zeroshot, t).dataset} ${sd(r.zeroshot, t).toFixed(2)} vs ${
            sd(lz, t).toFixed(2)
          }`
        ).join(", ")
      })`,
      holds: noisier.length > both.length / 2 ? "yes" : "no",
    });
  }
  const last = (t: string) => lastOf(r.zeroshot, t);
  const sst = last("sst2"), cola = last("cola");
  if (sst || cola) {
    // the baseline: chance, or always giving the sample's most frequent answer when higher
    const base = (z: ZeroShotRow) => Math.max(z.chance, z.majority ?? -Infinity);
    const v = [sst, cola].filter((z) => z !== undefined).map((z) =>
      verdict(z.raw - base(z), scoreNoise(z.metric, z.n))
    );
    const noise = (z: ZeroShotRow) =>
      ` ± ${(2 * scoreNoise(z.metric, z.n)).toFixed(1)}` +
      (z.majority !== undefined && z.majority > z.chance
        ? ` (majority ${z.majority.toFixed(1)})`
        : "") +
      (z.predictedShare === 100 ? ", one answer for all" : "");
    rows.push({
      claim: "after pre-training, zero-shot SST-2 accuracy > 50 and CoLA MCC > 0 (beyond 2 s.e. " +
        "of chance or the majority answer)",
      paper: "yes (relative 0.68 and 0.44 at 10^6 updates)",
      "this run": [
        sst && `SST-2 ${sst.raw.toFixed(1)}${noise(sst)}`,
        cola && `CoLA ${cola.raw.toFixed(1)}${noise(cola)}`,
      ].filter(Boolean).join(", "),
      holds: v.every((x) => x === "yes") ? "yes" : v.some((x) => x === "no") ? "no" : "not shown",
    });
  }
  return rows;
}

/**
 * One standard error, in points, of an arm's protocol score: the dev set's sampling noise
 * ({@link scoreNoise}) combined with the seeds' spread (sd/√seeds; none with one seed).
 */
export function protocolNoise(r: Pick<ProtocolRow, "metric" | "nEval" | "eval">): number {
  if (!r.eval) return Infinity;
  const seeds = r.eval.n > 1 ? r.eval.sd / Math.sqrt(r.eval.n) : 0;
  return Math.sqrt(scoreNoise(r.metric, r.nEval) ** 2 + seeds ** 2);
}

/**
 * One standard error, in points, of an AUROC on `n` examples when there is no signal
 * (Mann–Whitney with two classes of n/2 each: `100·√((n+1)/(3n²))`).
 */
export function aurocNoise(n: number): number {
  return n > 0 ? 100 * Math.sqrt((n + 1) / (3 * n * n)) : Infinity;
}

/**
 * The claims checked by the small-scale protocol (issue 14), in {@link paperClaims}'s rows and
 * noise rules: arm gaps on the full training sets (mean over tasks ± 2 s.e., each arm's s.e.
 * from {@link protocolNoise}), the label-budget gaps (pre-trained − not, per task and budget)
 * and the zero-shot AUROCs of the last checkpoint against chance. Pure.
 *
 * @example
 * ```ts
 * protocolClaims({ rows: summary.rows }).map((r) => `${r.claim}: ${r.holds}`);
 * ```
 */
export function protocolClaims(r: {
  rows: readonly ProtocolRow[];
  /** Blocks of the pre-trained Transformer (orders the `layers<k>` arms; default: ranks only). */
  nLayer?: number;
  additions?: readonly AdditionRow[];
  lstmAdditions?: readonly AdditionRow[];
}): Row[] {
  const out: Row[] = [];
  const done = r.rows.filter((x) => x.eval !== null);
  const at = (task: string, arm: string, labels: number | null) =>
    done.find((x) => x.task === task && x.arm === arm && x.labels === labels);
  // the gap of two finished rows and one standard error of it
  const gapOf = (x: ProtocolRow, y: ProtocolRow) => ({
    d: x.eval!.mean - y.eval!.mean,
    se: Math.hypot(protocolNoise(x), protocolNoise(y)),
  });
  const gaps = (a: string, b: string, labels: number | null = null) =>
    [...new Set(done.map((x) => x.task))].flatMap((t) => {
      const x = at(t, a, labels), y = at(t, b, labels);
      return x && y ? [{ task: t, ...gapOf(x, y) }] : [];
    });
  const summary = (g: { task: string; d: number; se: number }[]) => {
    const m = mean(g.map((x) => x.d));
    const se = Math.sqrt(g.reduce((a, x) => a + x.se * x.se, 0)) / g.length;
    return {
      text: `${fmt1(m)} ± ${(2 * se).toFixed(1)} (${
        g.map((x) => `${x.task} ${fmt1(x.d)}`).join(", ")
      })`,
      holds: verdict(m, se),
    };
  };
  const armRow = (claim: string, paper: string, a: string, b: string, judged = true) => {
    const g = gaps(a, b);
    const s = g.length ? summary(g) : null;
    out.push({
      claim,
      paper,
      "this run": s ? s.text : "–",
      holds: s && judged ? s.holds : "–",
    });
  };
  armRow(
    "pre-training helps (protocol: full vs w/o pre-training, full training sets, mean gap ± 2 s.e.)",
    `+${PAPER_FACTS.noPretrainDrop} (better on 8 of 8)`,
    "full",
    "no-pretrain",
  );
  armRow(
    "the Transformer beats the LSTM (protocol: full vs LSTM w/ aux LM, mean gap ± 2 s.e.)",
    "+5.6 (74.7 vs 69.1; the LSTM wins only MRPC)",
    "full",
    "lstm",
  );
  armRow(
    "the auxiliary LM helps large datasets, not small ones (protocol: full vs w/o aux LM)",
    "-0.3 on average (74.7 vs 75.0)",
    "full",
    "no-aux",
    false,
  );
  // label budget: the pre-training gap at each size
  const budgets = [...new Set(done.filter((x) => x.labels !== null).map((x) => x.task))];
  for (const t of budgets) {
    const sizes = [
      ...new Set(done.filter((x) => x.task === t && x.labels !== null).map((x) => x.labels!)),
    ].sort((a, b) => a - b);
    const g = [...sizes, null].flatMap((n) => {
      const x = at(t, "full", n), y = at(t, "no-pretrain", n);
      return x && y ? [{ n: n ?? Math.round(x.nTrain), ...gapOf(x, y) }] : [];
    }).sort((a, b) => a.n - b.n); // a full set under a cap can be smaller than a size above it
    if (!g.length) continue;
    const few = g[0];
    out.push({
      claim: `pre-training helps most with few labels (${t}: pre-trained − not, per training-set ` +
        "size; verdict at the smallest)",
      paper: "beyond the paper (its opening argument)",
      "this run": g.map((x) => `${x.n}: ${fmt1(x.d)} ± ${(2 * x.se).toFixed(1)}`).join(", "),
      holds: verdict(few.d, few.se),
    });
  }
  // the layers ablation under the protocol: the trend over blocks transferred, on the means
  for (const c of layersCurves(done, r.nLayer ?? Infinity)) {
    const ps = c.points;
    if (ps.length < 3) continue;
    const rho = spearman(ps.map((p) => p.transfer), ps.map((p) => p.row.eval!.mean));
    const crit = spearmanCritical(ps.length);
    const none = ps[0].transfer === -1 ? ps[0].row : undefined, all = ps.at(-1)!.row;
    const g = none && all.arm === "full" ? gapOf(all, none) : undefined;
    out.push({
      claim: `more transferred layers help (${c.task} at ${c.labels ?? "all"} labels: Spearman ρ ` +
        "of blocks transferred and mean dev score, one-sided 5% critical value; all vs none)",
      paper: "MNLI +9.7, RACE +20.3 (each layer helps)",
      "this run":
        `ρ = ${rho.toFixed(2)} (critical ${
          Number.isFinite(crit) ? crit.toFixed(2) : "–"
        }, ${ps.length} counts)` +
        (g ? `; all − none ${fmt1(g.d)} ± ${(2 * g.se).toFixed(1)}` : "") +
        `; ${ps.map((p) => p.row.eval!.mean.toFixed(1)).join(" → ")}`,
      holds: rho >= crit ? "yes" : rho <= -crit ? "no" : "not shown",
    });
  }
  // the additions' trend over pre-training, as the paper's zero-shot rows
  for (const m of [...new Set((r.additions ?? []).map((x) => x.measure))]) {
    const xs = (r.additions ?? []).filter((x) => x.measure === m).sort((a, b) => a.step - b.step);
    if (xs.length < 5) continue;
    const rho = spearman(xs.map((x) => x.step), xs.map((x) => x.value));
    const crit = spearmanCritical(xs.length);
    out.push({
      claim: `zero-shot ${m} (addition) rises with pre-training (Spearman ρ over checkpoints, ` +
        "one-sided 5% critical value)",
      paper: "beyond the paper (the heuristics rise steadily)",
      "this run": `ρ = ${rho.toFixed(2)} (critical ${crit.toFixed(2)}, ${xs.length} checkpoints; ` +
        `${xs[0].value.toFixed(1)} → ${xs.at(-1)!.value.toFixed(1)})`,
      holds: rho >= crit ? "yes" : rho <= -crit ? "no" : "not shown",
    });
  }
  const lastOf = (rows: readonly AdditionRow[] | undefined, m: string) =>
    (rows ?? []).filter((x) => x.measure === m).sort((a, b) => b.step - a.step)[0];
  for (
    const [m, label] of [["sst2-auroc", "SST-2 log p(positive) − log p(negative)"], [
      "cola-auroc",
      "CoLA mean log-probability",
    ]] as const
  ) {
    const a = lastOf(r.additions, m), l = lastOf(r.lstmAdditions, m);
    if (!a) continue;
    const v = verdict(a.value - 50, aurocNoise(a.n));
    out.push({
      claim: `after pre-training, the AUROC of the ${label} is above 50 (addition; ± 2 s.e. ` +
        "of chance)",
      paper: "beyond the paper",
      "this run": `Transformer ${a.value.toFixed(1)} ± ${(2 * aurocNoise(a.n)).toFixed(1)}` +
        (l ? `, LSTM ${l.value.toFixed(1)}` : "") + ` (step ${a.step}, n=${a.n})`,
      holds: v,
    });
  }
  return out;
}
