/**
 * Runs the GPU test files (`tests/gpu/`) in a `deno test` process of their own and passes its
 * exit code on, with one exception: the known glibc heap abort at process exit after the summary
 * line reported every test passed and none failed (`tests/_teardown.ts` says which exits that is,
 * and the README, "Tests", where it was seen). Any failed test, a missing summary, or an abort
 * before the summary still fails.
 *
 * @example
 * ```sh
 * deno run -A tests/gpu/_run.ts
 * ```
 * @module
 */
import { knownTeardownAbort } from "../_teardown.ts";

const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--no-check=remote", "tests/gpu/"],
  stdout: "piped",
  stderr: "piped",
}).spawn();
let tail = "";
const pump = async (
  from: ReadableStream<Uint8Array>,
  to: { write(b: Uint8Array): Promise<number> },
) => {
  const dec = new TextDecoder();
  for await (const chunk of from) {
    await to.write(chunk);
    tail = (tail + dec.decode(chunk, { stream: true })).slice(-4000);
  }
};
await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
const status = await child.status;
const passed = status.success ? null : knownTeardownAbort(status, tail);
if (passed !== null) {
  console.error(
    `tests/gpu: the test process aborted at exit (${status.signal ?? status.code}) after ` +
      `${passed} passed and 0 failed: the known teardown abort, not a test failure`,
  );
  Deno.exit(0);
}
Deno.exit(status.success ? 0 : status.code || 1);
