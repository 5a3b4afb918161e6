/**
 * Tab-separated files as GLUE writes them: split on `\t` only, no quote handling (SST-2, MRPC
 * and STS-B contain literal `"`), UTF-8 with an optional byte-order mark (MRPC), `\n` or `\r\n`
 * line ends. Files are streamed line by line, so MNLI's 300 MB training file is fine.
 *
 * @example
 * ```ts
 * import { readTsv } from "./tsv.ts";
 * for await (const row of readTsv("SST-2/dev.tsv")) console.log(row.line, row.cells);
 * ```
 * @module
 */
import { DataError } from "../errors.ts";

/** One line of a TSV file. */
export interface TsvRow {
  /** 1-based line number in the file. */
  line: number;
  /** The line split on `\t` (a line without tabs gives one cell). */
  cells: string[];
}

/**
 * Streams the lines of a UTF-8 text file with their 1-based numbers. Strips a leading BOM and a
 * trailing `\r`; blank lines at the very end of the file are dropped, blank lines elsewhere are
 * yielded (as empty strings) so that callers can report them.
 */
export async function* readLines(path: string): AsyncGenerator<{ line: number; text: string }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DataError("file not found", { file: path, fix: "check the path" });
    }
    throw e;
  }
  // Lines are cut on the byte 0x0A and decoded one by one, so an invalid byte is reported at
  // its own line.
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let lineNo = 0;
  let pendingBlank = 0; // blank lines held back until we know they are not trailing
  const emit = function* (bytes: Uint8Array) {
    lineNo++;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new DataError("not valid UTF-8", {
        file: path,
        line: lineNo,
        fix: "re-save the file as UTF-8",
      });
    }
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (text === "") {
      pendingBlank++;
      return;
    }
    for (; pendingBlank > 0; pendingBlank--) yield { line: lineNo - pendingBlank, text: "" };
    yield { line: lineNo, text };
  };
  let carry: Uint8Array | null = null; // the unfinished last line of the previous chunks
  try {
    for await (const chunk of file.readable) {
      let data = chunk;
      if (carry) {
        data = new Uint8Array(carry.length + chunk.length);
        data.set(carry);
        data.set(chunk, carry.length);
        carry = null;
      }
      let start = 0;
      for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
        yield* emit(data.subarray(start, nl));
        start = nl + 1;
      }
      if (start < data.length) carry = data.slice(start);
    }
    if (carry) yield* emit(carry);
  } finally {
    // The readable stream closes the file when fully read; a consumer that stops early
    // (`limit`) or an error leaves it open, so close it here.
    try {
      file.close();
    } catch { /* already closed */ }
  }
}

/** Streams a TSV file: every line (header included) split on tabs. */
export async function* readTsv(path: string): AsyncGenerator<TsvRow> {
  for await (const { line, text } of readLines(path)) yield { line, cells: text.split("\t") };
}

/**
 * Indices of the named columns in a header row; a {@link DataError} at line 1 that lists the
 * header it found when one is missing.
 *
 * @param optional names that may be absent (index -1), e.g. the label column of a test file
 */
export function columnIndex(
  file: string,
  header: string[],
  required: string[],
  optional: string[] = [],
): Record<string, number> {
  const idx: Record<string, number> = {};
  const clean = header.map((h) => h.trim());
  for (const name of [...required, ...optional]) idx[name] = clean.indexOf(name);
  const missing = required.filter((n) => idx[n] < 0);
  if (missing.length > 0) {
    throw new DataError(
      `header lacks column(s) ${missing.map((m) => `'${m}'`).join(", ")}; found ${
        clean.map((h) => `'${h}'`).join(" ")
      }`,
      { file, line: 1, fix: "use the original benchmark file (see datasets/README.md)" },
    );
  }
  return idx;
}
