/**
 * The public API needs no ritual: a fresh `deno run` process that never calls selectBackend()
 * loads a checkpoint, an HF folder, the released-weights shards and a tokenizer through
 * lib/mod.ts and runs a forward pass; the synchronous createModel throws a ConfigError naming
 * the fix instead of tfjs's "backend 'wasm' has not yet been initialized".
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { assert, assertEquals, ROOT } from "./_util.ts";
import { initBackend } from "../lib/backend.ts";
import { makeConfig } from "../lib/config.ts";
import { createModel, parameterShapes } from "../lib/model.ts";
import { saveCheckpoint } from "../lib/checkpoint.ts";
import { saveHuggingFace } from "../lib/pretrained.ts";
import { Rng } from "../lib/random.ts";

const TINY = makeConfig("tiny", { vocabSize: 50, nCtx: 16, nEmbd: 16, nInner: 64, nHead: 2 });

/** A .npy v1.0 float32 vector (header padded to 64 bytes as numpy writes it). */
function _npy(data: Float32Array): Uint8Array {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${data.length},), }`;
  h = h.padEnd(Math.ceil((h.length + 11) / 64) * 64 - 11, " ") + "\n";
  const out = new Uint8Array(10 + h.length + data.byteLength);
  out.set([0x93, ..."NUMPY".split("").map((c) => c.charCodeAt(0)), 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(new TextEncoder().encode(h), 10);
  out.set(new Uint8Array(data.buffer), 10 + h.length);
  return out;
}

/** A tiny fake released-weights folder (params_shapes.json + params_0..9.npy). */
export async function writeFakeReleased(dir: string, c = TINY): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const shapes = [...parameterShapes({ ...c, nSpecial: 0 })].map(([name, s]) =>
    s.length === 2 && name.startsWith("h.") ? [1, ...s] : s
  );
  await Deno.writeTextFile(join(dir, "params_shapes.json"), JSON.stringify(shapes));
  const total = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const rng = new Rng(5);
  const flat = Float32Array.from({ length: total }, () => (rng.next() - 0.5) * 0.1);
  for (let k = 0; k < 10; k++) {
    const a = Math.floor(total * k / 10), b = Math.floor(total * (k + 1) / 10);
    await Deno.writeFile(join(dir, `params_${k}.npy`), _npy(flat.slice(a, b)));
  }
}

Deno.test("fresh process: every public loader works without selectBackend()", async () => {
  await initBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "gpt1-fresh-" });
  try {
    const model = createModel(TINY, { seed: 1 });
    await saveCheckpoint(join(dir, "ck.safetensors"), { model, step: 0 });
    await saveHuggingFace(model, join(dir, "hf") + "/");
    model.dispose();
    await writeFakeReleased(join(dir, "released"));
    const mod = pathToFileURL(join(ROOT, "lib", "mod.ts")).href;
    const script = join(dir, "probe.ts");
    await Deno.writeTextFile(
      script,
      `import * as lab from ${JSON.stringify(mod)};
const d = ${JSON.stringify(dir)};
const out: Record<string, unknown> = {};
try { lab.createModel(lab.makeConfig("tiny")); out.createModel = "no error"; }
catch (e) { out.createModel = (e as Error).name + ": " + (e as Error).message; }
const hf = await lab.loadHuggingFace(d + "/hf", { heads: 2 });
out.hf = await hf.lmLoss([[1, 2, 3, 4]]);
const ck = await lab.loadCheckpoint(d + "/ck.safetensors");
out.ck = await ck.model.lmLoss([[1, 2, 3, 4]]);
const any = await lab.loadAnyCheckpoint(d + "/ck.safetensors");
out.any = any.kind;
out.weights = (await lab.loadReleasedWeights(d + "/released")).size;
const rel = await lab.loadReleasedModel(d + "/released", { heads: 2 });
out.released = await rel.lmLoss([[1, 2, 3]]);
const tok = lab.Gpt1Tokenizer.fromStrings(JSON.stringify({ "a</w>": 0, "b</w>": 1 }), "#version: 0.2\\n");
out.tok = tok.vocabSize;
out.backend = (await import("@tensorflow/tfjs")).getBackend();
console.log(JSON.stringify(out));
`,
    );
    const p = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "--config", join(ROOT, "deno.json"), script],
      cwd: ROOT,
      env: { GPT1_BACKEND: "cpu" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(p.stdout);
    const stderr = new TextDecoder().decode(p.stderr);
    assertEquals(p.code, 0, stderr);
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert(/^ConfigError: .*selectBackend/.test(r.createModel), r.createModel);
    for (const k of ["hf", "ck", "released"]) assert(Number.isFinite(r[k]), `${k}: ${r[k]}`);
    assertEquals(r.any, "gpt1");
    assertEquals(r.weights, 2 + 12 * TINY.nLayer);
    assertEquals(r.tok, 2);
    assertEquals(r.backend, "cpu");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
