/**
 * Small file-system helpers shared by checkpoints, caches and results:
 * atomic writes (temp file + rename) and existence checks.
 * @module
 */

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
