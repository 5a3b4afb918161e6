/**
 * One resumable, verified download: bytes go to `<dest>.part` (continued with an HTTP Range
 * request when a `.part` is already there), the size and sha256 are checked, and only then is
 * the file renamed to `dest`. A loader never sees a half-written file.
 *
 * @example
 * ```ts
 * import { downloadFile } from "./download.ts";
 * const sha = await downloadFile("https://example.org/a.zip", "/tmp/a.zip", { sha256: "..." });
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { DataError } from "../errors.ts";
import { type Progress, silentProgress } from "../progress.ts";

/** What {@link downloadFile} checks and reports. */
export interface DownloadOptions {
  /** Expected size in bytes. */
  size?: number;
  /** Expected hex sha256. */
  sha256?: string;
  /** Live-line progress (bytes). */
  progress?: Progress;
  /** Where the user may put the file by hand (named in the offline error). */
  manualPath?: string;
  /** `fetch` implementation (tests). */
  fetchImpl?: typeof fetch;
}

/** The hex sha256 of a file, read in chunks. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  const f = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    f.close();
  }
  return h.digest("hex");
}

async function _size(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * Downloads `url` to `dest` (resuming `dest.part`), checks size and sha256 (when given) and
 * renames it into place; returns the sha256. Throws a {@link DataError} naming the file, the URL
 * and where to put it by hand when offline, on an HTTP error, or on a size/checksum mismatch
 * (the bad `.part` is then removed, so the next try starts afresh).
 */
export async function downloadFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<string> {
  const part = `${dest}.part`;
  const progress = opts.progress ?? silentProgress;
  const by = opts.manualPath ?? dest;
  const fix = `check the network, or download ${url} by hand and put it at ${by}`;
  let have = await _size(part);
  if (opts.size !== undefined && have > opts.size) {
    await Deno.remove(part);
    have = 0;
  }
  let res: Response;
  try {
    res = await (opts.fetchImpl ?? fetch)(url, {
      headers: have > 0 ? { Range: `bytes=${have}-` } : {},
    });
  } catch (e) {
    throw new DataError(`cannot download ${url}: ${(e as Error).message}`, { file: dest, fix });
  }
  if (res.status === 416 && opts.size !== undefined && have === opts.size) {
    await res.body?.cancel();
  } else if (!res.ok) {
    await res.body?.cancel();
    throw new DataError(`HTTP ${res.status} ${res.statusText} from ${url}`, { file: dest, fix });
  } else {
    const append = have > 0 && res.status === 206;
    if (!append) have = 0; // the server ignored Range: start over
    const len = Number(res.headers.get("content-length") ?? NaN);
    const total = opts.size ?? (Number.isFinite(len) ? have + len : undefined);
    const f = await Deno.open(part, { write: true, create: true, append, truncate: !append });
    let done = have;
    try {
      for await (const chunk of res.body!) {
        let off = 0;
        while (off < chunk.length) off += await f.write(chunk.subarray(off));
        done += chunk.length;
        progress.update({ done, total, fields: { MB: (done / 1e6).toFixed(1) } });
      }
      await f.sync();
    } catch (e) {
      throw new DataError(
        `download of ${url} cut at ${done} bytes: ${
          (e as Error).message
        } (run fetch again to resume)`,
        { file: part, fix },
      );
    } finally {
      f.close();
    }
  }
  const got = await _size(part);
  if (opts.size !== undefined && got !== opts.size) {
    if (got > opts.size) await Deno.remove(part);
    throw new DataError(
      `size ${got} != expected ${opts.size} for ${url}` +
        (got < opts.size ? " (run fetch again to resume)" : ""),
      { file: part, fix },
    );
  }
  const sha = await sha256File(part);
  if (opts.sha256 && sha !== opts.sha256.toLowerCase()) {
    await Deno.remove(part);
    throw new DataError(`sha256 ${sha} != expected ${opts.sha256} for ${url}; removed`, {
      file: dest,
      fix: `the server sent other bytes: try again later, or ${fix}`,
    });
  }
  await Deno.rename(part, dest);
  progress.finish(`${(got / 1e6).toFixed(1)} MB, sha256 ok`);
  return sha;
}
