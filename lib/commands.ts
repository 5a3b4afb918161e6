/**
 * The command-line commands as data: name → options, help, and a `run` that calls the library.
 * `cli.ts` parses `Deno.args` and dispatches here; tests call `run` directly.
 * @module
 */

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
export function helpText(usage: string, about: string, options: Record<string, OptionSpec>): string {
  const rows = Object.entries(options).map(([k, o]) => {
    const flag = `--${k}${o.type === "string" ? " <value>" : ""}`;
    const def = o.default !== undefined ? ` (default: ${o.default})` : "";
    return `  ${flag.padEnd(28)} ${o.description ?? ""}${def}`;
  });
  return [`usage: deno task gpt1 ${usage}`, "", about, "", "options:", ...rows].join("\n");
}

/** Every command, by name. Filled in as the library grows. */
export const COMMANDS: Record<string, Command> = {};
