/**
 * Vocabulary folders: the released GPT-1 files ({@link releasedVocabFiles}), loading and
 * saving a tokenizer's two files, and the tokenizer as the token cache's encoder.
 *
 * @example
 * ```ts
 * import { loadVocab } from "./vocab.ts";
 * const tok = await loadVocab("results/small/vocab");
 * tok.encode("Hello world");
 * ```
 * @module
 */
import { join, resolve } from "node:path";
import type { TokenEncoder } from "./data.ts";
import { DataError } from "./errors.ts";
import { exists, REPO_ROOT, writeFileAtomic } from "./fsutil.ts";
import { Gpt1Tokenizer } from "./tokenizer/bpe.ts";
import { formatEncoderJson, formatMerges } from "./tokenizer/formats.ts";

/** File names of a vocabulary folder (the released names). */
export const VOCAB_FILES = { encoder: "encoder_bpe.json", merges: "vocab.bpe" } as const;

/**
 * Where the released GPT-1 vocabulary is: `$GPT1_VOCAB`, else `../shared/gpt1-vocab` beside the
 * checkout. Returns the two file paths, or throws DataError saying where to get them.
 */
export async function releasedVocabFiles(): Promise<{ encoder: string; merges: string }> {
  const dir = Deno.env.get("GPT1_VOCAB") ?? resolve(REPO_ROOT, "..", "shared", "gpt1-vocab");
  const encoder = join(dir, "encoder_bpe_40000.json"), merges = join(dir, "vocab_40000.bpe");
  if (!(await exists(encoder)) || !(await exists(merges))) {
    throw new DataError("the released GPT-1 vocabulary is not here", {
      file: dir,
      fix: "set GPT1_VOCAB to a folder with encoder_bpe_40000.json and vocab_40000.bpe " +
        "(from github.com/openai/finetune-transformer-lm, folder model/)",
    });
  }
  return { encoder, merges };
}

/** Loads a tokenizer from a vocabulary folder written by {@link saveVocab} or the released one. */
export async function loadVocab(dir: string): Promise<Gpt1Tokenizer> {
  if (dir === "gpt1") {
    const f = await releasedVocabFiles();
    return await Gpt1Tokenizer.fromFiles(f.encoder, f.merges);
  }
  const released = join(dir, "encoder_bpe_40000.json");
  if (await exists(released)) {
    return await Gpt1Tokenizer.fromFiles(released, join(dir, "vocab_40000.bpe"));
  }
  return await Gpt1Tokenizer.fromFiles(
    join(dir, VOCAB_FILES.encoder),
    join(dir, VOCAB_FILES.merges),
  );
}

/** Writes a tokenizer's two files into `dir` (atomically). */
export async function saveVocab(tok: Gpt1Tokenizer, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const { encoderJson, merges } = tokenizerFiles(tok);
  await writeFileAtomic(join(dir, VOCAB_FILES.encoder), encoderJson);
  await writeFileAtomic(join(dir, VOCAB_FILES.merges), merges);
}

function tokenizerFiles(tok: Gpt1Tokenizer): { encoderJson: string; merges: string } {
  return { encoderJson: formatEncoderJson(tok.pieces), merges: formatMerges(tok.bpe.merges) };
}

/** The tokenizer as a {@link TokenEncoder} for the token cache (separator: `\n</w>` if known). */
export function asEncoder(tok: Gpt1Tokenizer): TokenEncoder {
  const sep = tok.tokenToId("\n</w>");
  return {
    encode: (t) => tok.encode(t),
    vocabSize: tok.vocabSize,
    hash: tok.hash,
    separatorId: sep > 0 ? sep : undefined,
  };
}
