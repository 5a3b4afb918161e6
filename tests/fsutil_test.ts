import { dirname, join } from "node:path";
import { assert, assertEquals, assertThrows, ROOT } from "./_util.ts";
import { exists, portablePath, writeFileAtomic, writeJsonAtomic } from "../lib/fsutil.ts";
import { DataError } from "../lib/errors.ts";

Deno.test("writeFileAtomic replaces the file and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  const p = `${dir}/a.json`;
  await writeJsonAtomic(p, { a: 1 });
  await writeFileAtomic(p, "second");
  assertEquals(await Deno.readTextFile(p), "second");
  const names = [...Deno.readDirSync(dir)].map((e) => e.name);
  assertEquals(names, ["a.json"]);
  assert(await exists(p));
  assert(!(await exists(`${dir}/nope`)));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("errors name the file, the line and the fix", () => {
  const e = new DataError("bad row", { file: "x.tsv", line: 3, fix: "remove it" });
  assertEquals(e.message, "DataError: x.tsv:3: bad row (fix: remove it)");
  assertEquals(e.line, 3);
  assertThrows(() => {
    throw e;
  }, DataError);
});

Deno.test("portablePath: repository and sibling paths become relative; others stay", () => {
  const root = ROOT; // the repository root
  const parent = dirname(root);
  assertEquals(
    portablePath(join(root, "results/small/ckpt.safetensors")),
    "results/small/ckpt.safetensors",
  );
  assertEquals(
    portablePath(join(parent, "shared/datasets/RTE/dev.tsv:12")),
    "../shared/datasets/RTE/dev.tsv:12",
  );
  assertEquals(portablePath("results/small"), "results/small");
  assertEquals(portablePath("none"), "none");
  if (parent !== "/") { // a checkout at the file-system root has everything beside it
    assertEquals(portablePath("/definitely-not-here/x.txt"), "/definitely-not-here/x.txt");
  }
  assertEquals(portablePath(parent + "x/y"), parent + "x/y", "a sibling prefix is not the parent");
});
