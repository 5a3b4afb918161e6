import { assert, assertEquals, assertThrows } from "./_util.ts";
import { exists, writeFileAtomic, writeJsonAtomic } from "../lib/fsutil.ts";
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
