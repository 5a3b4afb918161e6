/**
 * Real-browser checks (headless Chromium driven by playwright-core):
 * 1. every chart builder of lib/plot.ts, written into an offline report by lib/report.ts, draws;
 * 2. every notebook executes at `smoke` scale on the project's Deno kernel (notebooks/run.ts),
 *    its HTML export opens offline, and every chart in it draws;
 * 3. `deno task reproduce` (smoke) prints the path of a report whose charts all draw offline.
 * "Draws" means: the figure's SVG exists and its traces have data marks (paths with geometry),
 * and the page raised no error. Screenshots go to `results/browser/` and `results/notebooks/`.
 *
 * Skips with one line when Chromium (`$GPT1_CHROMIUM`, default /usr/bin/chromium) or Jupyter
 * (Debian's python3-nbclient) is not installed; `.ci/run` installs both.
 */
import { join } from "node:path";
import { chromium } from "playwright-core";
import { assert, assertEquals, needShared, ROOT } from "./_util.ts";
import { lineChart, lossCurve, perplexityCurve } from "../lib/plot.ts";
import { barsVsPaper, layersChart, table5Chart, zeroShotChart } from "../lib/paper_charts.ts";
import { FIGURE2_LAYERS, FIGURE2_ZEROSHOT, TABLE2, TABLE3, TABLE4 } from "../lib/paper.ts";
import { paperTableRows, writeReport } from "../lib/report.ts";
import { jupyterAvailable, listNotebooks, python, runNotebooks } from "../notebooks/run.ts";
import { readNotebook } from "../notebooks/export.ts";
import { layoutSections } from "../lib/sections.ts";
import { committedLayout } from "../lib/runs.ts";

const CHROMIUM = Deno.env.get("GPT1_CHROMIUM") ?? "/usr/bin/chromium";
const haveChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
const haveJupyter = await jupyterAvailable();
if (!haveChromium) console.log(`SKIP browser: ${CHROMIUM} not found (apt-get install chromium)`);
if (!haveJupyter) {
  console.log(
    `SKIP notebooks: ${python()} has no nbclient (apt-get install ` +
      "jupyter-nbconvert jupyter-core jupyter-client python3-nbclient)",
  );
}

/** What a page showed: per figure, whether its SVG exists and how many data marks it has. */
interface PageCheck {
  figures: { id: string; svg: boolean; marks: number; title: string }[];
  errors: string[];
}

/** Runs in the page (a string: the test is type-checked without DOM types). */
const PROBE = `[...document.querySelectorAll(".gpt1-figure")].map((div) => ({
  id: div.id,
  svg: div.querySelector("svg.main-svg") !== null,
  marks: [...div.querySelectorAll(".scatterlayer .trace path, .barlayer .trace path")].filter((p) => {
    const d = p.getAttribute("d") || "";
    return d.length > 0 && d !== "M0,0Z" && !d.includes("NaN");
  }).length,
  title: div.querySelector(".gtitle")?.textContent ?? "",
}))`;

/**
 * Opens `file` offline, waits for every figure, counts each figure's data marks (paths with
 * geometry inside scatter / bar traces), takes a screenshot, and returns what it saw.
 */
async function checkPage(file: string, screenshot: string): Promise<PageCheck> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.route(/^https?:/, (route) => route.abort()); // offline: any network use fails
    await page.goto(`file://${file}`, { waitUntil: "load", timeout: 60_000 });
    await page.evaluate(() =>
      (globalThis as unknown as { gpt1Figures?: Promise<unknown> }).gpt1Figures
    );
    const figures = await page.evaluate(PROBE) as PageCheck["figures"];
    await page.screenshot({ path: screenshot, fullPage: true });
    return { figures, errors };
  } finally {
    await browser.close();
  }
}

function assertAllDrew(check: PageCheck, where: string): void {
  assertEquals(check.errors, [], `${where}: page errors`);
  for (const f of check.figures) {
    assert(f.svg, `${where}: ${f.id} (${f.title}) has no SVG`);
    assert(f.marks > 0, `${where}: ${f.id} (${f.title}) drew no data marks`);
  }
}

Deno.test({
  name: "browser: every chart builder draws offline in a report (Chromium)",
  ignore: !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const log = Array.from({ length: 30 }, (_, i) => ({
      kind: "train" as const,
      step: 10 * (i + 1),
      loss: 8 * Math.exp(-i / 10) + 3,
    }));
    const valid = [100, 200, 300].map((step) => ({
      kind: "valid" as const,
      step,
      loss: 8 * Math.exp(-step / 100) + 3.2,
    }));
    const figs = [
      lossCurve([...log, ...valid]),
      perplexityCurve([...log, ...valid]),
      table5Chart([
        { task: "cola", variant: "full", metric: "mcc", value: 12, paper: 45.4 },
        { task: "cola", variant: "no-pretrain", metric: "mcc", value: 3, paper: 18.9 },
        { task: "sst2", variant: "full", metric: "acc", value: 80, paper: 91.3 },
      ]),
      barsVsPaper(TABLE2, { snli: 70, rte: 52 }),
      barsVsPaper(TABLE3, { storycloze: 60 }),
      barsVsPaper(TABLE4, { cola: 12, sst2: 80, mrpc: 75, stsb: 40 }),
      layersChart(
        [0, 3, 6, 12].map((n) => ({ nTransfer: n, train: 60 + 2 * n, valid: 50 + n })),
        FIGURE2_LAYERS,
        {
          task: "RTE",
        },
      ),
      zeroShotChart(
        [10, 100, 300].flatMap((step) => [
          { step, task: "sentiment", relative: step / 1000 },
          { step, task: "winograd", relative: step / 2000 },
        ]),
        FIGURE2_ZEROSHOT,
      ),
      lineChart([{ name: "tokens/s", x: [1, 2, 3], y: [900, 950, 940] }], {
        title: "Throughput",
        x: "update",
        y: "tokens / s",
      }),
    ];
    const dir = join(ROOT, "results", "browser");
    await Deno.mkdir(dir, { recursive: true });
    const html = join(dir, "charts.html");
    const r = await writeReport(html, [
      { title: "Pre-training", text: "Synthetic **curves**.", figures: figs.slice(0, 2) },
      {
        title: "Tables",
        figures: figs.slice(2, 6),
        tables: [{ caption: "Table 4", rows: paperTableRows(TABLE4, { cola: 12 }) }],
      },
      { title: "Figure 2", figures: figs.slice(6) },
    ], { title: "chart check" });
    assertEquals(r.figures, figs.length);
    const check = await checkPage(html, join(dir, "charts.png"));
    assertEquals(check.figures.length, figs.length);
    assertAllDrew(check, "charts.html");
  },
});

Deno.test({
  name: "browser: notebooks run at smoke scale, export offline, and every chart draws",
  ignore: !haveChromium || !haveJupyter,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const out = join(ROOT, "results", "notebooks");
    // a notebook whose metadata says it needs ../shared runs only where ../shared is
    const runnable = listNotebooks().filter((p) => {
      const needs = JSON.parse(Deno.readTextFileSync(p)).metadata?.gpt1_lab?.needs_shared;
      return !needs || needShared(`${p.split("/").pop()} (needs ${needs})`);
    });
    const results = await runNotebooks(runnable, {
      outDir: out,
      scale: "smoke",
      timeoutS: 600,
    });
    assert(results.length > 0, "no notebooks found");
    for (const r of results) {
      assert(r.ok, `${r.input}:\n  ${r.problems.join("\n  ")}`);
      const nb = await readNotebook(r.output);
      const nPlots = nb.cells.flatMap((c) => c.outputs ?? [])
        .filter((o) => o.data?.["application/vnd.plotly.v1+json"] !== undefined).length;
      const check = await checkPage(r.html!, r.html!.replace(/\.html$/, ".png"));
      assertEquals(
        check.figures.length,
        nPlots,
        `${r.html}: figures in the page vs plotly outputs`,
      );
      assertAllDrew(check, r.html!);
      console.log(`${r.input.split("/").pop()}: ${r.seconds.toFixed(1)}s, ${nPlots} charts drew`);
    }
  },
});

Deno.test({
  name: "runner: no output lost over 120 fast cells (the kernel's idle-before-output race)",
  ignore: !haveJupyter,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gpt1-nb-stress-" });
    try {
      const cells = Array.from({ length: 120 }, (_, i) => ({
        cell_type: "code",
        id: `c${i}`,
        execution_count: null,
        metadata: {},
        outputs: [],
        source: `console.log("s${i}");\n` +
          `await Deno.jupyter.display({ "text/plain": "d${i}" }, { raw: true });\n"v${i}"`,
      }));
      const nb = {
        cells,
        metadata: { kernelspec: { name: "deno" } },
        nbformat: 4,
        nbformat_minor: 5,
      };
      const path = join(dir, "stress.ipynb");
      await Deno.writeTextFile(path, JSON.stringify(nb));
      const [r] = await runNotebooks([path], { outDir: join(dir, "out"), exportHtml: false });
      assert(r.ok, r.problems.join("\n"));
      const done = await readNotebook(r.output);
      const short = done.cells.filter((c) => (c.outputs ?? []).length !== 3).length;
      assertEquals(short, 0, `${short} of 120 cells lost an output`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "browser: the standard report of the committed results draws offline (Chromium)",
  ignore: !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const res = (p: string) => join(ROOT, "results", p);
    // the committed results: pre-training, Table 5, both layers ablations, zero-shot curves
    const sections = await layoutSections(committedLayout(ROOT));
    const dir = res("browser");
    await Deno.mkdir(dir, { recursive: true });
    const r = await writeReport(join(dir, "report.html"), sections, { title: "gpt1-lab report" });
    const check = await checkPage(r.path, join(dir, "report.png"));
    assertEquals(check.figures.length, r.figures);
    assert(r.figures >= 6, "expected at least Tables 2-4 and both panels of Figure 2");
    assertAllDrew(check, "report.html");
  },
});

Deno.test({
  name: "browser: `deno task reproduce` (smoke) prints a report path; every chart draws offline",
  ignore: !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // the CLI itself; stages the notebooks finished (same folder) are reused, the rest computed
    const t0 = performance.now();
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "cli.ts"), "reproduce"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout).trim();
    const err = new TextDecoder().decode(r.stderr);
    assert(r.success, `reproduce failed:\n${err.slice(-3000)}`);
    const report = out.split("\n").at(-1)!;
    assertEquals(report, join(ROOT, "results", "_scratch", "reproduce-smoke", "report.html"));
    const rec = JSON.parse(
      await Deno.readTextFile(
        join(ROOT, "results", "_scratch", "reproduce-smoke", "reproduce.json"),
      ),
    );
    const nFigures = (await Deno.readTextFile(report)).split('class="gpt1-figure"').length - 1;
    const check = await checkPage(report, report.replace(/\.html$/, ".png"));
    assertEquals(check.figures.length, nFigures);
    assert(nFigures >= 7, `${nFigures} charts: expected pre-training, Tables 2-5, Figure 2`);
    assertAllDrew(check, report);
    console.log(
      `reproduce (smoke): ${((performance.now() - t0) / 1000).toFixed(1)}s, ` +
        rec.stages.map((s: { stage: string; status: string }) => `${s.stage} ${s.status}`).join(
          ", ",
        ) + `; ${nFigures} charts drew`,
    );
  },
});
