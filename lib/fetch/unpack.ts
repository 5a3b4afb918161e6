/**
 * Unpacks a verified archive (zip with fflate, tar.gz with nanotar) into a staging folder,
 * refusing any member whose path escapes it (zip-slip: absolute paths, `..`), and skipping
 * macOS resource forks. The staging folder is moved into place by the caller in one rename.
 *
 * @example
 * ```ts
 * import { unpackArchive } from "./unpack.ts";
 * await unpackArchive(bytes, "zip", "/data/.staging-sst2", { strip: "SST-2/" });
 * ```
 * @module
 */
import { unzipSync } from "fflate";
import { parseTarGzip } from "nanotar";
import { dirname, normalize, resolve, sep } from "node:path";
import { DataError } from "../errors.ts";

/** A member's safe path relative to the staging folder, or null to skip it. */
export function memberPath(name: string, strip = "", archive = "<archive>"): string | null {
  const n = name.replace(/\\/g, "/");
  if (n.startsWith("/") || /^[a-zA-Z]:/.test(n) || n.split("/").includes("..")) {
    throw new DataError(`archive member '${name}' would be written outside the target folder`, {
      file: archive,
      fix: "the archive is not the official one: delete it and fetch again",
    });
  }
  if (n.startsWith("__MACOSX/") || n.split("/").some((p) => p.startsWith("._"))) return null;
  if (!n.startsWith(strip)) return null;
  const rel = normalize(n.slice(strip.length)).replace(/^(\.\/)+/, "");
  return rel === "" || rel === "." ? null : rel;
}

/** Writes the archive's files under `dir` (created; must not exist); returns how many. */
export async function unpackArchive(
  bytes: Uint8Array,
  format: "zip" | "tar.gz",
  dir: string,
  opts: { strip?: string; archive?: string } = {},
): Promise<number> {
  const archive = opts.archive ?? "<archive>";
  let members: { name: string; data?: Uint8Array; dir: boolean }[];
  try {
    if (format === "zip") {
      members = Object.entries(unzipSync(bytes)).map(([name, data]) => ({
        name,
        data,
        dir: name.endsWith("/"),
      }));
    } else {
      members = (await parseTarGzip(bytes)).map((f) => ({
        name: f.name,
        data: f.data,
        dir: f.type === "directory" || f.name.endsWith("/"),
      }));
    }
  } catch (e) {
    throw new DataError(`cannot unpack (${format}): ${(e as Error).message}`, {
      file: archive,
      fix: "the archive is truncated or corrupt: delete it and fetch again",
    });
  }
  await Deno.mkdir(dir, { recursive: true });
  const root = resolve(dir) + sep;
  let n = 0;
  for (const m of members) {
    const rel = memberPath(m.name, opts.strip, archive);
    if (rel === null) continue;
    const out = resolve(dir, rel);
    if (!out.startsWith(root)) {
      throw new DataError(`archive member '${m.name}' escapes the target folder`, {
        file: archive,
        fix: "the archive is not the official one: delete it and fetch again",
      });
    }
    if (m.dir) {
      await Deno.mkdir(out, { recursive: true });
      continue;
    }
    await Deno.mkdir(dirname(out), { recursive: true });
    await Deno.writeFile(out, m.data ?? new Uint8Array());
    n++;
  }
  if (n === 0) {
    throw new DataError(`no files under '${opts.strip ?? ""}' in the archive`, {
      file: archive,
      fix: "the archive is not the expected one: delete it and fetch again",
    });
  }
  return n;
}
