/**
 * What every WGSL kernel of the engine shares: workgroup sizes and ring slots, the static
 * shapes, the step-info binding, the dropout hash, the workgroup reductions, and
 * {@link kernelHead}, the one template of a kernel's preamble (step info, uniform struct,
 * numbered storage bindings, the helpers it uses). Re-exported by kernels.ts.
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

/** The dropout hash and `drop_factor` (reads the step info). */
export const HASH = /* wgsl */ `
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

/** Workgroup sum and max over `n` threads (`wg_sum`, `wg_max`). */
export const REDUCE = (n: number) => /* wgsl */ `
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

/** Binding 0 of the kernels that read the step info. */
export const STEP = "@group(0) @binding(0) var<storage, read> stepinfo: array<u32>;";

/** A storage binding: `[name, element type]`, read-only, or written with `"rw"`. */
export type Binding = readonly [name: string, type: string, rw?: "rw"];

/**
 * Storage bindings numbered from `first`, one a line; a string entry is WGSL put in between as
 * it is (and takes no number).
 */
export function bindingList(first: number, list: readonly (Binding | string)[]): string {
  let n = first;
  return list.map((b) =>
    typeof b === "string"
      ? b
      : `@group(0) @binding(${n++}) var<storage, ${b[2] ? "read_write" : "read"}> ${b[0]}: array<${
        b[1]
      }>;`
  ).join("\n");
}

/**
 * The preamble of a kernel, in this order: the step info at binding 0 (`step`), the uniform
 * struct `U` with the fields `uniform` at the next binding, the storage `bindings` after it,
 * then the dropout hash (`hash`) and the workgroup reductions over `reduce` threads.
 */
export function kernelHead(o: {
  step?: boolean;
  uniform?: string;
  bindings?: readonly (Binding | string)[];
  hash?: boolean;
  reduce?: number;
}): string {
  const parts: string[] = [];
  let n = 0;
  if (o.step) parts.push(STEP), n++;
  if (o.uniform !== undefined) {
    parts.push(`struct U { ${o.uniform} }`, `@group(0) @binding(${n++}) var<uniform> u: U;`);
  }
  if (o.bindings) parts.push(bindingList(n, o.bindings));
  if (o.hash) parts.push(HASH);
  if (o.reduce) parts.push(REDUCE(o.reduce));
  return parts.join("\n");
}
