/**
 * The import graph of lib/: no cycle, and no file importing a file of a higher layer. The layers
 * are the README's architecture section; a file not named in LAYERS fails the test, so a new
 * file has to be placed in one. Static imports, re-exports and `await import(...)` all count;
 * imports inside comments (JSDoc examples) do not.
 */
import { dirname, join, relative, resolve } from "node:path";
import { assert, assertEquals, ROOT } from "./_util.ts";

/** Layers, lowest first: a file may import its own layer or a lower one (never a cycle). */
const LAYERS: readonly (readonly string[])[] = [
  // core: no tensors, no text
  [
    "errors.ts",
    "fsutil.ts",
    "_pin.ts",
    "progress.ts",
    "_config_check.ts",
    "config.ts",
    "random.ts",
    "metrics.ts",
    "paper.ts",
  ],
  // text: tokenizer, vocabulary files, corpus and token cache, task readers and transforms
  [
    "tokenizer/",
    "vocab.ts",
    "_brown.ts",
    "corpus.ts",
    "windows.ts",
    "data.ts",
    "transforms.ts",
    "tasks/",
    "glue_submission.ts",
  ],
  // models
  [
    "blas.ts",
    "_wasm_blas_kernels.ts",
    "_native_kernels.ts",
    "_native_adam.ts",
    "_wasm_attention_kernels.ts",
    "_wasm_fused_kernels.ts",
    "_kernel_shims.ts",
    "backend.ts",
    "ops.ts",
    "_tied_lm.ts",
    "model.ts",
    "lstm.ts",
    "language_model.ts",
    "optim.ts",
    "webgpu/",
  ],
  // weights
  ["safetensors.ts", "_weights.ts", "pretrained.ts", "checkpoint.ts"],
  // run folders (the files of a run: written by the steps, read by everything above)
  ["runs.ts"],
  // steps
  [
    "train.ts",
    "train_webgpu.ts",
    "_task_batches.ts",
    "_task_data.ts",
    "finetune.ts",
    "scoring.ts",
    "zeroshot_heuristics.ts",
    "zeroshot.ts",
    "glue_predict.ts",
    "zeroshot_additions.ts",
  ],
  // runs
  [
    "pipeline.ts",
    "sweeps.ts",
    "settings.ts",
    "fetch/",
    "_stamps.ts",
    "_stage_base.ts",
    "_finetune_stages.ts",
    "stages.ts",
    "released.ts",
    "_protocol_plan.ts",
    "_protocol_arms.ts",
    "_protocol_summary.ts",
    "protocol.ts",
    "protocol_stages.ts",
  ],
  // output
  [
    "_plot.ts",
    "plot.ts",
    "paper_charts.ts",
    "report.ts",
    "claims.ts",
    "sections.ts",
    "plot_protocol.ts",
    "protocol_report.ts",
    "frames.ts",
  ],
  // drivers (the command line)
  ["reproduce.ts", "_cli.ts", "protocol_commands.ts", "finetune_commands.ts", "commands.ts"],
  // notebook display (above the drivers, so the command line never loads it)
  ["jupyter.ts", "notebook.ts"],
  // the public API
  ["mod.ts"],
];

const LIB = join(ROOT, "lib");

function layerOf(file: string): number {
  for (let i = 0; i < LAYERS.length; i++) {
    for (const name of LAYERS[i]) {
      if (name.endsWith("/") ? file.startsWith(name) : file === name) return i;
    }
  }
  return -1;
}

async function libFiles(dir = LIB): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await libFiles(p));
    else if (e.name.endsWith(".ts")) out.push(relative(LIB, p));
  }
  return out.sort();
}

/** The lib/-relative files that `source` (the text of lib/`file`) imports from lib/. */
export function importsOf(file: string, source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specs = new Set<string>();
  const re = new RegExp(
    [
      String.raw`(?:^|[\s;])(?:import|export)\s[^;]*?from\s*"(\.{1,2}\/[^"]+)"`, // import/export … from
      String.raw`(?:^|[\s;])import\s*"(\.{1,2}\/[^"]+)"`, // side-effect import
      String.raw`import\(\s*"(\.{1,2}\/[^"]+)"\s*\)`, // dynamic import
    ].join("|"),
    "g",
  );
  for (const m of code.matchAll(re)) specs.add(m[1] ?? m[2] ?? m[3]);
  const out: string[] = [];
  for (const s of specs) {
    const target = relative(LIB, resolve(dirname(join(LIB, file)), s));
    if (!target.startsWith("..")) out.push(target);
  }
  return out.sort();
}

async function graph(): Promise<Map<string, string[]>> {
  const g = new Map<string, string[]>();
  for (const f of await libFiles()) g.set(f, importsOf(f, await Deno.readTextFile(join(LIB, f))));
  return g;
}

Deno.test("importsOf reads static, re-export and dynamic imports, not comments", () => {
  const src = [
    '/** @example\n * import { x } from "./commented.ts";\n */',
    'import { a } from "./a.ts";',
    'import type {\n  B,\n} from "../b.ts";',
    'export * from "./c.ts";',
    'const { d } = await import("./d.ts");',
    '// import { e } from "./e.ts";',
    'import { join } from "node:path";',
    'import "./f.ts";',
  ].join("\n");
  assertEquals(importsOf("tasks/x.ts", src), [
    "b.ts",
    "tasks/a.ts",
    "tasks/c.ts",
    "tasks/d.ts",
    "tasks/f.ts",
  ]);
});

Deno.test("every lib/ file has a layer and imports no higher layer", async () => {
  const g = await graph();
  const unplaced = [...g.keys()].filter((f) => layerOf(f) < 0);
  assertEquals(unplaced, [], "files missing from LAYERS (and the README's architecture section)");
  const upward: string[] = [];
  for (const [f, deps] of g) {
    for (const d of deps) {
      assert(g.has(d), `${f} imports ${d}, which is not a file of lib/`);
      if (layerOf(d) > layerOf(f)) upward.push(`${f} -> ${d}`);
    }
  }
  assertEquals(upward, [], "imports from a lower layer to a higher one");
});

Deno.test("the command line's imports never reach the notebook display layer", async () => {
  const g = await graph();
  const seen = new Set<string>();
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const d of g.get(f) ?? []) walk(d);
  };
  walk("commands.ts");
  assert(seen.has("reproduce.ts") && seen.has("stages.ts"), "commands.ts reaches the driver");
  assertEquals([...seen].filter((f) => f === "jupyter.ts" || f === "notebook.ts"), []);
});

Deno.test("the import graph of lib/ has no cycle", async () => {
  const g = await graph();
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      cycles.push([...path.slice(path.indexOf(f)), f].join(" -> "));
      return;
    }
    state.set(f, "open");
    for (const d of g.get(f) ?? []) visit(d, [...path, f]);
    state.set(f, "done");
  };
  for (const f of g.keys()) visit(f, []);
  assertEquals(cycles, [], "import cycles");
});
