/**
 * The one exit status the GPU tests forgive: a glibc heap abort at process exit (SIGABRT, rc 134,
 * "corrupted size vs. prev_size in fastbins" / "corrupted double-linked list") in a `deno test`
 * process that loaded the Vulkan loader, Mesa's software adapter and wgpu, after its summary line
 * reported every test passed and none failed (a summary is printed after the last test, so an
 * abort during a test leaves none). Seen in CI five times; a core dump pointed at wgpu's unused
 * OpenGL backend (libEGL's destructor at exit), which `vulkanOnly` in `lib/webgpu/_pin.ts` now
 * keeps unloaded. Not proven to be the only cause, so the rule stays (README, "Tests"). Anything
 * else (a failed test, no summary, an abort before the summary, another signal or exit code) is
 * not forgiven.
 *
 * Pure: no tensors, no processes (colours removed with `stripAnsi` of `lib/report.ts`); used by
 * `tests/gpu/_run.ts` and `tests/gpu/pin_test.ts`.
 * @module
 */
import { stripAnsi } from "../lib/report.ts";

/** How a child process ended, as `Deno.CommandStatus` / `Deno.CommandOutput` give it. */
export interface ExitStatus {
  code: number;
  signal: string | null;
}

/**
 * The number of tests passed when `status` is the known teardown abort after a summary of every
 * test passed (more than zero) and none failed in `output` (the tail of the child's stdout and
 * stderr, ANSI colours allowed); otherwise null.
 *
 * @example
 * ```ts
 * knownTeardownAbort({ code: 134, signal: "SIGABRT" }, "ok | 18 passed | 0 failed (28s)\n"); // 18
 * knownTeardownAbort({ code: 1, signal: null }, "FAILED | 17 passed | 1 failed"); // null
 * ```
 */
export function knownTeardownAbort(status: ExitStatus, output: string): number | null {
  const aborted = status.signal === "SIGABRT" || status.code === 134;
  if (!aborted) return null;
  const plain = stripAnsi(output);
  const summaries = [...plain.matchAll(/^(ok|FAILED) \| (\d+) passed[^|\n]*\| (\d+) failed/gm)];
  const last = summaries.at(-1);
  if (!last || last[1] !== "ok" || Number(last[3]) !== 0 || Number(last[2]) === 0) return null;
  return Number(last[2]);
}
