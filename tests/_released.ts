/**
 * Test fixtures in the released GPT-1 format, of a tiny shape: `params_shapes.json` +
 * `params_0..9.npy` (conv weights `[1, in, out]`, one flat float32 vector cut into 10 shards, as
 * openai/finetune-transformer-lm ships them) and the vocabulary files under the released names
 * (`encoder_bpe_40000.json`, `vocab_40000.bpe`; here a small BPE trained on the fixture text).
 * Width 24 with 12 heads, since a released folder is always read with GPT-1's 12 heads.
 * Also small benchmark folders (SST-2, RTE) and a WSC file the loaders read.
 * @module
 */
import { join } from "node:path";
import { makeConfig } from "../lib/config.ts";
import { parameterShapes } from "../lib/model.ts";
import { Rng } from "../lib/random.ts";
import { BpeTrainer } from "../lib/tokenizer/trainer.ts";
import { Gpt1Tokenizer } from "../lib/tokenizer/bpe.ts";
import { saveVocab, VOCAB_FILES } from "../lib/vocab.ts";

/** A .npy v1.0 float32 vector (header padded to 64 bytes, as numpy writes it). */
export function npy(data: Float32Array): Uint8Array {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${data.length},), }`;
  h = h.padEnd(Math.ceil((h.length + 11) / 64) * 64 - 11, " ") + "\n";
  const out = new Uint8Array(10 + h.length + data.byteLength);
  out.set([0x93, ..."NUMPY".split("").map((c) => c.charCodeAt(0)), 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(new TextEncoder().encode(h), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + h.length);
  return out;
}

const POS = ["a fine film", "very good fun", "a great story , well told", "warm and funny"];
const NEG = ["a dull film", "very bad acting", "boring and slow", "a weak story , badly told"];

/** SST-2 sentences (label 1 positive, 0 negative), 40 of them. */
export const SST_ROWS: readonly [string, number][] = Array.from({ length: 40 }, (_, i) => {
  const pos = i % 2 === 0;
  const base = (pos ? POS : NEG)[Math.floor(i / 2) % 4];
  return [`${base} ${i % 3 === 0 ? "indeed" : ""}`.trim(), pos ? 1 : 0];
});

/** RTE pairs, 30 of them. */
export const RTE_ROWS: readonly [string, string, string][] = Array.from(
  { length: 30 },
  (_, i) =>
    i % 2 === 0
      ? [`A man sleeps in room ${i}.`, "A man rests.", "entailment"]
      : [`It rains on day ${i}.`, "It is dry.", "not_entailment"],
);

/** A WSC273-format collection of 4 schemas. */
export const WSC_XML = `<?xml version="1.0" encoding="ISO-8859-1"?>
<collection>
${
  [
    [
      "The trophy does not fit into the suitcase because",
      "it",
      "is too large.",
      "the trophy",
      "the suitcase",
      "A",
    ],
    [
      "The trophy does not fit into the suitcase because",
      "it",
      "is too small.",
      "the trophy",
      "the suitcase",
      "B",
    ],
    ["The man could not lift his son because", "he", "was so weak.", "the man", "the son", "A"],
    ["The man could not lift his son because", "he", "was so heavy.", "the man", "the son", "B"],
  ].map(([t1, p, t2, a, b, c]) =>
    `<schema><text><txt1>${t1}</txt1><pron>${p}</pron><txt2>${t2}</txt2></text>
<answers><answer>${a}</answer><answer>${b}</answer></answers>
<correctAnswer>${c}</correctAnswer><source>(test)</source></schema>`
  ).join("\n")
}
</collection>
`;

/** The fixture benchmark files: folder → file → text. */
export function benchmarkFiles(): Record<string, Record<string, string>> {
  const sst = (rows: readonly [string, number][]) =>
    "sentence\tlabel\n" + rows.map(([s, l]) => `${s} \t${l}\n`).join("");
  const rte = (rows: readonly [string, string, string][]) =>
    "index\tsentence1\tsentence2\tlabel\n" +
    rows.map(([a, b, l], i) => `${i}\t${a}\t${b}\t${l}\n`).join("");
  return {
    "SST-2": {
      "train.tsv": sst(SST_ROWS.slice(0, 30)),
      "dev.tsv": sst(SST_ROWS.slice(30)),
      "test.tsv": "index\tsentence\n0\tmeh\n",
    },
    RTE: {
      "train.tsv": rte(RTE_ROWS.slice(0, 22)),
      "dev.tsv": rte(RTE_ROWS.slice(22)),
      "test.tsv": "index\tsentence1\tsentence2\n0\tA.\tB.\n",
    },
    WSC: { "WSCollection.xml": WSC_XML },
  };
}

/** Writes {@link benchmarkFiles} under `root`. */
export async function writeBenchmarks(root: string): Promise<void> {
  for (const [folder, files] of Object.entries(benchmarkFiles())) {
    await Deno.mkdir(join(root, folder), { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(root, folder, name), text);
    }
  }
}

/** Every text of the fixtures, to train the fixture vocabulary on. */
function fixtureTexts(): string[] {
  return [
    ...SST_ROWS.map((r) => r[0]),
    ...RTE_ROWS.flatMap((r) => [r[0], r[1]]),
    WSC_XML.replace(/<[^>]+>/g, " "),
    "very positive negative . , 0123456789",
  ];
}

/**
 * The files of a tiny released-format checkpoint (`params_shapes.json`, `params_0..9.npy`,
 * `encoder_bpe_40000.json`, `vocab_40000.bpe`): name → bytes. Deterministic.
 */
export async function releasedFiles(
  opts: { nLayer?: number; nCtx?: number; seed?: number } = {},
): Promise<Record<string, Uint8Array>> {
  const v = new BpeTrainer({ merges: 120 }).train(fixtureTexts());
  const tok = new Gpt1Tokenizer(v.pieces, v.merges);
  const c = makeConfig("tiny", {
    vocabSize: tok.vocabSize,
    nCtx: opts.nCtx ?? 64,
    nEmbd: 24,
    nInner: 96,
    nHead: 12,
    nLayer: opts.nLayer ?? 1,
  });
  const shapes = [...parameterShapes({ ...c, nSpecial: 0 })].map(([name, s]) =>
    s.length === 2 && name.startsWith("h.") ? [1, ...s] : s
  );
  const out: Record<string, Uint8Array> = {
    "params_shapes.json": new TextEncoder().encode(JSON.stringify(shapes)),
  };
  const total = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const rng = new Rng(opts.seed ?? 11);
  const flat = Float32Array.from({ length: total }, () => (rng.next() - 0.5) * 0.1);
  for (let k = 0; k < 10; k++) {
    const a = Math.floor(total * k / 10), b = Math.floor(total * (k + 1) / 10);
    out[`params_${k}.npy`] = npy(flat.slice(a, b));
  }
  // the vocabulary as saveVocab writes it, under the released names
  const dir = await Deno.makeTempDir({ prefix: "gpt1-fixture-vocab-" });
  try {
    await saveVocab(tok, dir);
    out["encoder_bpe_40000.json"] = await Deno.readFile(join(dir, VOCAB_FILES.encoder));
    out["vocab_40000.bpe"] = await Deno.readFile(join(dir, VOCAB_FILES.merges));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}

/** Writes a tiny released-format checkpoint into `dir` (see {@link releasedFiles}). */
export async function writeReleased(
  dir: string,
  opts: { nLayer?: number; nCtx?: number; seed?: number } = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(await releasedFiles(opts))) {
    await Deno.writeFile(join(dir, name), bytes);
  }
}
