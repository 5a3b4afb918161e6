/**
 * The causal attention kernels of the engine, one workgroup per query or key row of a head:
 * forward (softmax probabilities kept for the backward, dropout, the weighted values) and the
 * three backward parts (values, queries, keys). Re-exported by kernels.ts.
 * @module
 */
import { ATT_WG, type Binding, bindingList, HASH, REDUCE, type Shapes, STEP } from "./_wgsl.ts";

/** Whether the attention kernels read head rows as `vec4`s (head size and width multiples of 4). */
export function attnVec4(s: Shapes): boolean {
  return (s.C / s.H) % 4 === 0 && s.C % 4 === 0;
}

/** WGSL for `let dot = Σ_d x[xo + d]·y[yo + d]` over a head row (D entries), in vec4s when `v4`. */
function rowDot(v4: boolean, x: string, xo: string, y: string, yo: string): string {
  return v4
    ? `var d4 = vec4f(0.0);
    for (var d = 0u; d < D; d = d + 4u) { d4 = fma(${x}[(${xo} + d) / 4u], ${y}[(${yo} + d) / 4u], d4); }
    let dot = (d4.x + d4.y) + (d4.z + d4.w);`
    : `var dot = 0.0;
    for (var d = 0u; d < D; d = d + 1u) { dot = fma(${x}[${xo} + d], ${y}[${yo} + d], dot); }`;
}

const ATT_HEAD = (s: Shapes, dropout = true) => /* wgsl */ `
${dropout ? STEP : ""}
struct U { site: u32, thr: u32, keep: u32, p0: u32 }
@group(0) @binding(1) var<uniform> u: U;
const T = ${s.T}u;
const H = ${s.H}u;
const D = ${s.C / s.H}u;
const C = ${s.C}u;
const C3 = ${3 * s.C}u;
const SCALE = ${1 / Math.sqrt(s.C / s.H)};
${dropout ? HASH : ""}
${REDUCE(ATT_WG)}
`;

/** WGSL of `qs(i)`: element i of `qkv`, bound as vec4s when `v4`. */
function qsFn(v4: boolean): string {
  return v4
    ? "fn qs(i: u32) -> f32 { return qkv[i / 4u][i % 4u]; }"
    : "fn qs(i: u32) -> f32 { return qkv[i]; }";
}

/**
 * An attention kernel: the shared head (with the step info and dropout hash unless `dropout`
 * is false), `bindings` from 2, a workgroup row `w` of T floats, one workgroup of ATT_WG
 * threads per row `(b, h, <row>)` (grid x = the row, y = b·H + h), then `body`.
 */
function attnKernel(
  s: Shapes,
  o: { dropout?: boolean; row: "i" | "j"; bindings: readonly (Binding | string)[]; body: string },
): string {
  return /* wgsl */ `
${ATT_HEAD(s, o.dropout ?? true)}
${bindingList(2, o.bindings)}
var<workgroup> w: array<f32, ${s.T}>;
@compute @workgroup_size(${ATT_WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lid = lid3.x;
  let ${o.row} = wid.x;
  let bh = wid.y;
  let b = bh / H;
  let h = bh % H;${o.body}
}
`;
}

/**
 * Causal attention forward, one workgroup per query row `(b, h, i)` (grid x = i, y = b·H + h):
 * `p = softmax(q·kᵀ/√D + causal)` stored in `P [B·H, T, T]` (before dropout), then
 * `y_i = Σ_j p_ij·drop_ij·v_j` into the merged-heads `Y [N, C]`.
 */
export function attnFwdWgsl(s: Shapes): string {
  const v4 = attnVec4(s);
  return attnKernel(s, {
    row: "i",
    bindings: [["qkv", v4 ? "vec4f" : "f32"], qsFn(v4), ["P", "f32", "rw"], ["Y", "f32", "rw"]],
    body: /* wgsl */ `
  let qo = (b * T + i) * C3 + h * D;
  var mx = -3.4e38;
  for (var j = lid; j <= i; j = j + ${ATT_WG}u) {
    let ko = (b * T + j) * C3 + C + h * D;
    ${rowDot(v4, "qkv", "qo", "qkv", "ko")}
    let sc = dot * SCALE;
    w[j] = sc;
    mx = max(mx, sc);
  }
  let m = wg_max(mx, lid);
  var sm = 0.0;
  for (var j = lid; j <= i; j = j + ${ATT_WG}u) { let e = exp(w[j] - m); w[j] = e; sm = sm + e; }
  let tot = wg_sum(sm, lid);
  let row = (bh * T + i) * T;
  for (var j = lid; j < T; j = j + ${ATT_WG}u) {
    var p = 0.0;
    if (j <= i) { p = w[j] / tot; }
    P[row + j] = p;
    w[j] = p * drop_factor(u.site, u.thr, bitcast<f32>(u.keep), row + j);
  }
  workgroupBarrier();
  for (var d = lid; d < D; d = d + ${ATT_WG}u) {
    var acc = 0.0;
    for (var j = 0u; j <= i; j = j + 1u) {
      acc = fma(w[j], qs((b * T + j) * C3 + 2u * C + h * D + d), acc);
    }
    Y[(b * T + i) * C + h * D + d] = acc;
  }`,
  });
}

/**
 * Attention backward, value part, one workgroup per key row `(b, h, j)`:
 * `dv_j = Σ_{i>=j} p_ij·drop_ij·dy_i` into the v columns of `dqkv [N, 3C]`. Runs before
 * {@link attnBwdQWgsl} overwrites `P`.
 */
export function attnBwdVWgsl(s: Shapes): string {
  return attnKernel(s, {
    row: "j",
    bindings: [["P", "f32"], ["dY", "f32"], ["dqkv", "f32", "rw"]],
    body: /* wgsl */ `
  for (var i = j + lid; i < T; i = i + ${ATT_WG}u) {
    let idx = (bh * T + i) * T + j;
    w[i] = P[idx] * drop_factor(u.site, u.thr, bitcast<f32>(u.keep), idx);
  }
  workgroupBarrier();
  for (var d = lid; d < D; d = d + ${ATT_WG}u) {
    var acc = 0.0;
    for (var i = j; i < T; i = i + 1u) { acc = fma(w[i], dY[(b * T + i) * C + h * D + d], acc); }
    dqkv[(b * T + j) * C3 + 2u * C + h * D + d] = acc;
  }`,
  });
}

/**
 * Attention backward, query part, one workgroup per query row `(b, h, i)`:
 * `dp_ij = (dy_i·v_j)·drop_ij`, `ds_ij = p_ij (dp_ij - Σ_k p_ik dp_ik)/√D` (overwrites `P`
 * with `ds`), `dq_i = Σ_j ds_ij k_j`.
 */
export function attnBwdQWgsl(s: Shapes): string {
  const v4 = attnVec4(s);
  return attnKernel(s, {
    row: "i",
    bindings: [
      ["qkv", v4 ? "vec4f" : "f32"],
      ["dY", v4 ? "vec4f" : "f32"],
      qsFn(v4),
      ["P", "f32", "rw"],
      ["dqkv", "f32", "rw"],
    ],
    body: /* wgsl */ `
  let row = (bh * T + i) * T;
  let yo = (b * T + i) * C + h * D;
  var acc = 0.0;
  for (var j = lid; j <= i; j = j + ${ATT_WG}u) {
    let vo = (b * T + j) * C3 + 2u * C + h * D;
    ${rowDot(v4, "dY", "yo", "qkv", "vo")}
    let dp = dot * drop_factor(u.site, u.thr, bitcast<f32>(u.keep), row + j);
    w[j] = dp;
    acc = acc + P[row + j] * dp;
  }
  let tot = wg_sum(acc, lid);
  for (var j = lid; j <= i; j = j + ${ATT_WG}u) {
    let ds = P[row + j] * (w[j] - tot) * SCALE;
    w[j] = ds;
    P[row + j] = ds;
  }
  workgroupBarrier();
  for (var d = lid; d < D; d = d + ${ATT_WG}u) {
    var a = 0.0;
    for (var j = 0u; j <= i; j = j + 1u) { a = fma(w[j], qs((b * T + j) * C3 + C + h * D + d), a); }
    dqkv[(b * T + i) * C3 + h * D + d] = a;
  }`,
  });
}

/**
 * Attention backward, key part, one workgroup per key row `(b, h, j)`:
 * `dk_j = Σ_{i>=j} ds_ij q_i` (with `P` now holding `ds`).
 */
export function attnBwdKWgsl(s: Shapes): string {
  return attnKernel(s, {
    dropout: false,
    row: "j",
    bindings: [["qkv", "f32"], ["P", "f32"], ["dqkv", "f32", "rw"]],
    body: /* wgsl */ `
  for (var i = j + lid; i < T; i = i + ${ATT_WG}u) { w[i] = P[(bh * T + i) * T + j]; }
  workgroupBarrier();
  for (var d = lid; d < D; d = d + ${ATT_WG}u) {
    var acc = 0.0;
    for (var i = j; i < T; i = i + 1u) { acc = fma(w[i], qkv[(b * T + i) * C3 + h * D + d], acc); }
    dqkv[(b * T + j) * C3 + C + h * D + d] = acc;
  }`,
  });
}
