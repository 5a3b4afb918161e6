/**
 * `text_standardize` of the released GPT-1 code (`finetune-transformer-lm/text_utils.py`):
 * dashes and ellipsis to ASCII, runs of punctuation padded with spaces, whitespace around
 * newlines collapsed to ` \n `, other whitespace runs to one space, then strip.
 * "Whitespace" is Python's (`str.isspace`), which is wider than JavaScript's `\s`.
 *
 * @example
 * ```ts
 * import { textStandardize } from "./standardize.ts";
 * textStandardize("Hello—world…"); // "Hello - world..."
 * textStandardize("wait...  what?\n\nok"); // "wait... what ? \n ok"
 * ```
 * @module
 */
import { isPySpace } from "./pystr.ts";

/**
 * `(-+|~+|!+|"+|;+|\?+|\++|,+|\)+|\(+|\\+|\/+|\*+|\[+|\]+|}+|{+|\|+|_+)`: at any position the
 * alternative that matches is the run of the character found there, so this is the same
 * pattern as "one of these characters, then more of the same".
 */
const PUNCT_RUNS_RE = /([-~!";?+,)(\\/*[\]}{|_])\1*/g;

/**
 * The released `text_standardize(text)`:
 * ```python
 * text = text.replace('—', '-').replace('–', '-').replace('―', '-')
 * text = text.replace('…', '...').replace('´', "'")
 * text = re.sub(r'''(-+|~+|!+|"+|;+|\?+|\++|,+|\)+|\(+|\\+|\/+|\*+|\[+|\]+|}+|{+|\|+|_+)''',
 *               r' \1 ', text)
 * text = re.sub(r'\s*\n\s*', ' \n ', text)
 * text = re.sub(r'[^\S\n]+', ' ', text)
 * return text.strip()
 * ```
 * The two whitespace substitutions replace each maximal whitespace run by ` \n ` when it
 * holds a newline, else by one space; {@link collapseSpace} does that in one linear pass
 * (Python's first pattern is quadratic on long runs of spaces).
 *
 * @example
 * ```ts
 * textStandardize('He said "hi"!!'); // 'He said " hi " !!'
 * ```
 */
export function textStandardize(text: string): string {
  text = text.replaceAll("\u2014", "-").replaceAll("\u2013", "-").replaceAll("\u2015", "-")
    .replaceAll("\u2026", "...").replaceAll("\u00b4", "'");
  text = text.replace(PUNCT_RUNS_RE, " $& ");
  return collapseSpace(text);
}

/**
 * Each maximal run of Python whitespace becomes ` \n ` if it holds a newline, else one
 * space (a lone space stays as it is); leading and trailing whitespace goes (`strip()`).
 */
export function collapseSpace(text: string): string {
  const n = text.length;
  let a = 0;
  while (a < n && isPySpace(text.charCodeAt(a))) a++;
  let b = n;
  while (b > a && isPySpace(text.charCodeAt(b - 1))) b--;
  let out = "";
  let copied = a; // text[a, copied) is in `out`
  for (let i = a; i < b; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x20 && c < 0x7f) continue; // (cheap test first: printable ASCII)
    if (!isPySpace(c)) continue;
    let j = i + 1;
    let newline = c === 0x0a;
    while (j < b) {
      const d = text.charCodeAt(j);
      if (!isPySpace(d)) break;
      if (d === 0x0a) newline = true;
      j++;
    }
    if (newline || j - i > 1 || c !== 0x20) {
      out += text.slice(copied, i) + (newline ? " \n " : " ");
      copied = j;
    }
    i = j - 1;
  }
  if (copied === a && b === n && a === 0) return text;
  return out + text.slice(copied, b);
}
