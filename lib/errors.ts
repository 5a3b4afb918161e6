/**
 * One error class per kind of failure (data, config, checkpoint), each naming
 * the file (and line, where there is one) and saying how to fix it.
 *
 * @example
 * ```ts
 * import { DataError } from "./errors.ts";
 * throw new DataError("expected 4 tab-separated columns, got 3", {
 *   file: "CoLA/train.tsv", line: 17, fix: "check the row for a stray tab",
 * });
 * ```
 * @module
 */

/** Where an error happened and what to do about it. */
export interface ErrorPlace {
  /** The file involved, as the user gave it. */
  file?: string;
  /** 1-based line number in `file`, when the error is about one line. */
  line?: number;
  /** A short instruction that fixes the problem. */
  fix?: string;
}

function describe(kind: string, message: string, place: ErrorPlace): string {
  const where = place.file
    ? `${place.file}${place.line !== undefined ? `:${place.line}` : ""}: `
    : "";
  const fix = place.fix ? ` (fix: ${place.fix})` : "";
  return `${kind}: ${where}${message}${fix}`;
}

/** Base class: carries `file`, `line` and `fix` as fields as well as in the message. */
export class Gpt1LabError extends Error {
  /** The file involved, if any. */
  readonly file?: string;
  /** 1-based line, if any. */
  readonly line?: number;
  /** How to fix it, if known. */
  readonly fix?: string;
  /** Builds the message `kind: file:line: message (fix: ...)`. */
  constructor(kind: string, message: string, place: ErrorPlace = {}) {
    super(describe(kind, message, place));
    this.name = kind;
    this.file = place.file;
    this.line = place.line;
    this.fix = place.fix;
  }
}

/** Bad or missing input data: corpus files, benchmark files, vocabulary files. */
export class DataError extends Gpt1LabError {
  /** See {@link Gpt1LabError}. */
  constructor(message: string, place: ErrorPlace = {}) {
    super("DataError", message, place);
  }
}

/** An invalid configuration: unknown keys, wrong types, impossible values. */
export class ConfigError extends Gpt1LabError {
  /** See {@link Gpt1LabError}. */
  constructor(message: string, place: ErrorPlace = {}) {
    super("ConfigError", message, place);
  }
}

/** A checkpoint that cannot be read: truncated, corrupt, or of the wrong shape. */
export class CheckpointError extends Gpt1LabError {
  /** See {@link Gpt1LabError}. */
  constructor(message: string, place: ErrorPlace = {}) {
    super("CheckpointError", message, place);
  }
}
