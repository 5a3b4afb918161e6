/**
 * Test helper: run tensor code on one backend and read every result back.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";

/** Runs `f` on backend `name` (inside a tidy) and reads back every returned tensor. */
export async function onBackend(name: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await selectBackend({ force: name, log: () => {} });
  const outs = tf.tidy(f);
  const res = await Promise.all(outs.map(async (t) => new Float32Array(await t.data())));
  tf.dispose(outs);
  return res;
}
