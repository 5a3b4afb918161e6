/**
 * BpeTrainer: the merges are the most frequent pairs (checked against a naive trainer),
 * ties are deterministic, the vocabulary has the released layout, the files load back into
 * Gpt1Tokenizer, and encode -> decode round-trips on normalized text.
 */
import { ConfigError } from "../lib/errors.ts";
import {
  BpeTrainer,
  Gpt1Tokenizer,
  gpt1Words,
  normalizeText,
  parseEncoderJson,
  parseMerges,
} from "../lib/tokenizer/mod.ts";
import { assert, assertEquals, assertThrows, needShared, sharedPath } from "./_util.ts";

const CORPUS = [
  "The quick brown fox jumps over the lazy dog. The dog didn't care!",
  "A low, lower, lowest; newer and wider -- the widest of them all.",
  "I'm sure he isn't there... Are they? They'll be there at 10:30 a.m.",
  "Visit www.example.com or e-mail ann@example.com (it's free) :)",
  "Naïve café owners say “hello” — and then: goodbye…\nNew line here.",
  "the the the then there these those thither",
];

/** Naive BPE training on word counts: recount every pair after every merge. */
function naiveMerges(counts: Map<string, number>, n: number): Array<[string, string]> {
  let words = [...counts].map(([w, c]) => {
    const s = Array.from(w);
    s[s.length - 1] += "</w>";
    return { s, c };
  });
  const merges: Array<[string, string]> = [];
  const done = new Set<string>();
  for (let k = 0; k < n; k++) {
    const pc = new Map<string, number>();
    for (const { s, c } of words) {
      for (let i = 0; i < s.length - 1; i++) {
        const key = s[i] + "\u0000" + s[i + 1];
        pc.set(key, (pc.get(key) ?? 0) + c);
      }
    }
    let best: [string, string] | null = null;
    let bestCount = 0;
    for (const [key, c] of pc) {
      if (done.has(key)) continue;
      const [a, b] = key.split("\u0000") as [string, string];
      if (
        c > bestCount ||
        (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))
      ) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best) break;
    done.add(best.join("\u0000"));
    merges.push(best);
    const [a, b] = best;
    words = words.map(({ s, c }) => {
      const out: string[] = [];
      for (let i = 0; i < s.length;) {
        if (i < s.length - 1 && s[i] === a && s[i + 1] === b) {
          out.push(a + b);
          i += 2;
        } else out.push(s[i++]);
      }
      return { s: out, c };
    });
  }
  return merges;
}

Deno.test("trainer: the first merge is the corpus' most frequent pair", () => {
  const trainer = new BpeTrainer({ merges: 1 });
  const { merges } = trainer.train(CORPUS);
  // count pairs directly from the texts
  const pc = new Map<string, number>();
  for (const text of CORPUS) {
    for (const w of gpt1Words(text)) {
      if (/^\s+$/.test(w)) continue;
      const s = Array.from(w);
      s[s.length - 1] += "</w>";
      for (let i = 0; i < s.length - 1; i++) {
        const key = JSON.stringify([s[i], s[i + 1]]);
        pc.set(key, (pc.get(key) ?? 0) + 1);
      }
    }
  }
  const max = Math.max(...pc.values());
  const top = [...pc].filter(([, c]) => c === max).map(([k]) => JSON.parse(k)).sort();
  assertEquals(merges[0], top[0]);
  assertEquals(pc.get(JSON.stringify(merges[0])), max);
});

Deno.test("trainer: merges equal a naive recount-everything trainer", () => {
  const trainer = new BpeTrainer({ merges: 120 });
  for (const t of CORPUS) trainer.addText(t);
  const { merges } = trainer.train();
  assertEquals(merges, naiveMerges(trainer.wordCounts, 120));
});

Deno.test({
  name: "trainer: merges equal the naive trainer on a book chapter",
  ignore: !needShared("trainer on Gutenberg"),
  async fn() {
    const text = await Deno.readTextFile(
      sharedPath("datasets", "pretrain_gutenberg", "alice_in_wonderland.txt")!,
    );
    const trainer = new BpeTrainer({ merges: 60 });
    trainer.addText(text.slice(0, 30_000));
    const { merges } = trainer.train();
    assertEquals(merges, naiveMerges(trainer.wordCounts, 60));
    // the released vocabulary starts with the same two merges
    assertEquals(merges.slice(0, 2), [["t", "h"], ["i", "n"]]);
  },
});

Deno.test("trainer: ties are broken by symbol order, independent of input order", () => {
  const a = new BpeTrainer({ merges: 5 }).addWordCounts([["ab", 2], ["cd", 2], ["ba", 2]]);
  const b = new BpeTrainer({ merges: 5 }).addWordCounts([["ba", 2], ["cd", 2], ["ab", 2]]);
  assertEquals(a.train().merges, [["a", "b</w>"], ["b", "a</w>"], ["c", "d</w>"]]);
  assertEquals(b.train(), a.train());
});

Deno.test("trainer: vocabulary has the released layout", () => {
  const trainer = new BpeTrainer({ merges: 50 });
  const { pieces, merges } = trainer.train(CORPUS);
  assertEquals(pieces[0], "<unk>");
  const chars = new Set<string>();
  for (const w of trainer.wordCounts.keys()) for (const ch of w) chars.add(ch);
  const k = chars.size;
  assertEquals(new Set(pieces.slice(1, 1 + k)), chars);
  assertEquals(pieces.slice(1 + k, 1 + 2 * k), pieces.slice(1, 1 + k).map((c) => c + "</w>"));
  assertEquals(pieces[pieces.length - 1], "\n</w>");
  assertEquals(new Set(pieces).size, pieces.length);
  // merge results in merge order (each new one once)
  const results = merges.map(([a, b]) => a + b).filter((p, i, all) => all.indexOf(p) === i);
  assertEquals(
    pieces.slice(1 + 2 * k, -1),
    results.filter((p) => !pieces.slice(0, 1 + 2 * k).includes(p)),
  );
  // most frequent character first
  assertEquals(pieces[1], "e");
});

Deno.test("trainer: files load; decode(encode(x)) is the normalized x", async () => {
  const trainer = new BpeTrainer({ merges: 200 });
  trainer.train(CORPUS);
  const { encoderJson, merges } = trainer.toStrings();
  assertEquals(parseEncoderJson(encoderJson), trainer.vocab.pieces);
  assertEquals(parseMerges(merges), trainer.vocab.merges);
  const dir = await Deno.makeTempDir();
  try {
    await trainer.save(`${dir}/encoder.json`, `${dir}/vocab.bpe`);
    const tok = await Gpt1Tokenizer.fromFiles(`${dir}/encoder.json`, `${dir}/vocab.bpe`);
    const mem = trainer.toTokenizer();
    assertEquals(tok.hash, mem.hash);
    for (const text of CORPUS) {
      const ids = tok.encode(text);
      assertEquals(ids, mem.encode(text));
      assert(
        ids.every((id) => id > 0 && id < tok.vocabSize),
        "no unknown pieces on the training corpus",
      );
      assertEquals(tok.decode(ids), normalizeText(text));
    }
    assertEquals(
      normalizeText(CORPUS[4]),
      'naïve café owners say " hello " - and then : goodbye ... \n new line here .',
    );
    // unseen characters are unknown (<unk> = 0)
    assertEquals(tok.encode("ж"), [0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainer: minCharCount keeps rare characters out; bad options are ConfigErrors", () => {
  const { pieces } = new BpeTrainer({ merges: 0, minCharCount: 2 }).addWordCounts([["aab", 1], [
    "xy",
    1,
  ]]).train();
  assertEquals(pieces, ["<unk>", "a", "a</w>", "\n</w>"]);
  assertThrows(() => new BpeTrainer({ merges: -1 }), ConfigError);
  assertThrows(() => new BpeTrainer({ merges: 1.5 }), ConfigError);
  assertThrows(() => new BpeTrainer({ merges: 1 }).vocab, ConfigError);
  assertThrows(() => new BpeTrainer({ merges: 1 }).addWordCounts([["a b", 1]]), ConfigError);
});

Deno.test("trainer: stops when pairs run out", () => {
  const { merges, pieces } = new BpeTrainer({ merges: 100 }).addWordCounts([["abc", 3]]).train();
  assertEquals(merges, [["a", "b"], ["ab", "c</w>"]]);
  assertEquals(pieces, [
    "<unk>",
    "a",
    "b",
    "c",
    "a</w>",
    "b</w>",
    "c</w>",
    "ab",
    "abc</w>",
    "\n</w>",
  ]);
});
