/**
 * The few Python `str` semantics the released pipeline relies on, exactly as Python 3.11
 * (Unicode 14) has them: `isspace()`, `strip()` and `lower()`. JavaScript's `\s`, `trim()`
 * and `toLowerCase()` differ on some characters (U+001C..U+001F and U+0085 are whitespace
 * for Python; JavaScript lowers characters added after Unicode 14).
 *
 * @example
 * ```ts
 * import { pyLower, pyStrip } from "./pystr.ts";
 * pyStrip("\x1c hi \x85"); // "hi"
 * pyLower("ÉCOLE ΟΔΟΣ"); // "école οδος"
 * ```
 * @module
 */
import { PY_LOWER_HIGH, PY_SPACE_CLASS } from "./spacy_tables.ts";

const SPACE_TABLE: Uint8Array = (() => {
  const t = new Uint8Array(0x3001);
  const re = new RegExp(PY_SPACE_CLASS, "u");
  for (let c = 0; c < t.length; c++) t[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return t;
})();

/** True when the UTF-16 code unit `c` is whitespace for Python (all of it lies in the BMP). */
export function isPySpace(c: number): boolean {
  return c < 0x3001 && SPACE_TABLE[c] === 1;
}

/** Python's `str.strip()`. */
export function pyStrip(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && isPySpace(text.charCodeAt(a))) a++;
  while (b > a && isPySpace(text.charCodeAt(b - 1))) b--;
  return a === 0 && b === text.length ? text : text.slice(a, b);
}

const LOWER_HIGH = new Map<number, number>();
for (const [first, last, step, delta] of PY_LOWER_HIGH) {
  for (let c = first; c <= last; c += step) LOWER_HIGH.set(c, c + delta);
}

/** Characters at or above U+1C80 (a surrogate half stands for an astral character). */
const HIGH_RE = /[\u1c80-\uffff]/;

const CASED_RE = /\p{Cased}/u;
const CASE_IGNORABLE_RE = /\p{Case_Ignorable}/u;

/** Python's Final_Sigma test for the `Σ` at `i` of the code points `cps`. */
function finalSigma(cps: string[], i: number): boolean {
  let j = i - 1;
  while (j >= 0 && CASE_IGNORABLE_RE.test(cps[j])) j--;
  if (j < 0 || !CASED_RE.test(cps[j])) return false;
  j = i + 1;
  while (j < cps.length && CASE_IGNORABLE_RE.test(cps[j])) j++;
  return j === cps.length || !CASED_RE.test(cps[j]);
}

/**
 * Python's `str.lower()`: JavaScript's `toLowerCase()` below U+1C80 (the same mappings,
 * final sigma included) and Python's own table at and above it.
 */
export function pyLower(text: string): string {
  if (!HIGH_RE.test(text)) return text.toLowerCase();
  const cps = Array.from(text);
  let out = "";
  for (let i = 0; i < cps.length; i++) {
    const ch = cps[i];
    const c = ch.codePointAt(0)!;
    if (c === 0x3a3) out += finalSigma(cps, i) ? "\u03c2" : "\u03c3";
    else if (c < 0x1c80) out += ch.toLowerCase();
    else {
      const l = LOWER_HIGH.get(c);
      out += l === undefined ? ch : String.fromCodePoint(l);
    }
  }
  return out;
}
