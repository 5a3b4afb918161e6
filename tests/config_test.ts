import { countParams, makeConfig, N_SPECIAL_FINETUNE, PRESETS } from "../lib/config.ts";
import { ConfigError } from "../lib/errors.ts";
import { assert, assertEquals, assertThrows } from "./_util.ts";

/** Asserts that `f` throws a ConfigError whose message matches `re`. */
function throwsConfig(f: () => unknown, re: RegExp | string): void {
  const r = typeof re === "string" ? new RegExp(re) : re;
  assertThrows(f, (e: unknown) => e instanceof ConfigError && r.test(e.message));
}

Deno.test("PRESETS.gpt1 has the paper's hyperparameters (paper.md §1.1)", () => {
  assertEquals({ ...PRESETS.gpt1 }, {
    vocabSize: 40478,
    nSpecial: 0,
    nCtx: 512,
    nEmbd: 768,
    nLayer: 12,
    nHead: 12,
    nInner: 3072,
    embdPdrop: 0.1,
    attnPdrop: 0.1,
    residPdrop: 0.1,
    clfPdrop: 0.1,
    initStd: 0.02,
    layerNormEps: 1e-5,
  });
  assertEquals(N_SPECIAL_FINETUNE, 3);
});

Deno.test("countParams() gives 116,534,784 for gpt1 and counts the special rows", () => {
  assertEquals(countParams(PRESETS.gpt1), 116_534_784);
  assertEquals(countParams(makeConfig("gpt1", { nSpecial: 3 })), 116_534_784 + 3 * 768);
});

Deno.test("presets are frozen, valid, and small/tiny are smaller than gpt1", () => {
  assert(Object.isFrozen(PRESETS));
  for (const [name, c] of Object.entries(PRESETS)) {
    assert(Object.isFrozen(c), name);
    assertEquals(makeConfig(name as keyof typeof PRESETS), c);
  }
  assert(countParams(PRESETS.tiny) < 200_000);
  assert(countParams(PRESETS.small) < 10_000_000);
  assertEquals(PRESETS.small.nEmbd / PRESETS.small.nHead, 64); // the paper's head size
});

Deno.test("makeConfig() applies overrides and returns a frozen copy", () => {
  const c = makeConfig("small", { vocabSize: 8000, nSpecial: 3 });
  assertEquals(c.vocabSize, 8000);
  assertEquals(c.nSpecial, 3);
  assertEquals(c.nLayer, PRESETS.small.nLayer);
  assert(Object.isFrozen(c));
  assertEquals(PRESETS.small.vocabSize, 8192, "the preset itself is unchanged");
  const p = makeConfig({ nLayer: 6 });
  assertEquals(p.nLayer, 6);
  assertEquals(p.nEmbd, 768, "a partial config fills in the gpt1 defaults");
});

Deno.test("makeConfig() rejects unknown keys and presets with ConfigError", () => {
  throwsConfig(() => makeConfig("tiny", { nLayers: 3 } as never), /nLayers/);
  throwsConfig(() => makeConfig({ dropout: 0.1 } as never), /dropout/);
  throwsConfig(() => makeConfig("huge" as never), /unknown preset "huge"/);
});

Deno.test("makeConfig() rejects bad values with ConfigError", () => {
  const bad: Record<string, number>[] = [
    { nHead: 3 }, // does not divide 64
    { nLayer: 0 },
    { nEmbd: 64.5 },
    { nSpecial: -1 },
    { attnPdrop: 1 },
    { residPdrop: -0.1 },
    { initStd: 0 },
    { layerNormEps: -1e-5 },
    { vocabSize: NaN },
  ];
  for (const o of bad) throwsConfig(() => makeConfig("tiny", o), Object.keys(o)[0]);
  throwsConfig(() => makeConfig("tiny", { nCtx: "32" } as never), /nCtx/);
});
