/**
 * The WebGPU engine's two matmul kernels (lib/webgpu/kernels.ts: 64×64 tiles, and 128×128 tiles
 * with 8×8 outputs per thread, vec4 loads and register double buffering) against a float64 CPU
 * product: every storage order of A and B, bias, accumulation, offsets, shapes that are no
 * multiple of the tiles, and vec4 and scalar loads. Then the engine built with the 128 kernel
 * everywhere against the tfjs reference. Skipped with a SKIP line without a WebGPU adapter.
 */
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../lib/backend.ts";
import { makeConfig } from "../../lib/config.ts";
import { Gpt1Model } from "../../lib/model.ts";
import { mixSeed } from "../../lib/random.ts";
import {
  matmul128Wgsl,
  type MatmulVariant,
  matmulVec4,
  matmulWgsl,
  splitReduceWgsl,
  TILE,
  TILE_L,
} from "../../lib/webgpu/kernels.ts";
import { type GpuContext, requestGpu, WebGpuGptEngine } from "../../lib/webgpu/mod.ts";
import { assert, assertEquals, maxRelErr } from "../_util.ts";

const gpu: GpuContext | null = await requestGpu();
if (!gpu) console.log("SKIP webgpu matmul tests: no WebGPU adapter (navigator.gpu)");
const ignore = gpu === null;

interface Case {
  M: number;
  N: number;
  K: number;
  offA: number;
  offB: number;
  offC: number;
}

const PIPES = new Map<string, GPUComputePipeline>();

/**
 * Runs one product on the GPU (split-K into `splits` parts when > 0: the 128 kernel's split
 * mode, then the reduce kernel) and on the CPU; returns the largest relative error.
 */
async function check(
  v: MatmulVariant,
  c: Case,
  large: boolean,
  acc: boolean,
  splits = 0,
): Promise<number> {
  const dev = gpu!.device;
  const { M, N, K } = c;
  // leading dimensions: the stored row widths (one extra column when offsets break alignment)
  const lda = (v.transA ? M : K) + (c.offA % 4 ? 1 : 0);
  const ldb = (v.transB ? K : N) + (c.offB % 4 ? 1 : 0);
  const ldc = N + 3;
  const aLen = c.offA + (v.transA ? K : M) * lda, bLen = c.offB + (v.transB ? N : K) * ldb;
  const cLen = c.offC + M * ldc;
  let s = 7;
  const rnd = (n: number) =>
    Float32Array.from(
      { length: n },
      () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24 - 0.5,
    );
  const A = rnd(aLen), B = rnd(bLen), C0 = rnd(cLen), bias = rnd(N + 5);
  const offBias = 5;
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buf = (data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>, usage = S) => {
    const b = dev.createBuffer({ size: Math.ceil(data.byteLength / 16) * 16 + 16, usage });
    dev.queue.writeBuffer(b, 0, data);
    return b;
  };
  const bA = buf(A), bB = buf(B), bC = buf(C0), bBias = buf(bias);
  const kChunk = splits > 0 ? Math.ceil(K / splits / 8) * 8 : 0;
  const nz = splits > 0 ? Math.ceil(K / kChunk) : 1;
  const dims = [M, N, K, lda, ldb, ldc, c.offA, c.offB, c.offC, offBias, acc ? 1 : 0, kChunk];
  const u = buf(new Uint32Array(dims), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const vec = matmulVec4(v, { M, N, K, lda, ldb, offA: c.offA, offB: c.offB });
  const pipe = (code: string) => {
    let p = PIPES.get(code);
    if (!p) {
      p = dev.createComputePipeline({
        layout: "auto",
        compute: { module: dev.createShaderModule({ code }), entryPoint: "main" },
      });
      PIPES.set(code, p);
    }
    return p;
  };
  const bindOf = (p: GPUComputePipeline, entries: GPUBuffer[]) =>
    dev.createBindGroup({
      layout: p.getBindGroupLayout(0),
      entries: entries.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  const split = splits > 0;
  const pipeline = pipe(large ? matmul128Wgsl(v, vec, split) : matmulWgsl(v));
  const part = split ? buf(new Float32Array(nz * M * N)) : null;
  const bind = bindOf(pipeline, [u, bA, bB, part ?? bC, ...(v.bias && !split ? [bBias] : [])]);
  const stage = dev.createBuffer({
    size: cLen * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  const T = large ? TILE_L : TILE;
  pass.dispatchWorkgroups(Math.ceil(N / T), Math.ceil(M / T), nz);
  const u2 = buf(
    new Uint32Array([M, N, ldc, c.offC, offBias, acc ? 1 : 0, nz, 0]),
    GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  );
  if (part) {
    const red = pipe(splitReduceWgsl(v.bias));
    pass.setPipeline(red);
    pass.setBindGroup(0, bindOf(red, [u2, part, bC, ...(v.bias ? [bBias] : [])]));
    pass.dispatchWorkgroups(Math.ceil((M * N) / 256));
  }
  pass.end();
  enc.copyBufferToBuffer(bC, 0, stage, 0, cLen * 4);
  dev.queue.submit([enc.finish()]);
  await stage.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(stage.getMappedRange().slice(0));
  stage.destroy();
  for (const b of [bA, bB, bC, bBias, u, u2, ...(part ? [part] : [])]) b.destroy();
  // reference, and the untouched entries (outside the M×N block) must keep their values
  const want = Float32Array.from(C0);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let r = 0;
      for (let k = 0; k < K; k++) {
        const a = v.transA ? A[c.offA + k * lda + m] : A[c.offA + m * lda + k];
        const b = v.transB ? B[c.offB + n * ldb + k] : B[c.offB + k * ldb + n];
        r += a * b;
      }
      if (v.bias) r += bias[offBias + n];
      const o = c.offC + m * ldc + n;
      want[o] = acc ? r + C0[o] : r;
    }
  }
  return maxRelErr(got, want);
}

Deno.test({
  name: "webgpu matmul kernels (64 and 128 tiles; vec4 and scalar loads) = float64 products",
  ignore,
  async fn() {
    const cases: Case[] = [
      { M: 130, N: 131, K: 21, offA: 3, offB: 1, offC: 2 }, // nothing aligned: scalar loads
      { M: 132, N: 136, K: 24, offA: 8, offB: 4, offC: 1 }, // aligned: vec4 loads
      { M: 8, N: 260, K: 9, offA: 0, offB: 0, offC: 0 }, // a thin product, K not a slice multiple
    ];
    let worst = 0, vec4Seen = 0;
    for (const c of cases) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const [bias, acc] of [[false, false], [true, false], [false, true]]) {
            const v = { transA, transB, bias };
            for (const large of [false, true]) {
              const e = await check(v, c, large, acc);
              assert(e < 1e-5, `${JSON.stringify({ ...c, ...v, acc, large })}: rel err ${e}`);
              worst = Math.max(worst, e);
            }
            const vec = matmulVec4(v, {
              ...c,
              lda: (transA ? c.M : c.K) + (c.offA % 4 ? 1 : 0),
              ldb: (transB ? c.K : c.N) + (c.offB % 4 ? 1 : 0),
            });
            vec4Seen += Number(vec.a) + Number(vec.b);
          }
        }
      }
    }
    // split-K: a long K in 3 parts (the last one shorter), every storage order, bias and accumulation
    const long: Case = { M: 70, N: 132, K: 203, offA: 4, offB: 0, offC: 3 };
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [bias, acc] of [[false, false], [true, true]]) {
          const v = { transA, transB, bias };
          const e = await check(v, long, true, acc, 3);
          assert(e < 1e-5, `split-K ${JSON.stringify({ ...v, acc })}: rel err ${e}`);
          worst = Math.max(worst, e);
        }
      }
    }
    console.log(
      `  72 products + 8 split-K, worst rel err ${
        worst.toExponential(2)
      }; ${vec4Seen} vec4 operands`,
    );
    assert(vec4Seen > 0, "some operands took the vec4 path");
  },
});

for (const splitK of [1, 3]) {
  Deno.test({
    name: `webgpu engine with the 128-tile matmul everywhere (split-K ${splitK}): = tfjs`,
    ignore,
    async fn() {
      await selectBackend({ force: "cpu", log: () => {} });
      // widths that are multiples of 4 (vec4 loads) and a vocabulary that is not (scalar loads)
      const cfg = makeConfig("tiny", {
        vocabSize: 98,
        nSpecial: 3,
        nCtx: 16,
        nEmbd: 32,
        nHead: 2,
        nInner: 64,
        nLayer: 2,
      });
      const B = 2, T = 16, V = 101, SEED = 3;
      const adam = { lr: 3e-3, schedule: "warmup_cosine" as const, warmup: 0.1, tTotal: 10 };
      const batch = (t: number) =>
        Array.from({ length: B * T }, (_, i) => (i * 37 + t * 13 + ((i * i) % 7)) % V);
      const eng = await WebGpuGptEngine.create(gpu!, cfg, {
        batchSize: B,
        seed: SEED,
        adam,
        matmul: "128",
        splitK,
        headChunkElements: 12 * V,
      });
      const model = new Gpt1Model(cfg, { seed: SEED });
      try {
        assertEquals(eng.matmul, "128");
        const ids = batch(0);
        const r = await eng.lossAndGrads(ids, { training: true, dropoutSeed: 9 });
        const t = tf.tensor2d(ids, [B, T], "int32");
        const { value, grads } = model.valueAndGrads(() =>
          model.lmLossTensor(t, { training: true, seed: 9 })
        );
        t.dispose();
        let worst = 0;
        for (const [name, g] of grads) {
          const e = maxRelErr(r.grads.get(name)!, g.dataSync());
          assert(e < 1e-4, `gradient of ${name}: ${e}`);
          worst = Math.max(worst, e);
        }
        const lr = value.dataSync()[0];
        assert(Math.abs(r.loss - lr) / lr < 1e-5, `loss ${r.loss} vs ${lr}`);
        tf.dispose([value, ...grads.values()]);
        const { OpenAIAdam } = await import("../../lib/optim.ts");
        const opt = new OpenAIAdam(model.params, adam);
        const ref: number[] = [];
        for (let s = 0; s < 10; s++) {
          const x = tf.tensor2d(batch(s), [B, T], "int32");
          const out = model.valueAndGrads(() =>
            model.lmLossTensor(x, { training: true, seed: mixSeed(SEED, s, 1) })
          );
          x.dispose();
          ref.push(out.value.dataSync()[0]);
          tf.dispose([out.value, opt.step(out.grads), ...out.grads.values()]);
          eng.step(batch(s), mixSeed(SEED, s, 1));
        }
        opt.dispose();
        const st = await eng.readStats();
        const dl = Math.max(...st.map((x, s) => Math.abs(x.loss - ref[s])));
        console.log(
          `  128 tiles, split-K ${splitK}: ${eng.dispatchesPerStep} dispatches, worst gradient rel err ${
            worst.toExponential(2)
          }, 10 steps max |Δloss| ` +
            dl.toExponential(2),
        );
        assert(dl < 1e-3, `losses differ by ${dl}`);
      } finally {
        eng.dispose();
        model.dispose();
      }
    },
  });
}
