/**
 * WGSL of the GPT training step, llm.c style: one kernel per operation, forward and backward
 * written out, each a function of the static shapes (baked into the code as constants) and a
 * small uniform of offsets. Every kernel reads and writes flat `f32` storage buffers (row-major
 * `[N, C]` activations with `N = B·T`, the parameters, gradients and Adam moments each in one
 * flat buffer at element offsets).
 *
 * Numerics follow `lib/model.ts` and `lib/optim.ts` operation by operation (LayerNorm with
 * biased variance and eps inside the root, GELU as `x·sigmoid(2√(2/π)(x + 0.044715x³))`,
 * softmax as `exp(x - max) / Σ`, Adam as opt.py), and dropout reproduces `dropoutMask` of
 * `lib/random.ts` bit for bit: entry `i` of a site's mask is 0 when `hashWords(seed, i) <
 * floor(p·2^32)`, else `1/(1-p)`, with the per-step site seeds written by the host.
 *
 * The step-info buffer (`array<u32>`, written once per micro-batch): `[0]` step, `[1]` stats
 * ring slot, `[2]` Adam step size (f32 bits), `[3]` training flag, `[4]` micro-batch index j,
 * `[5]` / `[6]` the element offset of micro-batch j in a `[B_step, T, C]` / `[B_step, H, T, T]`
 * dropout site (so that the masks of k micro-batches are those of one batch of k·B windows),
 * `[8 + s]` dropout seed of site `s` (0 = embeddings, `1 + 3l + k` for block `l`: k = 0
 * attention probabilities, 1 attention output, 2 MLP output).
 *
 * The kernels live in three files by kind, all reachable from here: _matmul_kernels.ts (the
 * products), _attention_kernels.ts (causal attention), and this one (embeddings, LayerNorm,
 * column sums, GELU, cross-entropy, statistics, Adam); _wgsl.ts holds what they share.
 *
 * @module
 */
import { type Binding, kernelHead, NORM_WGS, type Shapes, WG } from "./_wgsl.ts";

export { ATT_WG, f32bits, NORM_WGS, RING_SLOTS, type Shapes, TILE, TILE_K, WG } from "./_wgsl.ts";
export {
  matmul128Wgsl,
  type MatmulVariant,
  matmulVec4,
  matmulWgsl,
  splitReduceWgsl,
  TILE_L,
  TILE_L_K,
} from "./_matmul_kernels.ts";
export {
  attnBwdKWgsl,
  attnBwdQWgsl,
  attnBwdVWgsl,
  attnFwdWgsl,
  attnVec4,
} from "./_attention_kernels.ts";

/**
 * Embedding forward: `x[n, c] = (wte[ids[n], c] + wpe[n % T, c]) · drop(site 0)`. Uniform:
 * `offWte offWpe thr keep`. Grid-stride over the `N·C` entries.
 */
export function embedFwdWgsl(s: Shapes): string {
  return /* wgsl */ `
${
    kernelHead({
      step: true,
      uniform: "offWte: u32, offWpe: u32, thr: u32, keep: u32",
      bindings: [["ids", "i32"], ["params", "f32"], ["x", "f32", "rw"]],
      hash: true,
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let total = ${s.B * s.T * s.C}u;
  for (var i = gid.x; i < total; i = i + nw.x * ${WG}u) {
    let n = i / ${s.C}u;
    let c = i % ${s.C}u;
    let t = n % ${s.T}u;
    let tok = u32(ids[n]);
    let h = params[u.offWte + tok * ${s.C}u + c] + params[u.offWpe + t * ${s.C}u + c];
    x[i] = h * drop_factor(0u, u.thr, bitcast<f32>(u.keep), i);
  }
}
`;
}

/**
 * Embedding backward, positions: `dwpe[t, c] = Σ_b dx[b·T + t, c] · drop(site 0)` (written, or
 * added when `acc` is 1; rows `t >= T` of the table keep gradient 0). Uniform: `offWpe thr keep
 * acc`.
 */
export function embedBwdPosWgsl(s: Shapes): string {
  return /* wgsl */ `
${
    kernelHead({
      step: true,
      uniform: "offWpe: u32, thr: u32, keep: u32, acc: u32",
      bindings: [["dx", "f32"], ["grads", "f32", "rw"]],
      hash: true,
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let total = ${s.T * s.C}u;
  for (var i = gid.x; i < total; i = i + nw.x * ${WG}u) {
    var acc = 0.0;
    for (var b = 0u; b < ${s.B}u; b = b + 1u) {
      let j = b * ${s.T * s.C}u + i;
      acc = acc + dx[j] * drop_factor(0u, u.thr, bitcast<f32>(u.keep), j);
    }
    if (u.acc != 0u) { acc = acc + grads[u.offWpe + i]; }
    grads[u.offWpe + i] = acc;
  }
}
`;
}

/**
 * Embedding backward, tokens: adds `Σ_{n: ids[n] = v} dx[n, c] · drop(site 0)` to `dwte[v, c]`
 * (after the tied head wrote its part). `index` is written by the host per step: `[0]` the
 * number U of distinct ids, `[1 .. 1+U]` the ids, `[1+N .. 2+N+U]` their start offsets into
 * `[2+2N ..]` the positions grouped by id. One workgroup row per distinct id (grid-stride).
 */
export function embedBwdTokWgsl(s: Shapes): string {
  const N = s.B * s.T;
  return /* wgsl */ `
${
    kernelHead({
      step: true,
      uniform: "offWte: u32, thr: u32, keep: u32, pad: u32",
      bindings: [["dx", "f32"], ["index", "u32"], ["grads", "f32", "rw"]],
      hash: true,
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nw: vec3u) {
  let U = index[0];
  for (var r = wid.x; r < U; r = r + nw.x) {
    let tok = index[1u + r];
    let a = index[${1 + N}u + r];
    let b = index[${2 + N}u + r];
    for (var c = lid.x; c < ${s.C}u; c = c + ${WG}u) {
      var acc = 0.0;
      for (var p = a; p < b; p = p + 1u) {
        let j = index[${2 + 2 * N}u + p] * ${s.C}u + c;
        acc = acc + dx[j] * drop_factor(0u, u.thr, bitcast<f32>(u.keep), j);
      }
      let o = u.offWte + tok * ${s.C}u + c;
      grads[o] = grads[o] + acc;
    }
  }
}
`;
}

/**
 * A LayerNorm row kernel (step info, uniform `U { uniform }`, `bindings` from 2, dropout hash,
 * reductions): one workgroup per row, grid-stride over the `N` rows `n`, `body` inside that
 * loop (`lid` the thread).
 */
function lnRowKernel(
  s: Shapes,
  uniform: string,
  bindings: readonly Binding[],
  body: string,
): string {
  return /* wgsl */ `
${kernelHead({ step: true, uniform, bindings, hash: true, reduce: WG })}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nw: vec3u) {
  let lid = lid3.x;
  for (var n = wid.x; n < ${s.B * s.T}u; n = n + nw.x) {${body}
  }
}
`;
}

/**
 * Residual add with dropout, then LayerNorm, one row per workgroup:
 * `r = x + y·drop(site)`, `out = (r - mean)·rstd·g + b`, `rstd = 1/sqrt(var + eps)`; keeps
 * `r` and `(mean, rstd)` for the backward. Uniform: `site thr keep offG offB`.
 */
export function residualLnFwdWgsl(s: Shapes): string {
  const per = Math.ceil(s.C / WG);
  return lnRowKernel(
    s,
    "site: u32, thr: u32, keep: u32, offG: u32, offB: u32, p0: u32, p1: u32, p2: u32",
    [
      ["x", "f32"],
      ["y", "f32"],
      ["params", "f32"],
      ["rsum", "f32", "rw"],
      ["outp", "f32", "rw"],
      ["stats", "f32", "rw"],
    ],
    /* wgsl */ `
    var v: array<f32, ${per}>;
    var sum = 0.0;
    for (var k = 0u; k < ${per}u; k = k + 1u) {
      let c = lid + k * ${WG}u;
      if (c < ${s.C}u) {
        let i = n * ${s.C}u + c;
        let r = x[i] + y[i] * drop_factor(u.site, u.thr, bitcast<f32>(u.keep), i);
        v[k] = r;
        rsum[i] = r;
        sum = sum + r;
      }
    }
    let mean = wg_sum(sum, lid) / ${s.C}.0;
    var sq = 0.0;
    for (var k = 0u; k < ${per}u; k = k + 1u) {
      let c = lid + k * ${WG}u;
      if (c < ${s.C}u) { let d = v[k] - mean; sq = sq + d * d; }
    }
    let rstd = inverseSqrt(wg_sum(sq, lid) / ${s.C}.0 + ${s.eps});
    for (var k = 0u; k < ${per}u; k = k + 1u) {
      let c = lid + k * ${WG}u;
      if (c < ${s.C}u) {
        outp[n * ${s.C}u + c] = (v[k] - mean) * rstd * params[u.offG + c] + params[u.offB + c];
      }
    }
    if (lid == 0u) { stats[2u * n] = mean; stats[2u * n + 1u] = rstd; }`,
  );
}

/**
 * LayerNorm backward with the residual's dropout: from `dout`, `r`, `(mean, rstd)` and `g`,
 * `dr = (dxhat - mean(dxhat) - xhat·mean(dxhat·xhat))·rstd` with `dxhat = dout·g`; writes
 * `dr` (what flows to the skip input) and `dr·drop(site)` (what flows into the sub-layer).
 * Uniform: `site thr keep offG`.
 */
export function lnBwdWgsl(s: Shapes): string {
  const per = Math.ceil(s.C / WG);
  return lnRowKernel(
    s,
    "site: u32, thr: u32, keep: u32, offG: u32",
    [
      ["dout", "f32"],
      ["rsum", "f32"],
      ["stats", "f32"],
      ["params", "f32"],
      ["dr", "f32", "rw"],
      ["drm", "f32", "rw"],
    ],
    /* wgsl */ `
    let mean = stats[2u * n];
    let rstd = stats[2u * n + 1u];
    var xh: array<f32, ${per}>;
    var dxh: array<f32, ${per}>;
    var s1 = 0.0;
    var s2 = 0.0;
    for (var k = 0u; k < ${per}u; k = k + 1u) {
      let c = lid + k * ${WG}u;
      if (c < ${s.C}u) {
        let i = n * ${s.C}u + c;
        xh[k] = (rsum[i] - mean) * rstd;
        dxh[k] = dout[i] * params[u.offG + c];
        s1 = s1 + dxh[k];
        s2 = s2 + dxh[k] * xh[k];
      }
    }
    let a = wg_sum(s1, lid) / ${s.C}.0;
    let b = wg_sum(s2, lid) / ${s.C}.0;
    for (var k = 0u; k < ${per}u; k = k + 1u) {
      let c = lid + k * ${WG}u;
      if (c < ${s.C}u) {
        let i = n * ${s.C}u + c;
        let d = (dxh[k] - a - xh[k] * b) * rstd;
        dr[i] = d;
        drm[i] = d * drop_factor(u.site, u.thr, bitcast<f32>(u.keep), i);
      }
    }`,
  );
}

/** Rows per partial sum of the two-pass column reductions, and their workgroup width. */
export const COL_ROWS = 64, COL_WG = 64;

/** Row chunks of the two-pass column reductions over `N` rows. */
export function colChunks(s: Shapes): number {
  return Math.ceil((s.B * s.T) / COL_ROWS);
}

/**
 * Column sums, pass 1 (bias gradients): `partial[j, c] = Σ_{n in chunk j} d[n, c]` for
 * `d [N, width]`, chunks of {@link COL_ROWS} rows; grid `(ceil(width / COL_WG), chunks)`, so a
 * large GPU gets `width/64 · N/64` workgroups instead of `width/256` long loops. Uniform: `width`.
 */
export function colPartialWgsl(s: Shapes): string {
  const N = s.B * s.T;
  return /* wgsl */ `
${
    kernelHead({
      uniform: "width: u32, p0: u32, p1: u32, p2: u32",
      bindings: [["d", "f32"], ["partial", "f32", "rw"]],
    })
  }
@compute @workgroup_size(${COL_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = gid.x;
  if (c >= u.width) { return; }
  let n0 = wid.y * ${COL_ROWS}u;
  let n1 = min(n0 + ${COL_ROWS}u, ${N}u);
  var acc = 0.0;
  for (var n = n0; n < n1; n = n + 1u) { acc = acc + d[n * u.width + c]; }
  partial[wid.y * u.width + c] = acc;
}
`;
}

/**
 * LayerNorm parameter gradients, pass 1: per chunk of {@link COL_ROWS} rows
 * `partial[j, c] = Σ dout[n, c]·xhat[n, c]` and `partial[j, C + c] = Σ dout[n, c]`; grid
 * `(ceil(C / COL_WG), chunks)`.
 */
export function lnPartialWgsl(s: Shapes): string {
  const N = s.B * s.T;
  return /* wgsl */ `
${
    kernelHead({
      bindings: [["dout", "f32"], ["rsum", "f32"], ["stats", "f32"], ["partial", "f32", "rw"]],
    })
  }
@compute @workgroup_size(${COL_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = gid.x;
  if (c >= ${s.C}u) { return; }
  let n0 = wid.y * ${COL_ROWS}u;
  let n1 = min(n0 + ${COL_ROWS}u, ${N}u);
  var dg = 0.0;
  var db = 0.0;
  for (var n = n0; n < n1; n = n + 1u) {
    let i = n * ${s.C}u + c;
    let xh = (rsum[i] - stats[2u * n]) * stats[2u * n + 1u];
    dg = dg + dout[i] * xh;
    db = db + dout[i];
  }
  partial[wid.y * ${2 * s.C}u + c] = dg;
  partial[wid.y * ${2 * s.C}u + ${s.C}u + c] = db;
}
`;
}

/**
 * Pass 2 of the column reductions: `grads[dst(c)] (+)= Σ_j partial[j, c]` for `c < width`, with
 * `dst(c) = off1 + c` below `split`, else `off2 + c - split` (a LayerNorm's gain and bias
 * gradients in one dispatch). Uniform: `width split off1 off2 acc`.
 */
export function colFinishWgsl(s: Shapes): string {
  return /* wgsl */ `
${
    kernelHead({
      uniform: "width: u32, split: u32, off1: u32, off2: u32, acc: u32, p0: u32, p1: u32, p2: u32",
      bindings: [["partial", "f32"], ["grads", "f32", "rw"]],
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= u.width) { return; }
  var acc = 0.0;
  for (var j = 0u; j < ${colChunks(s)}u; j = j + 1u) { acc = acc + partial[j * u.width + c]; }
  var o = u.off1 + c;
  if (c >= u.split) { o = u.off2 + c - u.split; }
  if (u.acc != 0u) { acc = acc + grads[o]; }
  grads[o] = acc;
}
`;
}

const GELU_K0 = 2 * Math.sqrt(2 / Math.PI);
const GELU_K1 = GELU_K0 * 0.044715;

/** tanh-GELU forward `g = x·sigmoid(x·(k0 + k1·x²))` over `N·F` entries (grid-stride). */
export function geluFwdWgsl(s: Shapes): string {
  return /* wgsl */ `
${
    kernelHead({
      bindings: [["x", "f32"], ["g", "f32", "rw"]],
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  for (var i = gid.x; i < ${s.B * s.T * s.F}u; i = i + nw.x * ${WG}u) {
    let v = x[i];
    let sg = 1.0 / (1.0 + exp(-(v * (v * v * ${GELU_K1} + ${GELU_K0}))));
    g[i] = v * sg;
  }
}
`;
}

/** tanh-GELU backward in place: `d *= s + s·(1-s)·x·(k0 + 3k1·x²)`. */
export function geluBwdWgsl(s: Shapes): string {
  return /* wgsl */ `
${
    kernelHead({
      bindings: [["x", "f32"], ["d", "f32", "rw"]],
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  for (var i = gid.x; i < ${s.B * s.T * s.F}u; i = i + nw.x * ${WG}u) {
    let v = x[i];
    let x2 = v * v;
    let sg = 1.0 / (1.0 + exp(-(v * (x2 * ${GELU_K1} + ${GELU_K0}))));
    let du = x2 * ${3 * GELU_K1} + ${GELU_K0};
    d[i] = d[i] * (sg + sg * (1.0 - sg) * (v * du));
  }
}
`;
}

/**
 * Softmax cross-entropy of one chunk of LM-head logits, one workgroup per row: row `n = row0 +
 * r` predicts `ids[n + 1]` unless it is the last position of its window (weight 0). Writes the
 * row's weighted loss `w·(lse - z_y)` to `lossRows[j·N + n]` (j: the micro-batch, `stepinfo[4]`)
 * and replaces the logits by their gradient `(softmax - onehot)·w`. Uniform: `row0 rows
 * w(f32 bits)`.
 */
export function crossEntropyWgsl(s: Shapes): string {
  return /* wgsl */ `
${
    kernelHead({
      uniform: "row0: u32, rows: u32, w: u32, p0: u32",
      bindings: [["ids", "i32"], ["z", "f32", "rw"], ["lossRows", "f32", "rw"], [
        "stepinfo",
        "u32",
      ]],
      reduce: WG,
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nw: vec3u) {
  let lid = lid3.x;
  let V = ${s.V}u;
  let lo = stepinfo[4] * ${s.B * s.T}u;
  let wt = bitcast<f32>(u.w);
  for (var r = wid.x; r < u.rows; r = r + nw.x) {
    let n = u.row0 + r;
    let o = r * V;
    if (n % ${s.T}u == ${s.T - 1}u) {
      for (var v = lid; v < V; v = v + ${WG}u) { z[o + v] = 0.0; }
      if (lid == 0u) { lossRows[lo + n] = 0.0; }
      continue;
    }
    let y = u32(ids[n + 1u]);
    var mx = -3.4e38;
    for (var v = lid; v < V; v = v + ${WG}u) { mx = max(mx, z[o + v]); }
    let m = wg_max(mx, lid);
    var sm = 0.0;
    for (var v = lid; v < V; v = v + ${WG}u) { sm = sm + exp(z[o + v] - m); }
    let tot = wg_sum(sm, lid);
    let zy = z[o + y];
    workgroupBarrier();
    for (var v = lid; v < V; v = v + ${WG}u) {
      var g = exp(z[o + v] - m) / tot * wt;
      if (v == y) { g = g - wt; }
      z[o + v] = g;
    }
    if (lid == 0u) { lossRows[lo + n] = wt * (m + log(tot) - zy); }
  }
}
`;
}

/** Partial sums of squares of the flat gradients (`NORM_WGS` workgroups, grid-stride). */
export function sumSquaresWgsl(total: number): string {
  return /* wgsl */ `
${
    kernelHead({
      bindings: [["g", "f32"], ["partial", "f32", "rw"]],
      reduce: WG,
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u) {
  var acc = 0.0;
  for (var i = wid.x * ${WG}u + lid3.x; i < ${total}u; i = i + ${NORM_WGS * WG}u) {
    let v = g[i];
    acc = fma(v, v, acc);
  }
  let s = wg_sum(acc, lid3.x);
  if (lid3.x == 0u) { partial[wid.x] = s; }
}
`;
}

/**
 * The step's statistics, one workgroup: loss = Σ lossRows, gradient norm = sqrt(Σ partials),
 * the non-finite flag (sticky: once set, every later Adam update is skipped so the weights
 * stay those of the last good step), the clipping scale `maxNorm / max(norm, maxNorm)`.
 * Writes `ring[4·slot ..] = (loss, norm, flag, step)` and `scal = (scale, sticky flag)`.
 * Uniform: `maxNorm(f32 bits)`. `micro`: micro-batches per step (lossRows holds `micro·B·T`).
 */
export function statsWgsl(s: Shapes, micro = 1): string {
  return /* wgsl */ `
${
    kernelHead({
      step: true,
      uniform: "maxNorm: u32, p0: u32, p1: u32, p2: u32",
      bindings: [["lossRows", "f32"], ["partial", "f32"], ["ring", "u32", "rw"], [
        "scal",
        "u32",
        "rw",
      ]],
      reduce: WG,
    })
  }
fn finite(x: f32) -> bool {
  let b = bitcast<u32>(x) & 0x7f800000u;
  return b != 0x7f800000u;
}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid3: vec3u) {
  let lid = lid3.x;
  var l = 0.0;
  for (var n = lid; n < ${micro * s.B * s.T}u; n = n + ${WG}u) { l = l + lossRows[n]; }
  let loss = wg_sum(l, lid);
  var q = 0.0;
  for (var k = lid; k < ${NORM_WGS}u; k = k + ${WG}u) { q = q + partial[k]; }
  let norm = sqrt(wg_sum(q, lid));
  if (lid == 0u) {
    var bad = 0u;
    if (!finite(loss)) { bad = bad | 1u; }
    if (!finite(norm)) { bad = bad | 2u; }
    let sticky = scal[1] | bad;
    let mx = bitcast<f32>(u.maxNorm);
    var scale = 1.0;
    if (mx > 0.0) { scale = mx / max(norm, mx); }
    let slot = stepinfo[1] * 4u;
    ring[slot] = bitcast<u32>(loss);
    ring[slot + 1u] = bitcast<u32>(norm);
    ring[slot + 2u] = bad | (sticky << 8u);
    ring[slot + 3u] = stepinfo[0];
    scal[0] = bitcast<u32>(scale);
    scal[1] = sticky;
  }
}
`;
}

/**
 * Adam of opt.py over the flat parameters (grid-stride): `g = grad·scale`, `m = b1·m +
 * (1-b1)·g`, `v = b2·v + (1-b2)·g²`, `p -= lrt·(m/(sqrt(v)+e) + l2·p)` with the L2 term on
 * elements below `l2End` (the matrices come first in the layout). Skipped entirely when the
 * sticky non-finite flag is set. Uniform: `b1 1-b1 b2 1-b2 e l2 (f32 bits) l2End`.
 */
export function adamWgsl(total: number): string {
  return /* wgsl */ `
${
    kernelHead({
      step: true,
      uniform: "b1: u32, c1: u32, b2: u32, c2: u32, e: u32, l2: u32, l2End: u32, p0: u32",
      bindings: [["p", "f32", "rw"], ["g", "f32"], ["m", "f32", "rw"], ["v", "f32", "rw"], [
        "scal",
        "u32",
      ]],
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  if (scal[1] != 0u) { return; }
  let scale = bitcast<f32>(scal[0]);
  let lrt = bitcast<f32>(stepinfo[2]);
  let b1 = bitcast<f32>(u.b1);
  let c1 = bitcast<f32>(u.c1);
  let b2 = bitcast<f32>(u.b2);
  let c2 = bitcast<f32>(u.c2);
  let e = bitcast<f32>(u.e);
  let l2 = bitcast<f32>(u.l2);
  for (var i = gid.x; i < ${total}u; i = i + nw.x * ${WG}u) {
    let gi = g[i] * scale;
    let mt = m[i] * b1 + gi * c1;
    let vt = v[i] * b2 + (gi * gi) * c2;
    var upd = mt / (sqrt(vt) + e);
    if (i < u.l2End) { upd = upd + p[i] * l2; }
    m[i] = mt;
    v[i] = vt;
    p[i] = p[i] - upd * lrt;
  }
}
`;
}
