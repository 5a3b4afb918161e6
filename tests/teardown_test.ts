/** tests/_teardown.ts: which exits of a child `deno test` the GPU tests forgive. */
import { knownTeardownAbort } from "./_teardown.ts";
import { assertEquals } from "./_util.ts";

const ABORT = { code: 134, signal: "SIGABRT" };
const c = (s: string) => `\x1b[0m\x1b[32m${s}\x1b[0m`;

Deno.test("knownTeardownAbort: an abort after every test passed (as CI printed it)", () => {
  const ci =
    `running 1 test from ./tests/fixtures/pin/module2_test.ts\nan adapter ... ${c("ok")}\n\n` +
    `${c("ok")} | 2 passed | 0 failed \x1b[0m\x1b[38;5;245m(343ms)\x1b[0m\n\n` +
    "corrupted size vs. prev_size in fastbins\ncorrupted double-linked list\n";
  assertEquals(knownTeardownAbort(ABORT, ci), 2);
  assertEquals(knownTeardownAbort({ code: 134, signal: null }, ci), 2);
  assertEquals(knownTeardownAbort({ code: 1, signal: "SIGABRT" }, ci), 2);
  assertEquals(knownTeardownAbort(ABORT, "ok | 18 passed | 0 failed | 2 ignored (28s)\n"), 18);
});

Deno.test("knownTeardownAbort: anything else is not forgiven", () => {
  const ok = "ok | 18 passed | 0 failed (28s)\n";
  assertEquals(knownTeardownAbort({ code: 0, signal: null }, ok), null, "not an abort");
  assertEquals(knownTeardownAbort({ code: 1, signal: null }, ok), null, "an exit code");
  assertEquals(knownTeardownAbort({ code: 139, signal: "SIGSEGV" }, ok), null, "another signal");
  assertEquals(knownTeardownAbort(ABORT, "running 3 tests\nx ...\ncorrupted size\n"), null);
  assertEquals(knownTeardownAbort(ABORT, "FAILED | 17 passed | 1 failed (28s)\n"), null);
  assertEquals(knownTeardownAbort(ABORT, "ok | 0 passed | 0 failed (1ms)\n"), null, "no test ran");
  // a child's passing summary quoted inside a failure, then the outer summary: the last one counts
  const nested = `${ok}\nFAILURES\n\nFAILED | 17 passed | 1 failed (28s)\n`;
  assertEquals(knownTeardownAbort(ABORT, nested), null);
});
