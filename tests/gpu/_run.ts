/**
 * Runs the GPU test files (`tests/gpu/`) in a `deno test` process of their own and passes its
 * exit code on, with one exception: a glibc heap abort at process exit (SIGABRT, "corrupted size
 * vs. prev_size in fastbins") after the summary line reported every test passed and none failed.
 * It has been seen in CI twice, in the process that loaded the Vulkan loader, Mesa's software
 * adapter and wgpu, after all tests had passed, and never reproduced by hand (see the README,
 * "Tests"). Any failed test, a missing summary, or an abort before the summary still fails.
 *
 * @example
 * ```sh
 * deno run -A tests/gpu/_run.ts
 * ```
 * @module
 */
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
// deno-lint-ignore no-control-regex
const plain = tail.replace(/\x1b\[[0-9;]*m/g, "");
const summary = plain.match(/ok \| (\d+) passed[^|]*\| 0 failed/);
const aborted = status.signal === "SIGABRT" || status.code === 134;
if (!status.success && aborted && summary && Number(summary[1]) > 0) {
  console.error(
    `tests/gpu: the test process aborted at exit (${status.signal ?? status.code}) after ` +
      `${summary[1]} passed and 0 failed: the known teardown abort, not a test failure`,
  );
  Deno.exit(0);
}
Deno.exit(status.success ? 0 : status.code || 1);
