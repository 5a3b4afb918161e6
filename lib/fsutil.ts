/**
 * Small file-system helpers shared by checkpoints, caches and results:
 * atomic writes (temp file + rename), existence checks and portable result paths.
 * @module
 */

import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Writes `data` to `path` atomically: a temp file in the same folder, fsync, then rename.
 * A reader never sees a half-written file; a crash leaves the old file intact.
 *
 * @example
 * ```ts
 * await writeFileAtomic("/tmp/x.json", new TextEncoder().encode("{}"));
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = `${path}.${Deno.pid}.${Date.now()}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes a JSON value atomically (pretty-printed, trailing newline). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** True when `path` exists (file or folder). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Synchronous {@link exists}. */
export function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The repository root and the folder that holds it (where `../shared` sits). */
const REPO: string | null = import.meta.url.startsWith("file:")
  ? dirname(dirname(fileURLToPath(import.meta.url)))
  : null;
const REPO_PARENT: string | null = REPO ? dirname(REPO) : null;

/**
 * A path as written into results files: relative to the repository root when it lies in the
 * repository or beside it (`results/small/...`, `../shared/datasets/...`), so committed results
 * name no machine's folders; any other path, and relative paths, unchanged. A `file:line`
 * suffix is kept.
 *
 * @example
 * ```ts
 * portablePath(`${Deno.cwd()}/results/small/ckpt-001200.safetensors`); // "results/small/..."
 * ```
 */
export function portablePath(p: string): string {
  if (!REPO || !REPO_PARENT || !isAbsolute(p)) return p;
  if (p !== REPO_PARENT && !p.startsWith(REPO_PARENT + sep)) return p;
  return relative(REPO, p) || ".";
}

/** The repository root (the folder holding `lib/`). */
export const REPO_ROOT: string = resolve(fileURLToPath(new URL("..", import.meta.url)));
