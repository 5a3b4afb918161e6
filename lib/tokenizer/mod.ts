/**
 * The GPT-1 tokenizer (the released pipeline: ftfy -> text_standardize -> spaCy English
 * tokens -> lowercase -> BPE with `</w>`) and a BPE trainer writing the same file formats.
 *
 * @example
 * ```ts
 * import { Gpt1Tokenizer } from "./mod.ts";
 * const tok = await Gpt1Tokenizer.fromFiles(
 *   "../shared/gpt1-vocab/encoder_bpe_40000.json",
 *   "../shared/gpt1-vocab/vocab_40000.bpe",
 * );
 * tok.encode("the president is"); // [481, 4735, 544]
 * ```
 * @module
 */
export {
  Gpt1Tokenizer,
  gpt1Words,
  normalizeText,
  SPECIAL_TOKEN_NAMES,
  type SpecialTokens,
} from "./bpe.ts";
export { Bpe, END_OF_WORD } from "./merge.ts";
export {
  formatEncoderJson,
  formatMerges,
  parseEncoderJson,
  parseMerges,
  type VocabNames,
} from "./formats.ts";
export { BpeTrainer, type BpeTrainerOptions, type BpeVocab } from "./trainer.ts";
export { fixEncoding, fixText } from "./fix_text.ts";
export { textStandardize } from "./standardize.ts";
export { pretokenize, SpacyEnglishTokenizer, type SpacyTokenizerOptions } from "./pretokenize.ts";
export { pyLower, pyStrip } from "./pystr.ts";
