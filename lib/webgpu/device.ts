/**
 * The WebGPU device of the project's own GPT engine: requests an adapter and a device with the
 * adapter's own limits for buffer sizes and storage bindings (the defaults, 128 MiB bindings and
 * 8 storage buffers per stage, are too small for the `gpt1` preset), and says whether the
 * adapter is hardware (what `--engine auto` needs) or a software rasterizer (lavapipe/llvmpipe,
 * SwiftShader, WARP), which is only good for correctness tests.
 *
 * @example
 * ```ts
 * import { requestGpu } from "./device.ts";
 * const gpu = await requestGpu();
 * if (gpu) console.log(gpu.description, gpu.hardware);
 * gpu?.device.destroy();
 * ```
 * @module
 */
import { pinVulkanDrivers } from "./_pin.ts";

/** A device with what the engine needs to know about its adapter. */
export interface GpuContext {
  /** The device every engine buffer and pipeline belongs to. */
  readonly device: GPUDevice;
  /** The adapter description (`llvmpipe (LLVM 15.0.6, 256 bits)`, `NVIDIA H200`, ...). */
  readonly description: string;
  /** True for a hardware adapter; false for a software one (lavapipe/llvmpipe, SwiftShader, WARP). */
  readonly hardware: boolean;
  /** Whether the device was created with `shader-f16`. */
  readonly f16: boolean;
  /** The device limits in force. */
  readonly limits: GPUSupportedLimits;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|warp|basic render/i;

/**
 * True when an adapter with this description / fallback flag is a real GPU. Software
 * rasterizers report `isFallbackAdapter` or name themselves in the description.
 */
export function isHardwareAdapter(description: string, isFallback: boolean): boolean {
  return !isFallback && !SOFTWARE.test(description);
}

/** `/dev` entries a hardware GPU shows up as on Linux: DRM render nodes, NVIDIA, WSL, ROCm. */
const GPU_NODE = /^(renderD\d+|nvidia\d+|dxg|kfd)$/;

/**
 * The GPU device nodes of this Linux machine (`/dev/dri/renderD*`, `/dev/nvidia0`, `/dev/dxg`,
 * `/dev/kfd`), or null where that cannot be told (not Linux, no `--allow-read`). An empty list
 * means no hardware adapter can exist: only a software rasterizer would answer, so the
 * automatic choices (`selectBackend()`'s search, `--engine auto`) skip WebGPU without loading
 * the Vulkan loader and its drivers (lavapipe brings LLVM: measured 35–150 ms, +68 MB resident,
 * ~50 more shared libraries).
 * A forced WebGPU (`--backend webgpu`, `--engine webgpu`, the tests) still asks for an adapter.
 */
export function gpuDeviceNodes(): string[] | null {
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "read" }).state !== "granted") return null;
  } catch {
    return null;
  }
  const nodes: string[] = [];
  for (const dir of ["/dev", "/dev/dri"]) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (GPU_NODE.test(e.name)) nodes.push(`${dir}/${e.name}`);
      }
    } catch {
      // no such folder (a container without /dev/dri)
    }
  }
  return nodes.sort();
}

/** Why the automatic choices skip WebGPU here without asking for an adapter, or null. */
export function noHardwareGpuReason(): string | null {
  const nodes = gpuDeviceNodes();
  return nodes !== null && nodes.length === 0
    ? "no GPU device node (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg, /dev/kfd): only a software adapter could answer"
    : null;
}

/**
 * Requests a high-performance adapter and a device with the adapter's maximum buffer and
 * binding limits (and `shader-f16` where offered). Returns null when there is no
 * `navigator.gpu` or no adapter (a visible SKIP in tests, the tfjs engine under `auto`).
 */
export async function requestGpu(): Promise<GpuContext | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  pinVulkanDrivers(); // loaded once per process (see _pin.ts)
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return null;
  const a = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxBufferSize: a.maxBufferSize,
    maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
  };
  const f16 = adapter.features.has("shader-f16");
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures: f16 ? ["shader-f16"] : [],
  });
  const info = adapter.info;
  const description = info.description || `${info.vendor} ${info.device}`.trim();
  return {
    device,
    description,
    hardware: isHardwareAdapter(description, info.isFallbackAdapter ?? false),
    f16,
    limits: device.limits,
  };
}
