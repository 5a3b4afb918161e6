import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { assert, assertEquals } from "./_util.ts";
import { makeConfig } from "../lib/config.ts";
import { initBackend } from "../lib/backend.ts";
import {
  DivergenceError,
  evaluateLm,
  isLogCheckpoint,
  nonFiniteGrads,
  pretrain,
} from "../lib/train.ts";

import { toyCorpus, unigramEntropy } from "./_toy.ts";
import { checkpointName, listCheckpoints, type LogRecord } from "../lib/runs.ts";

await initBackend("wasm");

const CONFIG = makeConfig("tiny", { vocabSize: 32, nCtx: 16, nEmbd: 32, nInner: 64 });

Deno.test("isLogCheckpoint and checkpoint names", () => {
  assertEquals([1, 2, 8, 16, 24, 32, 64, 100].filter((s) => isLogCheckpoint(s, 4)), [16, 32, 64]);
  // two per octave: 2^k and 3·2^(k-1); 16 of them from 16 to 3,072
  const half = Array.from({ length: 3072 }, (_, i) => i + 1).filter((s) =>
    isLogCheckpoint(s, 4, 2)
  );
  assertEquals(half.slice(0, 8), [16, 24, 32, 48, 64, 96, 128, 192]);
  assertEquals(half.length, 16);
  assertEquals(half.at(-1), 3072);
  assertEquals([12, 36, 80, 144].filter((s) => isLogCheckpoint(s, 4, 2)), []);
  assertEquals(checkpointName(128), "ckpt-000128.safetensors");
});

Deno.test("pretrain drives the loss well below the unigram entropy of its data", async () => {
  const dir = await Deno.makeTempDir();
  const train = toyCorpus(20_000, 1), valid = toyCorpus(2_000, 2);
  const logs: LogRecord[] = [];
  const r = await pretrain({
    config: CONFIG,
    train,
    valid,
    outDir: dir,
    steps: 120,
    batchSize: 8,
    lr: 3e-3,
    warmupSteps: 10,
    evalEvery: 60,
    logEvery: 20,
    ckptEvery: 50,
    onLog: (l) => logs.push(l),
  });
  const h = unigramEntropy(train, 32);
  console.log(`unigram entropy ${h.toFixed(3)} nats; valid loss ${r.validLoss!.toFixed(3)}`);
  assert(r.validLoss! < 0.6 * h, `valid loss ${r.validLoss} not well below unigram ${h}`);
  assert(r.losses[0] > r.losses.at(-1)!, "loss did not fall");
  const cks = await listCheckpoints(dir);
  assertEquals(cks.map((c) => c.step), [16, 32, 64, 120]);
  const log = (await Deno.readTextFile(join(dir, "log.jsonl"))).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assertEquals(log.filter((l) => l.kind === "train").map((l) => l.step), [
    20,
    40,
    60,
    80,
    100,
    120,
  ]);
  assertEquals(log.filter((l) => l.kind === "valid").map((l) => l.step), [60, 120]);
  assertEquals(logs.length, log.length);
  const cfg = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
  assertEquals(cfg.model.nCtx, 16);
  const ev = await evaluateLm(r.model, valid);
  assert(Math.abs(ev.loss - r.validLoss!) < 1e-5 || ev.tokens > 0);
  r.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resume: 10 steps = 5 steps + kill + resume 5 steps (identical losses)", async () => {
  const train = toyCorpus(5_000, 3);
  const base = { config: CONFIG, train, steps: 10, batchSize: 4, lr: 1e-3, warmupSteps: 2 };
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  const full = await pretrain({ ...base, outDir: a, ckptEvery: 100 });
  full.model.dispose();
  const first = await pretrain({ ...base, outDir: b, ckptEvery: 100, stopAfter: 5 });
  first.model.dispose();
  const numTensors = tf.memory().numTensors;
  const second = await pretrain({ ...base, outDir: b, ckptEvery: 100, resume: true });
  second.model.dispose();
  assertEquals(tf.memory().numTensors, numTensors, "tensor leak across a resumed run");
  assertEquals([...first.losses, ...second.losses], full.losses);
  const logA = await Deno.readTextFile(join(a, "log.jsonl"));
  const logB = await Deno.readTextFile(join(b, "log.jsonl"));
  const strip = (s: string) =>
    s.trim().split("\n").map((l) => {
      const { step, loss, lr, kind } = JSON.parse(l);
      return { step, loss, lr, kind };
    });
  assertEquals(strip(logB), strip(logA));
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("NaN guard stops the run with the step and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const train = toyCorpus(5_000, 4);
  let err: DivergenceError | undefined;
  try {
    await pretrain({
      config: CONFIG,
      train,
      outDir: dir,
      steps: 10,
      batchSize: 4,
      ckptEvery: 3,
      lossHook: (step, loss) => step === 7 ? NaN : loss,
    });
  } catch (e) {
    if (e instanceof DivergenceError) err = e;
    else throw e;
  }
  assert(err, "no DivergenceError");
  assertEquals(err.step, 7);
  assert(err.message.includes("loss"), err.message);
  const { loadCheckpoint } = await import("../lib/checkpoint.ts");
  const ck = await loadCheckpoint(join(dir, "latest.safetensors"));
  assertEquals(ck.step, 6);
  ck.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tensor count is constant across training steps", async () => {
  const dir = await Deno.makeTempDir();
  const train = toyCorpus(5_000, 5);
  const counts: number[] = [];
  const r = await pretrain({
    config: CONFIG,
    train,
    outDir: dir,
    steps: 20,
    batchSize: 2,
    ckptEvery: 1000,
    logCkptFrom: 10,
    progress: { update: () => counts.push(tf.memory().numTensors), finish() {} },
  });
  r.model.dispose();
  assertEquals(new Set(counts.slice(1)).size, 1, `tensor counts varied: ${counts}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a validation split shorter than one window skips validation with a warning", async () => {
  const dir = await Deno.makeTempDir();
  const r = await pretrain({
    config: CONFIG,
    train: toyCorpus(2_000, 6),
    valid: new Uint16Array(3),
    outDir: dir,
    steps: 3,
    batchSize: 2,
  });
  assertEquals(r.validLoss, undefined);
  r.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("nonFiniteGrads names exactly the gradients holding NaN or Inf", async () => {
  const grads = new Map<string, tf.Tensor>([
    ["a", tf.tensor1d([1, 2, 3])],
    ["b", tf.tensor2d([[0, NaN], [1, 2]])],
    ["c", tf.tensor1d([Infinity])],
  ]);
  const n = tf.memory().numTensors;
  assertEquals(await nonFiniteGrads(grads), ["grad b", "grad c"]);
  assertEquals(tf.memory().numTensors, n);
  tf.dispose([...grads.values()]);
});
