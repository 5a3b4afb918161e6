/**
 * The pre-training data after the corpus (`corpus.ts`): a tokenized cache on disk and the
 * window sampler.
 *
 * Data flows one way:
 * ```
 * CorpusSource[] ─ collectDocuments ─► documents ─ splitDocuments ─► train | valid
 *   ─ buildTokenCache(encoder) ─► tokens.bin + manifest.json ─► WindowSampler / evalWindows
 * ```
 *
 * - **Token cache.** `tokens.bin` (little-endian uint16 when the vocabulary fits, else uint32):
 *   all train documents, then all validation documents, each followed by the separator token
 *   when there is one. `manifest.json` holds the tokenizer hash, the split settings, every
 *   document (source, bytes, sha256, token span) and the counts. {@link buildTokenCache} reuses
 *   the cache when nothing changed and says why it rebuilt otherwise.
 * - **Windows** (in `windows.ts`, re-exported here): `WindowSampler.batchAt` is a pure function
 *   of (seed, step): a resumed run sees the same batches. `evalWindows` walks non-overlapping
 *   windows for validation.
 *
 * @example
 * ```ts
 * import { buildTokenCache, WindowSampler } from "./data.ts";
 * import { embeddedCorpus } from "./corpus.ts";
 * const cache = await buildTokenCache({ sources: embeddedCorpus(), encoder, dir: ".cache/embedded" });
 * const sampler = new WindowSampler(cache.train, { context: 512, batchSize: 64, seed: 42 });
 * const batch = sampler.batchAt(0); // batch.tokens: Int32Array [64, 513]
 * ```
 * @module
 */
import { join } from "node:path";
import { ConfigError, DataError } from "./errors.ts";
import { exists, writeFileAtomic, writeJsonAtomic } from "./fsutil.ts";
import {
  collectDocuments,
  type CorpusSource,
  DEFAULT_SPLIT,
  type ReadOptions,
  sha256Hex,
  type SourcedDocument,
  splitDocuments,
  type SplitOptions,
} from "./corpus.ts";

// the windows live in windows.ts; this path keeps working
export {
  countEvalWindows,
  evalWindows,
  splitInputsTargets,
  type WindowBatch,
  WindowSampler,
  type WindowSamplerOptions,
} from "./windows.ts";

/**
 * The minimal tokenizer interface the cache needs (the GPT-1 tokenizer and a trained BPE both
 * fit it; tests use a byte-level one).
 */
export interface TokenEncoder {
  /** Text to token ids, each in `[0, vocabSize)`. */
  encode(text: string): number[];
  /** Number of ids (ids are `0 .. vocabSize-1`); decides uint16 vs uint32 storage. */
  vocabSize: number;
  /** A hash of everything that changes the ids (vocabulary, merges, pipeline version). */
  hash: string;
  /** Id appended after each document, if the vocabulary has one (GPT-1: `\n</w>` = 40477). */
  separatorId?: number;
}

// -----------------------------------------------------------------------------
// Token cache

/** Bumped when the cache layout changes; an older cache is rebuilt. */
export const TOKEN_CACHE_VERSION = 1;

/** One document in the manifest: where it came from and where its tokens are. */
export interface ManifestDocument {
  /** Document id. */
  id: string;
  /** Source name. */
  source: string;
  /** `train` or `valid`. */
  split: "train" | "valid";
  /** UTF-8 bytes of its text. */
  bytes: number;
  /** sha256 of its text. */
  sha256: string;
  /** Index of its first token in `tokens.bin`. */
  start: number;
  /** Number of its tokens (without the separator that follows). */
  length: number;
}

/** A source in the manifest, with a hash over its documents' ids and hashes. */
export interface ManifestSource {
  /** Source name. */
  name: string;
  /** Where it came from (informational; not compared). */
  origin: string;
  /** Documents. */
  docs: number;
  /** UTF-8 bytes. */
  bytes: number;
  /** sha256 over `id sha256` lines of its documents. */
  sha256: string;
}

/** `manifest.json` of a token cache. */
export interface TokenCacheManifest {
  /** Always `gpt1-lab/token-cache`. */
  format: "gpt1-lab/token-cache";
  /** {@link TOKEN_CACHE_VERSION}. */
  version: number;
  /** When it was built (ISO 8601; not compared). */
  created: string;
  /** The encoder it was built with. */
  tokenizer: { hash: string; vocabSize: number };
  /** Separator id appended after each document, or null. */
  separator: number | null;
  /** Storage type of `tokens.bin` (little-endian). */
  dtype: "uint16" | "uint32";
  /** The split settings. */
  split: SplitOptions;
  /** The sources. */
  sources: ManifestSource[];
  /** Token ranges of the splits in `tokens.bin`: train first, then valid. */
  splits: { train: { start: number; length: number }; valid: { start: number; length: number } };
  /** Totals. */
  counts: {
    docs: number;
    bytes: number;
    tokens: number;
    train: { docs: number; bytes: number; tokens: number };
    valid: { docs: number; bytes: number; tokens: number };
  };
  /** sha256 of `tokens.bin`. */
  tokensSha256: string;
  /** Every document, in `tokens.bin` order. */
  documents: ManifestDocument[];
}

/** An opened token cache. `train` and `valid` are views into `tokens`. */
export interface TokenCache {
  /** The cache folder. */
  dir: string;
  /** Its manifest. */
  manifest: TokenCacheManifest;
  /** All tokens: train documents then validation documents. */
  tokens: Uint16Array | Uint32Array;
  /** The train split. */
  train: Uint16Array | Uint32Array;
  /** The validation split (may be empty). */
  valid: Uint16Array | Uint32Array;
}

/** What {@link buildTokenCache} returns: the cache and whether it was reused. */
export interface BuiltTokenCache extends TokenCache {
  /** True when the existing cache matched and nothing was tokenized. */
  reused: boolean;
  /** Why it was (re)built, or `up to date`. */
  reason: string;
}

/** Options of {@link buildTokenCache}. */
export interface BuildTokenCacheOptions extends ReadOptions {
  /** The corpus. */
  sources: CorpusSource[];
  /** The tokenizer. */
  encoder: TokenEncoder;
  /** The cache folder (created if missing). */
  dir: string;
  /** Train/validation split; default {@link DEFAULT_SPLIT}. */
  split?: SplitOptions;
  /** Id appended after each document; default `encoder.separatorId`, else none (`null`). */
  separator?: number | null;
  /** Progress while tokenizing, in UTF-8 bytes of text. */
  onProgress?: (done: number, total: number) => void;
  /** Rebuild even if the cache matches. */
  force?: boolean;
}

const MANIFEST = "manifest.json";
const TOKENS = "tokens.bin";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

function sourceHash(docs: SourcedDocument[]): string {
  return sha256Hex(docs.map((d) => `${d.id} ${d.sha256}\n`).join(""));
}

/** The fields that must match for a cache to be reused; returns the first difference. */
function cacheDifference(old: TokenCacheManifest, want: TokenCacheManifest): string | null {
  if (old.format !== want.format || old.version !== want.version) {
    return `cache format changed (version ${old.version} -> ${want.version})`;
  }
  if (old.tokenizer?.hash !== want.tokenizer.hash) {
    return `tokenizer changed (hash ${old.tokenizer?.hash} -> ${want.tokenizer.hash})`;
  }
  if (old.tokenizer.vocabSize !== want.tokenizer.vocabSize) return "vocabulary size changed";
  if (old.separator !== want.separator) return "separator token changed";
  if (old.split?.validFraction !== want.split.validFraction || old.split.seed !== want.split.seed) {
    return "split settings changed";
  }
  const key = (d: ManifestDocument) => `${d.source}\t${d.id}\t${d.split}\t${d.bytes}\t${d.sha256}`;
  const a = new Map((old.documents ?? []).map((d) => [d.id, key(d)]));
  const b = new Map(want.documents.map((d) => [d.id, key(d)]));
  for (const [id, k] of b) {
    if (!a.has(id)) return `sources changed (document ${id} added)`;
    if (a.get(id) !== k) return `sources changed (document ${id} changed)`;
  }
  for (const id of a.keys()) if (!b.has(id)) return `sources changed (document ${id} removed)`;
  const order = (m: TokenCacheManifest) => m.documents.map((d) => d.id).join("\n");
  if (order(old) !== order(want)) return "sources changed (document order)";
  return null;
}

/**
 * Tokenizes the corpus once into `<dir>/tokens.bin` + `<dir>/manifest.json`, or reuses them
 * when the tokenizer hash, separator, split settings and every document (id, bytes, sha256)
 * match. Train documents come first, then validation documents; each is followed by the
 * separator id when there is one (`separator` option, else `encoder.separatorId`), so windows
 * that cross a document boundary see it. Both files are written atomically, tokens first; the
 * manifest holds the sha256 of `tokens.bin`, so a half-finished update is detected and rebuilt.
 *
 * Reading all sources (to hash them) happens on every call; tokenizing only when needed.
 *
 * @example
 * ```ts
 * const cache = await buildTokenCache({
 *   sources: embeddedCorpus(), encoder: tokenizer, dir: "results/_cache/embedded",
 *   split: { validFraction: 0.02, seed: 42 }, onProgress: (d, t) => bar.update({ done: d, total: t }),
 * });
 * console.log(cache.reused, cache.reason, cache.manifest.counts);
 * ```
 */
export async function buildTokenCache(opts: BuildTokenCacheOptions): Promise<BuiltTokenCache> {
  const { encoder, dir } = opts;
  const split = opts.split ?? DEFAULT_SPLIT;
  const separator = opts.separator !== undefined ? opts.separator : (encoder.separatorId ?? null);
  const V = encoder.vocabSize;
  if (!Number.isSafeInteger(V) || V < 1 || V > 2 ** 32) {
    throw new ConfigError(`encoder.vocabSize must be an integer in [1, 2^32], got ${V}`);
  }
  if (separator !== null && !(Number.isInteger(separator) && separator >= 0 && separator < V)) {
    throw new ConfigError(`separator id ${separator} is outside the vocabulary [0, ${V})`);
  }

  const docs = await collectDocuments(opts.sources);
  const parts = splitDocuments(docs, split);
  const ordered = [
    ...parts.train.map((d) => ({ d, split: "train" as const })),
    ...parts.valid.map((d) => ({ d, split: "valid" as const })),
  ];
  const want: TokenCacheManifest = {
    format: "gpt1-lab/token-cache",
    version: TOKEN_CACHE_VERSION,
    created: new Date().toISOString(),
    tokenizer: { hash: encoder.hash, vocabSize: V },
    separator,
    dtype: V <= 65536 ? "uint16" : "uint32",
    split: { validFraction: split.validFraction, seed: split.seed },
    sources: opts.sources.map((s) => {
      const mine = docs.filter((d) => d.source === s.name);
      return {
        name: s.name,
        origin: s.origin,
        docs: mine.length,
        bytes: mine.reduce((a, d) => a + d.bytes, 0),
        sha256: sourceHash(mine),
      };
    }),
    splits: { train: { start: 0, length: 0 }, valid: { start: 0, length: 0 } },
    counts: {
      docs: 0,
      bytes: 0,
      tokens: 0,
      train: { docs: 0, bytes: 0, tokens: 0 },
      valid: { docs: 0, bytes: 0, tokens: 0 },
    },
    tokensSha256: "",
    documents: ordered.map(({ d, split }) => ({
      id: d.id,
      source: d.source,
      split,
      bytes: d.bytes,
      sha256: d.sha256,
      start: 0,
      length: 0,
    })),
  };

  // Reuse when everything that decides the ids matches.
  let reason = "no cache yet";
  if (!opts.force && await exists(join(dir, MANIFEST))) {
    try {
      const old = await openTokenCache(dir);
      const diff = cacheDifference(old.manifest, want);
      if (diff === null) return { ...old, reused: true, reason: "up to date" };
      reason = diff;
    } catch (e) {
      reason = `existing cache unusable (${(e as Error).message})`;
    }
  } else if (opts.force) reason = "forced";

  // Tokenize: a growable uint32 buffer, then narrowed to the manifest's dtype.
  let buf = new Uint32Array(1 << 16);
  let n = 0;
  const push = (id: number) => {
    if (n === buf.length) {
      const bigger = new Uint32Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    buf[n++] = id;
  };
  const totalBytes = docs.reduce((a, d) => a + d.bytes, 0);
  let doneBytes = 0;
  opts.onProgress?.(0, totalBytes);
  for (let i = 0; i < ordered.length; i++) {
    const { d } = ordered[i];
    const ids = encoder.encode(d.text);
    const entry = want.documents[i];
    entry.start = n;
    for (const id of ids) {
      if (!(Number.isInteger(id) && id >= 0 && id < V)) {
        throw new DataError(`the encoder returned id ${id}, outside the vocabulary [0, ${V})`, {
          file: d.path ?? d.id,
          fix: "check the tokenizer: encoder.vocabSize must cover every id it returns",
        });
      }
      push(id);
    }
    entry.length = ids.length;
    if (separator !== null) push(separator);
    doneBytes += d.bytes;
    opts.onProgress?.(doneBytes, totalBytes);
  }

  const trainDocs = want.documents.filter((d) => d.split === "train");
  const validDocs = want.documents.filter((d) => d.split === "valid");
  const nTrain = validDocs.length > 0 ? validDocs[0].start : n;
  want.splits = {
    train: { start: 0, length: nTrain },
    valid: { start: nTrain, length: n - nTrain },
  };
  const sumBytes = (ds: ManifestDocument[]) => ds.reduce((a, d) => a + d.bytes, 0);
  want.counts = {
    docs: docs.length,
    bytes: totalBytes,
    tokens: n,
    train: { docs: trainDocs.length, bytes: sumBytes(trainDocs), tokens: nTrain },
    valid: { docs: validDocs.length, bytes: sumBytes(validDocs), tokens: n - nTrain },
  };

  const tokens = want.dtype === "uint16" ? Uint16Array.from(buf.subarray(0, n)) : buf.slice(0, n);
  const bytes = new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
  let fileBytes = bytes;
  if (!LITTLE_ENDIAN) {
    fileBytes = bytes.slice();
    swapBytes(fileBytes, tokens.BYTES_PER_ELEMENT);
  }
  want.tokensSha256 = sha256Hex(fileBytes);
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, TOKENS), fileBytes);
  await writeJsonAtomic(join(dir, MANIFEST), want);
  return { ...viewSplits(dir, want, tokens), reused: false, reason };
}

function viewSplits(
  dir: string,
  manifest: TokenCacheManifest,
  tokens: Uint16Array | Uint32Array,
): TokenCache {
  const { train, valid } = manifest.splits;
  return {
    dir,
    manifest,
    tokens,
    train: tokens.subarray(train.start, train.start + train.length),
    valid: tokens.subarray(valid.start, valid.start + valid.length),
  };
}

/**
 * Opens a token cache written by {@link buildTokenCache}, checking the manifest, the size of
 * `tokens.bin` and (unless `verify: false`) its sha256. Throws {@link DataError} naming the
 * file and the fix when anything is missing or does not match.
 */
export async function openTokenCache(
  dir: string,
  opts: { verify?: boolean } = {},
): Promise<TokenCache> {
  const mpath = join(dir, MANIFEST), tpath = join(dir, TOKENS);
  const rebuild = "delete the cache folder; the next run rebuilds it";
  let manifest: TokenCacheManifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(mpath));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DataError("no token cache here", {
        file: mpath,
        fix: "build it first with buildTokenCache() (or the CLI's pretrain command)",
      });
    }
    throw new DataError(`unreadable manifest: ${(e as Error).message}`, {
      file: mpath,
      fix: rebuild,
    });
  }
  if (manifest.format !== "gpt1-lab/token-cache" || manifest.version !== TOKEN_CACHE_VERSION) {
    throw new DataError(
      `not a token cache of version ${TOKEN_CACHE_VERSION} (format ${manifest.format}, ` +
        `version ${manifest.version})`,
      { file: mpath, fix: rebuild },
    );
  }
  const width = manifest.dtype === "uint16" ? 2 : manifest.dtype === "uint32" ? 4 : 0;
  if (width === 0) {
    throw new DataError(`unknown dtype ${manifest.dtype}`, { file: mpath, fix: rebuild });
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(tpath);
  } catch (e) {
    throw new DataError(`cannot read tokens: ${(e as Error).message}`, {
      file: tpath,
      fix: rebuild,
    });
  }
  const n = manifest.counts?.tokens;
  if (bytes.length !== n * width) {
    throw new DataError(
      `size ${bytes.length} bytes, the manifest says ${n} ${manifest.dtype} tokens (${
        n * width
      } bytes)`,
      { file: tpath, fix: rebuild },
    );
  }
  if (opts.verify !== false && sha256Hex(bytes) !== manifest.tokensSha256) {
    throw new DataError("sha256 does not match the manifest (changed or half-written)", {
      file: tpath,
      fix: rebuild,
    });
  }
  if (!LITTLE_ENDIAN) swapBytes(bytes, width);
  const tokens = width === 2
    ? new Uint16Array(bytes.buffer, bytes.byteOffset, n)
    : new Uint32Array(bytes.buffer, bytes.byteOffset, n);
  return viewSplits(dir, manifest, tokens);
}
