/**
 * lib/backend.ts on WebGPU: tfjs's webgpu backend (forced; lavapipe here) gives the GPT's
 * logits, losses and gradients of cpu within 1e-4. In tests/gpu/ with every test that loads the
 * Vulkan loader, so the rest of the suite runs in a process that never does (see deno.json).
 */
import { selectBackend, webgpuAdapterInfo } from "../../lib/backend.ts";
import { assertClose, modelOutputs, onBackend } from "../_backend.ts";

const gpu = await webgpuAdapterInfo();
if (!gpu) console.log("SKIP webgpu backend parity: no WebGPU adapter");

Deno.test({
  name: "the GPT gives the same logits, losses and gradients on webgpu and cpu (1e-4)",
  ignore: !gpu,
  fn: async () => {
    const ref = await onBackend("cpu", modelOutputs);
    const got = await onBackend("webgpu", modelOutputs);
    assertClose(got, ref, 1e-4, "tiny GPT (webgpu vs cpu)");
    await selectBackend({ force: "cpu", log: () => {} });
  },
});
