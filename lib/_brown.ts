/**
 * Internal: the Brown Corpus's tagged tokens (`word/tag`) turned back into plain text, for the
 * embedded corpus (`corpus.ts` re-exports {@link brownToText}).
 *
 * @example
 * ```ts
 * import { brownToText } from "./_brown.ts";
 * brownToText("The/at jury/nn said/vbd ./."); // "The jury said."
 * ```
 * @module
 */

const ATTACH_LEFT = new Set([",", ".", ";", ":", "?", "!", ")", "]", "}"]);
const ATTACH_RIGHT = new Set(["(", "[", "{"]);
const DOUBLED = new Set([";", "?", "!"]);

/**
 * Turns Brown Corpus form C (`word/tag` tokens, one sentence per line, paragraphs separated
 * by blank lines) into plain text:
 * - each token loses its tag: the text after the **last** `/` (`1/2/cd` → `1/2`);
 * - ``` `` ``` and `''` become `"`, opening (no space after) and closing (no space before);
 *   a lone `'` alternates between opening and closing within a paragraph;
 * - `, . ; : ? ! ) ] }` attach to the word before, `( [ {` to the word after; everything else
 *   (words, `--`, `&`) is separated by one space; contractions and possessives are single
 *   tokens in Brown (`didn't`, `Atlanta's`) and need nothing;
 * - a doubled `;`, `?` or `!` (Brown writes each of them twice: `;/. ;/.`) and a `.` right
 *   after a word ending in `.` (`Jr./np ./.`) are written once;
 * - sentences of one paragraph are joined by a space, paragraphs by a blank line.
 *
 * @example
 * ```ts
 * brownToText("\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.");
 * // 'The jury said "no".'
 * ```
 */
export function brownToText(tagged: string): string {
  const paragraphs: string[] = [];
  for (const block of tagged.split(/\n[ \t]*\n/)) {
    let out = "";
    let glueNext = false; // the previous token attaches to the next one
    let singleOpen = false;
    let prev = "";
    for (const tok of block.split(/\s+/)) {
      if (tok === "") continue;
      const slash = tok.lastIndexOf("/");
      let word = slash > 0 ? tok.slice(0, slash) : tok;
      // Brown writes every `;`, `?` and `!` twice (`;/. ;/.`) and ends a sentence after an
      // abbreviation with a second period (`Jr./np ./.`): keep one.
      const repeated = (DOUBLED.has(word) && prev === word) || (word === "." && prev.endsWith("."));
      prev = word;
      if (repeated) continue;
      let left = false, right = false;
      if (word === "``") [word, right] = ['"', true];
      else if (word === "''") [word, left] = ['"', true];
      else if (word === "'") {
        if (singleOpen) left = true;
        else right = true;
        singleOpen = !singleOpen;
      } else if (ATTACH_LEFT.has(word)) left = true;
      else if (ATTACH_RIGHT.has(word)) right = true;
      if (out !== "" && !glueNext && !left) out += " ";
      out += word;
      glueNext = right;
    }
    if (out !== "") paragraphs.push(out);
  }
  return paragraphs.join("\n\n");
}
