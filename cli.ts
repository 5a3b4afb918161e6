/**
 * The command line: `deno task gpt1 <command> [options]` (`deno task gpt1 --help` lists them).
 * Thin: each command parses its flags and calls `lib/`.
 * @module
 */
import { parseArgs } from "node:util";
import { Gpt1LabError } from "./lib/errors.ts";
import { COMMANDS } from "./lib/commands.ts";

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`);
  return [
    "usage: deno task gpt1 <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "`deno task gpt1 <command> --help` describes a command's options.",
  ].join("\n");
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(cmd.help());
    return 0;
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: cmd.options,
      allowPositionals: true,
      strict: true,
    }) as { values: typeof values; positionals: string[] });
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}\n\n${cmd.help()}`);
    return 2;
  }
  try {
    return (await cmd.run(values, positionals)) ?? 0;
  } catch (e) {
    if (e instanceof Gpt1LabError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
