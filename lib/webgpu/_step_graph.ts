/**
 * The GPT-1 training step as lists of dispatches, built once: the flat parameter layout, the
 * activation and gradient buffers (checked against the device's binding limit), the forward
 * pass, the LM head in row chunks (forward, cross-entropy, backward per chunk), the backward
 * pass through the blocks, and the once-per-step dispatches (gradient norm, statistics, Adam).
 * The engine (engine.ts) records these lists into its command encoders.
 * @module
 */
import type { Gpt1Config } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { parameterShapes } from "../model.ts";
import type { AdamOptions } from "../optim.ts";
import { CD, CS, type Dispatch, type GpuBuilder, S, SPLIT_K_TARGET } from "./_builder.ts";
import * as K from "./kernels.ts";

/** Floats (256 bytes) between parameters in the flat buffers. */
const ALIGN = 64;

/** A parameter's place in the flat buffers. */
export interface Slot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** What the step is built for (the engine's validated options). */
export interface StepSpec {
  config: Gpt1Config;
  /** Windows per step (all micro-batches). */
  batchSize: number;
  /** Micro-batches per step. */
  microBatches: number;
  /** Windows per micro-batch B. */
  microBatch: number;
  /** Window width T. */
  seqLen: number;
  /** Rows of one LM-head chunk. */
  headRows: number;
  adam: AdamOptions;
  /** Words of the inverse token index and of the step info (per micro-batch). */
  indexWords: number;
  stepWords: number;
}

/** The built step: layout, buffers and dispatch lists. */
export interface StepGraph {
  /** Every parameter's place in the flat params / grads / moments buffers. */
  slots: Slot[];
  /** Floats of the flat buffers. */
  total: number;
  /** The L2 term of Adam applies below this offset. */
  l2End: number;
  /** The buffers by name (params, grads, m, v, ids, index, step, logits, lossRows, ring, …). */
  b: Record<string, GPUBuffer>;
  /** Forward through the blocks (embeddings first). */
  fwd: Dispatch[];
  /** Per LM-head chunk: its forward product, cross-entropy and the two backward products. */
  head: Dispatch[];
  /** Per chunk: [first row, rows, index in `head` of the chunk's forward product]. */
  headChunks: [number, number, number][];
  /** Backward through the blocks and the embeddings. */
  bwd: Dispatch[];
  /** Once per step after the last micro-batch: gradient norm and statistics. */
  final: Dispatch[];
  /** The Adam update. */
  opt: Dispatch[];
  /** The weight of one position in the mean loss: 1 / (batchSize · (T - 1)). */
  ceWeight: number;
  /** Host staging of every micro-batch's inputs (with more than one micro-batch). */
  stage: {
    ids: Int32Array<ArrayBuffer>;
    index: Uint32Array<ArrayBuffer>;
    step: Uint32Array<ArrayBuffer>;
  } | null;
  /** The mappable copy of the stats ring. */
  ringStage: GPUBuffer;
}

/** Builds every buffer and dispatch of the step with `g`; see the module documentation. */
export function buildStep(g: GpuBuilder, o: StepSpec): StepGraph {
  const slots: Slot[] = [];
  let total = 0, l2End = 0, ceWeight = 0;
  let stage: StepGraph["stage"] = null;
  const layerBufs: Record<string, GPUBuffer>[] = [];
  const fwd: Dispatch[] = [], head: Dispatch[] = [], bwd: Dispatch[] = [];
  const final: Dispatch[] = [], opt: Dispatch[] = [];
  const headChunks: [number, number, number][] = [];
  const offsetOf = (name: string): number => {
    const s = slots.find((x) => x.name === name);
    if (!s) throw new Error(`no parameter ${name}`);
    return s.offset;
  };
  const cfg = o.config;
  const { nEmbd: C, nHead: H, nInner: F, nLayer: L } = cfg;
  const B = o.microBatch, T = o.seqLen, N = B * T, V = cfg.vocabSize + cfg.nSpecial;
  const k = o.microBatches, acc = k > 1; // accumulating: every gradient write adds
  const sh: K.Shapes = { B, T, C, H, F, V, eps: cfg.layerNormEps };
  // flat layout: matrices first (the L2 term applies below l2End), then vectors
  const shapes = parameterShapes(cfg);
  let off = 0;
  for (const pass of [true, false]) {
    for (const [name, shape] of shapes) {
      if ((shape.length > 1) !== pass) continue;
      const size = shape.reduce((a, b) => a * b, 1);
      slots.push({ name, shape, offset: off, size });
      off = Math.ceil((off + size) / ALIGN) * ALIGN;
    }
    if (pass) l2End = off;
  }
  if (o.adam.vectorL2) l2End = off;
  total = off;
  const lim = g.gpu.limits.maxStorageBufferBindingSize;
  const sizes: [string, number, string][] = [
    [
      "the parameters (and gradients, Adam moments)",
      off,
      "a hardware adapter (gpt1 needs 466 MB)",
    ],
    ["a layer's attention probabilities", B * H * T * T, "a smaller --micro-batch or context"],
    ["an LM-head chunk", o.headRows * V, "a smaller headChunkElements"],
    ["the widest activation", N * Math.max(3 * C, F), "a smaller --micro-batch"],
  ];
  for (const [what, floats, fix] of sizes) {
    if (floats * 4 > lim) {
      throw new ConfigError(
        `${what}: ${floats * 4} bytes exceed this device's storage binding limit ${lim} ` +
          `(${g.gpu.description})`,
        { fix: `use ${fix}` },
      );
    }
  }
  const f = (label: string, floats: number, extra = 0) => g.buffer(label, floats * 4, S | extra);
  const b: Record<string, GPUBuffer> = {
    params: f("params", off, CD | CS),
    grads: f("grads", off, CS | CD),
    m: f("adam.m", off, CD | CS),
    v: f("adam.v", off, CD | CS),
    ids: f("ids", N, CD),
    index: f("index", o.indexWords, CD),
    step: f("step", o.stepWords, CD),
    sub: f("sub", N * C),
    dX: f("dX", N * C),
    dR: f("dR", N * C),
    dRm: f("dRm", N * C),
    dF: f("dF", N * F),
    dY: f("dY", N * C),
    dQKV: f("dQKV", N * 3 * C),
    logits: f("logits", o.headRows * V, CS),
    lossRows: f("lossRows", k * N, CS),
    partial: f("partial", K.NORM_WGS),
    colPartial: f("colPartial", K.colChunks(sh) * Math.max(2 * C, 3 * C, F)),
    scal: f("scal", 4, CD),
    ring: f("ring", K.RING_SLOTS * 4, CS),
  };
  g.params = b.params;
  // split-K partials (created at the first split product): `auto` keeps splits·tiles below
  // 2·SPLIT_K_TARGET; a forced count needs that many copies of the largest product
  const maxMN = Math.max(N * Math.max(3 * C, F), V * C, o.headRows * C, F * C, 3 * C * C);
  g.splitFloats = typeof g.splitK === "number"
    ? g.splitK * maxMN
    : Math.min(2 * SPLIT_K_TARGET * K.TILE_L * K.TILE_L, 8 * maxMN);
  if (k > 1) {
    // what the host writes for each micro-batch; copied into ids/index/step before its pass
    b.idsAll = g.buffer("ids.all", k * N * 4, CD | CS);
    b.indexAll = g.buffer("index.all", k * o.indexWords * 4, CD | CS);
    b.stepAll = g.buffer("step.all", k * o.stepWords * 4, CD | CS);
    stage = {
      ids: new Int32Array(k * N),
      index: new Uint32Array(k * o.indexWords),
      step: new Uint32Array(k * o.stepWords),
    };
  }
  const ringStage = g.buffer(
    "ring.stage",
    K.RING_SLOTS * 16,
    GPUBufferUsage.MAP_READ | CD,
  );
  const X: GPUBuffer[] = [f("x0", N * C)];
  for (let l = 0; l < L; l++) {
    layerBufs.push({
      qkv: f(`h${l}.qkv`, N * 3 * C),
      P: f(`h${l}.P`, B * H * T * T),
      Y: f(`h${l}.Y`, N * C),
      R1: f(`h${l}.R1`, N * C),
      N1: f(`h${l}.N1`, N * C),
      S1: f(`h${l}.S1`, 2 * N),
      Hfc: f(`h${l}.Hfc`, N * F),
      G: f(`h${l}.G`, N * F),
      R2: f(`h${l}.R2`, N * C),
      S2: f(`h${l}.S2`, 2 * N),
    });
    X.push(f(`x${l + 1}`, N * C));
  }
  // dropout sites: 0 embeddings; 1 + 3l + k (attention probs, attention out, MLP out)
  const sitePs = [cfg.embdPdrop];
  for (let l = 0; l < L; l++) sitePs.push(cfg.attnPdrop, cfg.residPdrop, cfg.residPdrop);
  const drop = (site: number) => {
    const p = sitePs[site];
    return [Math.floor(p * 4294967296), K.f32bits(1 / (1 - p))];
  };
  const grid = (n: number) => Math.max(1, Math.min(Math.ceil(n / K.WG), 4096));
  const rowsGrid = (n: number) => Math.max(1, Math.min(n, 65535));
  const wte = offsetOf("tokens_embed.weight"), wpe = offsetOf("positions_embed.weight");
  const p = (l: number, n: string) => offsetOf(`h.${l}.${n}`);
  const NN = { transA: false, transB: false, bias: true };
  const NT = { transA: false, transB: true, bias: false };
  const TN = { transA: true, transB: false, bias: false };
  // block l's linear layer `name` ([inW, outW] weight and its bias) on the N rows of x into y
  const linear = (
    label: string,
    l: number,
    name: string,
    x: GPUBuffer,
    y: GPUBuffer,
    inW: number,
    outW: number,
  ) =>
    g.mm(label, NN, x, b.params, y, {
      M: N,
      N: outW,
      K: inW,
      lda: inW,
      ldb: outW,
      ldc: outW,
      offB: p(l, `${name}.weight`),
      offBias: p(l, `${name}.bias`),
    });

  // forward
  fwd.push(g.dispatch(
    "embed",
    K.embedFwdWgsl(sh),
    [b.step, g.uniform([wte, wpe, ...drop(0)]), b.ids, b.params, X[0]],
    grid(N * C),
  ));
  for (let l = 0; l < L; l++) {
    const lb = layerBufs[l], s0 = 1 + 3 * l;
    fwd.push(
      ...linear(`h${l}.c_attn`, l, "attn.c_attn", X[l], lb.qkv, C, 3 * C),
      g.dispatch(
        "attn",
        K.attnFwdWgsl(sh),
        [
          b.step,
          g.uniform([s0, ...drop(s0), 0]),
          lb.qkv,
          lb.P,
          lb.Y,
        ],
        T,
        B * H,
      ),
      ...linear(`h${l}.attn.c_proj`, l, "attn.c_proj", lb.Y, b.sub, C, C),
      g.dispatch("ln_1", K.residualLnFwdWgsl(sh), [
        b.step,
        g.uniform([s0 + 1, ...drop(s0 + 1), p(l, "ln_1.weight"), p(l, "ln_1.bias")]),
        X[l],
        b.sub,
        b.params,
        lb.R1,
        lb.N1,
        lb.S1,
      ], rowsGrid(N)),
      ...linear(`h${l}.mlp.c_fc`, l, "mlp.c_fc", lb.N1, lb.Hfc, C, F),
      g.dispatch("gelu", K.geluFwdWgsl(sh), [lb.Hfc, lb.G], grid(N * F)),
      ...linear(`h${l}.mlp.c_proj`, l, "mlp.c_proj", lb.G, b.sub, F, C),
      g.dispatch("ln_2", K.residualLnFwdWgsl(sh), [
        b.step,
        g.uniform([s0 + 2, ...drop(s0 + 2), p(l, "ln_2.weight"), p(l, "ln_2.bias")]),
        lb.N1,
        b.sub,
        b.params,
        lb.R2,
        X[l + 1],
        lb.S2,
      ], rowsGrid(N)),
    );
  }
  // tied head + cross-entropy + head backward, chunk by chunk
  const R = o.headRows, xL = X[L];
  const w = 1 / (o.batchSize * (T - 1));
  ceWeight = w;
  for (let s = 0; s < N; s += R) {
    const rows = Math.min(R, N - s);
    // [first row, rows, index in #head of the chunk's forward product (the CE follows it)]
    headChunks.push([s, rows, head.length]);
    head.push(
      ...g.mm("head", NT, xL, b.params, b.logits, {
        M: rows,
        N: V,
        K: C,
        lda: C,
        ldb: C,
        ldc: V,
        offA: s * C,
        offB: wte,
      }, true),
      g.dispatch("ce", K.crossEntropyWgsl(sh), [
        g.uniform([s, rows, K.f32bits(w), 0]),
        b.ids,
        b.logits,
        b.lossRows,
        b.step,
      ], rowsGrid(rows)),
      ...g.mm("head.dx", { ...NN, bias: false }, b.logits, b.params, b.dX, {
        M: rows,
        N: C,
        K: V,
        lda: V,
        ldb: C,
        ldc: C,
        offB: wte,
        offC: s * C,
      }),
      ...g.mm("head.dE", TN, b.logits, xL, b.grads, {
        M: V,
        N: C,
        K: rows,
        lda: V,
        ldb: C,
        ldc: C,
        offB: s * C,
        offC: wte,
        acc: s > 0 || acc,
      }),
    );
  }
  // backward through the blocks
  // column sums in two passes: partial sums over row chunks, then their sum into the gradients
  const chunks = K.colChunks(sh);
  const finish = (label: string, width: number, split: number, off1: number, off2: number) =>
    g.dispatch(label, K.colFinishWgsl(sh), [
      g.uniform([width, split, off1, off2, acc ? 1 : 0, 0, 0, 0]),
      b.colPartial,
      b.grads,
    ], Math.ceil(width / K.WG));
  const colsum = (label: string, d: GPUBuffer, width: number, goff: number) => [
    g.dispatch(
      label,
      K.colPartialWgsl(sh),
      [
        g.uniform([width, 0, 0, 0]),
        d,
        b.colPartial,
      ],
      Math.ceil(width / K.COL_WG),
      chunks,
    ),
    finish(`${label}.sum`, width, width, goff, 0),
  ];
  // LayerNorm ln_k of block l backward from dout: din (what flows to the skip input) and dRm
  // (din through the residual's dropout, into the sub-layer), then its gain and bias gradients
  const lnBwd = (
    l: number,
    k: 1 | 2,
    dout: GPUBuffer,
    r: GPUBuffer,
    st: GPUBuffer,
    din: GPUBuffer,
  ) => {
    const site = 1 + 3 * l + k;
    return [
      g.dispatch(`ln_${k}.bwd`, K.lnBwdWgsl(sh), [
        b.step,
        g.uniform([site, ...drop(site), p(l, `ln_${k}.weight`)]),
        dout,
        r,
        st,
        b.params,
        din,
        b.dRm,
      ], rowsGrid(N)),
      g.dispatch(
        `ln_${k}.dg`,
        K.lnPartialWgsl(sh),
        [dout, r, st, b.colPartial],
        Math.ceil(C / K.COL_WG),
        chunks,
      ),
      finish(`ln_${k}.dg.sum`, 2 * C, C, p(l, `ln_${k}.weight`), p(l, `ln_${k}.bias`)),
    ];
  };
  // block l's linear layer `name` backward from dy [N, outW]: the weight gradient xᵀ·dy, the
  // bias gradient (column sums of dy), and dx = dy·Wᵀ (added to dx when accDx)
  const linearBwd = (
    l: number,
    name: string,
    x: GPUBuffer,
    dy: GPUBuffer,
    dx: GPUBuffer,
    inW: number,
    outW: number,
    accDx = false,
  ) => [
    ...g.mm(`${name}.dW`, TN, x, dy, b.grads, {
      M: inW,
      N: outW,
      K: N,
      lda: inW,
      ldb: outW,
      ldc: outW,
      offC: p(l, `${name}.weight`),
      acc,
    }),
    ...colsum(`${name}.db`, dy, outW, p(l, `${name}.bias`)),
    ...g.mm(`${name}.dx`, NT, dy, b.params, dx, {
      M: N,
      N: inW,
      K: outW,
      lda: outW,
      ldb: outW,
      ldc: inW,
      offB: p(l, `${name}.weight`),
      acc: accDx,
    }),
  ];
  for (let l = L - 1; l >= 0; l--) {
    const lb = layerBufs[l], s0 = 1 + 3 * l;
    bwd.push(
      ...lnBwd(l, 2, b.dX, lb.R2, lb.S2, b.dR),
      ...linearBwd(l, "mlp.c_proj", lb.G, b.dRm, b.dF, F, C),
      g.dispatch("gelu.bwd", K.geluBwdWgsl(sh), [lb.Hfc, b.dF], grid(N * F)),
      ...linearBwd(l, "mlp.c_fc", lb.N1, b.dF, b.dR, C, F, true),
      ...lnBwd(l, 1, b.dR, lb.R1, lb.S1, b.dX),
      ...linearBwd(l, "attn.c_proj", lb.Y, b.dRm, b.dY, C, C),
      g.dispatch(
        "attn.dv",
        K.attnBwdVWgsl(sh),
        [
          b.step,
          g.uniform([s0, ...drop(s0), 0]),
          lb.P,
          b.dY,
          b.dQKV,
        ],
        T,
        B * H,
      ),
      g.dispatch(
        "attn.dq",
        K.attnBwdQWgsl(sh),
        [
          b.step,
          g.uniform([s0, ...drop(s0), 0]),
          lb.qkv,
          b.dY,
          lb.P,
          b.dQKV,
        ],
        T,
        B * H,
      ),
      g.dispatch(
        "attn.dk",
        K.attnBwdKWgsl(sh),
        [
          null,
          null,
          lb.qkv,
          lb.P,
          b.dQKV,
        ],
        T,
        B * H,
      ),
      ...linearBwd(l, "attn.c_attn", X[l], b.dQKV, b.dX, C, 3 * C, true),
    );
  }
  bwd.push(
    g.dispatch("embed.dpos", K.embedBwdPosWgsl(sh), [
      b.step,
      g.uniform([wpe, ...drop(0), acc ? 1 : 0]),
      b.dX,
      b.grads,
    ], grid(T * C)),
    g.dispatch("embed.dtok", K.embedBwdTokWgsl(sh), [
      b.step,
      g.uniform([wte, ...drop(0), 0]),
      b.dX,
      b.index,
      b.grads,
    ], rowsGrid(N)),
  );
  // once per step, after the last micro-batch
  final.push(
    g.dispatch("norm.partial", K.sumSquaresWgsl(total), [
      b.grads,
      b.partial,
    ], K.NORM_WGS),
    g.dispatch("stats", K.statsWgsl(sh, k), [
      b.step,
      g.uniform([K.f32bits(o.adam.maxGradNorm), 0, 0, 0]),
      b.lossRows,
      b.partial,
      b.ring,
      b.scal,
    ], 1),
  );
  const a = o.adam;
  opt.push(g.dispatch("adam", K.adamWgsl(total), [
    b.step,
    g.uniform([
      K.f32bits(a.b1),
      K.f32bits(1 - a.b1),
      K.f32bits(a.b2),
      K.f32bits(1 - a.b2),
      K.f32bits(a.e),
      K.f32bits(a.l2),
      a.l2 > 0 ? l2End : 0,
      0,
    ]),
    b.params,
    b.grads,
    b.m,
    b.v,
    b.scal,
  ], grid(total)));

  return {
    slots,
    total,
    l2End,
    b,
    fwd,
    head,
    headChunks,
    bwd,
    final,
    opt,
    ceWeight,
    stage,
    ringStage,
  };
}
