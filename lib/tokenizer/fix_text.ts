/**
 * `ftfy.fix_text(text)` with ftfy 6.3.1's default configuration, ported to TypeScript.
 *
 * Covered (each step as in ftfy, in ftfy's order, repeated until the text stops changing,
 * on segments of one line each, as `fix_text` does):
 * - `unescape_html="auto"`: HTML entities (`&amp;`, `&eacute;`, `&#x2019;`, upper-case
 *   forms such as `&EACUTE;`), switched off for this and all later lines once a line holds `<`;
 * - `fix_encoding`: ftfy's mojibake repair, complete: the badness heuristic, the ten
 *   single-byte codecs (latin-1, sloppy windows-125x, iso-8859-2, macroman, cp437),
 *   `restore_byte_a0`, `replace_lossy_sequences`, `decode_inconsistent_utf8`, the
 *   utf-8-variants decoder (CESU-8, Java's `C0 80`), latin-1 -> windows-1252;
 * - `fix_c1_controls`, `fix_latin_ligatures`, `fix_character_width`, `uncurl_quotes`,
 *   `fix_line_breaks`, `fix_surrogates`, `remove_terminal_escapes`, `remove_control_chars`;
 * - `normalization="NFC"`.
 *
 * Not covered: nothing of the defaults. Known, tiny differences: JavaScript's Unicode tables
 * (NFC) may be newer than Python 3.11's Unicode 14 for characters assigned after 2021; the
 * regex tables were generated with Python's Unicode 14 (see `gen_tables.py`). The
 * non-default options (`explain`, other normalizations) are not offered.
 *
 * @example
 * ```ts
 * import { fixText } from "./fix_text.ts";
 * fixText("Broken text&hellip; it&#x2019;s ﬂubberiﬁc!"); // "Broken text… it's flubberific!"
 * fixText("âœ” No problems"); // "✔ No problems"
 * ```
 * @module
 */
import {
  A_GRAVE_WORD_BYTES_SRC,
  ALTERED_UTF8_BYTES_SRC,
  ANSI_SRC,
  BADNESS_SRC,
  CHARMAP_ENCODINGS,
  CONTROL_CHARS,
  DECODING_TABLES,
  DOUBLE_QUOTE_SRC,
  HTML_ENTITIES,
  HTML_ENTITY_SRC,
  INVALID_CHARREFS,
  INVALID_CODEPOINTS,
  LIGATURES,
  LOSSY_UTF8_BYTES_SRC,
  SINGLE_QUOTE_SRC,
  UTF8_DETECTOR_SRC,
  WIDTH_MAP,
  WINDOWS_1252_STRICT,
} from "./ftfy_tables.ts";

/** ftfy's `max_decode_length`: longest segment, in code points. */
const MAX_DECODE_LENGTH = 1_000_000;

const BADNESS_RE = new RegExp(BADNESS_SRC, "u");
const UTF8_DETECTOR_RE = new RegExp(UTF8_DETECTOR_SRC, "gu");
const HTML_ENTITY_RE = new RegExp(HTML_ENTITY_SRC, "gu");
const ANSI_RE = new RegExp(ANSI_SRC, "gu");
const SINGLE_QUOTE_RE = new RegExp(SINGLE_QUOTE_SRC, "gu");
const DOUBLE_QUOTE_RE = new RegExp(DOUBLE_QUOTE_SRC, "gu");
const ALTERED_UTF8_RE = new RegExp(ALTERED_UTF8_BYTES_SRC, "gu");
const LOSSY_UTF8_RE = new RegExp(LOSSY_UTF8_BYTES_SRC, "gu");
const A_GRAVE_WORD_RE = new RegExp(A_GRAVE_WORD_BYTES_SRC, "gu");
const C1_CONTROL_RE = /[\x80-\x9f]/g;
const LINE_BREAK_RE = /\r\n|[\r\u2028\u2029\x85]/g;

const ENTITIES = new Map<string, string>(HTML_ENTITIES);
const CHARREFS = new Map<number, string>(INVALID_CHARREFS);
const INVALID_CP = new Set<number>(INVALID_CODEPOINTS);

function translateTable(pairs: ReadonlyArray<readonly [number, string]>) {
  const map = new Map<number, string>(pairs);
  const cls = [...map.keys()].map((c) => `\\u{${c.toString(16)}}`).join("");
  return { map, re: new RegExp(`[${cls}]`, "gu") };
}
const LIGATURE_TABLE = translateTable(LIGATURES);
const WIDTH_TABLE = translateTable(WIDTH_MAP);
const CONTROL_RE = new RegExp(
  `[${CONTROL_CHARS.map((c) => `\\u{${c.toString(16)}}`).join("")}]`,
  "gu",
);

/** Text that every fixer leaves alone: printable ASCII, tab, newline, form feed, no `&`. */
// deno-lint-ignore no-control-regex
const PLAIN_ASCII_RE = /^[\t\n\x0c\x20-\x25\x27-\x7e]*$/;

/** Per encoding: char -> byte (the inverse of its decoding table). */
const ENCODERS: ReadonlyMap<string, ReadonlyMap<string, number>> = new Map(
  CHARMAP_ENCODINGS.map((enc) => {
    const table = DECODING_TABLES[enc];
    const m = new Map<string, number>();
    for (let b = 255; b >= 0; b--) m.set(table[b], b);
    return [enc, m] as const;
  }),
);

// ---------------------------------------------------------------------------------------
// small fixers

/** `fixes.unescape_html`: decodes HTML entities that end in `;`. */
export function unescapeHtml(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(HTML_ENTITY_RE, (m) => {
    const known = ENTITIES.get(m);
    if (known !== undefined) return known;
    if (m.startsWith("&#")) {
      const decoded = decodeCharref(m);
      return decoded === null || decoded.includes(";") ? m : decoded;
    }
    return m;
  });
}

/** Python's `html.unescape` on a whole `&#...;` match, or null when it only decodes part. */
function decodeCharref(m: string): string | null {
  const body = m.slice(2, -1);
  let num: number;
  if (/^[0-9]+$/.test(body)) num = Number(body);
  else if (/^[xX][0-9a-fA-F]+$/.test(body)) num = parseInt(body.slice(1), 16);
  else return null;
  const fixed = CHARREFS.get(num);
  if (fixed !== undefined) return fixed;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
  if (INVALID_CP.has(num)) return "";
  return String.fromCodePoint(num);
}

/** `fixes.fix_c1_controls`: U+0080..U+009F read as windows-1252 (sloppy). */
export function fixC1Controls(text: string): string {
  const table = DECODING_TABLES["sloppy-windows-1252"];
  return text.replace(C1_CONTROL_RE, (c) => table[c.charCodeAt(0)]);
}

function translate(text: string, t: { map: Map<number, string>; re: RegExp }): string {
  return text.replace(t.re, (c) => t.map.get(c.codePointAt(0)!)!);
}

/** `fixes.fix_latin_ligatures`: `ﬁ` -> `fi` and the other Latin ligatures and digraphs. */
export function fixLatinLigatures(text: string): string {
  return translate(text, LIGATURE_TABLE);
}

/** `fixes.fix_character_width`: fullwidth / halfwidth forms (and U+3000) to normal width. */
export function fixCharacterWidth(text: string): string {
  return translate(text, WIDTH_TABLE);
}

/** `fixes.uncurl_quotes`: curly quotes to straight ones. */
export function uncurlQuotes(text: string): string {
  return text.replace(DOUBLE_QUOTE_RE, '"').replace(SINGLE_QUOTE_RE, "'");
}

/** `fixes.fix_line_breaks`: CRLF, CR, U+2028, U+2029, U+0085 to `\n`. */
export function fixLineBreaks(text: string): string {
  return text.replace(LINE_BREAK_RE, "\n");
}

/** `fixes.fix_surrogates`: lone surrogates become U+FFFD (pairs are already joined in JS). */
export function fixSurrogates(text: string): string {
  return text.toWellFormed();
}

/** `fixes.remove_terminal_escapes`: ANSI escape sequences. */
export function removeTerminalEscapes(text: string): string {
  return text.includes("\x1b") ? text.replace(ANSI_RE, "") : text;
}

/** `fixes.remove_control_chars`: C0 controls except whitespace, U+206A..F, BOM, U+FFF9..C. */
export function removeControlChars(text: string): string {
  return text.replace(CONTROL_RE, "");
}

// ---------------------------------------------------------------------------------------
// fix_encoding

/** `badness.is_bad`: does the text look like it contains mojibake? */
export function isBad(text: string): boolean {
  return BADNESS_RE.test(text);
}

/** `chardata.possible_encoding`: is every character of `text` encodable in `enc`? */
function encodeCharmap(text: string, enc: string): string | null {
  const m = ENCODERS.get(enc)!;
  let out = "";
  for (const ch of text) {
    const b = ch.length === 1 && ch.charCodeAt(0) < 0x80 && ch !== "\x1a"
      ? ch.charCodeAt(0)
      : m.get(ch);
    if (b === undefined) return null;
    out += String.fromCharCode(b);
  }
  return out;
}

/** `fixes.restore_byte_a0` on a binary string. */
function restoreByteA0(bytes: string): string {
  const b = bytes.replace(A_GRAVE_WORD_RE, "\xc3\xa0 ");
  return b.replace(ALTERED_UTF8_RE, (m) => m.replaceAll(" ", "\xa0"));
}

/** `fixes.replace_lossy_sequences` on a binary string. */
function replaceLossySequences(bytes: string): string {
  return bytes.replace(LOSSY_UTF8_RE, "\xef\xbf\xbd");
}

/**
 * Strict UTF-8 decoding of a binary string as Python does it (no overlongs, no surrogates,
 * nothing above U+10FFFF); with `variants`, also ftfy's utf-8-variants: `C0 80` is U+0000 and
 * CESU-8 surrogate pairs are joined. Returns null where Python raises UnicodeDecodeError.
 */
export function decodeUtf8(bytes: string, variants = false): string | null {
  const n = bytes.length;
  let out = "";
  let i = 0;
  const cont = (k: number) => k < n && (bytes.charCodeAt(k) & 0xc0) === 0x80;
  while (i < n) {
    const b0 = bytes.charCodeAt(i);
    if (b0 < 0x80) {
      out += bytes[i++];
      continue;
    }
    if (variants && b0 === 0xc0 && i + 1 < n && bytes.charCodeAt(i + 1) === 0x80) {
      out += "\0";
      i += 2;
      continue;
    }
    if (
      variants && b0 === 0xed && i + 5 < n && (bytes.charCodeAt(i + 1) & 0xf0) === 0xa0 &&
      cont(i + 2) && bytes.charCodeAt(i + 3) === 0xed &&
      (bytes.charCodeAt(i + 4) & 0xf0) === 0xb0 && cont(i + 5)
    ) {
      const cp = ((bytes.charCodeAt(i + 1) & 0x0f) << 16) +
        ((bytes.charCodeAt(i + 2) & 0x3f) << 10) +
        ((bytes.charCodeAt(i + 4) & 0x0f) << 6) + (bytes.charCodeAt(i + 5) & 0x3f) + 0x10000;
      out += String.fromCodePoint(cp);
      i += 6;
      continue;
    }
    let need: number, cp: number, min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) [need, cp, min] = [1, b0 & 0x1f, 0x80];
    else if (b0 >= 0xe0 && b0 <= 0xef) [need, cp, min] = [2, b0 & 0x0f, 0x800];
    else if (b0 >= 0xf0 && b0 <= 0xf4) [need, cp, min] = [3, b0 & 0x07, 0x10000];
    else return null;
    for (let k = 1; k <= need; k++) {
      if (!cont(i + k)) return null;
      cp = (cp << 6) | (bytes.charCodeAt(i + k) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** One step of `fix_encoding_and_explain` (default config). */
function fixEncodingOneStep(text: string): string {
  if (text.length === 0) return text;
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(text) || !isBad(text)) return text;
  const possible: string[] = [];
  for (const enc of CHARMAP_ENCODINGS) {
    let bytes = encodeCharmap(text, enc);
    if (bytes === null) continue;
    possible.push(enc);
    ALTERED_UTF8_RE.lastIndex = 0;
    if (enc !== "macroman" && ALTERED_UTF8_RE.test(bytes)) bytes = restoreByteA0(bytes);
    ALTERED_UTF8_RE.lastIndex = 0;
    if (enc.startsWith("sloppy")) bytes = replaceLossySequences(bytes);
    const variants = bytes.includes("\xed") || bytes.includes("\xc0");
    const fixed = decodeUtf8(bytes, variants);
    if (fixed !== null) return fixed;
  }
  UTF8_DETECTOR_RE.lastIndex = 0;
  if (UTF8_DETECTOR_RE.test(text)) {
    UTF8_DETECTOR_RE.lastIndex = 0;
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }
  if (possible.includes("latin-1")) {
    // ("windows-1252" is never among the possible encodings: only its sloppy variant is tried)
    let fixed = "";
    let ok = true;
    for (let i = 0; i < text.length; i++) {
      const ch = WINDOWS_1252_STRICT[text.charCodeAt(i)];
      if (ch === "\ufffd") {
        ok = false;
        break;
      }
      fixed += ch;
    }
    if (ok && fixed !== text) return fixed;
  }
  C1_CONTROL_RE.lastIndex = 0;
  if (C1_CONTROL_RE.test(text)) {
    C1_CONTROL_RE.lastIndex = 0;
    return fixC1Controls(text);
  }
  return text;
}

/** `fixes.decode_inconsistent_utf8`: fixes UTF-8 mojibake embedded in other text. */
function decodeInconsistentUtf8(text: string): string {
  return text.replace(UTF8_DETECTOR_RE, (m) => {
    return m.length < text.length && isBad(m) ? fixEncoding(m) : m;
  });
}

/** `ftfy.fix_encoding`: repeats the encoding fix until the text stops changing. */
export function fixEncoding(text: string): string {
  while (true) {
    const prev = text;
    text = fixEncodingOneStep(text);
    if (text === prev) return text;
  }
}

// ---------------------------------------------------------------------------------------
// fix_text

/** `fix_and_explain` for one segment, with the default configuration. */
function fixSegment(text: string, unescape: boolean): string {
  while (true) {
    const orig = text;
    if (unescape) text = unescapeHtml(text);
    text = fixEncoding(text);
    text = fixC1Controls(text);
    text = fixLatinLigatures(text);
    text = fixCharacterWidth(text);
    text = uncurlQuotes(text);
    text = fixLineBreaks(text);
    text = fixSurrogates(text);
    text = removeTerminalEscapes(text);
    text = removeControlChars(text);
    text = text.normalize("NFC");
    if (text === orig) return text;
  }
}

/** Index just past `count` code points from `start` (or the end of `s`). */
function advanceCodePoints(s: string, start: number, count: number): number {
  let i = start;
  for (let k = 0; k < count && i < s.length; k++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
        (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
      ? 2
      : 1;
  }
  return i;
}

/**
 * `ftfy.fix_text(text)` with ftfy's default configuration (see the module doc for what is
 * covered). Works line by line; never throws for any JavaScript string.
 *
 * @example
 * ```ts
 * fixText("ＬＯＵＤ\u3000ＮＯＩＳＥＳ"); // "LOUD NOISES"
 * fixText("“Curly” quotes"); // '"Curly" quotes'
 * ```
 */
export function fixText(text: string): string {
  if (PLAIN_ASCII_RE.test(text)) return text;
  const out: string[] = [];
  let unescape = true;
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    let end = nl === -1 ? text.length : nl + 1;
    if (end - pos > MAX_DECODE_LENGTH) {
      end = Math.min(end, advanceCodePoints(text, pos, MAX_DECODE_LENGTH));
    }
    const segment = text.slice(pos, end);
    if (unescape && segment.includes("<")) unescape = false;
    out.push(PLAIN_ASCII_RE.test(segment) ? segment : fixSegment(segment, unescape));
    pos = end;
  }
  return out.join("");
}
