/**
 * Test helper: run tensor code on one backend and read every result back.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { makeConfig } from "../lib/config.ts";
import { Gpt1Model } from "../lib/model.ts";
import { assert, assertEquals, maxRelErr } from "./_util.ts";

/** Runs `f` on backend `name` (inside a tidy) and reads back every returned tensor. */
export async function onBackend(name: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await selectBackend({ force: name, log: () => {} });
  const outs = tf.tidy(f);
  const res = await Promise.all(outs.map(async (t) => new Float32Array(await t.data())));
  tf.dispose(outs);
  return res;
}

/** Logits, LM loss (eval and with dropout) and every gradient of a small model. */
export function modelOutputs(): tf.Tensor[] {
  const cfg = makeConfig("tiny", { nLayer: 1, nCtx: 16 });
  const m = new Gpt1Model(cfg, { seed: 3 });
  const ids = [[1, 5, 9, 2, 7, 7, 0, 3], [4, 4, 8, 1, 2, 511, 6, 5]];
  const logits = m.lmLogitsTensor(ids);
  const { value, grads } = m.valueAndGrads(() => m.lmLossTensor(ids, { training: true, seed: 5 }));
  const out = [logits, m.lmLossTensor(ids), value, ...grads.values()];
  m.dispose();
  return out;
}

/** Asserts that every output of `got` matches `ref` (same sizes) within `tol` relative. */
export function assertClose(got: Float32Array[], ref: Float32Array[], tol: number, what: string) {
  assertEquals(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    assertEquals(got[i].length, ref[i].length, `${what} output ${i} size`);
    const err = maxRelErr(got[i], ref[i]);
    assert(err <= tol, `${what} output ${i}: rel err ${err}`);
  }
}
