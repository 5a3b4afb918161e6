/**
 * Tests for lib/safetensors.ts, lib/checkpoint.ts and lib/pretrained.ts: safetensors (round trip, F16, corruption), checkpoints
 * (round trip, resume = identical losses on cpu and wasm, shape errors, nothing half-loaded),
 * HuggingFace openai-gpt files (fixtures written by transformers, logits parity, round trip),
 * and the released-weights loader on synthetic .npy shards.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  type TensorToWrite,
  writeSafetensors,
} from "../lib/safetensors.ts";
import { loadCheckpoint, saveCheckpoint } from "../lib/checkpoint.ts";
import {
  inferConfigFromShapes,
  loadHuggingFace,
  loadReleasedModel,
  loadReleasedWeights,
  parseNpy,
  releasedNames,
  saveHuggingFace,
} from "../lib/pretrained.ts";
import { CheckpointError, ConfigError } from "../lib/errors.ts";
import { makeConfig } from "../lib/config.ts";
import { createModel, type Gpt1Model, parameterShapes } from "../lib/model.ts";
import { OpenAIAdam } from "../lib/optim.ts";
import { initBackend } from "../lib/backend.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
  maxRelErr,
  needShared,
  ROOT,
  sharedPath,
} from "./_util.ts";

tf.enableProdMode();
await initBackend("cpu");

const FIX = join(ROOT, "tests", "fixtures", "checkpoint");
const tmp = await Deno.makeTempDir({ prefix: "gpt1-ckpt-test-" });
addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** Deterministic float32 values in [-1, 1) (mulberry32). */
function rand(n: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6D2B79F5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    out[i] = (((r ^ (r >>> 14)) >>> 0) / 4294967296 * 2 - 1) * scale;
  }
  return out;
}

/** Deterministic token ids [B, T] in [0, V). */
function ids(B: number, T: number, V: number, seed: number): number[][] {
  const r = rand(B * T, seed);
  return Array.from(
    { length: B },
    (_, b) => Array.from({ length: T }, (_, t) => Math.floor((r[b * T + t] + 1) / 2 * V)),
  );
}

async function weightsOf(model: Gpt1Model): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of model.params) out.set(k, new Float32Array(await v.data()));
  return out;
}

const TINY = makeConfig("tiny", { vocabSize: 50, nCtx: 16, nEmbd: 16, nInner: 64, nHead: 2 });

// =============================================================================================
// safetensors

Deno.test("safetensors: F32/F16 round trip, metadata, 8-byte aligned header", async () => {
  const tensors = new Map<string, TensorToWrite>([
    ["a.weight", { shape: [3, 4], data: rand(12, 1) }],
    ["b", { shape: [5], data: rand(5, 2, 100), dtype: "F16" }],
    ["c", { shape: [2, 1, 2], data: rand(4, 3) }],
    ["empty", { shape: [0, 3], data: new Float32Array(0) }],
  ]);
  const bytes = encodeSafetensors(tensors, { note: "hello", json: '{"x":1}' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0);
  const f = decodeSafetensors(bytes);
  assertEquals(f.metadata.note, "hello");
  assertEquals(f.metadata.json, '{"x":1}');
  assertEquals(f.metadata.sha256.length, 64);
  assertEquals([...f.tensors.keys()].sort(), ["a.weight", "b", "c", "empty"]);
  assertEquals(f.tensors.get("a.weight")!.data, tensors.get("a.weight")!.data);
  assertEquals(f.tensors.get("c")!.shape, [2, 1, 2]);
  assertEquals(f.tensors.get("b")!.dtype, "F16");
  assert(maxRelErr(f.tensors.get("b")!.data, tensors.get("b")!.data) < 1e-3);
  // file form + header-only read
  const p = join(tmp, "rt.safetensors");
  await writeSafetensors(p, tensors, { note: "x" });
  const h = await readSafetensorsHeader(p);
  assertEquals(h.shapes.get("a.weight"), { dtype: "F32", shape: [3, 4] });
  assertEquals(h.metadata.note, "x");
  assertEquals((await readSafetensors(p)).tensors.get("c")!.data, tensors.get("c")!.data);
});

Deno.test("safetensors: F16 bits are IEEE half, round to nearest even", () => {
  // value -> expected half bits (from the IEEE 754 binary16 definition)
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest half
    [65520, 0x7c00], // rounds up to +Inf
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // halfway: ties to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway: ties to even (up)
    [0.1, 0x2e66],
    [1e-8, 0x0000],
  ];
  const data = Float32Array.from(cases.map((c) => c[0]));
  const bytes = encodeSafetensors(new Map([["x", { shape: [data.length], data, dtype: "F16" }]]));
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const bits = new Uint16Array(bytes.slice(8 + n).buffer);
  assertEquals(Array.from(bits), cases.map((c) => c[1]));
  const back = decodeSafetensors(bytes).tensors.get("x")!.data;
  assertEquals(back[0], 1);
  assertEquals(back[3], Infinity);
  assertEquals(back[4], 2 ** -24);
});

Deno.test("safetensors: truncated, flipped, bad JSON and bad offsets give CheckpointError", () => {
  const good = encodeSafetensors(
    new Map([["w", { shape: [4, 4], data: rand(16, 5) }]]),
    { step: "5" },
  );
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  const bad = (bytes: Uint8Array, re: RegExp) =>
    assertThrows(() => decodeSafetensors(bytes, "x.safetensors"), (e: unknown) => {
      assert(e instanceof CheckpointError, `not a CheckpointError: ${e}`);
      assert(re.test(e.message), e.message);
      assert(e.message.includes("x.safetensors"), "names the file");
      return true;
    });
  bad(good.slice(0, 5), /truncated/);
  bad(good.slice(0, 8 + n - 3), /truncated|does not fit/);
  bad(good.slice(0, good.length - 1), /truncated/);
  bad(good.slice(0, 8 + n + 10), /truncated/);
  // a flipped bit in the tensor bytes, or in a metadata value: hash mismatch
  const flip = good.slice();
  flip[good.length - 7] ^= 0x10;
  bad(flip, /hash mismatch/);
  const meta = good.slice();
  const at = new TextDecoder().decode(good.subarray(8, 8 + n)).indexOf('"5"') + 1;
  meta[8 + at] = "6".charCodeAt(0);
  bad(meta, /hash mismatch/);
  // bad header JSON
  const json = good.slice();
  json[8] = "[".charCodeAt(0);
  bad(json, /not valid JSON/);
  // an offset that does not fit the shape
  const hdr = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n)));
  hdr.w.data_offsets = [0, 60];
  const enc = new TextEncoder().encode(JSON.stringify(hdr).padEnd(n, " "));
  const off = good.slice();
  off.set(enc, 8);
  bad(off, /needs 64 bytes/);
  // trailing garbage
  const long = new Uint8Array(good.length + 4);
  long.set(good);
  bad(long, /unexpected bytes/);
});

Deno.test("safetensors: reads the file written by Python safetensors (no hash)", async () => {
  const f = await readSafetensors(join(FIX, "hf_tiny_lmhead.safetensors"));
  assertEquals(f.metadata, { format: "pt" });
  assertEquals(f.tensors.size, 27);
  assertEquals(f.tensors.get("transformer.h.1.mlp.c_fc.weight")!.shape, [8, 32]);
  assertEquals(
    f.tensors.get("lm_head.weight")!.data,
    f.tensors.get("transformer.tokens_embed.weight")!.data,
  );
});

// =============================================================================================
// released weights (.npy shards)

/** A .npy v1.0 file (header padded to a multiple of 64 bytes, as numpy writes it). */
function npy(data: Float32Array, header?: string): Uint8Array {
  let h = header ?? `{'descr': '<f4', 'fortran_order': False, 'shape': (${data.length},), }`;
  h = h.padEnd(Math.ceil((h.length + 11) / 64) * 64 - 11, " ") + "\n";
  const out = new Uint8Array(10 + h.length + data.byteLength);
  out.set([0x93, ..."NUMPY".split("").map((c) => c.charCodeAt(0)), 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(new TextEncoder().encode(h), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + h.length);
  return out;
}

/** Released-format shapes for a config: conv weights as [1, in, out]. */
function releasedShapes(c: typeof TINY): number[][] {
  return [...parameterShapes({ ...c, nSpecial: 0 })].map(([name, s]) =>
    s.length === 2 && name.startsWith("h.") ? [1, ...s] : s
  );
}

/** Writes params_shapes.json + `shards` .npy files cutting one flat vector; returns it. */
async function writeReleased(dir: string, c: typeof TINY, shards = 10): Promise<Float32Array> {
  await Deno.mkdir(dir, { recursive: true });
  const shapes = releasedShapes(c);
  await Deno.writeTextFile(join(dir, "params_shapes.json"), JSON.stringify(shapes));
  const total = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const flat = rand(total, 77, 0.5);
  for (let k = 0; k < shards; k++) {
    const a = Math.floor(total * k / shards), b = Math.floor(total * (k + 1) / shards);
    await Deno.writeFile(join(dir, `params_${k}.npy`), npy(flat.slice(a, b)));
  }
  return flat;
}

Deno.test("released weights: 10 synthetic shards map to HF names with the right values", async () => {
  const dir = join(tmp, "released");
  const flat = await writeReleased(dir, TINY);
  const w = await loadReleasedWeights(dir);
  const names = releasedNames(TINY.nLayer);
  assertEquals([...w.keys()], names);
  assertEquals(names.length, 2 + 12 * TINY.nLayer);
  assertEquals(releasedNames(12).length, 146);
  const want = new Map(parameterShapes({ ...TINY, nSpecial: 0 }));
  let off = 0;
  for (const name of names) {
    const t = w.get(name)!;
    assertEquals(t.shape, want.get(name));
    assertEquals(t.data, flat.subarray(off, off + t.data.length));
    off += t.data.length;
  }
  assertEquals(off, flat.length);
  // the real GPT-1 shapes list maps to the GPT-1 config (no .npy needed for the shapes)
});

Deno.test({
  name: "released weights: the real params_shapes.json (146 arrays) gives the GPT-1 config",
  ignore: !needShared("released params_shapes.json"),
  fn: async () => {
    const real = await Deno.readTextFile(sharedPath("gpt1-vocab", "params_shapes.json")!);
    const shapes: number[][] = JSON.parse(real);
    assertEquals(shapes.length, 146);
    const m = new Map(
      releasedNames(12).map((n, i) => [
        n,
        shapes[i].filter((_, j) => !(shapes[i].length === 3 && j === 0)),
      ]),
    );
    const cfg = inferConfigFromShapes(m);
    assertEquals(cfg, makeConfig("gpt1"));
    assertEquals(shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0), 116_534_784);
  },
});

Deno.test("released weights: header and size errors", async () => {
  const data = rand(6, 1);
  assertThrows(
    () => parseNpy(npy(data, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }"), "p.npy"),
    /dtype is '<f8'.*p\.npy|p\.npy.*dtype is '<f8'/,
  );
  assertThrows(
    () => parseNpy(npy(data, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }")),
    /Fortran order/,
  );
  assertThrows(() => parseNpy(npy(data).slice(0, 90)), /truncated/);
  assertThrows(() => parseNpy(new Uint8Array(20)), /not a \.npy/);
  assertEquals(
    parseNpy(npy(data, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")).shape,
    [2, 3],
  );
  // a missing shard, a truncated shard, a shapes list that does not match the shards
  const dir = join(tmp, "released-bad");
  await writeReleased(dir, TINY);
  await Deno.remove(join(dir, "params_9.npy"));
  await assertRejects(
    () => loadReleasedWeights(dir),
    /missing shard.*params_9|params_9.*missing shard/,
  );
  await writeReleased(dir, TINY);
  const b = await Deno.readFile(join(dir, "params_3.npy"));
  await Deno.writeFile(join(dir, "params_3.npy"), b.slice(0, b.length - 8));
  await assertRejects(() => loadReleasedWeights(dir), /params_3\.npy.*truncated/);
  await writeReleased(dir, TINY);
  await Deno.writeTextFile(
    join(dir, "params_shapes.json"),
    JSON.stringify(releasedShapes({ ...TINY, nCtx: 8 })),
  );
  await assertRejects(() => loadReleasedWeights(dir), /more values|extra shard/);
});

Deno.test("released weights: loadReleasedModel builds the model, adds specials, cuts positions", async () => {
  const dir = join(tmp, "released-model");
  await writeReleased(dir, TINY);
  const w = await loadReleasedWeights(dir);
  const model = await loadReleasedModel(dir, { heads: 2 });
  assertEquals(model.config, makeConfig({ ...TINY, nSpecial: 0 }));
  const got = await weightsOf(model);
  for (const [name, t] of w) assertEquals(got.get(name), t.data, name);
  model.dispose();
  // 3 special rows appended from the fresh init; positions cut to nCtx 8
  const ft = await loadReleasedModel(dir, {
    heads: 2,
    nSpecial: 3,
    overrides: { nCtx: 8 },
    seed: 5,
  });
  const C = TINY.nEmbd, V = TINY.vocabSize;
  assertEquals(ft.config.nSpecial, 3);
  assertEquals(ft.config.nCtx, 8);
  const tok = (await weightsOf(ft)).get("tokens_embed.weight")!;
  assertEquals(tok.subarray(0, V * C), w.get("tokens_embed.weight")!.data);
  const fresh = createModel(ft.config, { seed: 5 });
  assertEquals(
    tok.subarray(V * C),
    (await weightsOf(fresh)).get("tokens_embed.weight")!.subarray(V * C),
  );
  const pos = (await weightsOf(ft)).get("positions_embed.weight")!;
  assertEquals(pos, w.get("positions_embed.weight")!.data.subarray(0, 8 * C));
  await assertRejects(() => loadReleasedModel(dir), /heads/); // a 16-wide model: heads unknown
  tf.dispose([ft, fresh].flatMap((m) => [...m.params.values()]));
});

// =============================================================================================
// checkpoints

/** LM-loss steps `from..to-1` (two alternating batches, dropout seeded by step); the losses. */
async function train(model: Gpt1Model, opt: OpenAIAdam, from: number, to: number) {
  const losses: number[] = [];
  for (let step = from; step < to; step++) {
    const x = tf.tensor2d(ids(4, 12, TINY.vocabSize, 1000 + (step % 2)), undefined, "int32");
    const { value, grads } = model.valueAndGrads(() =>
      model.lmLossTensor(x, { training: true, seed: step })
    );
    losses.push((await value.data())[0]);
    const norm = opt.step(grads);
    await norm.data();
    tf.dispose([x, value, norm, ...grads.values()]);
  }
  return losses;
}

const ADAM = { lr: 1e-2, schedule: "warmup_cosine", warmup: 0.2, tTotal: 10 } as const;

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`checkpoint: 10 steps = 5 + save + load + 5, identical losses (${backend})`, async () => {
    await initBackend(backend);
    try {
      assertEquals(tf.getBackend(), backend);
      const n0 = tf.memory().numTensors;
      const a = createModel(TINY, { seed: 7 });
      const optA = new OpenAIAdam(a.params, ADAM);
      const full = await train(a, optA, 0, 10);
      optA.dispose();
      a.dispose();

      const b = createModel(TINY, { seed: 7 });
      const optB = new OpenAIAdam(b.params, ADAM);
      const first = await train(b, optB, 0, 5);
      const path = join(tmp, `resume-${backend}.safetensors`);
      await saveCheckpoint(path, { model: b, optimizer: optB, step: 5, rng: { data: [1, 2, 5] } });
      optB.dispose();
      b.dispose();

      const ck = await loadCheckpoint(path);
      assertEquals(ck.step, 5);
      assertEquals(ck.rng, { data: [1, 2, 5] });
      const optC = OpenAIAdam.fromStateDict(ck.model.params, ck.optimizerState!);
      assertEquals(optC.t, 5);
      const rest = await train(ck.model, optC, 5, 10);
      optC.dispose();
      ck.model.dispose();
      assertEquals([...first, ...rest], full);
      assert(full[9] < full[0], `loss fell: ${full[0]} -> ${full[9]}`);
      assertEquals(tf.memory().numTensors, n0);
    } finally {
      await initBackend("cpu");
    }
  });
}

Deno.test("checkpoint: round trip of weights, classifier, optimizer, step, rng, hash, extra", async () => {
  const model = createModel(TINY, { seed: 3 });
  model.addClassifier(3);
  const opt = new OpenAIAdam(model.params, { lr: 0.1, schedule: "constant" });
  const grads = new Map(
    [...model.params].map(([k, p]) => [k, tf.randomNormal(p.shape, 0, 1, "float32", 9)]),
  );
  opt.step(grads).dispose();
  tf.dispose([...grads.values()]);
  const path = join(tmp, "rt-model.safetensors");
  await saveCheckpoint(path, {
    model,
    optimizer: opt,
    step: 1,
    rng: [7, 8],
    vocabHash: "abc123",
    extra: { run: "t", loss: 1.5 },
  });
  const ck = await loadCheckpoint(path);
  const partial = new OpenAIAdam(new Map([...model.params].slice(1)), { schedule: "constant" });
  await assertRejects(
    () => saveCheckpoint(join(tmp, "x.safetensors"), { model, optimizer: partial, step: 1 }),
    /optimizer's parameters are not the model's/,
  );
  partial.dispose();
  assertEquals(ck.config, model.config);
  assertEquals(ck.model.seed, 3);
  assertEquals(ck.step, 1);
  assertEquals(ck.rng, [7, 8]);
  assertEquals(ck.vocabHash, "abc123");
  assertEquals(ck.extra, { run: "t", loss: 1.5 });
  assertEquals(ck.metadata.n_head, "2");
  assertEquals(await weightsOf(ck.model), await weightsOf(model));
  assertEquals(ck.model.params.get("clf.weight")!.shape, [TINY.nEmbd, 3]);
  const st = await opt.stateDict();
  assertEquals(ck.optimizerState!.step, st.step);
  assertEquals(ck.optimizerState!.options, st.options);
  assertEquals(ck.optimizerState!.m, st.m);
  assertEquals(ck.optimizerState!.v, st.v);
  // the file is plain safetensors: HF names + optim.* names
  const h = await readSafetensorsHeader(path);
  assert(h.shapes.has("h.1.mlp.c_proj.weight") && h.shapes.has("optim.v.h.0.ln_1.bias"));
  // F16 weights: about half the size, values within half precision, moments kept F32
  const p16 = join(tmp, "rt-model-f16.safetensors");
  await saveCheckpoint(p16, { model, step: 1, dtype: "F16" });
  const ck16 = await loadCheckpoint(p16);
  assertEquals(ck16.optimizerState, undefined);
  const w32 = await weightsOf(model), w16 = await weightsOf(ck16.model);
  for (const [k, v] of w32) assert(maxRelErr(w16.get(k)!, v) < 1e-3, k);
  const sizeNoOpt = (await Deno.stat(join(tmp, "rt-model.safetensors"))).size;
  assert((await Deno.stat(p16)).size < sizeNoOpt / 5, "F16 file without moments is small");
  for (const m of [model, ck.model, ck16.model]) m.dispose();
  opt.dispose();
});

Deno.test("checkpoint: corrupt or mismatched files throw and create nothing", async () => {
  const model = createModel(TINY, { seed: 1 });
  const opt = new OpenAIAdam(model.params, { schedule: "constant" });
  const path = join(tmp, "bad-src.safetensors");
  await saveCheckpoint(path, { model, optimizer: opt, step: 4 });
  opt.dispose();
  model.dispose();
  const good = await Deno.readFile(path);
  const n0 = tf.memory().numTensors;
  const expectFail = async (bytes: Uint8Array, re: RegExp) => {
    const p = join(tmp, "bad.safetensors");
    await Deno.writeFile(p, bytes);
    await assertRejects(() => loadCheckpoint(p), (e: unknown) => {
      assert(e instanceof CheckpointError, `${e}`);
      assert(re.test(e.message), e.message);
      return true;
    });
    assertEquals(tf.memory().numTensors, n0, "no tensors left behind");
  };
  await expectFail(good.slice(0, good.length - 100), /truncated/);
  await expectFail(good.slice(0, 1000), /truncated|does not fit/);
  const flip = good.slice();
  flip[good.length - 12345] ^= 1;
  await expectFail(flip, /hash mismatch/);
  const json = good.slice();
  json[9] = 0x7b; // '{' -> '{{'
  await expectFail(json, /not valid JSON/);
  // well-formed files whose content does not fit: re-encode with changes (fresh hash)
  const f = decodeSafetensors(good);
  const reencode = (edit: (t: Map<string, TensorToWrite>, m: Record<string, string>) => void) => {
    const t = new Map<string, TensorToWrite>(
      [...f.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]),
    );
    const m = { ...f.metadata };
    edit(t, m);
    return encodeSafetensors(t, m);
  };
  await expectFail(
    reencode((_, m) => (m.config = JSON.stringify({ ...TINY, nEmbd: 32 }))),
    /shape \[.*\], expected|needs .* rows/,
  );
  await expectFail(
    reencode((t) =>
      t.set("h.1.attn.c_attn.weight", { shape: [16, 16], data: new Float32Array(256) })
    ),
    /h\.1\.attn\.c_attn\.weight has shape \[16,16\], expected \[16,48\]/,
  );
  await expectFail(reencode((t) => t.delete("h.0.ln_2.bias")), /missing tensor h\.0\.ln_2\.bias/);
  await expectFail(
    reencode((t) => t.delete("optim.v.h.0.ln_2.bias")),
    /optim\.v\.h\.0\.ln_2\.bias is missing/,
  );
  await expectFail(
    reencode((t) => t.set("extra.thing", { shape: [1], data: new Float32Array(1) })),
    /unexpected tensor extra\.thing/,
  );
  await expectFail(reencode((_, m) => (m.step = "x")), /step "x"/);
  await expectFail(reencode((_, m) => (m.rng = "{bad")), /rng is not valid JSON/);
  await expectFail(reencode((_, m) => delete m.format), /not a gpt1-lab checkpoint/);
  await assertRejects(() => loadCheckpoint(join(tmp, "nope.safetensors")), /cannot read/);
});

// =============================================================================================
// HuggingFace openai-gpt

const HF_LOGITS: { ids: number[][]; n_head: number; logits: number[][][] } = JSON.parse(
  await Deno.readTextFile(join(FIX, "hf_tiny_logits.json")),
);

async function assertLogitsMatchHf(model: Gpt1Model) {
  const got = (await model.logits(HF_LOGITS.ids)).flat(2);
  const err = maxRelErr(got, HF_LOGITS.logits.flat(2));
  assert(err < 1e-5, `logits vs transformers: max rel err ${err}`);
}

Deno.test("HF: save_pretrained folder (transformer. prefix, config.json) gives HF's logits", async () => {
  const model = await loadHuggingFace(join(FIX, "hf_tiny"));
  assertEquals(model.config.vocabSize, 20);
  assertEquals(model.config.nSpecial, 0);
  assertEquals(model.config.nHead, 2);
  assertEquals(model.config.nLayer, 2);
  await assertLogitsMatchHf(model);
  model.dispose();
});

Deno.test("HF: file with prefix + tied lm_head.weight needs heads; a different lm_head fails", async () => {
  const file = join(FIX, "hf_tiny_lmhead.safetensors");
  await assertRejects(() => loadHuggingFace(file), ConfigError);
  const model = await loadHuggingFace(file, { heads: 2 });
  await assertLogitsMatchHf(model);
  model.dispose();
  const f = await readSafetensors(file);
  const t = new Map<string, TensorToWrite>(
    [...f.tensors].map(([k, v]) => [k, { shape: v.shape, data: new Float32Array(v.data) }]),
  );
  t.get("lm_head.weight")!.data[5] += 1;
  const p = join(tmp, "untied.safetensors");
  await writeSafetensors(p, t, f.metadata);
  const n0 = tf.memory().numTensors;
  await assertRejects(() => loadHuggingFace(p, { heads: 2 }), /lm_head\.weight differs/);
  assertEquals(tf.memory().numTensors, n0);
});

Deno.test("HF: saveHuggingFace -> loadHuggingFace round trip (file, folder, prefix, specials)", async () => {
  const cfg = makeConfig({ ...TINY, nSpecial: 3, attnPdrop: 0.05 });
  const model = createModel(cfg, { seed: 11 });
  const w = await weightsOf(model);
  // single file, plain names: config (nSpecial, dropout) survives through the metadata
  const p = join(tmp, "hf-out.safetensors");
  await saveHuggingFace(model, p);
  const h = await readSafetensorsHeader(p);
  assertEquals(h.metadata.format, "pt");
  assertEquals(h.shapes.get("tokens_embed.weight")!.shape, [cfg.vocabSize + 3, cfg.nEmbd]);
  assert(!h.shapes.has("lm_head.weight"));
  const back = await loadHuggingFace(p);
  assertEquals(back.config, cfg);
  assertEquals(await weightsOf(back), w);
  back.dispose();
  // folder, OpenAIGPTLMHeadModel layout
  const dir = join(tmp, "hf-dir") + "/";
  await saveHuggingFace(model, dir, { prefix: "transformer.", lmHead: true });
  const hc = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
  assertEquals([hc.model_type, hc.vocab_size, hc.n_positions, hc.n_embd, hc.n_layer, hc.n_head], [
    "openai-gpt",
    cfg.vocabSize + 3,
    cfg.nCtx,
    cfg.nEmbd,
    cfg.nLayer,
    cfg.nHead,
  ]);
  const hd = await readSafetensorsHeader(join(dir, "model.safetensors"));
  assert(hd.shapes.has("transformer.h.0.attn.c_attn.weight") && hd.shapes.has("lm_head.weight"));
  const back2 = await loadHuggingFace(dir);
  assertEquals(await weightsOf(back2), w);
  back2.dispose();
  // an HF file without specials + addSpecial: 3 fresh rows
  const hf = await loadHuggingFace(join(FIX, "hf_tiny"), { addSpecial: 3, seed: 2 });
  assertEquals(hf.config.nSpecial, 3);
  assertEquals(hf.params.get("tokens_embed.weight")!.shape, [23, 8]);
  const fileTok = (await readSafetensors(join(FIX, "hf_tiny", "model.safetensors"))).tensors.get(
    "transformer.tokens_embed.weight",
  )!.data;
  assertEquals((await weightsOf(hf)).get("tokens_embed.weight")!.subarray(0, 160), fileTok);
  hf.dispose();
  model.dispose();
});
