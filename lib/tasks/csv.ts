/**
 * A small RFC 4180 CSV parser that keeps line numbers (Story Cloze). Quoted fields may hold
 * commas, doubled quotes (`""`) and line breaks. Like Python's `csv.reader` (which the original
 * GPT-1 code used), a quote inside an unquoted field is literal text, and text between a
 * closing quote and the next comma is appended to the field. An unterminated quote is an error.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * parseCsv('a,"b, c"\n1,"say ""hi"""\n', "x.csv");
 * // [{ line: 1, cells: ["a", "b, c"] }, { line: 2, cells: ["1", 'say "hi"'] }]
 * ```
 * @module
 */
import { DataError } from "../errors.ts";

/** One CSV record. */
export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  /** The fields, unquoted. */
  cells: string[];
}

/**
 * Parses CSV text into records. A leading BOM is ignored; `\r\n` and `\n` both end records;
 * blank lines are skipped; `file` is only used in error messages.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: CsvRecord[] = [];
  let cells: string[] = [];
  let field = "";
  let line = 1; // current line
  let recordLine = 1; // line where the current record started
  let inQuotes = false;
  let quoteLine = 0;
  let fieldStarted = false; // any character (or quote) seen in the current record
  const n = text.length;
  const endRecord = () => {
    if (fieldStarted || cells.length > 0) {
      cells.push(field);
      out.push({ line: recordLine, cells });
    }
    cells = [];
    field = "";
    fieldStarted = false;
  };
  for (let i = 0; i < n; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === "") {
      // a quote opens a quoted field only at the start of the field
      inQuotes = true;
      quoteLine = line;
      fieldStarted = true;
    } else if (c === ",") {
      cells.push(field);
      field = "";
      fieldStarted = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (inQuotes) {
    throw new DataError("unterminated quoted field (a '\"' opened here is never closed)", {
      file,
      line: quoteLine,
      fix: 'close the quote, or double a quote meant literally ("")',
    });
  }
  endRecord();
  return out;
}
