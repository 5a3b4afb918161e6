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
 * @module
 */

/** Workgroup size of the row kernels (LayerNorm, cross-entropy) and the elementwise kernels. */
export const WG = 256;
/** Workgroup size of the attention kernels. */
export const ATT_WG = 64;
/** Output tile of the matmul kernel (rows = columns), and its K slice. */
export const TILE = 64, TILE_K = 16;
/** Slots of the stats ring buffer (loss, grad norm, flags, step per slot). */
export const RING_SLOTS = 64;
/** Workgroups of the sum-of-squares reduction (partial sums, finished by the stats kernel). */
export const NORM_WGS = 256;

/** Uniform fields are u32; a float travels as its bits. */
export function f32bits(x: number): number {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0];
}

const HASH = /* wgsl */ `
fn hash_words(seed: u32, i: u32) -> u32 {
  var z = seed + (i + 1u) * 0x9e3779b9u;
  z = (z ^ (z >> 16u)) * 0x85ebca6bu;
  z = (z ^ (z >> 13u)) * 0xc2b2ae35u;
  return z ^ (z >> 16u);
}
// the inverted-dropout factor of entry i of site s (1 in eval mode or with p = 0); entry i of
// micro-batch j is entry i + offset(j) of the step's whole batch (attention sites: s % 3 == 1)
fn drop_factor(site: u32, thr: u32, keep: f32, i: u32) -> f32 {
  if (stepinfo[3] == 0u || thr == 0u) { return 1.0; }
  let off = select(stepinfo[5], stepinfo[6], site % 3u == 1u);
  if (hash_words(stepinfo[8u + site], i + off) < thr) { return 0.0; }
  return keep;
}
`;

const REDUCE = (n: number) => /* wgsl */ `
var<workgroup> red: array<f32, ${n}>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${n / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${n / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;

/** Which operand of a matmul is stored transposed. */
export interface MatmulVariant {
  /** A is stored `[K, M]` (its transpose is used). */
  transA: boolean;
  /** B is stored `[N, K]`. */
  transB: boolean;
  /** Adds `bias[offBias + n]` to every row. */
  bias: boolean;
}

/**
 * `C[M, N] (+)= op(A)[M, K] · op(B)[K, N] (+ bias)`, a 64×64 output tile per 16×16 workgroup
 * (4×4 outputs per thread), K in slices of 16 staged in workgroup memory. Uniform: `M N K lda
 * ldb ldc offA offB offC offBias accumulate`. Loads are laid out so that neighbouring threads
 * read neighbouring addresses for either storage order.
 */
export function matmulWgsl(v: MatmulVariant): string {
  // element (m, k) of A and (k, n) of B
  const a = v.transA ? "A[u.offA + k * u.lda + m]" : "A[u.offA + m * u.lda + k]";
  const b = v.transB ? "B[u.offB + n * u.ldb + k]" : "B[u.offB + k * u.ldb + n]";
  // index split so that consecutive threads walk the contiguous axis
  const aIdx = v.transA
    ? "let mm = idx % 64u; let kk = idx / 64u;"
    : "let kk = idx % 16u; let mm = idx / 16u;";
  const bIdx = v.transB
    ? "let kk = idx % 16u; let nn = idx / 16u;"
    : "let nn = idx % 64u; let kk = idx / 64u;";
  return /* wgsl */ `
struct U { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32,
  offC: u32, offBias: u32, accumulate: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Cm: array<f32>;
${v.bias ? "@group(0) @binding(4) var<storage, read> bias: array<f32>;" : ""}
var<workgroup> As: array<f32, 1024>; // [16 k][64 m]
var<workgroup> Bs: array<f32, 1024>; // [16 k][64 n]
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < u.K; k0 = k0 + 16u) {
    for (var e = 0u; e < 4u; e = e + 1u) {
      let idx = tid + e * 256u;
      {
        ${aIdx}
        let m = row0 + mm;
        let k = k0 + kk;
        var val = 0.0;
        if (m < u.M && k < u.K) { val = ${a}; }
        As[kk * 64u + mm] = val;
      }
      {
        ${bIdx}
        let n = col0 + nn;
        let k = k0 + kk;
        var val = 0.0;
        if (n < u.N && k < u.K) { val = ${b}; }
        Bs[kk * 64u + nn] = val;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk = kk + 1u) {
      var ar: array<f32, 4>;
      var br: array<f32, 4>;
      for (var i = 0u; i < 4u; i = i + 1u) {
        ar[i] = As[kk * 64u + ty + 16u * i];
        br[i] = Bs[kk * 64u + tx + 16u * i];
      }
      for (var i = 0u; i < 4u; i = i + 1u) {
        for (var j = 0u; j < 4u; j = j + 1u) {
          acc[i * 4u + j] = fma(ar[i], br[j], acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i = i + 1u) {
    let m = row0 + ty + 16u * i;
    if (m >= u.M) { continue; }
    for (var j = 0u; j < 4u; j = j + 1u) {
      let n = col0 + tx + 16u * j;
      if (n >= u.N) { continue; }
      var r = acc[i * 4u + j];
      ${v.bias ? "r = r + bias[u.offBias + n];" : ""}
      let o = u.offC + m * u.ldc + n;
      if (u.accumulate != 0u) { r = r + Cm[o]; }
      Cm[o] = r;
    }
  }
}
`;
}

/** Output tile of the large matmul kernel ({@link matmul128Wgsl}) and its K slice. */
export const TILE_L = 128, TILE_L_K = 8;

/**
 * Whether a product may use vector loads: the contiguous extent of each operand (K for a
 * row-major A, M for a transposed one; N for a row-major B, K for a transposed one), its leading
 * dimension and its offset are multiples of 4 (16-byte aligned `vec4<f32>`s, each wholly inside
 * or wholly outside the matrix).
 */
export function matmulVec4(
  v: MatmulVariant,
  d: { M: number; N: number; K: number; lda: number; ldb: number; offA?: number; offB?: number },
): { a: boolean; b: boolean } {
  const m4 = (...xs: number[]) => xs.every((x) => x % 4 === 0);
  return {
    a: m4(v.transA ? d.M : d.K, d.lda, d.offA ?? 0),
    b: m4(v.transB ? d.K : d.N, d.ldb, d.offB ?? 0),
  };
}

/**
 * `C[M, N] (+)= op(A)[M, K] · op(B)[K, N] (+ bias)` with a 128×128 output tile per 16×16
 * workgroup: 8×8 outputs per thread (two 4-row by two 4-column blocks, rows `4ty + i` and
 * `64 + 4ty + i`, so every workgroup-memory read is a `vec4`), K in slices of 8 staged K-major
 * in workgroup memory, the next slice loaded into registers while the current one is multiplied
 * (register double buffering), and `vec4` global loads for an operand whose layout allows it
 * ({@link matmulVec4}; else four scalar loads, bounds-checked). Same uniform, bindings and
 * results as {@link matmulWgsl} (the sums run in the same k order, so the two agree to rounding).
 *
 * `split` (split-K, for thin products with a long K such as the weight gradients): workgroup z
 * sums k in `[z·kChunk, (z+1)·kChunk)` (`kChunk`, a multiple of 8, in the uniform's last word)
 * and writes its plain partial product to `Cm[z·M·N + m·N + n]` (binding 3 is then the partial
 * buffer; no bias, no accumulation); {@link splitReduceWgsl} adds the partials into C.
 */
export function matmul128Wgsl(
  v: MatmulVariant,
  vec: { a: boolean; b: boolean },
  split = false,
): string {
  // Each thread loads 4 consecutive elements of A's and of B's tile along the contiguous axis.
  // A row-major: tile rows m (128) × k (8): thread -> (m = tid / 2, k = 4 (tid % 2)) along k.
  // A transposed: k (8) × m (128): thread -> (k = tid / 32, m = 4 (tid % 32)) along m.
  const aPos = v.transA
    ? "let am = row0 + 4u * (tid % 32u); let ak = k0 + tid / 32u;"
    : "let am = row0 + tid / 2u; let ak = k0 + 4u * (tid % 2u);";
  const bPos = v.transB
    ? "let bn = col0 + tid / 2u; let bk = k0 + 4u * (tid % 2u);"
    : "let bn = col0 + 4u * (tid % 32u); let bk = k0 + tid / 32u;";
  // flat index of element 0 of the 4 and the stride to the next one
  const aIdx = v.transA ? "u.offA + ak * u.lda + am" : "u.offA + am * u.lda + ak";
  const bIdx = v.transB ? "u.offB + bn * u.ldb + bk" : "u.offB + bk * u.ldb + bn";
  // in bounds: the non-contiguous coordinate, and each element's contiguous one
  type InBounds = [string, (j: string) => string];
  const aIn: InBounds = v.transA
    ? ["ak < u.K", (j) => `am + ${j} < u.M`]
    : ["am < u.M", (j) => `ak + ${j} < u.K`];
  const bIn: InBounds = v.transB
    ? ["bn < u.N", (j) => `bk + ${j} < u.K`]
    : ["bk < u.K", (j) => `bn + ${j} < u.N`];
  const load = (name: string, idx: string, inb: InBounds, v4: boolean) =>
    v4
      ? `var r = vec4f(0.0);
    if (${inb[0]} && ${inb[1]("0u")}) { r = ${name}[(${idx}) / 4u]; }
    return r;`
      : `var r = vec4f(0.0);
    if (!(${inb[0]})) { return r; }
    let i0 = ${idx};
    for (var j = 0u; j < 4u; j = j + 1u) { if (${inb[1]("j")}) { r[j] = ${name}[i0 + j]; } }
    return r;`;
  // store the 4 loaded values K-major: As[k][m] (As as vec4 rows of 128 floats = 32 vec4)
  const aStore = v.transA
    ? "As[(tid / 32u) * 32u + tid % 32u] = ra;" // 4 consecutive m at one k
    : `for (var j = 0u; j < 4u; j = j + 1u) {
        let k = 4u * (tid % 2u) + j;
        let m = tid / 2u;
        As[k * 32u + m / 4u][m % 4u] = ra[j];
      }`;
  const bStore = v.transB
    ? `for (var j = 0u; j < 4u; j = j + 1u) {
        let k = 4u * (tid % 2u) + j;
        let n = tid / 2u;
        Bs[k * 32u + n / 4u][n % 4u] = rb[j];
      }`
    : "Bs[(tid / 32u) * 32u + tid % 32u] = rb;";
  const aType = vec.a ? "vec4f" : "f32", bType = vec.b ? "vec4f" : "f32";
  const bias = v.bias && !split;
  return /* wgsl */ `
struct U { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32,
  offC: u32, offBias: u32, accumulate: u32, kChunk: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> A: array<${aType}>;
@group(0) @binding(2) var<storage, read> B: array<${bType}>;
@group(0) @binding(3) var<storage, read_write> Cm: array<f32>;
${bias ? "@group(0) @binding(4) var<storage, read> bias: array<f32>;" : ""}
var<workgroup> As: array<vec4f, 256>; // [8 k][128 m] as 32 vec4 per k
var<workgroup> Bs: array<vec4f, 256>; // [8 k][128 n]
fn loadA(tid: u32, row0: u32, k0: u32) -> vec4f {
  ${aPos}
  ${load("A", aIdx, aIn, vec.a)}
}
fn loadB(tid: u32, col0: u32, k0: u32) -> vec4f {
  ${bPos}
  ${load("B", bIdx, bIn, vec.b)}
}
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let row0 = wid.y * 128u;
  let col0 = wid.x * 128u;
  var acc: array<vec4f, 16>; // [row block 2][row 4][col block 2] -> vec4 of 4 columns
  ${
    split
      ? "let kBeg = wid.z * u.kChunk; let kEnd = min(u.K, kBeg + u.kChunk);"
      : "let kBeg = 0u; let kEnd = u.K;"
  }
  var ra = loadA(tid, row0, kBeg);
  var rb = loadB(tid, col0, kBeg);
  for (var k0 = kBeg; k0 < kEnd; k0 = k0 + 8u) {
    ${aStore}
    ${bStore}
    workgroupBarrier();
    // the next slice's loads are issued before this slice's arithmetic
    if (k0 + 8u < kEnd) {
      ra = loadA(tid, row0, k0 + 8u);
      rb = loadB(tid, col0, k0 + 8u);
    }
    for (var kk = 0u; kk < 8u; kk = kk + 1u) {
      let a0 = As[kk * 32u + ty];
      let a1 = As[kk * 32u + 16u + ty];
      let b0 = Bs[kk * 32u + tx];
      let b1 = Bs[kk * 32u + 16u + tx];
      for (var i = 0u; i < 4u; i = i + 1u) {
        acc[i * 2u] = fma(vec4f(a0[i]), b0, acc[i * 2u]);
        acc[i * 2u + 1u] = fma(vec4f(a0[i]), b1, acc[i * 2u + 1u]);
        acc[8u + i * 2u] = fma(vec4f(a1[i]), b0, acc[8u + i * 2u]);
        acc[8u + i * 2u + 1u] = fma(vec4f(a1[i]), b1, acc[8u + i * 2u + 1u]);
      }
    }
    workgroupBarrier();
  }
  for (var rbk = 0u; rbk < 2u; rbk = rbk + 1u) {
    for (var i = 0u; i < 4u; i = i + 1u) {
      let m = row0 + 64u * rbk + 4u * ty + i;
      if (m >= u.M) { continue; }
      for (var cb = 0u; cb < 2u; cb = cb + 1u) {
        let a4 = acc[rbk * 8u + i * 2u + cb];
        for (var j = 0u; j < 4u; j = j + 1u) {
          let n = col0 + 64u * cb + 4u * tx + j;
          if (n >= u.N) { continue; }
          var r = a4[j];
          ${
    split ? "Cm[(wid.z * u.M + m) * u.N + n] = r;" : `${bias ? "r = r + bias[u.offBias + n];" : ""}
          let o = u.offC + m * u.ldc + n;
          if (u.accumulate != 0u) { r = r + Cm[o]; }
          Cm[o] = r;`
  }
        }
      }
    }
  }
}
`;
}

/**
 * Split-K, pass 2: `C[m, n] (+)= Σ_z partial[z, m, n] (+ bias[n])` over the `splits` partial
 * products of {@link matmul128Wgsl} in split mode (grid-stride over `M·N`). Uniform: `M N ldc
 * offC offBias accumulate splits`.
 */
export function splitReduceWgsl(bias: boolean): string {
  return /* wgsl */ `
struct U { M: u32, N: u32, ldc: u32, offC: u32, offBias: u32, accumulate: u32, splits: u32,
  p0: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> Cm: array<f32>;
${bias ? "@group(0) @binding(3) var<storage, read> bias: array<f32>;" : ""}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let MN = u.M * u.N;
  for (var i = gid.x; i < MN; i = i + nw.x * ${WG}u) {
    var r = 0.0;
    for (var z = 0u; z < u.splits; z = z + 1u) { r = r + partial[z * MN + i]; }
    let m = i / u.N;
    let n = i % u.N;
    ${bias ? "r = r + bias[u.offBias + n];" : ""}
    let o = u.offC + m * u.ldc + n;
    if (u.accumulate != 0u) { r = r + Cm[o]; }
    Cm[o] = r;
  }
}
`;
}

/** Static shapes baked into the kernels. */
export interface Shapes {
  /** Batch. */
  B: number;
  /** Sequence length (window width). */
  T: number;
  /** Width. */
  C: number;
  /** Heads. */
  H: number;
  /** MLP hidden units. */
  F: number;
  /** Rows of the token table (vocabulary + special tokens). */
  V: number;
  /** LayerNorm epsilon. */
  eps: number;
}

const STEP = "@group(0) @binding(0) var<storage, read> stepinfo: array<u32>;";

/**
 * Embedding forward: `x[n, c] = (wte[ids[n], c] + wpe[n % T, c]) · drop(site 0)`. Uniform:
 * `offWte offWpe thr keep`. Grid-stride over the `N·C` entries.
 */
export function embedFwdWgsl(s: Shapes): string {
  return /* wgsl */ `
${STEP}
struct U { offWte: u32, offWpe: u32, thr: u32, keep: u32 }
@group(0) @binding(1) var<uniform> u: U;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
${HASH}
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
${STEP}
struct U { offWpe: u32, thr: u32, keep: u32, acc: u32 }
@group(0) @binding(1) var<uniform> u: U;
@group(0) @binding(2) var<storage, read> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> grads: array<f32>;
${HASH}
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
${STEP}
struct U { offWte: u32, thr: u32, keep: u32, pad: u32 }
@group(0) @binding(1) var<uniform> u: U;
@group(0) @binding(2) var<storage, read> dx: array<f32>;
@group(0) @binding(3) var<storage, read> index: array<u32>;
@group(0) @binding(4) var<storage, read_write> grads: array<f32>;
${HASH}
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
 * Residual add with dropout, then LayerNorm, one row per workgroup:
 * `r = x + y·drop(site)`, `out = (r - mean)·rstd·g + b`, `rstd = 1/sqrt(var + eps)`; keeps
 * `r` and `(mean, rstd)` for the backward. Uniform: `site thr keep offG offB`.
 */
export function residualLnFwdWgsl(s: Shapes): string {
  const per = Math.ceil(s.C / WG);
  return /* wgsl */ `
${STEP}
struct U { site: u32, thr: u32, keep: u32, offG: u32, offB: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(1) var<uniform> u: U;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read_write> rsum: array<f32>;
@group(0) @binding(6) var<storage, read_write> outp: array<f32>;
@group(0) @binding(7) var<storage, read_write> stats: array<f32>;
${HASH}
${REDUCE(WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nw: vec3u) {
  let lid = lid3.x;
  for (var n = wid.x; n < ${s.B * s.T}u; n = n + nw.x) {
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
    if (lid == 0u) { stats[2u * n] = mean; stats[2u * n + 1u] = rstd; }
  }
}
`;
}

/**
 * LayerNorm backward with the residual's dropout: from `dout`, `r`, `(mean, rstd)` and `g`,
 * `dr = (dxhat - mean(dxhat) - xhat·mean(dxhat·xhat))·rstd` with `dxhat = dout·g`; writes
 * `dr` (what flows to the skip input) and `dr·drop(site)` (what flows into the sub-layer).
 * Uniform: `site thr keep offG`.
 */
export function lnBwdWgsl(s: Shapes): string {
  const per = Math.ceil(s.C / WG);
  return /* wgsl */ `
${STEP}
struct U { site: u32, thr: u32, keep: u32, offG: u32 }
@group(0) @binding(1) var<uniform> u: U;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> rsum: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read> params: array<f32>;
@group(0) @binding(6) var<storage, read_write> dr: array<f32>;
@group(0) @binding(7) var<storage, read_write> drm: array<f32>;
${HASH}
${REDUCE(WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nw: vec3u) {
  let lid = lid3.x;
  for (var n = wid.x; n < ${s.B * s.T}u; n = n + nw.x) {
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
    }
  }
}
`;
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
struct U { width: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> d: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
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
@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> rsum: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
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
struct U { width: u32, split: u32, off1: u32, off2: u32, acc: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;
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
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
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
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> d: array<f32>;
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

/**
 * Causal attention forward, one workgroup per query row `(b, h, i)` (grid x = i, y = b·H + h):
 * `p = softmax(q·kᵀ/√D + causal)` stored in `P [B·H, T, T]` (before dropout), then
 * `y_i = Σ_j p_ij·drop_ij·v_j` into the merged-heads `Y [N, C]`.
 */
export function attnFwdWgsl(s: Shapes): string {
  const v4 = attnVec4(s);
  return /* wgsl */ `
${ATT_HEAD(s)}
@group(0) @binding(2) var<storage, read> qkv: array<${v4 ? "vec4f" : "f32"}>;
${
    v4
      ? "fn qs(i: u32) -> f32 { return qkv[i / 4u][i % 4u]; }"
      : "fn qs(i: u32) -> f32 { return qkv[i]; }"
  }
@group(0) @binding(3) var<storage, read_write> P: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
var<workgroup> w: array<f32, ${s.T}>;
@compute @workgroup_size(${ATT_WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lid = lid3.x;
  let i = wid.x;
  let bh = wid.y;
  let b = bh / H;
  let h = bh % H;
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
  }
}
`;
}

/**
 * Attention backward, value part, one workgroup per key row `(b, h, j)`:
 * `dv_j = Σ_{i>=j} p_ij·drop_ij·dy_i` into the v columns of `dqkv [N, 3C]`. Runs before
 * {@link attnBwdQWgsl} overwrites `P`.
 */
export function attnBwdVWgsl(s: Shapes): string {
  return /* wgsl */ `
${ATT_HEAD(s)}
@group(0) @binding(2) var<storage, read> P: array<f32>;
@group(0) @binding(3) var<storage, read> dY: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
var<workgroup> w: array<f32, ${s.T}>;
@compute @workgroup_size(${ATT_WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lid = lid3.x;
  let j = wid.x;
  let bh = wid.y;
  let b = bh / H;
  let h = bh % H;
  for (var i = j + lid; i < T; i = i + ${ATT_WG}u) {
    let idx = (bh * T + i) * T + j;
    w[i] = P[idx] * drop_factor(u.site, u.thr, bitcast<f32>(u.keep), idx);
  }
  workgroupBarrier();
  for (var d = lid; d < D; d = d + ${ATT_WG}u) {
    var acc = 0.0;
    for (var i = j; i < T; i = i + 1u) { acc = fma(w[i], dY[(b * T + i) * C + h * D + d], acc); }
    dqkv[(b * T + j) * C3 + 2u * C + h * D + d] = acc;
  }
}
`;
}

/**
 * Attention backward, query part, one workgroup per query row `(b, h, i)`:
 * `dp_ij = (dy_i·v_j)·drop_ij`, `ds_ij = p_ij (dp_ij - Σ_k p_ik dp_ik)/√D` (overwrites `P`
 * with `ds`), `dq_i = Σ_j ds_ij k_j`.
 */
export function attnBwdQWgsl(s: Shapes): string {
  const v4 = attnVec4(s);
  return /* wgsl */ `
${ATT_HEAD(s)}
@group(0) @binding(2) var<storage, read> qkv: array<${v4 ? "vec4f" : "f32"}>;
@group(0) @binding(3) var<storage, read> dY: array<${v4 ? "vec4f" : "f32"}>;
${
    v4
      ? "fn qs(i: u32) -> f32 { return qkv[i / 4u][i % 4u]; }"
      : "fn qs(i: u32) -> f32 { return qkv[i]; }"
  }
@group(0) @binding(4) var<storage, read_write> P: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;
var<workgroup> w: array<f32, ${s.T}>;
@compute @workgroup_size(${ATT_WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lid = lid3.x;
  let i = wid.x;
  let bh = wid.y;
  let b = bh / H;
  let h = bh % H;
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
  }
}
`;
}

/**
 * Attention backward, key part, one workgroup per key row `(b, h, j)`:
 * `dk_j = Σ_{i>=j} ds_ij q_i` (with `P` now holding `ds`).
 */
export function attnBwdKWgsl(s: Shapes): string {
  return /* wgsl */ `
${ATT_HEAD(s, false)}
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> P: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
var<workgroup> w: array<f32, ${s.T}>;
@compute @workgroup_size(${ATT_WG})
fn main(@builtin(local_invocation_id) lid3: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lid = lid3.x;
  let j = wid.x;
  let bh = wid.y;
  let b = bh / H;
  let h = bh % H;
  for (var i = j + lid; i < T; i = i + ${ATT_WG}u) { w[i] = P[(bh * T + i) * T + j]; }
  workgroupBarrier();
  for (var d = lid; d < D; d = d + ${ATT_WG}u) {
    var acc = 0.0;
    for (var i = j; i < T; i = i + 1u) { acc = fma(w[i], qkv[(b * T + i) * C3 + h * D + d], acc); }
    dqkv[(b * T + j) * C3 + C + h * D + d] = acc;
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
struct U { row0: u32, rows: u32, w: u32, p0: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> lossRows: array<f32>;
@group(0) @binding(4) var<storage, read> stepinfo: array<u32>;
${REDUCE(WG)}
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
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
${REDUCE(WG)}
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
${STEP}
struct U { maxNorm: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(1) var<uniform> u: U;
@group(0) @binding(2) var<storage, read> lossRows: array<f32>;
@group(0) @binding(3) var<storage, read> partial: array<f32>;
@group(0) @binding(4) var<storage, read_write> ring: array<u32>;
@group(0) @binding(5) var<storage, read_write> scal: array<u32>;
${REDUCE(WG)}
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
${STEP}
struct U { b1: u32, c1: u32, b2: u32, c2: u32, e: u32, l2: u32, l2End: u32, p0: u32 }
@group(0) @binding(1) var<uniform> u: U;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> scal: array<u32>;
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
