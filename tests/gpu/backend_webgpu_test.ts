/**
 * lib/backend.ts on WebGPU: tfjs's webgpu backend (forced; lavapipe here) gives the GPT's
 * logits, losses and gradients of cpu within 1e-4. In tests/gpu/ with every test that loads the
 * Vulkan loader, so the rest of the suite runs in a process that never does (see deno.json).
 */
import { selectBackend, webgpuAdapterInfo } from "../../lib/backend.ts";
import { assert, maxRelErr } from "../_util.ts";
import { modelOutputs, onBackend } from "../_backend.ts";

const gpu = await webgpuAdapterInfo();
if (!gpu) console.log("SKIP webgpu backend parity: no WebGPU adapter");

Deno.test({
  name: "the GPT gives the same logits, losses and gradients on webgpu and cpu (1e-4)",
  ignore: !gpu,
  fn: async () => {
    const ref = await onBackend("cpu", modelOutputs);
    const got = await onBackend("webgpu", modelOutputs);
    assert(ref.length === got.length && ref.length > 3);
    for (let i = 0; i < ref.length; i++) {
      const e = maxRelErr(got[i], ref[i]);
      assert(e < 1e-4, `output ${i}: max rel err ${e}`);
    }
    await selectBackend({ force: "cpu", log: () => {} });
  },
});
