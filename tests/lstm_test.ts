/**
 * The LSTM baseline: presets sized to the Transformer's, the fused recurrence against plain
 * autograd, shapes and causality, loss falling through `pretrain` (with resume and a constant
 * tensor count), checkpoints of both kinds (old GPT-1 files without `model_kind` included),
 * fine-tuning heads and the zero-shot scorer on an LSTM.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
  maxRelErr,
  needShared,
  sharedPath,
} from "./_util.ts";
import { initBackend } from "../lib/backend.ts";
import { countParams, makeConfig, PRESETS } from "../lib/config.ts";
import { ConfigError } from "../lib/errors.ts";
import {
  createLanguageModel,
  isLstmConfig,
  makeModelConfig,
  numLayers,
} from "../lib/language_model.ts";
import {
  countLstmParams,
  LSTM_PRESETS,
  type LstmConfig,
  LstmModel,
  lstmSequence,
  makeLstmConfig,
} from "../lib/lstm.ts";
import { Gpt1Model } from "../lib/model.ts";
import { randn } from "../lib/random.ts";
import {
  loadAnyCheckpoint,
  loadCheckpoint,
  readCheckpointInfo,
  saveCheckpoint,
} from "../lib/checkpoint.ts";
import { readSafetensors, writeSafetensors } from "../lib/safetensors.ts";
import { evaluateLm, pretrain } from "../lib/train.ts";
import {
  buildFinetuneModel,
  disposeBatch,
  finetune,
  headSize,
  taskBatch,
  taskForward,
} from "../lib/finetune.ts";
import { getTask, loadTask } from "../lib/tasks/mod.ts";
import { specialsFor } from "../lib/transforms.ts";
import { nextTokenLogProbs, sequenceLogProbs } from "../lib/scoring.ts";
import { Rng } from "../lib/random.ts";
import { BpeTrainer } from "../lib/tokenizer/trainer.ts";
import { Gpt1Tokenizer } from "../lib/tokenizer/bpe.ts";

import { toyCorpus, unigramEntropy } from "./_toy.ts";
import { listCheckpoints } from "../lib/runs.ts";

await initBackend("wasm");

/** A small LSTM for the tests: vocabulary 32, width 16, 24 units. */
const CFG = makeLstmConfig("tiny", { vocabSize: 32, nCtx: 16, nEmbd: 16, nHidden: 24 });

function randIds(B: number, T: number, V: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
}

Deno.test("presets match the Transformer presets' parameter counts", () => {
  for (const name of ["tiny", "small", "gpt1"] as const) {
    const lstm = countLstmParams(LSTM_PRESETS[name]), gpt = countParams(PRESETS[name]);
    console.log(`${name}: LSTM ${lstm} vs GPT-1 ${gpt} parameters`);
    if (name !== "gpt1") assert(Math.abs(lstm / gpt - 1) < 0.005, `${name}: ${lstm} vs ${gpt}`);
  }
  assertEquals(countLstmParams(LSTM_PRESETS.small), 5_295_856);
  assertEquals(LSTM_PRESETS.gpt1.nHidden, 2048); // the paper's LSTM
  const m = new LstmModel(LSTM_PRESETS.tiny);
  assertEquals(m.numParams(), countLstmParams(LSTM_PRESETS.tiny));
  m.dispose();
  assertThrows(() => makeLstmConfig("tiny", { nLayer: 2 } as never), ConfigError);
  assertThrows(() => makeLstmConfig("tiny", { dropout: 1 }), ConfigError);
  assertThrows(() => makeLstmConfig("huge" as never), ConfigError);
  // either kind from plain JSON (what checkpoints store)
  const back = makeModelConfig(JSON.parse(JSON.stringify(CFG)));
  assert(isLstmConfig(back));
  assertEquals(back, CFG);
  assert(!isLstmConfig(makeModelConfig({ ...PRESETS.tiny })));
  assertEquals([numLayers(CFG), numLayers(PRESETS.tiny)], [1, 2]);
});

/** The textbook LSTM over time-major `xp [T, B, 4H]` with plain ops (reference for autograd). */
function naiveLstm(xp: tf.Tensor3D, whh: tf.Tensor2D): tf.Tensor3D {
  const [T, B, G] = xp.shape, H = G / 4;
  let h = tf.zeros([B, H]), c = tf.zeros([B, H]);
  const hs: tf.Tensor[] = [];
  for (let t = 0; t < T; t++) {
    const pre = tf.add(tf.squeeze(tf.slice(xp, [t, 0, 0], [1, B, G]), [0]), tf.matMul(h, whh));
    const [i, f, g, o] = tf.split(pre, 4, 1);
    c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    h = tf.mul(tf.sigmoid(o), tf.tanh(c));
    hs.push(h);
  }
  return tf.stack(hs) as tf.Tensor3D;
}

Deno.test("lstmSequence: value and backward-through-time match plain autograd", () => {
  for (const [T, B, H] of [[1, 2, 3], [7, 3, 5]]) {
    tf.tidy(() => {
      const xp = tf.tensor3d(randn(T * B * 4 * H, 11 + T, 1.5), [T, B, 4 * H]);
      const whh = tf.tensor2d(randn(H * 4 * H, 12 + T, 0.7), [H, 4 * H]);
      const w = tf.tensor3d(randn(T * B * H, 13 + T, 1), [T, B, H]); // random upstream gradient
      const loss = (f: typeof naiveLstm) => (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(f(a as tf.Tensor3D, b as tf.Tensor2D), w));
      const ref = tf.grads(loss(naiveLstm))([xp, whh]);
      const got = tf.grads(loss(lstmSequence))([xp, whh]);
      const v = maxRelErr(lstmSequence(xp, whh).dataSync(), naiveLstm(xp, whh).dataSync());
      const dx = maxRelErr(got[0].dataSync(), ref[0].dataSync());
      const dw = maxRelErr(got[1].dataSync(), ref[1].dataSync());
      assert(v < 1e-5 && dx < 1e-4 && dw < 1e-4, `T=${T}: value ${v}, dxp ${dx}, dW_hh ${dw}`);
    });
  }
});

Deno.test("shapes, determinism and causality", async () => {
  const m = new LstmModel(CFG, { seed: 3 });
  const ids = randIds(2, 9, 32, 1);
  tf.tidy(() => {
    const h = m.hidden(ids);
    assertEquals(h.shape, [2, 9, CFG.nEmbd]);
    assertEquals(m.lmLogitsTensor(ids).shape, [2, 9, 32]);
    assertEquals(m.pool(h, [3, 8]).shape, [2, CFG.nEmbd]);
    // longer than nCtx works: there is no position table
    assertEquals(m.hidden(randIds(1, CFG.nCtx + 5, 32, 2)).shape, [1, CFG.nCtx + 5, 16]);
  });
  const a = await m.logits(ids);
  const again = await new LstmModel(CFG, { seed: 3 }).logits(ids); // same seed, same init
  assertEquals(again, a);
  const l0 = await m.lmLoss(ids);
  assert(Math.abs(l0 - Math.log(32)) < 0.05, `loss at init ${l0}, ln 32 = ${Math.log(32)}`);
  // changing token t changes nothing before t and something at t
  for (const t of [0, 4, 8]) {
    const ids2 = ids.map((r) => r.slice());
    ids2[1][t] = (ids2[1][t] + 5) % 32;
    const b = await m.logits(ids2);
    assertEquals(b[0], a[0], "other sequences unchanged");
    for (let s = 0; s < t; s++) assertEquals(b[1][s], a[1][s], `position ${s} < ${t} changed`);
    assert(maxRelErr(b[1][t], a[1][t]) > 1e-4, `position ${t} did not change`);
  }
  // training mode: dropout makes two seeds differ, the same seed repeat
  const train = (seed: number) =>
    tf.tidy(() => m.lmLossTensor(ids, { training: true, seed }).dataSync()[0]);
  assertEquals(train(1), train(1));
  assert(train(1) !== train(2));
  m.dispose();
});

Deno.test("pretrain trains the LSTM: loss falls, kind in config.json, tensor count constant", async () => {
  const dir = await Deno.makeTempDir();
  const train = toyCorpus(10_000, 1), valid = toyCorpus(1_000, 2);
  const counts: number[] = [];
  const t0 = performance.now();
  const r = await pretrain({
    config: CFG,
    train,
    valid,
    outDir: dir,
    steps: 200,
    batchSize: 8,
    lr: 1e-2,
    warmupSteps: 10,
    evalEvery: 1000,
    logEvery: 20,
    ckptEvery: 1000,
    progress: { update: () => counts.push(tf.memory().numTensors), finish() {} },
  });
  const sec = (performance.now() - t0) / 1000;
  assert(r.model instanceof LstmModel);
  const first = r.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = r.losses.slice(-5).reduce((a, b) => a + b) / 5;
  console.log(
    `LSTM toy: train loss ${first.toFixed(3)} -> ${last.toFixed(3)}, valid ${
      r.validLoss!.toFixed(3)
    } (ln 32 = ${Math.log(32).toFixed(3)}), ${(200 * 8 * 15 / sec).toFixed(0)} tokens/s`,
  );
  assert(last < 0.5 * first, `loss did not fall: ${first} -> ${last}`);
  assert(r.validLoss! < 0.6 * unigramEntropy(train, 32), `valid loss ${r.validLoss}`);
  assertEquals(new Set(counts.slice(1)).size, 1, `tensor counts varied: ${counts}`);
  const cfg = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
  assertEquals([cfg.model.kind, cfg.model.nHidden], ["lstm", 24]);
  // every checkpoint of the run is an LSTM one and evaluates like the trained model
  const cks = await listCheckpoints(dir);
  assertEquals(cks.map((c) => c.step), [16, 32, 64, 128, 200]);
  const ck = await loadAnyCheckpoint(cks.at(-1)!.path);
  assertEquals(ck.kind, "lstm");
  const ev = await evaluateLm(ck.model, valid), ref = await evaluateLm(r.model, valid);
  assert(Math.abs(ev.loss - ref.loss) < 1e-2, `f16 checkpoint ${ev.loss} vs ${ref.loss}`);
  ck.model.dispose();
  r.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pretrain resume: 8 steps = 4 + resume 4 (identical losses); kinds must agree", async () => {
  const train = toyCorpus(4_000, 3);
  const base = { config: CFG, train, steps: 8, batchSize: 4, lr: 3e-3, warmupSteps: 2 };
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  const full = await pretrain({ ...base, outDir: a, ckptEvery: 100 });
  full.model.dispose();
  const first = await pretrain({ ...base, outDir: b, ckptEvery: 100, stopAfter: 4 });
  first.model.dispose();
  const second = await pretrain({ ...base, outDir: b, ckptEvery: 100, resume: true });
  second.model.dispose();
  assertEquals([...first.losses, ...second.losses], full.losses);
  const n = tf.memory().numTensors;
  await assertRejects(
    () =>
      pretrain({ ...base, config: makeConfig("tiny", { vocabSize: 32 }), outDir: b, resume: true }),
    /lstm model, the config a gpt1/,
  );
  assertEquals(tf.memory().numTensors, n, "the refused resume leaked tensors");
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("checkpoints: LSTM round trip; loadCheckpoint refuses it; old GPT-1 files load", async () => {
  const dir = await Deno.makeTempDir();
  const m = new LstmModel(makeLstmConfig(CFG, { nSpecial: 3 }), { seed: 4 });
  m.addClassifier(2);
  const ids = randIds(2, 6, 35, 5);
  const path = join(dir, "lstm.safetensors");
  await saveCheckpoint(path, { model: m, step: 7 });
  const ck = await loadAnyCheckpoint(path);
  assertEquals([ck.kind, ck.step, ck.metadata.model_kind], ["lstm", 7, "lstm"]);
  assert(ck.model instanceof LstmModel && isLstmConfig(ck.config));
  assertEquals(ck.config, m.config);
  assertEquals(ck.model.seed, 4);
  assertEquals(await ck.model.logits(ids), await m.logits(ids));
  assertEquals(ck.model.params.get("clf.weight")!.shape, [16, 2]);
  ck.model.dispose();
  // the header alone says the same (what runTable5 and ablateLayers read)
  assertEquals(await readCheckpointInfo(path), { kind: "lstm", config: m.config, step: 7 });
  await assertRejects(() => loadCheckpoint(path), /LSTM checkpoint.*loadAnyCheckpoint/s);

  // a GPT-1 checkpoint as written before `model_kind` existed
  const g = new Gpt1Model(makeConfig("tiny", { vocabSize: 32, nCtx: 8 }), { seed: 2 });
  const gp = join(dir, "gpt.safetensors"), old = join(dir, "old.safetensors");
  await saveCheckpoint(gp, { model: g, step: 3 });
  const f = await readSafetensors(gp);
  assertEquals(f.metadata.model_kind, "gpt1");
  const { model_kind: _, sha256: __, ...meta } = f.metadata;
  const tensors = new Map([...f.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  await writeSafetensors(old, tensors, meta);
  assertEquals((await readSafetensors(old)).metadata.model_kind, undefined);
  const gIds = randIds(1, 5, 32, 6);
  for (const load of [loadCheckpoint, loadAnyCheckpoint]) {
    const c = await load(old);
    assertEquals(c.kind, "gpt1");
    assert(c.model instanceof Gpt1Model);
    assertEquals(await c.model.logits(gIds), await g.logits(gIds));
    c.model.dispose();
  }
  // a kind that disagrees with the config is a damaged file
  await writeSafetensors(old, tensors, { ...meta, model_kind: "lstm" });
  await assertRejects(() => loadAnyCheckpoint(old), /disagrees with the saved config/);
  await assertRejects(() => readCheckpointInfo(old), /disagrees with the saved config/);
  g.dispose();
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fine-tuning: buildFinetuneModel from an LSTM checkpoint; task heads train", async () => {
  const dir = await Deno.makeTempDir();
  const src = new LstmModel(CFG, { seed: 1 });
  const path = join(dir, "ck.safetensors");
  await saveCheckpoint(path, { model: src, step: 1 });
  const srcW = src.getWeights();
  for (const n of [-1, 0, 1]) {
    const { model, transferred } = await buildFinetuneModel(path, {
      transferLayers: n,
      seed: 9,
      nOut: 2,
    });
    assert(model instanceof LstmModel);
    assertEquals((model.config as LstmConfig).nSpecial, 3);
    assertEquals(transferred.includes("tokens_embed.weight"), n >= 0);
    assertEquals(transferred.includes("lstm.weight_hh"), n >= 1);
    const w = model.getWeights();
    assertEquals(
      w.get("lstm.weight_hh")!.every((x, i) => x === srcW.get("lstm.weight_hh")![i]),
      n >= 1,
    );
    const tok = w.get("tokens_embed.weight")!;
    assertEquals(tok.length, 35 * 16);
    if (n >= 0) assertEquals(tok.subarray(0, 32 * 16), srcW.get("tokens_embed.weight")!);
    model.dispose();
  }
  // default transfer = everything; a classification and a multiple-choice step
  const sp = specialsFor(32);
  const seq = (xs: number[]) => [sp.start, ...xs, sp.classify];
  for (
    const [name, examples] of [
      ["SST-2", [{ seqs: [seq([1, 2, 3])], label: 1 }, { seqs: [seq([4, 5])], label: 0 }]],
      ["StoryCloze", [{ seqs: [seq([1, 2]), seq([3, 4, 5])], label: 0 }]],
    ] as const
  ) {
    const task = getTask(name);
    const { model } = await buildFinetuneModel(path, { seed: 9, nOut: headSize(task) });
    const batch = taskBatch(examples.map((e) => ({ ...e, seqs: [...e.seqs], source: "x" })), sp);
    const before = tf.memory().numTensors;
    const { value, grads } = model.valueAndGrads(() => {
      const { logits, lm } = taskForward(model, task, batch, { training: true, seed: 1 });
      assertEquals(logits.shape, name === "SST-2" ? [2, 2] : [1, 2]);
      return tf.add(tf.sum(tf.square(logits)), lm!) as tf.Scalar;
    });
    assert(Number.isFinite(value.dataSync()[0]));
    assertEquals([...grads.keys()].sort(), [...model.params.keys()].sort());
    for (const [k, g] of grads) {
      assert(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]) > 0, `zero gradient for ${k}`);
    }
    tf.dispose([value, ...grads.values()]);
    assertEquals(tf.memory().numTensors, before);
    disposeBatch(batch);
    model.dispose();
  }
  src.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "finetune() runs end to end from an LSTM checkpoint (SST-2 sample)",
  ignore: !needShared("LSTM fine-tune on SST-2"),
  fn: async () => {
    const root = sharedPath("datasets")!;
    const train = (await loadTask("sst2", root, "train")).examples.slice(0, 600);
    const v = new BpeTrainer({ merges: 150 }).train(train.map((e) => (e as { text: string }).text));
    const tok = new Gpt1Tokenizer(v.pieces, v.merges);
    const dir = await Deno.makeTempDir();
    const src = createLanguageModel(
      makeLstmConfig({ ...CFG, vocabSize: tok.vocabSize, nCtx: 48 }),
      { seed: 2 },
    );
    await saveCheckpoint(join(dir, "ck.safetensors"), { model: src, step: 0 });
    src.dispose();
    const r = await finetune({
      task: "SST-2",
      dataRoot: root,
      init: join(dir, "ck.safetensors"),
      tokenizer: tok,
      maxTrain: 64,
      maxEval: 32,
      epochs: 1,
      batchSize: 16,
      lr: 1e-3,
      outDir: join(dir, "ft"),
    });
    console.log(`LSTM SST-2 (64 examples, 1 epoch): dev acc ${r.eval.value.toFixed(1)}`);
    assertEquals(r.eval.n, 32);
    assertEquals(r.lossByEpoch.length, 1);
    assert(r.transferred.includes("lstm.weight_ih"));
    const cfg = JSON.parse(await Deno.readTextFile(join(dir, "ft", "config.json")));
    assertEquals([cfg.model.kind, cfg.model.nSpecial, cfg.transferLayers], ["lstm", 3, 1]);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("zero-shot scorer on an LSTM equals log-softmax of its logits", async () => {
  const m = new LstmModel(makeLstmConfig(CFG, { nCtx: 8 }), { seed: 6 });
  // the zero-shot functions are typed for Gpt1Model; the LSTM has every member they use
  const asGpt = m as unknown as Gpt1Model;
  const seqs = [randIds(1, 6, 32, 7)[0], randIds(1, 11, 32, 8)[0], randIds(1, 3, 32, 9)[0]];
  const lp = await sequenceLogProbs(asGpt, seqs, { scoreFrom: [2, 4, 1], batchSize: 2 });
  const lsm = async (s: number[]) => {
    const z = tf.tidy(() => tf.logSoftmax(m.lmLogitsTensor([s]).squeeze([0])));
    const a = (await z.array()) as number[][];
    z.dispose();
    return a;
  };
  for (const [i, s] of seqs.entries()) {
    const from = [2, 4, 1][i];
    if (s.length <= 8) {
      const ref = await lsm(s);
      const want = s.slice(from).map((tok, k) => ref[from + k - 1][tok]);
      assert(maxRelErr(lp[i], want) < 1e-4, `sequence ${i}: ${lp[i]} vs ${want}`);
    } else {
      assertEquals(lp[i].length, s.length - from); // windows of nCtx cover the long one
      assert(lp[i].every((x) => Number.isFinite(x) && x < 0));
    }
  }
  const [next] = await nextTokenLogProbs(asGpt, [seqs[0]], [3, 17]);
  const ref = await lsm(seqs[0]);
  assert(maxRelErr(next, [ref[5][3], ref[5][17]]) < 1e-4);
  m.dispose();
});
