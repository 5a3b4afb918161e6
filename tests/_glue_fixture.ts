/**
 * A tiny GLUE-shaped fixture written to a temp folder: SST-2 (sentiment words) and STS-B
 * (sentence pairs with a score), each with train / dev / unlabeled test files, plus a small
 * BPE tokenizer trained on the texts. Shared by the GLUE-submission and protocol tests.
 * @module
 */
import { join } from "node:path";
import { BpeTrainer } from "../lib/tokenizer/trainer.ts";
import { Gpt1Tokenizer } from "../lib/tokenizer/bpe.ts";
import { Rng } from "../lib/random.ts";

const POS = ["good", "great", "fine", "lovely", "fun", "warm"];
const NEG = ["bad", "dull", "awful", "flat", "weak", "cold"];
const FILL = ["the", "film", "is", "a", "story", "very", "and", "plot"];

/** A sentence of 3–6 words with one sentiment word; label 1 positive. */
function sentence(rng: Rng, label: number): string {
  const words = Array.from({ length: 2 + rng.int(4) }, () => FILL[rng.int(FILL.length)]);
  const w = label ? POS[rng.int(POS.length)] : NEG[rng.int(NEG.length)];
  words.splice(rng.int(words.length + 1), 0, w);
  return words.join(" ");
}

/** What {@link writeGlueFixture} made. */
export interface GlueFixture {
  /** The datasets root (holds SST-2/ and STS-B/). */
  root: string;
  /** A tokenizer trained on the fixture's text. */
  tokenizer: Gpt1Tokenizer;
  /** Rows of each test file. */
  nTest: number;
}

/**
 * Writes SST-2/{train,dev,test}.tsv and STS-B/{train,dev,test}.tsv (GLUE headers; test files
 * without labels, with non-contiguous indices so that an index mix-up shows) under a temp dir.
 */
export async function writeGlueFixture(
  opts: { nTrain?: number; nDev?: number; nTest?: number; seed?: number } = {},
): Promise<GlueFixture> {
  const { nTrain = 120, nDev = 30, nTest = 9, seed = 3 } = opts;
  const rng = new Rng(seed);
  const root = await Deno.makeTempDir({ prefix: "glue-fixture-" });
  const texts: string[] = [];
  const sst = (n: number, test: boolean) => {
    const rows = [test ? "index\tsentence" : "sentence\tlabel"];
    for (let i = 0; i < n; i++) {
      const y = rng.int(2), s = sentence(rng, y);
      texts.push(s);
      rows.push(test ? `${10 + 3 * i}\t${s}` : `${s}\t${y}`);
    }
    return rows.join("\n") + "\n";
  };
  const sts = (n: number, test: boolean) => {
    const head = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2";
    const rows = [test ? head : `${head}\tscore`];
    for (let i = 0; i < n; i++) {
      const a = sentence(rng, rng.int(2)), b = sentence(rng, rng.int(2));
      texts.push(a, b);
      const score = (rng.int(51) / 10).toFixed(1);
      const cells = [String(5 + 2 * i), "g", "f", "2012", "0001", "none", "none", a, b];
      rows.push((test ? cells : [...cells, score]).join("\t"));
    }
    return rows.join("\n") + "\n";
  };
  for (const [task, make] of [["SST-2", sst], ["STS-B", sts]] as const) {
    await Deno.mkdir(join(root, task));
    await Deno.writeTextFile(join(root, task, "train.tsv"), make(nTrain, false));
    await Deno.writeTextFile(join(root, task, "dev.tsv"), make(nDev, false));
    await Deno.writeTextFile(join(root, task, "test.tsv"), make(nTest, true));
  }
  const v = new BpeTrainer({ merges: 60 }).train(texts);
  return { root, tokenizer: new Gpt1Tokenizer(v.pieces, v.merges), nTest };
}
