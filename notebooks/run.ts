/**
 * Headless notebook runner: executes notebooks on the project's Deno kernel (the kernelspec in
 * `notebooks/kernel/`, found through `JUPYTER_PATH`) with Debian's nbclient, at `smoke` scale
 * by default (`GPT1_SCALE`), writes the executed copies, checks them, and exports each as a
 * self-contained HTML page (`export.ts`).
 *
 * A notebook fails on an error output, a code cell left without output (unless tagged
 * `no-output`), an empty chart, or an output over 1 MB. Deno 2.9's kernel may report `idle`
 * before a cell's last output; stock nbclient then drops that output, so the runner uses a
 * small nbclient subclass that keeps reading for `--grace` seconds after `idle`
 * (`../shared/notes/jupyter-on-deno.md` §2.4).
 *
 * ```sh
 * deno run -A notebooks/run.ts                       # every notebooks/*.ipynb, smoke scale
 * deno run -A notebooks/run.ts --scale small notebooks/01_tokenizer.ipynb
 * deno run -A notebooks/run.ts --out /tmp/nb --no-export --timeout 300
 * ```
 * Needs `/usr/bin/python3` with nbclient (Debian: `jupyter-nbconvert jupyter-core
 * jupyter-client python3-nbclient`).
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PLOTLY_MIME } from "../lib/_plot.ts";
import { exportNotebook, joinSource, type Notebook, readNotebook } from "./export.ts";

/** The `notebooks/` folder. */
export const NOTEBOOK_DIR: string = dirname(fileURLToPath(import.meta.url));
/** The folder to put on `JUPYTER_PATH` (holds `kernels/deno/kernel.json`). */
export const KERNEL_DIR: string = join(NOTEBOOK_DIR, "kernel");
/** Where executed notebooks, HTML pages and screenshots go by default. */
export const DEFAULT_OUT: string = resolve(NOTEBOOK_DIR, "..", "results", "notebooks");
/** Largest single output accepted (bytes of JSON): bigger ones break the kernel in JupyterLab. */
export const MAX_OUTPUT_BYTES = 1_000_000;
/** Tag of a code cell that is allowed to have no output. */
export const NO_OUTPUT_TAG = "no-output";

/** The Python interpreter with Debian's nbclient (`$GPT1_PYTHON`, default `/usr/bin/python3`). */
export function python(): string {
  return Deno.env.get("GPT1_PYTHON") ?? "/usr/bin/python3";
}

/** The nbclient driver (Python, run by {@link python}); reads a JSON job on stdin. */
export const DRIVER = String.raw`
import asyncio, json, os, queue, sys, time, traceback
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError
try:
    from jupyter_core.utils import ensure_async
except ImportError:
    from nbclient.util import ensure_async

class GraceClient(NotebookClient):
    """nbclient that keeps reading iopub for grace_s after 'idle' (Deno 2.9 may send the
    execute_result after it)."""
    grace_s = 0.2

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    break
        if any(o.get("output_type") in ("execute_result", "error") for o in cell.get("outputs", [])):
            return  # the cell's last possible output came before idle: nothing can follow
        deadline = time.monotonic() + self.grace_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=left))
            except queue.Empty:
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            if msg["msg_type"] == "status":
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass
            if msg["msg_type"] in ("execute_result", "error"):
                return  # a cell's last possible output has arrived

job = json.load(sys.stdin)
GraceClient.grace_s = job["grace"]
for item in job["notebooks"]:
    t0 = time.monotonic()
    nb = nbformat.read(item["input"], as_version=4)
    client = GraceClient(nb, timeout=job["timeout"], startup_timeout=120,
                         kernel_name=job["kernel"],
                         resources={"metadata": {"path": os.path.dirname(item["input"])}})
    error = None
    try:
        client.execute()
    except CellExecutionError as e:
        error = str(e)[:4000]
    except Exception as e:
        error = "".join(traceback.format_exception(e))[:4000]
    nbformat.write(nb, item["output"])
    print(json.dumps({"input": item["input"], "output": item["output"], "error": error,
                      "seconds": time.monotonic() - t0}), flush=True)
`;

/** Options of {@link runNotebooks}. */
export interface RunOptions {
  /** Folder for executed notebooks (and HTML pages); default `results/notebooks`. */
  outDir?: string;
  /** `GPT1_SCALE` for the notebooks (default `smoke`). */
  scale?: string;
  /** Per-cell timeout in seconds (default 600). */
  timeoutS?: number;
  /** Seconds to keep reading after `idle` unless the cell's result came (default 0.2). */
  graceS?: number;
  /** Kernel name (default `deno`, the project's kernelspec). */
  kernel?: string;
  /** Also write `<name>.html` beside each executed notebook (default true). */
  exportHtml?: boolean;
  /** Extra environment for the kernels. */
  env?: Record<string, string>;
  /** Called with each finished notebook. */
  onResult?: (r: NotebookResult) => void;
}

/** The outcome of one notebook. */
export interface NotebookResult {
  /** The source notebook. */
  input: string;
  /** The executed copy. */
  output: string;
  /** The HTML page, when exported. */
  html?: string;
  /** True when it ran and passed {@link checkExecuted}. */
  ok: boolean;
  /** What went wrong (execution error, missing outputs, ...). */
  problems: string[];
  /** Wall-clock seconds of the execution. */
  seconds: number;
}

/**
 * Checks an executed notebook; returns the problems (empty = good): error outputs, code cells
 * not executed or without any output (unless tagged `no-output`), plotly outputs without
 * traces, and single outputs over {@link MAX_OUTPUT_BYTES}.
 */
export function checkExecuted(nb: Notebook): string[] {
  const problems: string[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    const src = joinSource(cell.source).trim();
    if (src === "") return;
    const where = `cell ${i + 1} (${src.split("\n")[0].slice(0, 60)})`;
    const outs = cell.outputs ?? [];
    if (cell.execution_count === null || cell.execution_count === undefined) {
      problems.push(`${where}: not executed`);
      return;
    }
    if (outs.length === 0 && !(cell.metadata?.tags ?? []).includes(NO_OUTPUT_TAG)) {
      problems.push(`${where}: no output (tag the cell "${NO_OUTPUT_TAG}" if that is intended)`);
    }
    for (const o of outs) {
      if (o.output_type === "error") problems.push(`${where}: ${o.ename}: ${o.evalue}`);
      const size = JSON.stringify(o).length;
      if (size > MAX_OUTPUT_BYTES) problems.push(`${where}: an output of ${size} bytes (> 1 MB)`);
      const fig = o.data?.[PLOTLY_MIME] as { data?: unknown[] } | undefined;
      if (fig !== undefined && !(Array.isArray(fig.data) && fig.data.length > 0)) {
        problems.push(`${where}: a chart without traces`);
      }
    }
  });
  return problems;
}

/** True when {@link python} can import nbclient (Debian's packages are installed). */
export async function jupyterAvailable(): Promise<boolean> {
  try {
    const r = await new Deno.Command(python(), {
      args: ["-c", "import nbclient, nbformat, jupyter_client"],
      stdout: "null",
      stderr: "null",
    }).output();
    return r.success;
  } catch {
    return false;
  }
}

/** The notebooks of `notebooks/` in name order. */
export function listNotebooks(dir: string = NOTEBOOK_DIR): string[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Executes notebooks one after another (one kernel each) and checks them. The kernel runs in
 * each notebook's folder with `GPT1_SCALE`, the project kernelspec on `JUPYTER_PATH` and this
 * process's `deno` first on `PATH`.
 */
export async function runNotebooks(
  paths: readonly string[],
  opts: RunOptions = {},
): Promise<NotebookResult[]> {
  const outDir = resolve(opts.outDir ?? DEFAULT_OUT);
  await Deno.mkdir(outDir, { recursive: true });
  const job = {
    grace: opts.graceS ?? 0.2,
    timeout: opts.timeoutS ?? 600,
    kernel: opts.kernel ?? "deno",
    notebooks: paths.map((p) => ({
      input: resolve(p),
      output: join(outDir, basename(p)),
    })),
  };
  const jp = Deno.env.get("JUPYTER_PATH");
  const path = Deno.env.get("PATH") ?? "";
  const env: Record<string, string> = {
    GPT1_SCALE: opts.scale ?? "smoke",
    JUPYTER_PATH: jp ? `${KERNEL_DIR}:${jp}` : KERNEL_DIR,
    PATH: `${dirname(Deno.execPath())}:${path}`,
    ...opts.env,
  };
  const dir = await Deno.makeTempDir({ prefix: "gpt1-nb-" });
  const driver = join(dir, "driver.py");
  await Deno.writeTextFile(driver, DRIVER);
  const child = new Deno.Command(python(), {
    args: [driver],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(job)));
  await w.close();
  const results: NotebookResult[] = [];
  let buf = "";
  const handle = async (line: string) => {
    if (!line.trim().startsWith("{")) return;
    const r = JSON.parse(line) as {
      input: string;
      output: string;
      error: string | null;
      seconds: number;
    };
    const problems = r.error ? [`execution failed: ${r.error}`] : [];
    let html: string | undefined;
    try {
      const nb = await readNotebook(r.output);
      problems.push(...checkExecuted(nb));
      if (opts.exportHtml ?? true) html = (await exportNotebook(r.output)).path;
    } catch (e) {
      problems.push(`cannot read or export the executed notebook: ${(e as Error).message}`);
    }
    const res = {
      input: r.input,
      output: r.output,
      html,
      ok: problems.length === 0,
      problems,
      seconds: r.seconds,
    };
    results.push(res);
    opts.onResult?.(res);
  };
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      await handle(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) await handle(buf);
  const status = await child.status;
  await Deno.remove(dir, { recursive: true });
  for (const p of job.notebooks) {
    if (!results.some((r) => r.input === p.input)) {
      results.push({
        input: p.input,
        output: p.output,
        ok: false,
        problems: [`the driver exited (code ${status.code}) before finishing this notebook`],
        seconds: 0,
      });
    }
  }
  return results;
}

/** Prints one line per notebook and a closing count; returns the process exit code. */
export function printSummary(results: readonly NotebookResult[]): number {
  const failed = results.filter((r) => !r.ok);
  console.log(`notebooks: ${results.length - failed.length} ok, ${failed.length} failed`);
  return failed.length === 0 ? 0 : 1;
}

function parseArgs(args: string[]): { files: string[]; opts: RunOptions } {
  const opts: RunOptions = {};
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = () => {
      if (i + 1 >= args.length) throw new Error(`${a} needs a value`);
      return args[++i];
    };
    if (a === "--scale") opts.scale = val();
    else if (a === "--out") opts.outDir = val();
    else if (a === "--timeout") opts.timeoutS = Number(val());
    else if (a === "--grace") opts.graceS = Number(val());
    else if (a === "--kernel") opts.kernel = val();
    else if (a === "--no-export") opts.exportHtml = false;
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: deno run -A notebooks/run.ts [--scale smoke|small|paper] [--out DIR] " +
          "[--timeout S] [--grace S] [--no-export] [notebook.ipynb ...]",
      );
      Deno.exit(0);
    } else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else files.push(a);
  }
  return { files, opts };
}

if (import.meta.main) {
  const { files, opts } = parseArgs(Deno.args);
  if (!(await jupyterAvailable())) {
    console.error(
      `${python()} cannot import nbclient: apt-get install -y --no-install-recommends ` +
        "jupyter-nbconvert jupyter-core jupyter-client python3-nbclient",
    );
    Deno.exit(2);
  }
  const list = files.length ? files : listNotebooks();
  const results = await runNotebooks(list, {
    ...opts,
    onResult: (r) => {
      const tag = r.ok ? "ok" : "FAILED";
      console.log(`${tag}: ${r.input} -> ${r.output} (${r.seconds.toFixed(1)}s)`);
      for (const p of r.problems) console.log(`  ${p}`);
    },
  });
  Deno.exit(printSummary(results));
}
