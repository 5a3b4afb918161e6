/**
 * gpt1-lab: the public API. Notebooks, `cli.ts`, tests and users import from here.
 * @module
 */
export * from "./errors.ts";
export * from "./fsutil.ts";
