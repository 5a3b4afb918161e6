/**
 * The project's own WebGPU engine for the GPT-1 pre-training step (see `engine.ts`): the
 * device helpers, the engine, and its WGSL kernels.
 *
 * @example
 * ```ts
 * import { requestGpu, WebGpuGptEngine } from "./lib/webgpu/mod.ts";
 * const gpu = await requestGpu();
 * ```
 * @module
 */
export {
  type GpuContext,
  gpuDeviceNodes,
  isHardwareAdapter,
  noHardwareGpuReason,
  requestGpu,
} from "./device.ts";
export {
  adamStepSize,
  type EngineCounts,
  type EngineOptions,
  initialWeights,
  MATMUL_128_MIN_TILES,
  SPLIT_K_TARGET,
  type StepStats,
  WebGpuGptEngine,
} from "./engine.ts";
export { RING_SLOTS } from "./kernels.ts";
