/**
 * The vocabulary file formats of the released GPT-1 tokenizer: `encoder_bpe_40000.json` (piece →
 * id, ids 0..n-1) and `vocab_40000.bpe` (a version header, then one merge per line in rank
 * order), parsed strictly (a malformed file throws a DataError naming the file and line) and
 * written back byte for byte.
 *
 * @example
 * ```ts
 * import { formatMerges, parseMerges } from "./formats.ts";
 * parseMerges(formatMerges([["l", "o"], ["lo", "w</w>"]])); // [["l", "o"], ["lo", "w</w>"]]
 * ```
 * @module
 */
import { DataError } from "../errors.ts";
import { isPySpace } from "./pystr.ts";
import { PY_SPACE_CLASS } from "./spacy_tables.ts";

/** Display names of the vocabulary files, used in error messages. */
export interface VocabNames {
  /** Name of the encoder JSON (default `encoder.json`). */
  encoder?: string;
  /** Name of the merges file (default `merges.bpe`). */
  merges?: string;
}

function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < pos; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/**
 * Parses an encoder JSON (`{"piece": id, ...}`) into pieces by id. Ids must be the integers
 * 0..n-1, each once; a malformed file throws {@link DataError} naming the file and line.
 */
export function parseEncoderJson(text: string, file = "encoder.json"): string[] {
  const fail = (pos: number, msg: string, fix: string): never => {
    throw new DataError(msg, { file, line: lineAt(text, pos), fix });
  };
  const fixJson = "the encoder must be one JSON object mapping each piece to its integer id";
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    if (text[i] !== '"') fail(i, `expected a string key, found ${describeAt(text, i)}`, fixJson);
    const start = i++;
    let out = "";
    let run = i;
    while (true) {
      if (i >= n) fail(start, "unterminated string", fixJson);
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail(i, "control character inside a string", "escape it as \\u00XX");
      if (c === 0x5c) {
        out += text.slice(run, i);
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          fail(i, `invalid escape ${JSON.stringify(text.slice(i, i + 2))}`, fixJson);
        }
        run = i;
        continue;
      }
      i++;
    }
    out += text.slice(run, i);
    i++;
    return out;
  };
  const entries: Array<[string, number, number]> = [];
  ws();
  if (text[i] !== "{") fail(i, `expected "{", found ${describeAt(text, i)}`, fixJson);
  i++;
  ws();
  if (text[i] === "}") i++;
  else {
    while (true) {
      ws();
      const pos = i;
      const key = str();
      ws();
      if (text[i] !== ":") {
        fail(i, `expected ":" after a key, found ${describeAt(text, i)}`, fixJson);
      }
      i++;
      ws();
      const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 40));
      if (!m) fail(i, `expected a number for ${JSON.stringify(key)}`, fixJson);
      const id = Number(m![0]);
      if (!Number.isSafeInteger(id) || id < 0 || !/^[0-9]+$/.test(m![0])) {
        fail(i, `id of ${JSON.stringify(key)} is ${m![0]}, not a non-negative integer`, fixJson);
      }
      i += m![0].length;
      entries.push([key, id, pos]);
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        break;
      }
      fail(i, `expected "," or "}", found ${describeAt(text, i)}`, fixJson);
    }
  }
  ws();
  if (i < n) fail(i, `unexpected ${describeAt(text, i)} after the object`, fixJson);
  const pieces: string[] = new Array(entries.length);
  const seen = new Set<string>();
  for (const [key, id, pos] of entries) {
    if (seen.has(key)) fail(pos, `piece ${JSON.stringify(key)} appears twice`, "remove one");
    seen.add(key);
    if (id >= entries.length) {
      fail(
        pos,
        `id ${id} of ${JSON.stringify(key)} is outside 0..${entries.length - 1}`,
        "ids must be 0..n-1 without gaps",
      );
    }
    if (pieces[id] !== undefined) {
      fail(
        pos,
        `id ${id} is used by ${JSON.stringify(pieces[id])} and ${JSON.stringify(key)}`,
        "give every piece its own id",
      );
    }
    pieces[id] = key;
  }
  return pieces;
}

function describeAt(text: string, i: number): string {
  return i >= text.length ? "the end of the file" : JSON.stringify(text.slice(i, i + 12));
}

const PY_SPACE_RUN = new RegExp(PY_SPACE_CLASS + "+", "u");

/** Python's `line.split()` (splits on runs of Python whitespace, drops empty parts). */
function pySplit(line: string): string[] {
  return line.split(PY_SPACE_RUN).filter((p) => p.length > 0);
}

/**
 * Parses a merges file: a first line `#version: ...`, then one merge `a b` per line (rank =
 * line index), and a final newline, read as the released code does
 * (`read().split('\n')[1:-1]`, each line `.split()`). A malformed file throws
 * {@link DataError} naming the file and line.
 */
export function parseMerges(text: string, file = "merges.bpe"): Array<[string, string]> {
  const lines = text.split("\n");
  if (!lines[0].startsWith("#")) {
    throw new DataError(`first line is ${JSON.stringify(lines[0].slice(0, 40))}, not a header`, {
      file,
      line: 1,
      fix: "start the file with the line '#version: 0.2' (the released loader skips line 1)",
    });
  }
  if (lines.length > 1 && lines[lines.length - 1] !== "") {
    throw new DataError("the last line does not end with a newline", {
      file,
      line: lines.length,
      fix: "add a final newline (the released loader would drop this merge)",
    });
  }
  const merges: Array<[string, string]> = [];
  for (let k = 1; k < lines.length - 1; k++) {
    const parts = pySplit(lines[k]);
    if (parts.length !== 2) {
      throw new DataError(
        `expected two symbols separated by a space, found ${parts.length}: ${
          JSON.stringify(lines[k].slice(0, 60))
        }`,
        { file, line: k + 1, fix: "each line after the header must be 'left right'" },
      );
    }
    merges.push([parts[0], parts[1]]);
  }
  return merges;
}

/** Serializes pieces (by id) as an encoder JSON object, one entry per line, in id order. */
export function formatEncoderJson(pieces: readonly string[]): string {
  return "{\n" + pieces.map((p, id) => `  ${JSON.stringify(p)}: ${id}`).join(",\n") + "\n}\n";
}

/** Serializes merges in the released format (`#version: 0.2` header, trailing newline). */
export function formatMerges(merges: ReadonlyArray<readonly [string, string]>): string {
  merges.forEach(([a, b], rank) => {
    if (!isSymbol(a) || !isSymbol(b)) {
      throw new DataError(`merge ${rank} ${JSON.stringify([a, b])}: empty or holds whitespace`, {
        fix: "merge symbols must be non-empty and free of whitespace in the released format",
      });
    }
  });
  return "#version: 0.2\n" + merges.map(([a, b]) => `${a} ${b}\n`).join("");
}

function isSymbol(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isPySpace(s.charCodeAt(i))) return false;
  return s.length > 0;
}
