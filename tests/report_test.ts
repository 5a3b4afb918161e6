/**
 * Tests of lib/report.ts (Markdown subset, tables, the offline page), notebooks/export.ts (HTML
 * export of an executed notebook), notebooks/run.ts (the checks on executed notebooks), and a
 * type check of every notebook's code (the Deno kernel does none). No browser, no kernel.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows, ROOT } from "./_util.ts";
import {
  environmentRows,
  escapeHtml,
  figureTitles,
  formatCell,
  htmlPage,
  markdownToHtml,
  packageVersion,
  paperTableRows,
  plotlyJsSource,
  renderReport,
  scriptJson,
  stripAnsi,
  tableHtml,
  tableText,
  writeReport,
} from "../lib/report.ts";
import { resultSections } from "../lib/sections.ts";
import { lineChart, lossCurve } from "../lib/plot.ts";
import { type Figure, PLOTLY_MIME } from "../lib/_plot.ts";
import { TABLE2, TABLE4 } from "../lib/paper.ts";
import { DataError } from "../lib/errors.ts";
import {
  exportNotebook,
  type Notebook,
  notebookToHtml,
  readNotebook,
} from "../notebooks/export.ts";
import { checkExecuted, listNotebooks, MAX_OUTPUT_BYTES } from "../notebooks/run.ts";

const FIG: Figure = lineChart([{ name: "s", x: [1, 2], y: [3, 4] }], {
  title: "T </script> & co",
  x: "x (u)",
  y: "y (v)",
});
const FAKE_PLOTLY = "window.Plotly = { newPlot() { return Promise.resolve(); } }; /*FAKE-PLOTLY*/";
const count = (s: string, sub: string) => s.split(sub).length - 1;

Deno.test("escapeHtml, stripAnsi, scriptJson", () => {
  assertEquals(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
  assertEquals(stripAnsi("\x1b[31mError\x1b[0m: \x1b[1;33mboom\x1b[39m"), "Error: boom");
  const j = scriptJson({ t: "</script><!--", u: "\u2028" });
  assert(!j.includes("</script") && !j.includes("<!--"));
  assertEquals(JSON.parse(j), { t: "</script><!--", u: "\u2028" });
});

Deno.test("markdownToHtml: headings, paragraphs, lists, code, tables, quotes, inline marks", () => {
  assertEquals(
    markdownToHtml("# T\n\nSome *it* and **b**,\nwrapped."),
    "<h1>T</h1>\n<p>Some <em>it</em> and <strong>b</strong>, wrapped.</p>",
  );
  assertEquals(
    markdownToHtml("- a\n- `x<y`\n\n1. one\n2. two"),
    "<ul><li>a</li><li><code>x&lt;y</code></li></ul>\n<ol><li>one</li><li>two</li></ol>",
  );
  assertEquals(
    markdownToHtml("```ts\nconst a = 1 < 2;\n```"),
    "<pre><code>const a = 1 &lt; 2;</code></pre>",
  );
  assertEquals(
    markdownToHtml("| a | b |\n|---|--:|\n| 1 | *2* |"),
    "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td><em>2</em></td></tr></tbody></table>",
  );
  assertEquals(markdownToHtml("> quoted\n\n---"), "<blockquote><p>quoted</p></blockquote>\n<hr>");
  assertEquals(
    markdownToHtml("[GPT-1](https://x.y/z) <b>"),
    '<p><a href="https://x.y/z">GPT-1</a> &lt;b&gt;</p>',
  );
  // snake_case and `</w>` stay as they are
  assertEquals(
    markdownToHtml("text_standardize keeps `</w>`"),
    "<p>text_standardize keeps <code>&lt;/w&gt;</code></p>",
  );
});

Deno.test("tables: arquero HTML, aligned text, '–' for missing, integer columns stay integers", () => {
  const rows = [{ task: "cola", ours: 12.345, n: 1043 }, {
    task: "sst2",
    ours: null,
    n: 872,
    extra: "x",
  }];
  const html = tableHtml(rows);
  assert(html.startsWith("<table>") && html.includes("<th"));
  assert(html.includes(">12.3<") && html.includes(">1043<") && html.includes(">–<"));
  assertEquals(count(html, "<tr>"), 3);
  assertEquals(tableText(rows).split("\n"), [
    "task  ours     n  extra",
    "----  ----  ----  -----",
    "cola  12.3  1043  –",
    "sst2     –   872  x",
  ]);
  assertEquals(formatCell(NaN), "–");
  assertEquals(formatCell(2, 2), "2.00");
  assertEquals(tableHtml([]), "<table></table>");
});

Deno.test("paperTableRows: the paper's rows in order, ensembles marked, this run appended", () => {
  const rows = paperTableRows(TABLE2, { snli: 70.25, rte: 55 });
  assertEquals(rows.length, TABLE2.rows.length + 1);
  assertEquals(rows[0].method, "ESIM + ELMo [44] (5x)");
  assertEquals(rows[0]["SNLI"], 89.3);
  assertEquals(rows[0]["MNLI-m"], null);
  assertEquals(rows.at(-1), {
    method: "this run",
    "MNLI-m": null,
    "MNLI-mm": null,
    SNLI: 70.25,
    SciTail: null,
    QNLI: null,
    RTE: 55,
  });
  assertEquals(paperTableRows(TABLE4).length, TABLE4.rows.length);
});

Deno.test("renderReport: plotly.js inlined once, one div + JSON per figure, tables, no plotly without figures", () => {
  const fig2 = lossCurve([{ kind: "train", step: 1, loss: 3 }]);
  const html = renderReport([
    { title: "A & B", text: "Hello *world*.", figures: [FIG, fig2] },
    {
      title: "Tables",
      tables: [{ caption: "cap", rows: [{ a: 1.5 }] }],
      html: "<p id=raw>raw</p>",
    },
  ], { title: "R", subtitle: "run x", plotlyJs: FAKE_PLOTLY });
  assertEquals(count(html, "FAKE-PLOTLY"), 1);
  assertEquals(count(html, 'class="gpt1-figure"'), 2);
  const m = html.match(/<script type="application\/json" id="fig-1-json">(.*?)<\/script>/s);
  assert(m, "figure JSON missing");
  assertEquals(JSON.parse(m[1]), FIG);
  assert(html.includes("<table><caption>cap</caption>"));
  assert(
    html.includes("<h2>A &amp; B</h2>") && html.includes("<em>world</em>") &&
      html.includes("<p id=raw>"),
  );
  assert(html.includes('<a href="#s2">Tables</a>'));
  const plain = renderReport([{ title: "x", text: "no charts" }], { plotlyJs: FAKE_PLOTLY });
  assertEquals(count(plain, "FAKE-PLOTLY"), 0);
  assertThrows(() => htmlPage({ title: "t", body: '<div class="gpt1-figure" id="f"></div>' }));
  assertEquals(figureTitles([{ title: "x", figures: [FIG, fig2] }]), [
    "T </script> & co",
    "Pre-training loss",
  ]);
});

Deno.test("writeReport: reads plotly.js from the npm package and writes one self-contained page", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plotly = await plotlyJsSource();
    assert(plotly.length > 1_000_000, "plotly.js looks too small");
    const r = await writeReport(join(dir, "sub", "report.html"), [{ title: "s", figures: [FIG] }], {
      plotlyJs: plotly,
    });
    const html = await Deno.readTextFile(r.path);
    assertEquals(r.figures, 1);
    assertEquals(count(html, plotly.slice(200, 400)), 1); // inlined exactly once
    assert(!/<script[^>]+src=/.test(html), "no external scripts");
    assert(r.bytes >= plotly.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("environmentRows / packageVersion: versions of Deno and the npm packages", async () => {
  const rows = await environmentRows();
  assertEquals(rows[0], { component: "Deno", version: Deno.version.deno });
  assert(
    /^\d+\.\d+\.\d+/.test(
      String(rows.find((r) => String(r.component).startsWith("plotly.js-dist"))!.version),
    ),
  );
  assertEquals(await packageVersion("no-such-package-here"), null);
});

// ---------------------------------------------------------------------------------------
// notebooks/export.ts and notebooks/run.ts on synthetic notebooks

function notebook(cells: Notebook["cells"]): Notebook {
  return { cells, metadata: {}, nbformat: 4, nbformat_minor: 5 };
}
const code = (source: string, outputs: Notebook["cells"][0]["outputs"], extra = {}) => ({
  cell_type: "code",
  source,
  outputs,
  execution_count: 1,
  metadata: {},
  ...extra,
});

Deno.test("notebookToHtml: markdown, code, streams, errors (ANSI stripped), HTML, images, figures", () => {
  const nb = notebook([
    { cell_type: "markdown", source: ["# Title\n", "Some *prose*."] },
    code("console.log(1)", [{ output_type: "stream", name: "stdout", text: ["1\n"] }]),
    code("fig", [{ output_type: "display_data", data: { [PLOTLY_MIME]: FIG, "text/plain": "T" } }]),
    code("html", [{
      output_type: "execute_result",
      data: { "text/html": "<b>bold</b>", "text/plain": "b" },
    }]),
    code("png", [{ output_type: "display_data", data: { "image/png": "iVBORw0K\nGgo=" } }]),
    code("md", [{
      output_type: "display_data",
      data: { "text/markdown": "**md**", "text/plain": "md" },
    }]),
    code("throw", [{
      output_type: "error",
      ename: "Error",
      evalue: "boom",
      traceback: ["\x1b[31mError: boom\x1b[0m"],
    }]),
    { cell_type: "raw", source: "ignored" },
  ]);
  const { html, figures } = notebookToHtml(nb, { title: "nb", plotlyJs: FAKE_PLOTLY });
  assertEquals(figures, 1);
  assertEquals(count(html, "FAKE-PLOTLY"), 1);
  assert(html.includes("<h1>Title</h1>") && html.includes("<em>prose</em>"));
  assert(
    html.includes("<pre><code>console.log(1)</code></pre>") && html.includes("<pre>1\n</pre>"),
  );
  assert(html.includes("<b>bold</b>") && html.includes("<strong>md</strong>"));
  assert(html.includes('src="data:image/png;base64,iVBORw0KGgo="'));
  assert(html.includes('<div class="output-error"><pre>Error: boom</pre>'));
  assert(!html.includes("ignored"));
  // no figures: no plotly.js needed
  const plain = notebookToHtml(notebook([nb.cells[0]]), { title: "x" });
  assertEquals(plain.figures, 0);
});

Deno.test("exportNotebook: writes <name>.html beside the notebook; bad input is a DataError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "a.ipynb");
    await Deno.writeTextFile(
      p,
      JSON.stringify(
        notebook([code("x", [{ output_type: "display_data", data: { [PLOTLY_MIME]: FIG } }])]),
      ),
    );
    const r = await exportNotebook(p, undefined, { plotlyJs: FAKE_PLOTLY });
    assertEquals(r.path, join(dir, "a.html"));
    assertEquals(r.figures, 1);
    assert((await Deno.readTextFile(r.path)).includes("<title>a</title>"));
    await Deno.writeTextFile(p, "{ not json");
    await assertRejects(() => readNotebook(p), DataError);
    await Deno.writeTextFile(p, "{}");
    await assertRejects(() => readNotebook(p), DataError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkExecuted: errors, missing outputs, unexecuted cells, empty charts, huge outputs", () => {
  const good = notebook([
    { cell_type: "markdown", source: "# x" },
    code("1", [{ output_type: "execute_result", data: { "text/plain": "1" } }]),
    code("const a = 1;", [], { metadata: { tags: ["no-output"] } }),
    code("   ", [], { execution_count: null }),
  ]);
  assertEquals(checkExecuted(good), []);
  const bad = notebook([
    code("lost()", []),
    code("boom()", [{ output_type: "error", ename: "TypeError", evalue: "x is not a function" }]),
    code("never()", [], { execution_count: null }),
    code("fig", [{
      output_type: "display_data",
      data: { [PLOTLY_MIME]: { data: [], layout: {} } },
    }]),
    code("big", [{ output_type: "stream", name: "stdout", text: "x".repeat(MAX_OUTPUT_BYTES) }]),
  ]);
  const p = checkExecuted(bad);
  assertEquals(p.length, 5);
  assert(p[0].startsWith("cell 1 (lost()): no output"));
  assert(p[1].includes("TypeError: x is not a function"));
  assert(p[2].includes("not executed"));
  assert(p[3].includes("a chart without traces"));
  assert(p[4].includes("> 1 MB"));
});

Deno.test("notebooks: committed without outputs, kernel 'deno', and their code type-checks", async () => {
  const nbs = listNotebooks();
  assert(nbs.length >= 2, "expected at least 00_setup and 01_tokenizer");
  const dir = await Deno.makeTempDir();
  try {
    for (const path of nbs) {
      const nb = await readNotebook(path);
      assertEquals((nb.metadata.kernelspec as { name: string }).name, "deno", path);
      const cells = nb.cells.filter((c) => c.cell_type === "code");
      for (const c of cells) {
        assertEquals(c.outputs ?? [], [], `${path}: commit notebooks without outputs`);
      }
      // one module per notebook; relative lib imports made absolute so it can live in a temp dir
      const src = cells.map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source))
        .join("\n;\n").replaceAll('"../lib/', `"${ROOT}/lib/`);
      const file = join(dir, path.split("/").pop()!.replace(".ipynb", ".ts"));
      await Deno.writeTextFile(file, src + "\nexport {};\n");
    }
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "check",
        "--quiet",
        "--config",
        join(ROOT, "deno.json"),
        ...[...Deno.readDirSync(dir)].map((e) => join(dir, e.name)),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert(r.success, `notebook code does not type-check:\n${err.slice(0, 3000)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kernelspec: project kernel 'deno' runs `deno jupyter --kernel`, message interrupts", async () => {
  const spec = JSON.parse(
    await Deno.readTextFile(join(ROOT, "notebooks", "kernel", "kernels", "deno", "kernel.json")),
  );
  assertEquals(spec.argv, ["deno", "jupyter", "--kernel", "--conn", "{connection_file}"]);
  assertEquals(spec.interrupt_mode, "message");
  assertEquals(spec.language, "typescript");
  assertEquals(spec.env.NO_COLOR, "1");
});

/** Writes a small set of result files like the pipeline does; returns their paths. */
async function fakeResults(dir: string) {
  const run = join(dir, "run");
  await Deno.mkdir(run, { recursive: true });
  const log = [
    ...Array.from(
      { length: 20 },
      (_, i) => ({ kind: "train", step: 10 * (i + 1), loss: 9 - i / 4 }),
    ),
    { kind: "valid", step: 100, loss: 7.2, perplexity: Math.exp(7.2) },
    { kind: "valid", step: 200, loss: 5.1, perplexity: Math.exp(5.1) },
  ];
  await Deno.writeTextFile(
    join(run, "log.jsonl"),
    log.map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  const cell = (
    task: string,
    variant: string,
    metric: string,
    value: number,
    paper: number | null,
  ) => ({
    task,
    variant,
    metric,
    value,
    paper,
    split: "dev",
    n: 100,
    nTrain: 1000,
    run: "x",
  });
  const table5 = join(dir, "table5.json");
  await Deno.writeTextFile(
    table5,
    JSON.stringify({
      cells: [
        cell("cola", "full", "mcc", 10.5, 45.4),
        cell("cola", "no-pretrain", "mcc", 1.5, 18.9),
        cell("cola", "no-aux", "mcc", 9.5, 47.9),
        cell("sst2", "full", "acc", 78.0, 91.3),
        cell("snli", "full", "acc", 60.0, null),
        cell("storycloze", "full", "acc", 55.0, null),
      ],
    }),
  );
  const zeroshot = join(dir, "zeroshot.json");
  await Deno.writeTextFile(
    zeroshot,
    JSON.stringify({
      rows: [16, 64, 256].flatMap((step) => [
        {
          step,
          task: "sst2",
          heuristic: "sentiment",
          dataset: "SST-2",
          relative: step / 1000,
          raw: 50 + step / 20,
        },
        {
          step,
          task: "wsc",
          heuristic: "winograd",
          dataset: "WSC273",
          relative: step / 2000,
          raw: 51,
        },
      ]),
    }),
  );
  const layers = join(dir, "layers.json");
  await Deno.writeTextFile(
    layers,
    JSON.stringify({
      rows: [0, 1, 3].map((n) => ({ nTransfer: n, train: 60 + n, valid: 55 + n })),
    }),
  );
  return { run, table5, zeroshot, layers };
}

Deno.test("resultSections: every chart and side-by-side table from the result files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await fakeResults(dir);
    const s = await resultSections(files);
    assertEquals(s.map((x) => x.title.split(":")[0]), [
      "Pre-training",
      "Table 2",
      "Table 3",
      "Table 4",
      "Table 5",
      "Figure 2 (left)",
      "Figure 2 (right)",
    ]);
    assertEquals(s.map((x) => x.figures?.length ?? 0), [2, 1, 1, 1, 1, 1, 1]);
    assert(s[0].text!.includes("last validation loss 5.100"));
    // Table 2 gets SNLI from the full Table 5 cell; Table 3 Story Cloze; Table 4 CoLA and SST-2
    assertEquals(s[1].tables![0].rows.at(-1)!["SNLI"], 60);
    assertEquals(s[2].tables![0].rows.at(-1)!["Story Cloze"], 55);
    assertEquals(s[3].tables![0].rows.at(-1)!["CoLA (mc)"], 10.5);
    const t5 = s[4].tables![0].rows;
    assertEquals(t5[0], {
      method: "Transformer w/ aux LM (full)",
      cola: 10.5,
      "cola (paper)": 45.4,
      sst2: 78,
      "sst2 (paper)": 91.3,
      snli: 60,
      "snli (paper)": null,
      storycloze: 55,
      "storycloze (paper)": null,
    });
    assert(s[6].figures![0].data.some((t) => t.name === "this run: Winograd (WSC273)"));
    // explicit scores win over the Table 5 cells
    const t = await resultSections({ ...files, scores: { cola: 1 } });
    assertEquals(t[3].tables![0].rows.at(-1)!["CoLA (mc)"], 1);
    // nothing there: the paper alone, no throw
    const empty = await resultSections({ run: join(dir, "nope"), table5: join(dir, "nope.json") });
    assertEquals(empty.length, 7);
    assertEquals(empty[0].figures, []);
    assertEquals(empty[4].tables![0].caption, "Table 5 (paper)");
    await Deno.writeTextFile(join(dir, "bad.json"), "{");
    await assertRejects(() => resultSections({ table5: join(dir, "bad.json") }), DataError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
