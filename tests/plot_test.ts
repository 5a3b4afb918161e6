/**
 * Tests of lib/plot.ts (figure builders, summaries, MIME bundle) and lib/jupyter.ts (display,
 * tables, live display through a recorded fake of `Deno.jupyter`). No browser, no kernel.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects, ROOT } from "./_util.ts";
import {
  figureSummary,
  isFigure,
  lineChart,
  type LogPoint,
  lossCurve,
  perplexityCurve,
  plotBundle,
} from "../lib/plot.ts";
import { type Figure, PLOTLY_MIME, titleText } from "../lib/_plot.ts";
import {
  barsVsPaper,
  layersChart,
  table5Chart,
  table5Paper,
  type Table5Point,
  zeroShotChart,
} from "../lib/paper_charts.ts";
import { FIGURE2_LAYERS, FIGURE2_ZEROSHOT, TABLE2, TABLE4, TABLE5 } from "../lib/paper.ts";
import {
  classicNotebookHtml,
  display,
  figureBundle,
  inNotebook,
  isMimeBundle,
  type JupyterApi,
  liveDisplay,
  MAX_OUTPUT_BYTES,
  PLOTLY_JS_FILE,
  plotlyPathFrom,
  progressBundle,
  setJupyterApi,
  showTable,
  tableBundle,
} from "../lib/jupyter.ts";

const LOG: LogPoint[] = [
  { kind: "train", step: 10, loss: 9 },
  { kind: "train", step: 20, loss: 7 },
  { kind: "valid", step: 20, loss: 7.5 },
  { kind: "train", step: 30, loss: 5 },
  { kind: "valid", step: 30, loss: 5.5, perplexity: 245 },
];

const trace = (f: Figure, name: string) => {
  const t = f.data.find((t) => t.name === name);
  assert(t, `no trace "${name}" in ${f.data.map((t) => t.name).join(", ")}`);
  return t;
};
const axisTitle = (f: Figure, axis: "xaxis" | "yaxis") =>
  titleText((f.layout[axis] as { title: unknown }).title);

Deno.test("lossCurve: train line, validation markers, paper ln 18.4 across the step range", () => {
  const f = lossCurve(LOG);
  assertEquals(trace(f, "train loss").x, [10, 20, 30]);
  assertEquals(trace(f, "train loss").y, [9, 7, 5]);
  assertEquals(trace(f, "validation loss").y, [7.5, 5.5]);
  const paper = f.data.find((t) => t.name.startsWith("paper"))!;
  assertEquals(paper.x, [10, 30]);
  assert(Math.abs((paper.y[0] as number) - Math.log(18.4)) < 1e-12);
  assertEquals((paper.line as { dash: string }).dash, "dash");
  assert(axisTitle(f, "yaxis").includes("nats"));
  assertEquals(lossCurve(LOG, { paper: false }).data.length, 2);
});

Deno.test("lossCurve: smoothing is an exponential moving average of the train loss", () => {
  const y = trace(lossCurve(LOG, { smooth: 0.5 }), "train loss").y as number[];
  // m0 = 9; m1 = .5*9 + .5*7 = 8; m2 = .5*8 + .5*5 = 6.5
  assertEquals(y, [9, 8, 6.5]);
  assertEquals(lossCurve([]).data[0].x, []); // empty log: empty traces, no throw
});

Deno.test("perplexityCurve: exp(loss) unless the record has a perplexity; log y; paper 18.4", () => {
  const f = perplexityCurve(LOG);
  const v = trace(f, "validation perplexity").y as number[];
  assert(Math.abs(v[0] - Math.exp(7.5)) < 1e-9);
  assertEquals(v[1], 245);
  assertEquals((f.layout.yaxis as { type: string }).type, "log");
  assert(f.data.some((t) => t.name.startsWith("paper") && t.y[0] === 18.4));
});

const CELLS: Table5Point[] = [
  { task: "cola", variant: "no-pretrain", metric: "mcc", value: 2.0, paper: 18.9 },
  { task: "cola", variant: "full", metric: "mcc", value: 10.5, paper: 45.4 },
  { task: "sst2", variant: "full", metric: "acc", value: 80.1, paper: 91.3 },
  { task: "snli", variant: "full", metric: "acc", value: 60.0, paper: null },
];

Deno.test("table5Chart: ours and paper bars per variant, tasks in order, gaps as null", () => {
  const f = table5Chart(CELLS);
  assertEquals(f.layout.barmode, "group");
  const full = trace(f, "this run: Transformer w/ aux LM (full)");
  assertEquals(full.x, ["cola (mc)", "sst2 (acc)", "snli (acc)"]);
  assertEquals(full.y, [10.5, 80.1, 60.0]);
  assertEquals(trace(f, "paper: Transformer w/ aux LM (full)").y, [45.4, 91.3, null]);
  // the paper's row order: full before no-pretrain, whatever the cell order
  assert(
    f.data.findIndex((t) => t.name.includes("full")) <
      f.data.findIndex((t) => t.name.includes("w/o pre")),
  );
  assertEquals(trace(f, "this run: Transformer w/o pre-training").y, [2.0, null, null]);
  assertEquals(table5Paper("no-aux", "cola"), TABLE5.rows[2].scores.cola);
  assertEquals(table5Paper("nope", "cola"), null);
});

Deno.test("barsVsPaper: this run, GPT-1 as published, best other method per column", () => {
  const f = barsVsPaper(TABLE4, { cola: 12.5, sst2: 81 });
  assertEquals(f.data[0].x, TABLE4.columns.map((c) => c.label));
  assertEquals(f.data[0].y.slice(0, 3), [12.5, 81, null]);
  const gpt = TABLE4.rows.find((r) => r.ours)!;
  assertEquals(f.data[1].y, TABLE4.columns.map((c) => gpt.scores[c.key]));
  const best = trace(f, "paper: best other method");
  // CoLA: Single-task BiLSTM + ELMo + Attn 35.0; SST-2: Sparse byte mLSTM 93.2 (Table 4)
  assertEquals(best.y.slice(0, 2), [35.0, 93.2]);
  assertEquals((best.text as string[])[1], "Sparse byte mLSTM [16]");
  assert(titleText(f.layout.title).startsWith("Table 4"));
  assertEquals(barsVsPaper(TABLE2, {}, { previousBest: false }).data.length, 2);
});

Deno.test("layersChart: ours sorted by layers, paper RACE and MNLI curves from FIGURE2_LAYERS", () => {
  const rows = [
    { nTransfer: 12, train: 90, valid: 70 },
    { nTransfer: 0, train: 60, valid: 50 },
  ];
  const f = layersChart(rows, FIGURE2_LAYERS, { task: "RTE" });
  assertEquals(trace(f, "RTE: validation").x, [0, 12]);
  assertEquals(trace(f, "RTE: validation").y, [50, 70]);
  assertEquals(trace(f, "RTE: train").y, [60, 90]);
  assertEquals(trace(f, "paper: RACE dev").y, [...FIGURE2_LAYERS.raceDev]);
  assertEquals(trace(f, "paper: MultiNLI train").y, [...FIGURE2_LAYERS.mnliTrain]);
  assertEquals(layersChart(rows, FIGURE2_LAYERS, { paper: "race" }).data.length, 4);
  assertEquals(layersChart(rows, null).data.length, 2);
  // rows carrying a task are grouped by it
  const two = layersChart([{ ...rows[0], task: "a" }, { ...rows[1], task: "b" }], null);
  assertEquals(two.data.map((t) => t.name), [
    "a: validation",
    "a: train",
    "b: validation",
    "b: train",
  ]);
});

Deno.test("zeroShotChart: aliases, log x, step 0 left out, paper dashed, LSTM hidden", () => {
  const rows = [
    { step: 0, task: "sst2", relative: 0.0 },
    { step: 100, task: "sst2", relative: 0.2, raw: 0.6 },
    { step: 10, task: "sst2", relative: 0.1 },
    { step: 100, task: "cola", relative: 0.05 },
  ];
  const f = zeroShotChart(rows);
  assertEquals((f.layout.xaxis as { type: string }).type, "log");
  const s = trace(f, "this run: sentiment (SST-2)");
  assertEquals(s.x, [10, 100]);
  assertEquals(s.y, [0.1, 0.2]);
  const paperT = f.data.filter((t) => t.name.startsWith("paper Transformer"));
  assertEquals(paperT.length, 4);
  const sentPaper = paperT.find((t) => t.name.includes("sentiment"))!;
  assertEquals(sentPaper.y, [...FIGURE2_ZEROSHOT.curves[0].values]);
  assertEquals((sentPaper.line as { color: string }).color, (s.line as { color: string }).color);
  assert(
    f.data.filter((t) => t.name.startsWith("paper LSTM")).every((t) => t.visible === "legendonly"),
  );
  assertEquals(zeroShotChart(rows, FIGURE2_ZEROSHOT, { lstm: "none" }).data.length, 2 + 4);
  assertEquals(zeroShotChart(rows, null).data.length, 2);
});

Deno.test("zeroShotChart: rows of zeroshot.ts (heuristic, dataset); two QA tasks share a colour", () => {
  const rows = [
    { step: 16, task: "race", heuristic: "qa", dataset: "RACE", relative: 0.1, raw: 30 },
    { step: 16, task: "storycloze", heuristic: "qa", dataset: "Story Cloze", relative: 0.2 },
    { step: 16, task: "wsc", heuristic: "winograd", dataset: "WSC273", relative: 0.3 },
  ];
  const f = zeroShotChart(rows, FIGURE2_ZEROSHOT, { lstm: "none" });
  const race = trace(f, "this run: question answering (RACE)");
  const sc = trace(f, "this run: question answering (Story Cloze)");
  const wsc = trace(f, "this run: Winograd (WSC273)");
  const col = (t: typeof race) => (t.line as { color: string }).color;
  const sym = (t: typeof race) => (t.marker as { symbol: string }).symbol;
  assertEquals(col(race), col(sc));
  assert(sym(race) !== sym(sc));
  assert(col(race) !== col(wsc));
  assertEquals(col(trace(f, "paper Transformer: question answering (RACE)")), col(race));
  // heuristic order of Figure 2: winograd before qa
  assert(f.data.indexOf(wsc) < f.data.indexOf(race));
  assertEquals(race.text, ["raw 30.0"]);
});

Deno.test("every chart has a title and axis titles; summaries name every trace", () => {
  const figs = [
    lossCurve(LOG),
    perplexityCurve(LOG),
    table5Chart(CELLS),
    barsVsPaper(TABLE2, { snli: 70 }),
    layersChart([{ nTransfer: 1, train: 1, valid: 1 }]),
    zeroShotChart([{ step: 5, task: "qa", relative: 0.1 }]),
    lineChart([{ name: "s", x: [1, 2], y: [3, 4] }], {
      title: "T",
      x: "x (u)",
      y: "y (v)",
      logX: true,
    }),
  ];
  for (const f of figs) {
    assert(isFigure(f));
    assert(titleText(f.layout.title).length > 0);
    assert(axisTitle(f, "xaxis").length > 0 && axisTitle(f, "yaxis").length > 0);
    const s = figureSummary(f);
    for (const t of f.data) assert(s.includes(t.name), `${t.name} missing from summary`);
  }
  assertEquals(
    figureSummary(
      lineChart([{ name: "s", x: [1, 2], y: [3, 4.25] }], { title: "T", x: "x", y: "y" }),
    ),
    "T\n  s: 2 points, y 3 … 4.25, last 4.25",
  );
});

Deno.test("plotBundle: plotly MIME + text fallback, small (no plotly.js inside)", () => {
  const f = lossCurve(LOG);
  const b = plotBundle(f);
  assertEquals(Object.keys(b).sort(), [PLOTLY_MIME, "text/plain"].sort());
  assertEquals(b[PLOTLY_MIME], f);
  assert(JSON.stringify(b).length < 20_000);
  assert(isMimeBundle(b));
  assert(!isMimeBundle({ data: [], layout: {} }));
});

// ---------------------------------------------------------------------------------------
// jupyter.ts with a recorded fake kernel

type Call = { obj: Record<string, unknown>; opts: Record<string, unknown> };
function recorder(): JupyterApi & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    display(obj, opts) {
      calls.push({
        obj: obj as Record<string, unknown>,
        opts: (opts ?? {}) as Record<string, unknown>,
      });
      return Promise.resolve();
    },
  };
}

Deno.test("display: raw bundle to the kernel; text/plain on stdout outside a notebook", async () => {
  const k = recorder();
  setJupyterApi(k);
  try {
    assert(inNotebook());
    await display(lossCurve(LOG));
    assertEquals(k.calls.length, 1);
    assertEquals(k.calls[0].opts, { raw: true });
    assert(PLOTLY_MIME in k.calls[0].obj);
    await display({ "text/plain": "x" }, { displayId: "d1", update: true });
    assertEquals(k.calls[1].opts, { raw: true, display_id: "d1", update: true });
    await showTable([{ a: 1 }], { caption: "cap" });
    assert(String(k.calls[2].obj["text/html"]).includes("<caption>cap</caption>"));
    await assertRejects(
      () => display({ "text/plain": "x".repeat(MAX_OUTPUT_BYTES + 1) }),
      RangeError,
    );
    await assertRejects(() => display({ nope: 1 } as never), TypeError);
  } finally {
    setJupyterApi(undefined);
  }
  setJupyterApi(null);
  const logged: unknown[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => logged.push(...a);
  try {
    assert(!inNotebook());
    await display(lineChart([{ name: "s", x: [1], y: [2] }], { title: "T", x: "x", y: "y" }));
  } finally {
    console.log = orig;
    setJupyterApi(undefined);
  }
  assertEquals(logged, ["T\n  s: 1 points, y = 2"]);
});

Deno.test("liveDisplay: one display, then in-place updates with the same id; throttled", async () => {
  const k = recorder();
  setJupyterApi(k);
  try {
    const p = liveDisplay("train", { intervalMs: 60_000 });
    for (let i = 1; i <= 50; i++) p.update({ done: i, total: 100, fields: { loss: 1 / i } });
    p.update({ done: 100, total: 100 }); // final state always sent
    p.finish("done");
    await p.flush();
    assertEquals(k.calls.length, 3);
    assertEquals(k.calls[0].opts, { raw: true, display_id: p.id });
    assertEquals(k.calls[1].opts, { raw: true, display_id: p.id, update: true });
    assertEquals(k.calls[2].opts.update, true);
    assert(String(k.calls[0].obj["text/plain"]).startsWith("train 1/100"));
    assert(String(k.calls[1].obj["text/html"]).includes('<progress value="100" max="100"'));
    assert(String(k.calls[2].obj["text/plain"]).startsWith("train done"));
  } finally {
    setJupyterApi(undefined);
  }
});

Deno.test("liveDisplay: a failing kernel call surfaces at flush", async () => {
  setJupyterApi({ display: () => Promise.reject(new Error("iopub closed")) });
  try {
    const p = liveDisplay("x");
    p.update({ done: 1 });
    await assertRejects(() => p.flush(), /iopub closed/);
  } finally {
    setJupyterApi(undefined);
  }
});

Deno.test("tableBundle / progressBundle: HTML escaped, text fallback aligned", () => {
  const b = tableBundle([{ name: "<b>", v: 1.25 }, { name: "x", v: null }], { digits: 2 });
  assert(String(b["text/html"]).includes("&lt;b&gt;"));
  assert(String(b["text/html"]).includes("1.25"));
  assertEquals(String(b["text/plain"]).split("\n")[3], "x        –");
  const p = progressBundle("a < b", { done: 3 });
  assert(!String(p["text/html"]).includes("<progress")); // no total: no bar
  assert(String(p["text/html"]).includes("a &lt; b"));
});

Deno.test("figureBundle: plotly MIME first, classic-Notebook HTML that loads plotly.js by URL, text", () => {
  const f = lossCurve(LOG);
  const b = figureBundle(f, "../node_modules/plotly.js-dist-min/plotly.min.js");
  assertEquals(Object.keys(b), [PLOTLY_MIME, "text/html", "text/plain"]); // VS Code takes the first
  assertEquals(b[PLOTLY_MIME], f);
  const html = String(b["text/html"]);
  assert(html.includes('"../node_modules/plotly.js-dist-min/plotly.min.js"'));
  assert(html.includes("files/"), "loads through the notebook server's /files/ route");
  assert(html.includes("<pre>Pre-training loss"), "the text summary shows until the chart draws");
  assert(html.length < 20_000, `no plotly.js inside (${html.length} chars)`);
  assert(!html.includes("Copyright 2012"), "plotly.js is not inlined");
});

Deno.test("classicNotebookHtml: figure JSON is script-safe and `$` patterns survive", () => {
  const f = lineChart([{ name: "</script><b>$&$1", x: [1], y: [2] }], {
    title: "t",
    x: "x",
    y: "y",
  });
  const html = classicNotebookHtml(f, "p.js", "fig-1");
  assertEquals(html.match(/<\/script>/g)?.length, 1, "only the closing tag of the loader");
  assert(
    html.includes("\\u003c/script\\u003e\\u003cb\\u003e$&$1"),
    "the name is kept verbatim, escaped",
  );
  assert(html.startsWith('<div id="fig-1" class="gpt1-nb-figure"'));
  const js = html.slice(html.indexOf("<script>") + 8, html.lastIndexOf("</script>"));
  new Function(js); // the loader parses (throws a SyntaxError otherwise)
});

Deno.test("plotlyPathFrom: relative to the notebook's folder, / separators, file installed", () => {
  assertEquals(
    plotlyPathFrom(join(ROOT, "notebooks")),
    "../node_modules/plotly.js-dist-min/plotly.min.js",
  );
  assert(Deno.statSync(PLOTLY_JS_FILE).size > 1_000_000, "deno install puts plotly.js there");
});
