/**
 * Tests for lib/optim.ts: the schedules against the table of paper.md §1.4, and the Adam
 * update against an independent float64 transliteration of the released opt.py.
 */
import * as tf from "@tensorflow/tfjs";
import {
  ADAM_DEFAULTS,
  type AdamOptions,
  OpenAIAdam,
  warmupConstant,
  warmupCosine,
  warmupLinear,
} from "../lib/optim.ts";
import { ConfigError } from "../lib/errors.ts";
import { assert, assertEquals, assertThrows, maxRelErr } from "./_util.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

// ---------------------------------------------------------------------------------------------
// reference: opt.py in float64, written from the formula (not from lib/optim.ts)

interface RefParam {
  shape: number[];
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** opt.py `adam` for one update at 0-based step t; returns the pre-clip global norm. */
function refStep(params: RefParam[], grads: Float64Array[], t: number, o: AdamOptions): number {
  const sched = (x: number): number => {
    const w = o.warmup;
    const s = x <= w ? 1 : 0;
    if (o.schedule === "warmup_cosine") {
      return s * (x / w) + (1 - s) * 0.5 * (1 + Math.cos(Math.PI * x));
    }
    if (o.schedule === "warmup_linear") return (s * (x / w) + (1 - s)) * (1 - x);
    if (o.schedule === "warmup_constant") return s * (x / w) + (1 - s);
    return 1;
  };
  let sq = 0;
  for (const g of grads) for (const x of g) sq += x * x;
  const norm = Math.sqrt(sq);
  // tf.clip_by_global_norm: t * clip_norm * min(1/global_norm, 1/clip_norm)
  const scale = o.maxGradNorm > 0 ? o.maxGradNorm * Math.min(1 / norm, 1 / o.maxGradNorm) : 1;
  const tt = t + 1;
  let lrt = o.lr * Math.sqrt(1 - o.b2 ** tt) / (1 - o.b1 ** tt);
  lrt *= sched(t / o.tTotal);
  params.forEach((q, k) => {
    const decay = (q.shape.length > 1 || o.vectorL2) && o.l2 > 0;
    for (let i = 0; i < q.p.length; i++) {
      const g = grads[k][i] * scale;
      q.m[i] = o.b1 * q.m[i] + (1 - o.b1) * g;
      q.v[i] = o.b2 * q.v[i] + (1 - o.b2) * g * g;
      const u = q.m[i] / (Math.sqrt(q.v[i]) + o.e);
      q.p[i] = q.p[i] - lrt * (decay ? u + o.l2 * q.p[i] : u);
    }
  });
  return norm;
}

/** Deterministic values in [-1, 1) rounded to float32 (mulberry32). */
function rand(n: number, seed: number, scale = 1): Float64Array {
  let a = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6D2B79F5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    out[i] = Math.fround((((r ^ (r >>> 14)) >>> 0) / 4294967296 * 2 - 1) * scale);
  }
  return out;
}

const SHAPES: Record<string, number[]> = { w: [3, 4], b: [4], emb: [5, 2] };
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Runs `steps` updates with tfjs and the reference, comparing everything after each. */
async function compareWithReference(
  opts: Partial<AdamOptions>,
  steps: number,
  gradScales: number[],
) {
  const o: AdamOptions = { ...ADAM_DEFAULTS, ...opts };
  const names = Object.keys(SHAPES);
  const init = names.map((n, k) => rand(size(SHAPES[n]), 100 + k));
  const params = new Map(
    names.map((n, k) => [n, tf.variable(tf.tensor(Float32Array.from(init[k]), SHAPES[n]))]),
  );
  const ref: RefParam[] = names.map((n, k) => ({
    shape: SHAPES[n],
    p: Float64Array.from(init[k]),
    m: new Float64Array(size(SHAPES[n])),
    v: new Float64Array(size(SHAPES[n])),
  }));
  const opt = new OpenAIAdam(params, opts);
  for (let t = 0; t < steps; t++) {
    const g64 = names.map((n, k) => rand(size(SHAPES[n]), 1000 * t + k, gradScales[t]));
    const grads = new Map(
      names.map((n, k) => [n, tf.tensor(Float32Array.from(g64[k]), SHAPES[n])]),
    );
    const normT = opt.step(grads);
    const norm = (await normT.data())[0];
    normT.dispose();
    tf.dispose([...grads.values()]);
    const want = refStep(ref, g64, t, o);
    assert(Math.abs(norm - want) <= 1e-6 * want, `step ${t}: norm ${norm} vs ${want}`);
    const st = await opt.stateDict();
    for (let k = 0; k < names.length; k++) {
      const p = await params.get(names[k])!.data();
      const errP = maxRelErr(p, ref[k].p);
      const errM = maxRelErr(st.m.get(names[k])!, ref[k].m);
      const errV = maxRelErr(st.v.get(names[k])!, ref[k].v);
      assert(errP < 2e-6, `step ${t} ${names[k]}: param rel err ${errP}`);
      assert(errM < 2e-6 && errV < 2e-6, `step ${t} ${names[k]}: m/v rel err ${errM}/${errV}`);
    }
  }
  // the parameters did move (the test can fail if the update is a no-op)
  const moved = maxRelErr(await params.get("w")!.data(), init[0]);
  assert(moved > 1e-3, `w moved only ${moved}`);
  opt.dispose();
  tf.dispose([...params.values()]);
}

// ---------------------------------------------------------------------------------------------

Deno.test("schedules match the table of paper.md §1.4", () => {
  // [x, warmup_linear, warmup_cosine, decimals given in the table]
  const table: [number, number, number, number][] = [
    [0, 0, 0, 6],
    [0.001, 0.4995, 0.5, 4],
    [0.002, 0.998, 1.0, 4],
    [0.0021, 0.9979, 0.999989, 4],
    [0.1, 0.9, 0.975528, 6],
    [0.5, 0.5, 0.5, 6],
    [0.9, 0.1, 0.024472, 6],
    [1.0, 0, 0, 6],
  ];
  for (const [x, lin, cos, dec] of table) {
    const tol = 0.5 * 10 ** -dec + 1e-12;
    assert(Math.abs(warmupLinear(x, 0.002) - lin) <= tol, `linear(${x}) = ${warmupLinear(x)}`);
    assert(Math.abs(warmupCosine(x, 0.002) - cos) <= Math.max(tol, 5e-7), `cosine(${x})`);
  }
  assertEquals(warmupConstant(0.001, 0.002), 0.5);
  assertEquals(warmupConstant(0.7, 0.002), 1);
});

Deno.test("OpenAIAdam step equals opt.py: warmup_linear, clipping active, L2 on matrices", async () => {
  // tTotal 10, warmup 0.2: steps 0..2 warm up, then linear decay; grads large enough that
  // clipping to norm 1 is active at some steps and not at others.
  await compareWithReference(
    { lr: 0.05, schedule: "warmup_linear", warmup: 0.2, tTotal: 10, l2: 0.01, maxGradNorm: 1 },
    8,
    [2, 0.05, 3, 0.1, 0.02, 1.5, 0.2, 4],
  );
});

Deno.test("OpenAIAdam step equals opt.py: warmup_cosine, vectorL2, no clipping", async () => {
  await compareWithReference(
    {
      lr: 0.02,
      schedule: "warmup_cosine",
      warmup: 0.1,
      tTotal: 6,
      l2: 0.5,
      vectorL2: true,
      maxGradNorm: 0,
      b1: 0.8,
      b2: 0.99,
      e: 1e-3,
    },
    6,
    [1, 2, 0.5, 3, 0.01, 1],
  );
});

Deno.test("OpenAIAdam: the first update has lr 0 but updates m and v", async () => {
  const w = tf.variable(tf.tensor([[1, 2], [3, 4]]));
  const opt = new OpenAIAdam(new Map([["w", w]]), { lr: 0.1, tTotal: 100 });
  assertEquals(opt.lrAt(0), 0);
  assertEquals(opt.stepSizeAt(0), 0);
  const g = tf.tensor([[0.1, -0.2], [0.3, 0.4]]);
  opt.step(new Map([["w", g]])).dispose();
  assertEquals(Array.from(await w.data()), [1, 2, 3, 4]);
  const st = await opt.stateDict();
  assert(Math.abs(st.m.get("w")![0] - 0.1 * 0.1) < 1e-7);
  assert(Math.abs(st.v.get("w")![1] - 0.001 * 0.04) < 1e-9);
  assertEquals(opt.t, 1);
  assert(opt.lrAt() > 0);
  g.dispose();
  opt.dispose();
  w.dispose();
});

Deno.test("OpenAIAdam: no tensor leaks across steps; only grads given are updated", async () => {
  const w = tf.variable(tf.randomNormal([4, 3], 0, 1, "float32", 1));
  const b = tf.variable(tf.zeros([3]));
  const opt = new OpenAIAdam(new Map([["w", w], ["b", b]]), { lr: 0.1, tTotal: 10 });
  const x = tf.randomNormal([5, 4], 0, 1, "float32", 2);
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(x, w))), [w]);
    const norm = opt.step(new Map([["w", grads[w.name]]]));
    await norm.data();
    tf.dispose([value, norm, ...Object.values(grads)]);
    counts.push(tf.memory().numTensors);
  }
  assert(counts.every((c) => c === counts[0]), `numTensors ${counts}`);
  assertEquals(Array.from(await b.data()), [0, 0, 0]);
  opt.dispose();
  tf.dispose([w, b, x]);
});

Deno.test("OpenAIAdam: stateDict round trip resumes bit-identically", async () => {
  const make = (data: Float32Array) => new Map([["w", tf.variable(tf.tensor(data, [3, 2]))]]);
  const grad = (t: number) =>
    new Map([["w", tf.tensor(Float32Array.from(rand(6, 7 + t, 0.5)), [3, 2])]]);
  const run = (opt: OpenAIAdam, from: number, to: number) => {
    for (let t = from; t < to; t++) {
      const g = grad(t);
      opt.step(g).dispose();
      tf.dispose([...g.values()]);
    }
  };
  const opts = { lr: 0.1, schedule: "warmup_cosine", tTotal: 8, warmup: 0.2 } as const;
  const pa = make(Float32Array.from(rand(6, 1)));
  const a = new OpenAIAdam(pa, opts);
  run(a, 0, 3);
  const mid = await a.stateDict();
  const midW = new Float32Array(await pa.get("w")!.data());
  run(a, 3, 6);
  const pb = make(midW);
  const b = OpenAIAdam.fromStateDict(pb, mid);
  assertEquals(b.t, 3);
  assertEquals(b.options, a.options);
  run(b, 3, 6);
  assertEquals(Array.from(await pb.get("w")!.data()), Array.from(await pa.get("w")!.data()));
  assertEquals(await b.stateDict(), await a.stateDict());
  // a bad state changes nothing
  const before = await b.stateDict();
  const bad = { ...mid, v: new Map([["w", new Float32Array(5)]]) };
  assertThrows(() => b.loadStateDict(bad), ConfigError);
  assertThrows(() => b.loadStateDict({ ...mid, m: new Map() }), /lacks m for parameter w/);
  assertEquals(await b.stateDict(), before);
  a.dispose();
  b.dispose();
  tf.dispose([...pa.values(), ...pb.values()]);
});

Deno.test("OpenAIAdam: options and gradients are validated", () => {
  const w = tf.variable(tf.zeros([2, 2]));
  const params = new Map([["w", w]]);
  assertThrows(() => new OpenAIAdam(params, { lr: 1 }), /tTotal/); // warmup schedule needs tTotal
  assertThrows(() => new OpenAIAdam(params, { lrr: 1 } as Partial<AdamOptions>), ConfigError);
  assertThrows(() => new OpenAIAdam(params, { b1: 1, tTotal: 5 }), /b1/);
  const opt = new OpenAIAdam(params, { schedule: "constant", lr: 1 });
  assertEquals(opt.lrAt(123), 1);
  const g = tf.zeros([2, 3]);
  assertThrows(() => opt.step(new Map([["w", g]])), /shape \[2,3\]/);
  assertThrows(() => opt.step(new Map([["x", g]])), /unknown parameter "x"/);
  assertThrows(() => opt.step(new Map()), /no gradients/);
  assertEquals(opt.t, 0);
  tf.dispose([g, w]);
  opt.dispose();
});
