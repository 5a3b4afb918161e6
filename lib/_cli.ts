/**
 * Internal to the command line: the command and option types, help text, flag parsing, and the
 * options several commands share (backend, datasets and cache folders, the fine-tuning sweeps).
 *
 * @example
 * ```ts
 * import { define, str, strOpt } from "./_cli.ts";
 * const hello = define("hello --name N", "greets", "Prints a greeting.", {
 *   name: strOpt("who"),
 * }, async (v) => console.log(`hello ${str(v.name, "name", "world")}`));
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { FINETUNE_DEFAULTS as FT } from "./config.ts";
import { ConfigError } from "./errors.ts";
import type { SweepOptions } from "./sweeps.ts";
import type { BackendChoice } from "./backend.ts";

/** One option of a command, in `node:util` `parseArgs` form plus a description. */
export interface OptionSpec {
  /** `string` or `boolean`. */
  type: "string" | "boolean";
  /** One-letter alias. */
  short?: string;
  /** Allow the flag more than once. */
  multiple?: boolean;
  /** Default value. */
  default?: string | boolean;
  /** What it does (for `--help`). */
  description?: string;
}

/** A command of `deno task gpt1`. */
export interface Command {
  /** One-line summary for the command list. */
  summary: string;
  /** Options accepted (passed to `parseArgs`). */
  options: Record<string, OptionSpec>;
  /** Full help text. */
  help(): string;
  /** Runs the command; returns an exit code (0 when undefined). */
  run(
    values: Record<string, string | boolean | string[] | undefined>,
    positionals: string[],
  ): Promise<number | void>;
}

/** Builds a help text from a usage line, a description and the options. */
export function helpText(
  usage: string,
  about: string,
  options: Record<string, OptionSpec>,
): string {
  const rows = Object.entries(options).map(([k, o]) => {
    const flag = `--${k}${o.type === "string" ? " <value>" : ""}`;
    const def = o.default !== undefined ? ` (default: ${o.default})` : "";
    return `  ${flag.padEnd(28)} ${o.description ?? ""}${def}`;
  });
  return [`usage: deno task gpt1 ${usage}`, "", about, "", "options:", ...rows].join("\n");
}

/** A string flag (`def` when absent; ConfigError when absent and there is no default). */
export function str(v: unknown, name: string, def?: string): string {
  if (typeof v === "string") return v;
  if (def !== undefined) return def;
  throw new ConfigError(`--${name} is required`);
}

/** An integer flag (`def` when absent). */
export function int(v: unknown, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`--${name} must be an integer, got ${v}`);
  return n;
}

/** An optional integer flag: undefined when absent. */
export function optInt(v: unknown, name: string): number | undefined {
  return v === undefined ? undefined : int(v, name, 0);
}

/** `--vocab`, or the `vocab/` folder that `pretrain` writes beside its checkpoints. */
export function vocabDirFor(ckpt: string, vocab: unknown): string {
  return str(vocab, "vocab", join(dirname(ckpt), "vocab"));
}

/** A number flag (`def` when absent). */
export function num(v: unknown, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ConfigError(`--${name} must be a number, got ${v}`);
  return n;
}

/** A repeatable flag as a list (empty when absent). */
export function list(v: unknown): string[] {
  return Array.isArray(v) ? v as string[] : typeof v === "string" ? [v] : [];
}

/** A command from its usage line, summary, description, options and `run`. */
export function define(
  usage: string,
  summary: string,
  about: string,
  options: Record<string, OptionSpec>,
  run: Command["run"],
): Command {
  return { summary, options, help: () => helpText(usage, about, options), run };
}

/** A string option: what it does (for `--help`) and, when given, its default. */
export function strOpt(description: string, def?: string): OptionSpec {
  return def === undefined
    ? { type: "string", description }
    : { type: "string", default: def, description };
}

/** A boolean flag: what it does (for `--help`). */
export function flag(description: string): OptionSpec {
  return { type: "boolean", description };
}

/** `--backend`. */
export const BACKEND_OPT: OptionSpec = strOpt(
  "force a backend: tensorflow | webgpu | wasm | cpu (else GPT1_BACKEND, else search)",
);

// the folders' defaults live in settings.ts (loaded when a command runs, not for --help)
/** `--data`. */
export const DATA_OPT: OptionSpec = strOpt(
  "datasets folder (default $GPT1_DATA or ../shared/datasets)",
);
/** `--cache-dir`. */
export const CACHE_OPT: OptionSpec = strOpt(
  "vocabulary and token-cache folder (default results/_cache)",
);
/** The datasets folder when `--data` is absent (settings.ts). */
export const dataRootDefault = async () => (await import("./settings.ts")).defaultDataRoot();
/** The cache folder when `--cache-dir` is absent (settings.ts). */
export const cacheDirDefault = async () => (await import("./settings.ts")).defaultCacheDir();

/** Selects the backend `--backend` names (else the search); `quiet` drops its log line. */
export async function useBackend(
  v: Record<string, unknown>,
  quiet = false,
): Promise<BackendChoice> {
  const { selectBackend } = await import("./backend.ts");
  const force = v.backend as string | undefined;
  return await selectBackend(quiet ? { force, log: () => {} } : { force });
}

/** The options both fine-tuning sweeps (`table5`, `ablate-layers`) take; `per` ends the caps' text. */
export function sweepOptions(per: string): Record<string, OptionSpec> {
  return {
    init: strOpt("pre-trained checkpoint"),
    vocab: strOpt("vocabulary folder (default: <checkpoint folder>/vocab)"),
    data: DATA_OPT,
    "max-train": strOpt(`cap on training examples${per}`),
    "max-eval": strOpt(`cap on evaluation examples${per}`),
    epochs: strOpt("epochs", String(FT.epochs)),
    lr: strOpt("peak learning rate", FT.lr.toExponential()),
    seed: strOpt("seed", String(FT.seed)),
    backend: BACKEND_OPT,
  };
}

/** The {@link sweepOptions} parsed, with the sweep's output folder. */
export async function sweepArgs(
  v: Record<string, unknown>,
  outDir: string,
): Promise<SweepOptions> {
  const { loadVocab } = await import("./vocab.ts");
  const ckpt = str(v.init, "init");
  return {
    ckpt,
    tokenizer: await loadVocab(vocabDirFor(ckpt, v.vocab)),
    dataRoot: str(v.data, "data", await dataRootDefault()),
    outDir,
    maxTrain: optInt(v["max-train"], "max-train"),
    maxEval: optInt(v["max-eval"], "max-eval"),
    epochs: int(v.epochs, "epochs", FT.epochs),
    lr: num(v.lr, "lr", FT.lr),
    seed: int(v.seed, "seed", FT.seed),
    skipDone: Boolean(v.resume),
  };
}
