/**
 * What the WebGPU engine builds its step from, counted: buffers, uniforms, pipelines (one per
 * distinct WGSL code), bind groups and dispatches, and the matrix product as the dispatches of
 * the 64×64 or 128×128 kernel (split along K for thin products). Everything is created once,
 * when the engine is built; {@link GpuBuilder.dispose} frees every buffer.
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { GpuContext } from "./device.ts";
import * as K from "./kernels.ts";

/** Split-K (`auto`) aims at this many workgroups for a product (2 per multiprocessor on an H200). */
export const SPLIT_K_TARGET = 264;

/** Under `matmul: "auto"`, the fewest 128×128 output tiles a product needs to use that kernel. */
export const MATMUL_128_MIN_TILES = 32;

/** Buffer usages of the engine's buffers. */
export const S = GPUBufferUsage.STORAGE, CD = GPUBufferUsage.COPY_DST, CS = GPUBufferUsage.COPY_SRC;

/** Counts of what the engine created (the hygiene test checks they do not grow per step). */
export interface EngineCounts {
  /** GPU buffers. */
  buffers: number;
  /** Bind groups. */
  bindGroups: number;
  /** Compute pipelines. */
  pipelines: number;
}

/** One recorded dispatch: pipeline, bind group and grid. */
export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
  x: number;
  y: number;
  z: number;
}

/** The shape of a product for {@link GpuBuilder.mm} (element offsets into the buffers). */
export interface ProductDims {
  M: number;
  N: number;
  K: number;
  lda: number;
  ldb: number;
  ldc: number;
  offA?: number;
  offB?: number;
  offC?: number;
  offBias?: number;
  acc?: boolean;
}

/** Creates and counts the GPU objects of one engine; see the module documentation. */
export class GpuBuilder {
  /** What was created so far. */
  readonly counts: EngineCounts = { buffers: 0, bindGroups: 0, pipelines: 0 };
  /** The parameters buffer (a product's bias is read from it); set before the first product. */
  params: GPUBuffer | null = null;
  /** Floats of the split-K partials buffer (created at the first split product). */
  splitFloats = 0;
  readonly device: GPUDevice;
  #pipes = new Map<string, GPUComputePipeline>();
  #bufs: GPUBuffer[] = [];
  #splitBuf: GPUBuffer | null = null;

  constructor(
    readonly gpu: GpuContext,
    readonly matmul: "64" | "128" | "auto",
    readonly splitK: "auto" | number,
  ) {
    this.device = gpu.device;
  }

  /** A storage (or other `usage`) buffer of at least `bytes` bytes, freed by {@link dispose}. */
  buffer(label: string, bytes: number, usage: number): GPUBuffer {
    const b = this.device.createBuffer({
      label,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage,
    });
    this.#bufs.push(b);
    this.counts.buffers++;
    return b;
  }

  /** A uniform buffer holding `words` (as u32; padded to 16 bytes). */
  uniform(words: number[]): GPUBuffer {
    const n = Math.max(4, Math.ceil(words.length / 4) * 4);
    const b = this.device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.UNIFORM,
      mappedAtCreation: true,
    });
    new Uint32Array(b.getMappedRange()).set(words.map((w) => w >>> 0));
    b.unmap();
    this.#bufs.push(b);
    this.counts.buffers++;
    return b;
  }

  /** The compute pipeline of `code` (entry point `main`), built once per distinct code. */
  pipeline(code: string): GPUComputePipeline {
    let p = this.#pipes.get(code);
    if (!p) {
      const module = this.device.createShaderModule({ code });
      p = this.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
      this.#pipes.set(code, p);
      this.counts.pipelines++;
    }
    return p;
  }

  /** One dispatch: `entries[i]` is bound at binding i (null = skipped). */
  dispatch(
    label: string,
    code: string,
    entries: (GPUBuffer | null)[],
    x: number,
    y = 1,
    z = 1,
  ): Dispatch {
    const pipeline = this.pipeline(code);
    const bind = this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: entries.flatMap((b, i) => (b ? [{ binding: i, resource: { buffer: b } }] : [])),
    });
    this.counts.bindGroups++;
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new ConfigError(`${label}: grid ${x}×${y}×${z} exceeds ${max}`);
    }
    return { label, pipeline, bind, x, y, z };
  }

  /**
   * The dispatches of one product `C (+)= op(A)·op(B) (+ bias)`: the 64×64 or the 128×128
   * kernel (see {@link GpuBuilderOptions.matmul}), split along K into a partial buffer and a
   * reduction when `splitK` says so (never when `noSplit`).
   */
  mm(
    label: string,
    v: K.MatmulVariant,
    a: GPUBuffer,
    b: GPUBuffer,
    c: GPUBuffer,
    dims: ProductDims,
    noSplit = false,
  ): Dispatch[] {
    const tiles = Math.ceil(dims.N / K.TILE_L) * Math.ceil(dims.M / K.TILE_L);
    const large = this.matmul === "128" ||
      (this.matmul === "auto" && tiles >= MATMUL_128_MIN_TILES);
    // split-K: thin products with a long K (the weight gradients) get more workgroups
    let splits = 1;
    if (large && !noSplit) {
      if (typeof this.splitK === "number") splits = Math.min(this.splitK, Math.ceil(dims.K / 8));
      else if (tiles < SPLIT_K_TARGET && dims.K >= 1024) {
        splits = Math.min(8, Math.floor(dims.K / 512), Math.ceil(SPLIT_K_TARGET / tiles));
      }
    }
    const kChunk = Math.ceil(dims.K / splits / 8) * 8;
    if (splits > 1) splits = Math.ceil(dims.K / kChunk);
    const u = this.uniform([
      dims.M,
      dims.N,
      dims.K,
      dims.lda,
      dims.ldb,
      dims.ldc,
      dims.offA ?? 0,
      dims.offB ?? 0,
      dims.offC ?? 0,
      dims.offBias ?? 0,
      dims.acc ? 1 : 0,
      splits > 1 ? kChunk : 0,
    ]);
    const T = large ? K.TILE_L : K.TILE;
    if (splits === 1) {
      return [this.dispatch(
        label,
        large ? K.matmul128Wgsl(v, K.matmulVec4(v, dims)) : K.matmulWgsl(v),
        [u, a, b, c, v.bias ? this.params : null],
        Math.ceil(dims.N / T),
        Math.ceil(dims.M / T),
      )];
    }
    const need = splits * dims.M * dims.N;
    if (need > this.splitFloats) {
      throw new Error(
        `${label}: split-K needs ${need} floats, the buffer has ${this.splitFloats}`,
      );
    }
    this.#splitBuf ??= this.buffer("split-k partials", this.splitFloats * 4, S);
    const r = this.uniform([
      dims.M,
      dims.N,
      dims.ldc,
      dims.offC ?? 0,
      dims.offBias ?? 0,
      dims.acc ? 1 : 0,
      splits,
      0,
    ]);
    return [
      this.dispatch(
        label,
        K.matmul128Wgsl(v, K.matmulVec4(v, dims), true),
        [u, a, b, this.#splitBuf],
        Math.ceil(dims.N / T),
        Math.ceil(dims.M / T),
        splits,
      ),
      this.dispatch(
        `${label}.splitk`,
        K.splitReduceWgsl(v.bias),
        [r, this.#splitBuf, c, v.bias ? this.params : null],
        Math.max(1, Math.min(Math.ceil((dims.M * dims.N) / K.WG), 4096)),
      ),
    ];
  }

  /** Frees every buffer created so far. */
  dispose(): void {
    for (const b of this.#bufs) b.destroy();
    this.#bufs = [];
  }
}
