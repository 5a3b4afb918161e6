/**
 * `deno task gpt1 fetch <name…|all> [--dir D]`: downloads the public benchmarks and the released
 * GPT-1 weights of {@link FETCH_MANIFEST} into the data folder the loaders read (default
 * `$GPT1_DATA`, else `../shared/datasets`). Each file is downloaded resumably and verified
 * (size, sha256: published, or trust-on-first-use recorded in `<data>/.fetch-checksums.json`)
 * before it is unpacked into a staging folder, which is then moved into place with renames.
 *
 * @example
 * ```ts
 * import { fetchData } from "./mod.ts";
 * await fetchData(["sst2", "gpt1"]);
 * ```
 * @module
 */
import { join } from "node:path";
import { DataError } from "../errors.ts";
import { writeJsonAtomic } from "../fsutil.ts";
import { type Progress, silentProgress } from "../progress.ts";
import { defaultDataRoot } from "../settings.ts";
import { downloadFile } from "./download.ts";
import { FETCH_MANIFEST, type FetchEntry, manifestEntry } from "./manifest.ts";
import { unpackArchive } from "./unpack.ts";

export * from "./manifest.ts";
export { downloadFile, type DownloadOptions, sha256File } from "./download.ts";
export { memberPath, unpackArchive } from "./unpack.ts";

/** Options of {@link fetchData}. */
export interface FetchOptions {
  /** Data root (default `$GPT1_DATA`, else `../shared/datasets`). */
  dir?: string;
  /** Progress per file (default none). */
  progress?: (label: string) => Progress;
  /** Event lines (default `console.log`). */
  log?: (line: string) => void;
  /** The manifest (tests serve fixtures from 127.0.0.1). */
  manifest?: readonly FetchEntry[];
  /** `fetch` implementation (tests). */
  fetchImpl?: typeof fetch;
}

/** What happened to one entry. */
export interface FetchOutcome {
  /** Entry name. */
  name: string;
  /** `fetched`, `present` (already there), or `manual` (request form; nothing downloaded). */
  status: "fetched" | "present" | "manual";
  /** The entry's folder. */
  folder: string;
}

/** The name of the trust-on-first-use record in the data root. */
export const CHECKSUM_RECORD = ".fetch-checksums.json";

async function _stat(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch {
    return null;
  }
}

/** The one command that fetches everything public into `dir`. */
export function fetchCommand(dir?: string): string {
  return `deno task gpt1 fetch all${dir ? ` --dir ${dir}` : ""}`;
}

/** Resolves names (`all` = every entry) against the manifest; unknown names throw. */
export function resolveNames(
  names: readonly string[],
  manifest: readonly FetchEntry[] = FETCH_MANIFEST,
): FetchEntry[] {
  if (names.length === 0 || names.includes("all")) return [...manifest];
  return names.map((n) => {
    const e = manifest === FETCH_MANIFEST ? manifestEntry(n) : manifest.find((m) => m.name === n);
    if (!e) {
      throw new DataError(`unknown fetch name '${n}'`, {
        fix: `use all or one of ${manifest.map((m) => m.name).join(", ")}`,
      });
    }
    return e;
  });
}

/** Moves every staged path into `target` (created if absent), refusing any collision. */
async function _place(staging: string, target: string, marker: string): Promise<void> {
  const st = await _stat(target);
  if (st && !st.isDirectory) {
    throw new DataError("a file is where the data folder goes", {
      file: target,
      fix: "move or delete it, then fetch again",
    });
  }
  if (!st) {
    await Deno.rename(staging, target); // one atomic move
    return;
  }
  // merge into an existing folder: check every collision first, then move (marker last)
  const moves: [string, string][] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(join(staging, rel))) {
      const r = rel ? join(rel, e.name) : e.name;
      const there = await _stat(join(target, r));
      if (e.isDirectory && there?.isDirectory) await walk(r);
      else if (there) {
        throw new DataError(`${r} is already there`, {
          file: join(target, r),
          fix: "move it away (or delete the folder) and fetch again",
        });
      } else moves.push([join(staging, r), join(target, r)]);
    }
  };
  await walk("");
  moves.sort((a, b) => Number(a[1].endsWith(marker)) - Number(b[1].endsWith(marker)));
  for (const [from, to] of moves) await Deno.rename(from, to);
  await Deno.remove(staging, { recursive: true });
}

/**
 * Fetches the named entries into the data root; returns one outcome per entry. Entries whose
 * marker file is present are left alone; request-form data (Story Cloze) prints where the files
 * go. Errors are {@link DataError}s naming the file, the URL and where to put it by hand.
 */
export async function fetchData(
  names: readonly string[],
  opts: FetchOptions = {},
): Promise<FetchOutcome[]> {
  const root = opts.dir ?? defaultDataRoot();
  const log = opts.log ?? ((l: string) => console.log(l));
  const entries = resolveNames(names, opts.manifest ?? FETCH_MANIFEST);
  const rootSt = await _stat(root);
  if (rootSt && !rootSt.isDirectory) {
    throw new DataError("the data root is a file", { file: root, fix: "pass --dir <folder>" });
  }
  await Deno.mkdir(root, { recursive: true });
  const recordPath = join(root, CHECKSUM_RECORD);
  const record: Record<string, string> = (await _stat(recordPath))
    ? JSON.parse(await Deno.readTextFile(recordPath))
    : {};
  const out: FetchOutcome[] = [];
  for (const e of entries) {
    const target = join(root, e.folder);
    if (await _stat(join(target, e.marker))) {
      log(`fetch: ${e.name}: already in ${target}`);
      out.push({ name: e.name, status: "present", folder: target });
      continue;
    }
    if (e.files.length === 0) {
      log(`fetch: ${e.name}: not downloadable (${e.manual ?? "no public source"})`);
      out.push({ name: e.name, status: "manual", folder: target });
      continue;
    }
    const downloads = join(root, ".downloads");
    await Deno.mkdir(downloads, { recursive: true });
    const staging = join(root, `.staging-${e.name}`);
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    await Deno.mkdir(staging, { recursive: true });
    for (const f of e.files) {
      const dest = join(downloads, f.name);
      const dst = await _stat(dest);
      if (dst?.isDirectory) {
        throw new DataError("a folder is where the download goes", {
          file: dest,
          fix: "move or delete it, then fetch again",
        });
      }
      const want = f.sha256 ?? record[f.url];
      const sha = await downloadFile(f.url, dest, {
        size: f.size,
        sha256: want,
        progress: opts.progress?.(`fetch ${f.name}`) ?? silentProgress,
        manualPath: f.format === "file" ? join(target, f.name) : dest,
        fetchImpl: opts.fetchImpl,
      });
      if (!f.sha256 && !record[f.url]) {
        record[f.url] = sha; // trust on first use
        await writeJsonAtomic(recordPath, record);
        log(`fetch: ${f.name}: no published checksum; recorded sha256 ${sha} (trust on first use)`);
      }
      if (f.format === "file") {
        await Deno.rename(dest, join(staging, f.name));
      } else {
        const n = await unpackArchive(await Deno.readFile(dest), f.format, staging, {
          strip: f.strip,
          archive: dest,
        });
        log(`fetch: ${f.name}: ${n} files unpacked`);
        await Deno.remove(dest);
      }
    }
    if (!(await _stat(join(staging, e.marker)))) {
      await Deno.remove(staging, { recursive: true });
      throw new DataError(`the download lacks ${e.marker}`, {
        file: e.files[0].url,
        fix: `the archive layout changed: put the files in ${target} by hand`,
      });
    }
    await _place(staging, target, e.marker);
    log(`fetch: ${e.name}: ${e.title} -> ${target}`);
    out.push({ name: e.name, status: "fetched", folder: target });
  }
  return out;
}

/**
 * Resolves `--init` / `--ckpt`: `gpt1` is the released weights in `<dataRoot>/gpt1` (as
 * `fetch gpt1` writes them; DataError naming the fetch command when absent); anything else is
 * returned as is. `vocab` is the folder holding the checkpoint's vocabulary when known.
 */
export async function resolveInit(
  spec: string,
  dataRoot: string = defaultDataRoot(),
): Promise<{ path: string; vocab?: string }> {
  if (spec !== "gpt1") return { path: spec };
  const dir = join(dataRoot, "gpt1");
  for (const f of ["params_shapes.json", "params_0.npy", "params_9.npy"]) {
    if (!(await _stat(join(dir, f)))) {
      throw new DataError(`the released GPT-1 weights are not here (no ${f})`, {
        file: dir,
        fix: `run ${fetchCommand()} (or: deno task gpt1 fetch gpt1${
          dataRoot === defaultDataRoot() ? "" : ` --dir ${dataRoot}`
        }), or set GPT1_DATA to the folder holding gpt1/`,
      });
    }
  }
  const vocab = (await _stat(join(dir, "encoder_bpe_40000.json"))) ? dir : "gpt1";
  return { path: dir, vocab };
}
