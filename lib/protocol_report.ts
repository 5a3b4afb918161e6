/**
 * The report's sections for the small-scale protocol (issue 14), from its folder
 * (`results/protocol`): both pre-training runs (`pretrain/`, `pretrain-lstm/`), every task's
 * `<task>/summary.json`, the zero-shot curves and additions, and the claims they check
 * ({@link protocolClaims} beside the zero-shot rows of {@link paperClaims}). Pure apart from
 * reading the result files; a missing file leaves its part out.
 *
 * @example
 * ```ts
 * import { protocolSections } from "./protocol_report.ts";
 * import { writeReport } from "./report.ts";
 * await writeReport("/tmp/protocol.html", await protocolSections("results/protocol"));
 * ```
 * @module
 */
import { join } from "node:path";
import { exists } from "./fsutil.ts";
import type { TextEval } from "./pipeline.ts";
import { lineChart } from "./plot.ts";
import {
  additionsChart,
  labelBudgetChart,
  layersTransferChart,
  protocolArmsChart,
} from "./plot_protocol.ts";
import { isLayersArm, layersCurves, type ProtocolRow } from "./protocol.ts";
import type { ReportSection, Row } from "./report.ts";
import { readLog, readResult, readZeroShot } from "./runs.ts";
import { paperClaims, protocolClaims } from "./claims.ts";
import { zeroShotFigure } from "./sections.ts";
import { type AdditionRow, ADDITIONS_FILE } from "./zeroshot_additions.ts";

/** What {@link readProtocolResults} finds in a protocol folder. */
export interface ProtocolResults {
  /** Summary rows of every `<task>/summary.json`, tasks in folder-name order. */
  rows: ProtocolRow[];
  /** Zero-shot additions of the Transformer run. */
  additions: AdditionRow[];
  /** Zero-shot additions of the LSTM run. */
  lstmAdditions: AdditionRow[];
  /** Blocks of the pre-trained Transformer (`pretrain/config.json`; undefined when absent). */
  nLayer?: number;
}

/** The sorted names of the folders in `dir` (none when it is missing). */
async function folders(dir: string): Promise<string[]> {
  const names: string[] = [];
  if (await exists(dir)) {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
  }
  return names.sort();
}

/**
 * Reads the summaries and zero-shot additions of a protocol folder (missing files: empty).
 *
 * The rows are those of every `<dir>/<task>/summary.json`, then those of the protocol folders
 * nested one level down (`<dir>/<name>/<task>/summary.json`, `SMALL_PROTOCOL.beyondCap`): these
 * are label-budget points above a task's cap, so a nested full-set row becomes a label-budget
 * row at its actual size (`labels` = its training examples) and never a Table 5 row. Rows are
 * ordered by task and arm as found, then by training-set size.
 */
export async function readProtocolResults(dir: string): Promise<ProtocolResults> {
  const rows: ProtocolRow[] = [];
  const summary = async (d: string) =>
    (await readResult<{ rows?: ProtocolRow[] }>(join(d, "summary.json")))?.rows;
  const nested: ProtocolRow[] = [];
  for (const name of await folders(dir)) {
    const own = await summary(join(dir, name));
    if (own) {
      rows.push(...own);
      continue;
    }
    for (const sub of await folders(join(dir, name))) {
      const more = await summary(join(dir, name, sub));
      for (const r of more ?? []) nested.push({ ...r, labels: r.labels ?? Math.round(r.nTrain) });
    }
  }
  rows.push(...nested);
  const group = new Map<string, number>();
  for (const r of rows) {
    if (!group.has(`${r.task}|${r.arm}`)) group.set(`${r.task}|${r.arm}`, group.size);
  }
  const size = (r: ProtocolRow) => r.labels ?? r.nTrain;
  rows.sort((a, b) =>
    group.get(`${a.task}|${a.arm}`)! - group.get(`${b.task}|${b.arm}`)! || size(a) - size(b)
  );
  const adds = async (run: string) =>
    (await readResult<{ rows?: AdditionRow[] }>(join(dir, run, ADDITIONS_FILE)))?.rows ?? [];
  const cfg = await readResult<{ model?: { nLayer?: number } }>(
    join(dir, "pretrain", "config.json"),
  );
  return {
    rows,
    additions: await adds("pretrain"),
    lstmAdditions: await adds("pretrain-lstm"),
    nLayer: cfg?.model?.nLayer,
  };
}

const spread = (s: { mean: number; sd: number; n: number } | null) =>
  s ? `${s.mean.toFixed(1)} ± ${s.sd.toFixed(1)}` : "–";

/** The protocol's rows as report table rows (pure). */
export function protocolTableRows(rows: readonly ProtocolRow[]): Row[] {
  return rows.map((r) => ({
    task: r.task,
    arm: r.arm,
    labels: r.labels ?? "all",
    "training examples": Math.round(r.nTrain),
    "lr (chosen on held-out training data)": r.lr === null ? "–" : r.lr.toExponential(0),
    "epochs kept": r.epochs.join(", ") || "–",
    "held-out valid": spread(r.valid),
    [`dev (reported)`]: spread(r.eval),
    metric: r.metric,
    seeds: r.seeds.length,
    "dev examples": r.nEval,
  }));
}

/**
 * The protocol's report sections: pre-training of both models, Table 5 under the protocol,
 * the label budget, zero-shot over pre-training, and the claims.
 */
export async function protocolSections(dir: string): Promise<ReportSection[]> {
  const out: ReportSection[] = [];
  const runs = [["Transformer", join(dir, "pretrain")], ["LSTM", join(dir, "pretrain-lstm")]];
  const logs = await Promise.all(runs.map(([, d]) => readLog(d).catch(() => [])));
  if (logs.some((l) => l.length)) {
    const rows: Row[] = [];
    for (const [i, [model, d]] of runs.entries()) {
      const log = logs[i];
      if (!log.length) continue;
      const valid = log.filter((r) => r.kind === "valid").at(-1);
      const last = log.at(-1)!;
      const ev = await readResult<TextEval>(join(d, "eval-text.json"));
      rows.push({
        model,
        updates: last.step,
        "tokens seen": last.tokens ?? null,
        "valid perplexity": valid?.perplexity ? Number(valid.perplexity.toFixed(1)) : null,
        "sherlock.txt perplexity": ev ? Number(ev.perplexity.toFixed(1)) : null,
        "CPU hours (1 thread)": last.wallSec ? Number((last.wallSec / 3600).toFixed(2)) : null,
      });
    }
    out.push({
      title: "Protocol at small scale: pre-training",
      text: "The `small` Transformer and the parameter-matched LSTM on the same tokens, " +
        "vocabulary, batches and order (lib/settings.ts `SMALL_PROTOCOL`), with checkpoints at " +
        "half octaves for the zero-shot curves. Wall time is one thread on a 2-core machine " +
        "shared with the other run.",
      figures: [lineChart(
        runs.flatMap(([name], i) => {
          const v = logs[i].filter((r) => r.kind === "valid");
          return v.length
            ? [{ name, x: v.map((r) => r.step), y: v.map((r) => r.loss), markers: true }]
            : [];
        }),
        { title: "Validation loss", x: "updates", y: "loss (nats per token)" },
      )],
      tables: [{ caption: "Pre-training runs of the protocol", rows }],
    });
  }
  const res = await readProtocolResults(dir);
  const full = res.rows.filter((r) => r.labels === null);
  if (full.length) {
    out.push({
      title: "Table 5 under the protocol (fair fine-tuning)",
      text: "Every arm gets the same selection: the learning rate from the grid and the epoch " +
        "by the score on a split held out of the training data, then seeds at that setting; " +
        "the dev split is the reported one and is never used to choose. Error bars: sd over " +
        "seeds (none with one seed; the claims below add the dev set's sampling noise).",
      figures: [protocolArmsChart(full)],
      tables: [{ caption: "Protocol rows", rows: protocolTableRows(full) }],
    });
  }
  const budget = res.rows.filter((r) => r.labels !== null && !isLayersArm(r.arm));
  if (budget.length) {
    const tasks = new Set(budget.map((r) => r.task));
    const rows = res.rows.filter((r) => tasks.has(r.task) && !isLayersArm(r.arm));
    out.push({
      title: "Label budget (beyond the paper)",
      text: "Score against the number of training labels, pre-trained vs not (mean ± sd over " +
        "seeds, log x): the paper's opening argument, that pre-training matters most when " +
        "labels are few.",
      figures: [labelBudgetChart(rows)],
      tables: [{ caption: "Label-budget rows", rows: protocolTableRows(rows) }],
    });
  }
  const curves = res.nLayer === undefined ? [] : layersCurves(res.rows, res.nLayer);
  if (curves.length) {
    out.push({
      title: "Layers transferred (Figure 2 left) under the protocol",
      text: "The pre-trained Transformer with only its embeddings and first k blocks " +
        "transferred (the rest freshly initialised), fine-tuned at a limited label budget with " +
        "the same selection as every other arm (learning rate and epoch on held-out training " +
        "data, then seeds). 0 = nothing transferred (the no-pre-training arm), " +
        `${res.nLayer! + 1} = every block (the full arm).`,
      figures: [layersTransferChart(res.rows, { nLayer: res.nLayer! })],
      tables: [{
        caption: "Layers rows",
        rows: protocolTableRows(curves.flatMap((c) => c.points.map((p) => p.row))),
      }],
    });
  }
  const zs = await readZeroShot(join(dir, "pretrain"));
  const lz = await readZeroShot(join(dir, "pretrain-lstm"));
  if (zs.length || res.additions.length) {
    out.push({
      title: "Zero-shot over pre-training (protocol runs)",
      text: "The paper's four heuristics unchanged (first chart, relative score), then the " +
        "additions that remove a small model's label-word bias (second chart, beyond the " +
        "paper): SST-2 with contextual calibration and as the AUROC of log p(positive) − " +
        "log p(negative), CoLA as the AUROC of the mean log-probability, Story Cloze by PMI.",
      figures: [
        ...(zs.length ? [zeroShotFigure(zs, lz)] : []),
        ...(res.additions.length ? [additionsChart(res.additions, res.lstmAdditions)] : []),
      ],
    });
  }
  const claims = [
    ...protocolClaims(res),
    // the zero-shot rows of the paper's claims (its Table 5 rows have no cells here)
    ...paperClaims({ cells: [], layers: [], zeroshot: zs, lstmZeroshot: lz })
      .filter((c) => c["this run"] !== "–"),
  ];
  if (claims.some((c) => c.holds !== "–")) {
    out.push({
      title: "The paper's claims under the protocol",
      text: "yes / no: the effect is beyond two standard errors (dev-set sampling noise and the " +
        "seeds' spread); not shown: within noise; –: no data yet or not a claim a small run " +
        "is held to.",
      tables: [{ caption: "Claims (protocol)", rows: claims }],
    });
  }
  return out;
}
