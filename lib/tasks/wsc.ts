/**
 * Winograd Schema Challenge loader: `WSCollection.xml` (Davis, Levesque & Morgenstern),
 * ISO-8859-1. Each `<schema>` holds `<text>` = `<txt1>` `<pron>` `<txt2>`, two `<answer>`s and
 * `<correctAnswer>` (`A` / `B`, sometimes `A.` with spaces). Whitespace inside elements is
 * irregular: runs are collapsed and ends trimmed. The first 273 schemas are WSC273, the set
 * language-model papers report on; the zero-shot probe (`zeroshot.ts`) uses it in place of the
 * paper's DPRD (not public in a usable form).
 *
 * @example
 * ```ts
 * import { loadWsc, wscSubstitute } from "./wsc.ts";
 * const { examples } = await loadWsc("../shared/datasets/WSC"); // 273 schemas
 * wscSubstitute(examples[0], 0);
 * // { prefix: "The city councilmen refused the demonstrators a permit because the city councilmen",
 * //   rest: " feared violence." }
 * ```
 * @module
 */
import { DataError } from "../errors.ts";
import { existsSync } from "../fsutil.ts";
import {
  BadRows,
  collapseSpace,
  type ExampleBase,
  findFile,
  type LoadOptions,
  type LoadResult,
} from "./common.ts";

/** One Winograd schema. */
export interface WscExample extends ExampleBase {
  /** Text before the pronoun. */
  txt1: string;
  /** The ambiguous pronoun, as written. */
  pronoun: string;
  /** Text after the pronoun (may start with punctuation). */
  txt2: string;
  /** The whole sentence: `txt1 pronoun txt2`. */
  text: string;
  /** The two candidate referents, as written (capitalised as in the sentence). */
  candidates: [string, string];
  /** 0 when `A` is right, 1 when `B` is. */
  label: number;
  /** The `<source>` element (e.g. "(Winograd 1972)"). */
  origin: string;
}

/** Which schemas to return: the standard WSC273 (first 273) or all 285. */
export type WscSubset = "wsc273" | "all";

const OBTAIN = "https://cs.nyu.edu/~davise/papers/WinogradSchemas/WSCollection.xml";

/** Joins sentence pieces with one space, without a space before punctuation. */
export function joinPieces(...parts: string[]): string {
  let out = "";
  for (const p of parts) {
    if (p === "") continue;
    out = out === "" || /^[.,;:!?')\]]/.test(p) ? out + p : `${out} ${p}`;
  }
  return out;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const k = e.toLowerCase();
    if (k[0] === "#") {
      return String.fromCodePoint(k[1] === "x" ? parseInt(k.slice(2), 16) : parseInt(k.slice(1)));
    }
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[k] ?? _;
  });
}

/** Inner text of the first `<tag>` in `xml`, whitespace collapsed; null when absent. */
function element(xml: string, tag: string): string | null {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? collapseSpace(decodeEntities(m[1])) : null;
}

/**
 * Loads WSC from a folder holding `WSCollection.xml` (or from the file itself).
 * Decoding: ISO-8859-1 as declared (the WHATWG `latin1` label, i.e. windows-1252, which agrees
 * with ISO-8859-1 on every printable character).
 */
export async function loadWsc(
  dirOrFile: string,
  subset: WscSubset = "wsc273",
  opts: LoadOptions = {},
): Promise<LoadResult<WscExample>> {
  const file = dirOrFile.endsWith(".xml") && existsSync(dirOrFile)
    ? dirOrFile
    : findFile("WSC", "collection", dirOrFile, ["WSCollection.xml"], OBTAIN);
  const xml = new TextDecoder("latin1").decode(await Deno.readFile(file));
  const bad = new BadRows(opts.onBadRow);
  const examples: WscExample[] = [];
  const re = /<schema>([\s\S]*?)<\/schema>/g;
  let schemaIndex = 0;
  let lineAt = 1;
  let scanned = 0;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    // 1-based line of this <schema>
    for (let i = scanned; i < m.index; i++) if (xml.charCodeAt(i) === 10) lineAt++;
    scanned = m.index;
    const line = lineAt;
    const index = schemaIndex++;
    if (subset === "wsc273" && index >= 273) break;
    const body = m[1];
    const textXml = /<text>([\s\S]*?)<\/text>/.exec(body)?.[1];
    const txt1 = textXml === undefined ? null : element(textXml, "txt1");
    const pronoun = textXml === undefined ? null : element(textXml, "pron");
    const txt2 = textXml === undefined ? null : element(textXml, "txt2");
    if (txt1 === null || pronoun === null || txt2 === null || pronoun === "") {
      bad.bad(file, line, "schema lacks <text> with <txt1>, <pron> and <txt2>");
      continue;
    }
    const answersXml = /<answers>([\s\S]*?)<\/answers>/.exec(body)?.[1] ?? "";
    const answers = [...answersXml.matchAll(/<answer>([\s\S]*?)<\/answer>/g)].map((a) =>
      collapseSpace(decodeEntities(a[1]))
    );
    if (answers.length !== 2 || answers.some((a) => a === "")) {
      bad.bad(file, line, `expected 2 non-empty <answer>s, got ${answers.length}`);
      continue;
    }
    const correct = (element(body, "correctAnswer") ?? "").replace(/[.\s]/g, "").toUpperCase();
    if (correct !== "A" && correct !== "B") {
      bad.bad(file, line, `<correctAnswer> is '${correct}', expected A or B`);
      continue;
    }
    examples.push({
      id: String(index),
      txt1,
      pronoun,
      txt2,
      text: joinPieces(txt1, pronoun, txt2),
      candidates: [answers[0], answers[1]],
      label: correct === "A" ? 0 : 1,
      origin: element(body, "source") ?? "",
      source: `${file}:${line}`,
    });
    if (opts.limit !== undefined && examples.length >= opts.limit) break;
  }
  if (schemaIndex === 0) {
    throw new DataError("no <schema> elements found", {
      file,
      fix: `download WSCollection.xml again from ${OBTAIN}`,
    });
  }
  return bad.result(examples, file);
}

const POSSESSIVE = new Set(["his", "its", "their"]);

/**
 * The sentence with candidate `k` in place of the pronoun, split where the zero-shot "partial"
 * score of Trinh & Le (2018) splits it: `prefix` (up to and including the candidate) and `rest`
 * (the tokens scored). Possessive `his` / `its` / `their` become `candidate's`; `her` is left
 * as a plain substitution (it is ambiguous between object and possessive). A candidate written
 * "The ..." is lower-cased to "the ..." unless it starts the sentence.
 */
export function wscSubstitute(ex: WscExample, k: 0 | 1): { prefix: string; rest: string } {
  let cand = ex.candidates[k];
  if (POSSESSIVE.has(ex.pronoun.toLowerCase())) cand += "'s";
  // a sentence-initial candidate keeps its capital; otherwise lower "The x" -> "the x"
  if (ex.txt1 !== "" && /^The /.test(cand)) cand = "t" + cand.slice(1);
  const prefix = joinPieces(ex.txt1, cand);
  const full = joinPieces(prefix, ex.txt2);
  return { prefix, rest: full.slice(prefix.length) };
}
