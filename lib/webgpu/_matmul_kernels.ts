/**
 * The matrix-product kernels of the engine: `C[M, N] (+)= op(A)·op(B) (+ bias)` with 64×64
 * output tiles (scalar loads) or 128×128 tiles (vec4 loads, register double buffering,
 * split-K), and the split-K reduction. Re-exported by kernels.ts.
 * @module
 */
import { kernelHead, WG } from "./_wgsl.ts";

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
 * The preamble of a product kernel: the uniform `M N K lda ldb ldc offA offB offC offBias
 * accumulate <last>`, A and B (element types `a`, `b`), the output `Cm`, and the bias when
 * `bias`.
 */
function productHead(a: string, b: string, bias: boolean, last: string): string {
  return kernelHead({
    uniform: "M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32,\n" +
      `  offC: u32, offBias: u32, accumulate: u32, ${last}: u32`,
    bindings: [
      ["A", a],
      ["B", b],
      ["Cm", "f32", "rw"],
      ...(bias ? [["bias", "f32"] as const] : []),
    ],
  });
}

/**
 * The entry of a product kernel on 16×16 threads (`tx`, `ty`, `tid`) whose workgroup computes
 * the `tile`×`tile` output block at `(row0, col0)`.
 */
function productMain(tile: number): string {
  return `@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let row0 = wid.y * ${tile}u;
  let col0 = wid.x * ${tile}u;`;
}

/** WGSL storing the sum `r` of output `(m, n)`: plus the bias when `bias`, plus `Cm` when accumulating. */
function storeC(bias: boolean): string {
  return `${bias ? "r = r + bias[u.offBias + n];" : ""}
    let o = u.offC + m * u.ldc + n;
    if (u.accumulate != 0u) { r = r + Cm[o]; }
    Cm[o] = r;`;
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
${productHead("f32", "f32", v.bias, "pad")}
var<workgroup> As: array<f32, 1024>; // [16 k][64 m]
var<workgroup> Bs: array<f32, 1024>; // [16 k][64 n]
${productMain(64)}
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
      ${storeC(v.bias)}
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
${productHead(aType, bType, bias, "kChunk")}
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
${productMain(128)}
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
          ${split ? "Cm[(wid.z * u.M + m) * u.N + n] = r;" : storeC(bias)}
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
${
    kernelHead({
      uniform:
        "M: u32, N: u32, ldc: u32, offC: u32, offBias: u32, accumulate: u32, splits: u32,\n  p0: u32",
      bindings: [
        ["partial", "f32"],
        ["Cm", "f32", "rw"],
        ...(bias ? [["bias", "f32"] as const] : []),
      ],
    })
  }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let MN = u.M * u.N;
  for (var i = gid.x; i < MN; i = i + nw.x * ${WG}u) {
    var r = 0.0;
    for (var z = 0u; z < u.splits; z = z + 1u) { r = r + partial[z * MN + i]; }
    let m = i / u.N;
    let n = i % u.N;
    ${storeC(bias)}
  }
}
`;
}
