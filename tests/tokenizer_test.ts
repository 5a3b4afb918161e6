/**
 * The GPT-1 tokenizer: exactness against the released Python pipeline
 * (`../shared/gpt1-vocab/reference_dev.jsonl`), the test vectors of paper.md §5.3, the
 * special tokens, the vocabulary hash, malformed files, and robustness on any string.
 */
import { DataError } from "../lib/errors.ts";
import {
  Bpe,
  formatEncoderJson,
  formatMerges,
  Gpt1Tokenizer,
  parseEncoderJson,
  parseMerges,
  textStandardize,
} from "../lib/tokenizer/mod.ts";
import { assert, assertEquals, assertThrows, needShared, sharedPath } from "./_util.ts";

const VOCAB = sharedPath("gpt1-vocab");
let released: Gpt1Tokenizer | undefined;
async function releasedTokenizer(): Promise<Gpt1Tokenizer> {
  released ??= await Gpt1Tokenizer.fromFiles(
    `${VOCAB}/encoder_bpe_40000.json`,
    `${VOCAB}/vocab_40000.bpe`,
  );
  return released;
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------
// exactness

Deno.test({
  name: "tokenizer: ids match the released pipeline on reference_dev.jsonl (>= 99.5%)",
  ignore: !needShared("tokenizer parity"),
  async fn() {
    const tok = await releasedTokenizer();
    const lines = (await Deno.readTextFile(`${VOCAB}/reference_dev.jsonl`)).split("\n")
      .filter((l) => l.length > 0).map((l) => JSON.parse(l) as { text: string; ids: number[] });
    assertEquals(lines.length, 2520);
    const mismatches: string[] = [];
    let ok = 0;
    for (const { text, ids } of lines) {
      const got = tok.encode(text);
      if (got.length === ids.length && got.every((id, i) => id === ids[i])) ok++;
      else if (mismatches.length < 5) {
        mismatches.push(
          `  ${JSON.stringify(text.slice(0, 120))}\n    got ${JSON.stringify(got.slice(0, 30))}` +
            `\n    exp ${JSON.stringify(ids.slice(0, 30))}`,
        );
      }
    }
    const share = ok / lines.length;
    console.log(`reference_dev parity: ${ok}/${lines.length} = ${(100 * share).toFixed(2)}%`);
    if (mismatches.length) console.log("first mismatches:\n" + mismatches.join("\n"));
    assert(share >= 0.995, `parity ${(100 * share).toFixed(2)}% < 99.5%`);
  },
});

// ---------------------------------------------------------------------------------------
// paper.md §5.3 (a): the HuggingFace toy vocabulary

const TOY_VOCAB = [
  "l",
  "o",
  "w",
  "e",
  "r",
  "s",
  "t",
  "i",
  "d",
  "n",
  "w</w>",
  "r</w>",
  "t</w>",
  "lo",
  "low",
  "er</w>",
  "low</w>",
  "lowest</w>",
  "newer</w>",
  "wider</w>",
  "<unk>",
];
const TOY_MERGES = ["#version: 0.2", "l o", "lo w", "e r</w>", ""].join("\n");

function toyTokenizer(): Gpt1Tokenizer {
  return Gpt1Tokenizer.fromStrings(formatEncoderJson(TOY_VOCAB), TOY_MERGES);
}

Deno.test("tokenizer: HuggingFace toy vectors (paper.md §5.3a)", () => {
  const tok = toyTokenizer();
  assertEquals(tok.tokenize("lower"), ["low", "er</w>"]);
  assertEquals(["low", "er</w>", "<unk>"].map((p) => tok.tokenToId(p)), [14, 15, 20]);
  assertEquals(tok.decode(tok.encode("lower newer")), "lower newer");
});

Deno.test("tokenizer: derived toy vectors (paper.md §5.3a table)", () => {
  const tok = toyTokenizer();
  const cases: Array<[string, string[], number[]]> = [
    ["lower", ["low", "er</w>"], [14, 15]],
    ["newer", ["n", "e", "w", "er</w>"], [9, 3, 2, 15]],
    ["lowest", ["low", "e", "s", "t</w>"], [14, 3, 5, 12]],
    ["low", ["lo", "w</w>"], [13, 10]],
    ["wider", ["w", "i", "d", "er</w>"], [2, 7, 8, 15]],
    ["tiny", ["t", "i", "n", "y</w>"], [6, 7, 9, 20]],
    ["x", ["x</w>"], [20]],
  ];
  for (const [word, pieces, ids] of cases) {
    assertEquals(tok.tokenize(word), pieces, word);
    // unknown pieces get the id of "<unk>" (0 in the released vocabulary, 20 here)
    assertEquals(tok.encode(word), ids, word);
  }
});

// ---------------------------------------------------------------------------------------
// paper.md §5.3 (b): the released vocabulary

Deno.test({
  name: "tokenizer: released vocabulary layout and vectors (paper.md §5.3b, §8.2)",
  ignore: !needShared("tokenizer released vectors"),
  async fn() {
    const tok = await releasedTokenizer();
    assertEquals(tok.vocabSize, 40478);
    assertEquals(tok.pieces[0], "<unk>");
    assertEquals(tok.tokenToId("\n</w>"), 40477);
    tok.bpe.merges.forEach(([a, b], i) => {
      if (tok.tokenToId(a + b) !== 477 + i) throw new Error(`merge ${i} ${a} ${b}`);
    });
    assertEquals(tok.bpe.merges.slice(0, 5), [["t", "h"], ["i", "n"], ["e", "d</w>"], ["a", "n"], [
      "th",
      "e</w>",
    ]]);
    const words: Array<[string, string, number[]]> = [
      ["the", "the</w>", [481]],
      ["hello", "hello</w>", [3570]],
      ["lower", "lower</w>", [2583]],
      ["newer", "newer</w>", [19807]],
      ["transformer", "trans former</w>", [2973, 5353]],
      ["transformers", "trans form ers</w>", [2973, 1858, 650]],
      ["generative", "gener ative</w>", [2192, 2422]],
      ["gpt", "g pt</w>", [30, 1992]],
      ["1234", "12 34</w>", [13103, 17990]],
      [
        "supercalifragilisticexpialidocious",
        "super cali fragi list ic ex pi ali do cious</w>",
        [3599, 5139, 8419, 1553, 572, 659, 973, 960, 569, 22683],
      ],
      ["naïve", "naïve</w>", [24213]],
      ["_start_", "_ start _</w>", [41, 3810, 279]],
      ["\n ", "\n</w>", [40477]],
    ];
    for (const [word, pieces, ids] of words) {
      assertEquals(tok.bpe.encodeWord(word), pieces, word);
      assertEquals(pieces.split(" ").map((p) => tok.tokenToId(p)), ids, word);
    }
    const ids = (s: string) => tok.encode(s);
    assertEquals(ids('. , a i " ... --'), [239, 240, 246, 249, 244, 749, 2383]);
    // pre-tokenized words (in running text spaCy splits a lone "'m" into "'" and "m")
    const wordIds = (ws: string[]) =>
      ws.flatMap((w) => tok.bpe.encodeWord(w).split(" ").map((p) => tok.tokenToId(p)));
    assertEquals(
      wordIds(["do", "n't", "'s", "'m", "'ll", "'re", "'ve", "'d", "ca", "wo"]),
      [587, 538, 535, 719, 804, 761, 880, 656, 993, 1497],
    );
    assertEquals(ids("I'm sure they'll've gone, can't won't"), [
      249,
      719,
      881,
      600,
      804,
      880,
      1374,
      240,
      993,
      538,
      1497,
      538,
    ]);
    assertEquals(ids("very positive negative president is said"), [
      963,
      6353,
      9503,
      4735,
      544,
      603,
    ]);
    assertEquals(ids("The President is"), [481, 4735, 544]);
    assertEquals(ids("line one\nline two"), [1584, 566, 40477, 1584, 867]);
    // paper.md §5.3d: the released model's greedy continuation, decoded
    const gen = [481, 4735, 544, 246, 963, 870, 762, 239, 244, 40477, 244, 249, 719, 881, 487, 544];
    assertEquals(tok.decode(gen), `the president is a very good man . " \n " i 'm sure he is`);
    // special tokens are never produced by encoding text
    assert(ids("_start_ _delimiter_ _classify_").every((id) => id < tok.vocabSize));
  },
});

// ---------------------------------------------------------------------------------------
// paper.md §5.3 (c): text_standardize

Deno.test("tokenizer: text_standardize vectors (paper.md §5.3c)", () => {
  const cases: Array<[string, string]> = [
    ["Hello—world…", "Hello - world..."],
    ['He said "hi"!!', 'He said " hi " !!'],
    ["a/b (c) [d] {e} x_y", "a / b ( c ) [ d ] { e } x _ y"],
    ["wait...  what?\n\nok", "wait... what ? \n ok"],
    ["it´s", "it's"],
    ["a--b ~~ c", "a -- b ~~ c"],
    // Python's whitespace: U+001C..U+001F and U+0085 count, as do U+00A0 and U+3000
    ["a\x1cb\x85c\u00a0d\u3000e", "a b c d e"],
    ["\n\t x \r\n\x0b y \n", "x \n y"],
  ];
  for (const [input, expected] of cases) assertEquals(textStandardize(input), expected, input);
});

// ---------------------------------------------------------------------------------------
// special tokens and hash

Deno.test("tokenizer: special tokens follow the vocabulary", () => {
  const tok = toyTokenizer();
  const sp = tok.withSpecialTokens();
  assertEquals(sp, { start: 21, delimiter: 22, classify: 23, vocabSizeWithSpecials: 24 });
  assertEquals(tok.vocabSizeWithSpecials, 24);
  assertEquals([21, 22, 23].map((id) => tok.idToToken(id)), [
    "_start_",
    "_delimiter_",
    "_classify_",
  ]);
  assertEquals(
    tok.decode([sp.start, 14, 15, sp.delimiter, 16, sp.classify]),
    "_start_ lower _delimiter_ low _classify_",
  );
  assertThrows(() => tok.idToToken(24), RangeError);
  assertThrows(() => tok.decode([-1]), RangeError);
});

Deno.test({
  name: "tokenizer: released special token ids are 40478..40480",
  ignore: !needShared("tokenizer special ids"),
  async fn() {
    const tok = await releasedTokenizer();
    assertEquals(tok.withSpecialTokens(), {
      start: 40478,
      delimiter: 40479,
      classify: 40480,
      vocabSizeWithSpecials: 40481,
    });
  },
});

Deno.test("tokenizer: hash depends on content, not on file formatting", () => {
  const a = toyTokenizer();
  const compact = JSON.stringify(Object.fromEntries(TOY_VOCAB.map((p, i) => [p, i])));
  const b = Gpt1Tokenizer.fromStrings(compact, TOY_MERGES.replace("lo w", "lo\tw"));
  assert(/^[0-9a-f]{64}$/.test(a.hash));
  assertEquals(a.hash, b.hash);
  const c = Gpt1Tokenizer.fromStrings(
    formatEncoderJson(TOY_VOCAB),
    TOY_MERGES.replace("lo w", "o w"),
  );
  assert(a.hash !== c.hash);
  const d = Gpt1Tokenizer.fromStrings(
    formatEncoderJson([...TOY_VOCAB.slice(0, 20), "<UNK>"]),
    TOY_MERGES,
  );
  assert(a.hash !== d.hash);
});

// ---------------------------------------------------------------------------------------
// file formats and malformed files

Deno.test("tokenizer: file formats round-trip", () => {
  const pieces = ["<unk>", "a", '"', "\\", "é", "\n</w>", "𝛽", "1", "__proto__"];
  assertEquals(parseEncoderJson(formatEncoderJson(pieces)), pieces);
  assertEquals(parseEncoderJson('{"\\u00e9\\n": 1, "x": 0}'), ["x", "é\n"]);
  const merges: Array<[string, string]> = [["t", "h"], ["th", "e</w>"]];
  assertEquals(parseMerges(formatMerges(merges)), merges);
  assertEquals(parseMerges("#version: 0.2\r\nt h\r\n"), [["t", "h"]]);
  assertThrows(() => formatMerges([["a b", "c"]]), DataError);
});

function errorOf(fn: () => unknown): DataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error("expected a DataError");
}

Deno.test("tokenizer: malformed encoder JSON names the file and the line", () => {
  const cases: Array<[string, number, RegExp]> = [
    ['{\n  "a": 0,\n  "b": 1,\n  "c" 2\n}', 4, /expected ":"/],
    ['{\n  "a": 0,\n  "b": 1.5\n}', 3, /not a non-negative integer/],
    ['{\n  "a": 0,\n  "b": -1\n}', 3, /not a non-negative integer/],
    ['{\n  "a": 0,\n  "a": 1\n}', 3, /appears twice/],
    ['{\n  "a": 0,\n  "b": 2\n}', 3, /outside 0\.\.1/],
    ['{\n  "a": 0,\n\n  "b": 0\n}', 4, /id 0 is used by/],
    ['{\n  "a": 0,\n  "b": 1,\n}', 4, /expected a string key/],
    ['{\n  "a": 0\n}\n{', 4, /after the object/],
    ['[\n  "a"\n]', 1, /expected "\{"/],
    ['{\n  "a\\q": 0\n}', 2, /invalid escape/],
    ['{\n  "a": 0,\n  "b', 3, /unterminated string/],
  ];
  for (const [text, line, re] of cases) {
    const e = errorOf(() => parseEncoderJson(text, "vocab/enc.json"));
    assertEquals([e.file, e.line], ["vocab/enc.json", line], text);
    assert(re.test(e.message), `${e.message} !~ ${re}`);
    assert(e.message.startsWith(`DataError: vocab/enc.json:${line}: `), e.message);
  }
});

Deno.test("tokenizer: malformed merges file names the file and the line", () => {
  const cases: Array<[string, number, RegExp]> = [
    ["t h\ni n\n", 1, /not a header/],
    ["#version: 0.2\nt h\ni n e\n", 3, /found 3/],
    ["#version: 0.2\nt h\n\ni n\n", 3, /found 0/],
    ["#version: 0.2\nt h\ni n", 3, /does not end with a newline/],
  ];
  for (const [text, line, re] of cases) {
    const e = errorOf(() => parseMerges(text, "vocab/m.bpe"));
    assertEquals([e.file, e.line], ["vocab/m.bpe", line], text);
    assert(re.test(e.message), `${e.message} !~ ${re}`);
  }
});

Deno.test("tokenizer: fromFiles reports a missing file with its path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/m.bpe`, "#version: 0.2\n");
    const e = await Gpt1Tokenizer.fromFiles(`${dir}/nope.json`, `${dir}/m.bpe`).then(
      () => null,
      (err) => err,
    );
    assert(e instanceof DataError);
    assertEquals(e.file, `${dir}/nope.json`);
    await Deno.writeTextFile(`${dir}/enc.json`, '{"a": 0,\n"b": x}');
    const e2 = await Gpt1Tokenizer.fromFiles(`${dir}/enc.json`, `${dir}/m.bpe`).catch((err) => err);
    assert(e2 instanceof DataError);
    assertEquals([e2.file, e2.line], [`${dir}/enc.json`, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------
// BPE: the O(n log n) merge equals the released round-by-round loop

Deno.test("tokenizer: long-word BPE equals the released merge loop", () => {
  const rand = rng(7);
  let checked = 0;
  for (let k = 0; k < 1500; k++) {
    // random merges over a tiny alphabet: collisions, repeats and re-created pairs
    const pool = ["a", "b", "c"];
    const merges: Array<[string, string]> = [];
    for (let m = 0; m < 14; m++) {
      const a = pool[Math.floor(rand() * pool.length)];
      const b = rand() < 0.3
        ? pool[Math.floor(rand() * pool.length)] + "</w>"
        : pool[Math.floor(rand() * pool.length)];
      merges.push([a, b]);
      if (!b.endsWith("</w>")) pool.push(a + b);
    }
    const bpe = new Bpe(merges);
    const len = 2 + Math.floor(rand() * 40);
    const word = Array.from({ length: len }, () => "abc"[Math.floor(rand() * 3)]);
    word[len - 1] += "</w>";
    assertEquals(bpe.mergeLong(word), bpe.mergeShort(word), JSON.stringify({ merges, word }));
    checked++;
  }
  assertEquals(checked, 1500);
});

Deno.test({
  name: "tokenizer: long-word BPE equals the released loop on the released merges",
  ignore: !needShared("tokenizer long words"),
  async fn() {
    const tok = await releasedTokenizer();
    const rand = rng(11);
    const alphabet = "etaoinshrdlucmfwypvbgkjqxz'.-0123456789";
    for (let k = 0; k < 300; k++) {
      const len = 2 + Math.floor(rand() * 300);
      const word = Array.from(
        { length: len },
        () => alphabet[Math.floor(rand() * alphabet.length)],
      );
      word[len - 1] += "</w>";
      assertEquals(tok.bpe.mergeLong(word), tok.bpe.mergeShort(word));
    }
  },
});

// ---------------------------------------------------------------------------------------
// robustness

/** A random string from one of several generators (every Unicode block, surrogates, ...). */
function randomString(rand: () => number): string {
  const n = Math.floor(rand() ** 2 * 300);
  const kind = Math.floor(rand() * 6);
  let s = "";
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case 0: // any code point (unassigned, private use, noncharacters included)
        s += String.fromCodePoint(Math.floor(rand() * 0x110000));
        break;
      case 1: // UTF-16 code units: lone surrogates and broken pairs
        s += String.fromCharCode(Math.floor(rand() * 0x10000));
        break;
      case 2: // C0 / C1 controls, whitespace and separators
        s += String.fromCharCode(
          [
            0,
            1,
            8,
            9,
            10,
            11,
            12,
            13,
            0x1b,
            0x1c,
            0x1f,
            0x20,
            0x7f,
            0x80,
            0x85,
            0x9f,
            0xa0,
            0x2028,
            0x2029,
            0x3000,
            0xfeff,
            0xfffd,
          ][Math.floor(rand() * 22)],
        );
        break;
      case 3: // ASCII punctuation soup
        s += String.fromCharCode(0x20 + Math.floor(rand() * 95));
        break;
      case 4: // the first 0x3000 code points (Latin, Greek, Cyrillic, combining marks, ...)
        s += String.fromCodePoint(Math.floor(rand() * 0x3000));
        break;
      default: // mojibake-prone Latin-1 and symbols
        s += String.fromCharCode(0x80 + Math.floor(rand() * 0x180));
    }
  }
  return s;
}

/** The released tokenizer, or the toy one when ../shared is absent (same pipeline). */
async function anyTokenizer(): Promise<Gpt1Tokenizer> {
  return VOCAB ? await releasedTokenizer() : toyTokenizer();
}

Deno.test({
  name: "tokenizer: any JavaScript string encodes without throwing (randomized)",
  async fn() {
    const tok = await anyTokenizer();
    const rand = rng(2018);
    const inputs = ["", " ", "\n", "\ud800", "\udc00x\ud800", "\u0000", "\uffff\ufffe", "&#xD800;"];
    for (let i = 0; i < 1500; i++) inputs.push(randomString(rand));
    for (const s of inputs) {
      const ids = tok.encode(s);
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) {
          throw new Error(`bad id ${id} for ${JSON.stringify(s)}`);
        }
      }
      tok.decode(ids);
    }
    // every code point on its own
    const step = 97;
    for (let c = 0; c < 0x110000; c += step) {
      tok.encode(String.fromCodePoint(c) + "a" + String.fromCodePoint(c));
    }
  },
});

Deno.test({
  name: "tokenizer: 1 MB texts encode in seconds (prose, no spaces, punctuation runs)",
  async fn() {
    const tok = await anyTokenizer();
    const rand = rng(5);
    const pick = (alphabet: string, n: number) => {
      const a = Array.from(alphabet);
      let s = "";
      for (let i = 0; i < n; i++) s += a[Math.floor(rand() * a.length)];
      return s;
    };
    const inputs = [
      pick("etaoin shrdlu cmfw\n.,'\"-", 1_000_000),
      pick("ab.:@/?#-_'()\"09é,;!…’", 1_000_000),
      "a.b:c@".repeat(170_000),
      "(".repeat(1_000_000),
      "x".repeat(1_000_000),
    ];
    for (const s of inputs) {
      const t0 = performance.now();
      const ids = tok.encode(s);
      const ms = performance.now() - t0;
      assert(ids.length > 0);
      assert(ms < 20_000, `${JSON.stringify(s.slice(0, 10))}: ${ms.toFixed(0)} ms`);
    }
  },
});
