/**
 * Test helpers: where `../shared` is, and a one-line skip message when it is absent.
 * Assertions come from `node:assert/strict` (JSR, home of @std/assert, is not reachable
 * from our machines; see README "Dependencies").
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
export {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";

/** The repository root. */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** `../shared` next to the checkout (or $GPT1_SHARED), or null when absent. */
export const SHARED: string | null = (() => {
  const p = Deno.env.get("GPT1_SHARED") ?? resolve(ROOT, "..", "shared");
  try {
    return Deno.statSync(p).isDirectory ? p : null;
  } catch {
    return null;
  }
})();

/** Path inside ../shared, or null when ../shared is absent. */
export function sharedPath(...parts: string[]): string | null {
  return SHARED ? join(SHARED, ...parts) : null;
}

const announced = new Set<string>();
/**
 * True when ../shared is present. Otherwise prints one line naming what is skipped
 * (once per name) and returns false; use as `ignore: !needShared("...")`.
 */
export function needShared(what: string): boolean {
  if (SHARED) return true;
  if (!announced.has(what)) {
    announced.add(what);
    console.log(`SKIP ${what}: ../shared not found (set GPT1_SHARED or clone next to shared/)`);
  }
  return false;
}

/** True when slow tests were asked for (SLOW=1). */
export const SLOW: boolean = Deno.env.get("SLOW") === "1";

/** Max relative error between two arrays: max|a-b| / max(max|b|, tiny). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let num = 0, den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
