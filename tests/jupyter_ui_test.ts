/**
 * The charts in a real Jupyter UI: starts Debian's classic Notebook 6 (`jupyter-notebook`) on
 * 127.0.0.1 with a token, the project's kernelspec (`notebooks/kernel/`, via `JUPYTER_PATH`) and
 * Jupyter's data/config/runtime folders in a temp folder; opens a small notebook that draws every
 * chart kind the lab uses (through `lib/jupyter.ts` `display`, as the notebooks do) in headless
 * Chromium (playwright-core); runs all cells through the UI (Cell > Run All); waits until every
 * cell ran and the kernel is idle; asserts that every chart drew (a `.js-plotly-plot` with its SVG
 * and data marks per chart output) and that no cell errored; saves a screenshot in
 * `results/_scratch/screenshots/` (ignored by git), or over the committed
 * `results/screenshots/classic-notebook.png` with `GPT1_UPDATE_SCREENSHOTS=1`, so a test run
 * does not change the tree.
 *
 * Offline: the page may reach only the notebook server (plotly.js comes from its `/files/`
 * route). Skips with one line when Chromium (`$GPT1_CHROMIUM`, default /usr/bin/chromium) or
 * classic Notebook (`/usr/bin/jupyter-notebook`, Debian's `jupyter-notebook`) is absent;
 * `.ci/run` installs both.
 */
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";
import { assert, assertEquals, ROOT } from "./_util.ts";
import { KERNEL_DIR } from "../notebooks/run.ts";

const CHROMIUM = Deno.env.get("GPT1_CHROMIUM") ?? "/usr/bin/chromium";
const NOTEBOOK_APP = Deno.env.get("GPT1_JUPYTER_NOTEBOOK") ?? "/usr/bin/jupyter-notebook";
const isFile = (p: string) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
};
const haveChromium = isFile(CHROMIUM);
const haveNotebook = isFile(NOTEBOOK_APP);
if (!haveChromium) console.log(`SKIP jupyter UI: ${CHROMIUM} not found (apt-get install chromium)`);
if (!haveNotebook) {
  console.log(`SKIP jupyter UI: ${NOTEBOOK_APP} not found (apt-get install jupyter-notebook)`);
}

/** Where the test notebook is written (ignored by git; inside the served repository). */
const NB_DIR = join(ROOT, "results", "_scratch", "jupyter-ui");
const NB_NAME = "charts.ipynb";
const SCREENSHOT = Deno.env.get("GPT1_UPDATE_SCREENSHOTS") === "1"
  ? join(ROOT, "results", "screenshots", "classic-notebook.png")
  : join(ROOT, "results", "_scratch", "screenshots", "classic-notebook.png");

/** Code cells: imports, synthetic data, then one chart per cell (every builder the lab uses). */
const SETUP = `import { display, showTable } from "../../../lib/jupyter.ts";
import * as curves from "../../../lib/plot.ts";
import * as paperCharts from "../../../lib/paper_charts.ts";
const plot = { ...curves, ...paperCharts };
import * as paper from "../../../lib/paper.ts";
const log = [
  ...Array.from({ length: 30 }, (_, i) => ({ kind: "train" as const, step: 10 * (i + 1), loss: 8 * Math.exp(-i / 10) + 3 })),
  ...[100, 200, 300].map((step) => ({ kind: "valid" as const, step, loss: 8 * Math.exp(-step / 100) + 3.2 })),
];
"ready"`;
const CHART_CELLS = [
  `await display(plot.lossCurve(log, { smooth: 0.6 }));`,
  `await display(plot.perplexityCurve(log));`,
  `await display(plot.table5Chart([
  { task: "cola", variant: "full", metric: "mcc", value: 12, paper: 45.4 },
  { task: "cola", variant: "no-pretrain", metric: "mcc", value: 3, paper: 18.9 },
  { task: "sst2", variant: "full", metric: "acc", value: 80, paper: 91.3 },
]));`,
  `await display(plot.barsVsPaper(paper.TABLE4, { cola: 12, sst2: 80, mrpc: 75, stsb: 40 }));`,
  `await display(plot.layersChart(
  [0, 3, 6, 12].map((n) => ({ nTransfer: n, train: 60 + 2 * n, valid: 50 + n })),
  paper.FIGURE2_LAYERS,
  { task: "RTE" },
));`,
  `await display(plot.zeroShotChart(
  [10, 100, 300].flatMap((step) => [
    { step, task: "sentiment", relative: step / 1000 },
    { step, task: "winograd", relative: step / 2000 },
  ]),
  paper.FIGURE2_ZEROSHOT,
));`,
];
const TABLE_CELL =
  `await showTable([{ task: "cola", ours: 12, paper: 45.4 }], { caption: "a table" });`;

function testNotebook(): unknown {
  const code = (source: string) => ({
    cell_type: "code",
    execution_count: null,
    metadata: {},
    outputs: [],
    source,
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "deno", display_name: "Deno (gpt1-lab)", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: [
      {
        cell_type: "markdown",
        metadata: {},
        source: "# Every chart kind, drawn by classic Notebook 6 (tests/jupyter_ui_test.ts)",
      },
      code(SETUP),
      ...CHART_CELLS.map(code),
      code(TABLE_CELL),
    ].map((c, i) => ({ id: `cell-${i}`, ...c })),
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** What the page showed after Run All. */
interface UiCheck {
  charts: { svg: boolean; marks: number; title: string }[];
  errors: number;
  prompts: (number | string | null)[];
}

/** Runs in the page (a string: tests are type-checked without DOM types). */
const PROBE = `({
  charts: [...document.querySelectorAll("#notebook .output_area .js-plotly-plot")].map((div) => ({
    svg: div.querySelector("svg.main-svg") !== null,
    marks: [...div.querySelectorAll(".scatterlayer .trace path, .barlayer .trace path")].filter((p) => {
      const d = p.getAttribute("d") || "";
      return d.length > 0 && d !== "M0,0Z" && !d.includes("NaN");
    }).length,
    title: div.querySelector(".gtitle")?.textContent ?? "",
  })),
  errors: document.querySelectorAll("#notebook .output_error").length,
  prompts: Jupyter.notebook.get_cells().filter((c) => c.cell_type === "code")
    .map((c) => c.input_prompt_number ?? null),
})`;

/** True once every code cell has a number prompt and the kernel indicator says idle. */
const ALL_RAN = `(() => {
  const nb = window.Jupyter && Jupyter.notebook;
  if (!nb || !nb.kernel) return false;
  const code = nb.get_cells().filter((c) => c.cell_type === "code");
  const icon = document.querySelector("#kernel_indicator_icon");
  return code.every((c) => typeof c.input_prompt_number === "number") &&
    icon !== null && icon.classList.contains("kernel_idle_icon");
})()`;

Deno.test({
  name: "jupyter UI: classic Notebook 6 runs a notebook on the Deno kernel and every chart draws",
  ignore: !haveChromium || !haveNotebook,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "gpt1-nb-ui-" });
    await Deno.mkdir(NB_DIR, { recursive: true });
    await Deno.writeTextFile(join(NB_DIR, NB_NAME), JSON.stringify(testNotebook(), null, 1));
    const port = freePort();
    const token = crypto.randomUUID().replaceAll("-", "");
    const base = `http://127.0.0.1:${port}`;
    const logFile = join(tmp, "server.log");
    const server = new Deno.Command(NOTEBOOK_APP, {
      args: [
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        `--port=${port}`,
        "--port-retries=0",
        `--NotebookApp.token=${token}`,
        `--notebook-dir=${ROOT}`,
      ],
      cwd: ROOT,
      env: {
        JUPYTER_PATH: KERNEL_DIR,
        JUPYTER_DATA_DIR: join(tmp, "data"),
        JUPYTER_CONFIG_DIR: join(tmp, "config"),
        JUPYTER_RUNTIME_DIR: join(tmp, "runtime"),
        IPYTHONDIR: join(tmp, "ipython"),
        PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // the server logs on stderr: into a file, printed on failure
    const logCopy = server.stderr.pipeTo(
      (await Deno.open(logFile, { write: true, create: true })).writable,
    );
    const serverLog = () => {
      try {
        return Deno.readTextFileSync(logFile).slice(-4000);
      } catch {
        return "";
      }
    };
    const api = (path: string, init?: RequestInit) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { Authorization: `token ${token}` },
      });
    let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
    try {
      // wait for the server
      const t0 = performance.now();
      for (;;) {
        try {
          const r = await api("/api/status");
          await r.body?.cancel();
          if (r.ok) break;
        } catch { /* not up yet */ }
        if (performance.now() - t0 > 90_000) {
          throw new Error(`jupyter-notebook did not start in 90 s:\n${serverLog()}`);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      const specs = await (await api("/api/kernelspecs")).json();
      assert("deno" in specs.kernelspecs, `project kernelspec not found: ${JSON.stringify(specs)}`);
      const projectSpec = JSON.parse(
        await Deno.readTextFile(join(KERNEL_DIR, "kernels", "deno", "kernel.json")),
      );
      assertEquals(
        specs.kernelspecs.deno.spec?.display_name,
        projectSpec.display_name,
        "the server uses the project's kernelspec (JUPYTER_PATH), not ~/.local's",
      );

      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage",
        ],
      });
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      // offline: the page may talk to the notebook server only
      await page.route(
        (url) => !url.href.startsWith(base) && !url.href.startsWith(base.replace("http", "ws")),
        (route) => route.abort(),
      );
      const rel = `results/_scratch/jupyter-ui/${NB_NAME}`;
      await page.goto(`${base}/notebooks/${rel}?token=${token}`, {
        waitUntil: "load",
        timeout: 90_000,
      });
      await page.waitForFunction(
        "window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && " +
          "Jupyter.notebook.kernel.is_connected()",
        undefined,
        { timeout: 120_000 },
      );
      await page.evaluate("Jupyter.notebook.set_autosave_interval(0)");
      // Cell > Run All, through the menu bar
      await page.click("#celllink");
      await page.click("#run_all_cells > a");
      await page.waitForFunction(ALL_RAN, undefined, { timeout: 300_000, polling: 500 });
      const nCharts = CHART_CELLS.length;
      await page.waitForFunction(
        `document.querySelectorAll("#notebook .output_area .js-plotly-plot svg.main-svg").length >= ${nCharts}`,
        undefined,
        { timeout: 120_000, polling: 500 },
      ).catch(() => {/* asserted below with the details */});
      const check = await page.evaluate(PROBE) as UiCheck;
      // a screenshot of the whole notebook (it scrolls inside #site, so grow the viewport)
      const height = await page.evaluate(
        `document.querySelector("#notebook-container").scrollHeight + ` +
          `document.querySelector("#header").offsetHeight + 40`,
      ) as number;
      await page.setViewportSize({ width: 1200, height: Math.min(Math.max(height, 900), 8000) });
      await page.waitForTimeout(500); // responsive charts re-layout to the new size
      await Deno.mkdir(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
      console.log(
        `classic Notebook: ${check.charts.length} charts drew, prompts ${
          JSON.stringify(check.prompts)
        }, ${((performance.now() - t0) / 1000).toFixed(1)}s; screenshot ${SCREENSHOT}`,
      );

      assertEquals(check.errors, 0, "a cell errored (.output_error)");
      assertEquals(pageErrors, [], "page errors");
      assertEquals(check.charts.length, nCharts, "one drawn chart per chart cell");
      for (const c of check.charts) {
        assert(c.svg, `chart "${c.title}" has no SVG`);
        assert(c.marks > 0, `chart "${c.title}" drew no data marks`);
      }
      const table = await page.evaluate(
        `document.querySelectorAll("#notebook .output_html table caption").length`,
      );
      assertEquals(table, 1, "the arquero table rendered as HTML");
    } catch (e) {
      console.log(`jupyter-notebook log (tail):\n${serverLog()}`);
      throw e;
    } finally {
      await browser?.close();
      // shut the kernels down through the API, then stop the server by its pid
      try {
        const kernels = await (await api("/api/kernels")).json() as { id: string }[];
        for (const k of kernels) {
          await (await api(`/api/kernels/${k.id}`, { method: "DELETE" })).body?.cancel();
        }
      } catch { /* server already gone */ }
      try {
        server.kill("SIGTERM");
      } catch { /* exited */ }
      await server.status;
      await logCopy.catch(() => {});
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
