/**
 * `fetch` against a local HTTP server on 127.0.0.1 serving fixture archives built here: success
 * (and the loaders find the data), resume after a cut connection, wrong checksum, HTTP error,
 * truncated archive, zip-slip, disk path collisions, trust-on-first-use, offline error, and
 * `--init gpt1` resolution. No test touches the internet.
 */
import { zipSync } from "fflate";
import { createTarGzip } from "nanotar";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { assert, assertEquals, assertRejects } from "./_util.ts";
import {
  CHECKSUM_RECORD,
  FETCH_MANIFEST,
  fetchData,
  type FetchEntry,
  memberPath,
  resolveInit,
  resolveNames,
} from "../lib/fetch/mod.ts";
import { DataError } from "../lib/errors.ts";
import { getTask } from "../lib/tasks/mod.ts";
import { loadEvalFile, resolveTaskDir } from "../lib/finetune.ts";

const enc = new TextEncoder();
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const SST = zipSync({
  "SST-2/train.tsv": enc.encode("sentence\tlabel\na fine film \t1\na dull film \t0\n"),
  "SST-2/dev.tsv": enc.encode("sentence\tlabel\ngreat fun \t1\nboring \t0\nok then \t1\n"),
  "SST-2/test.tsv": enc.encode("index\tsentence\n0\tmeh\n"),
  "__MACOSX/SST-2/._train.tsv": enc.encode("junk"),
});
const RTE = zipSync({
  "RTE/train.tsv": enc.encode(
    "index\tsentence1\tsentence2\tlabel\n0\tA man sleeps.\tA man rests.\tentailment\n",
  ),
  "RTE/dev.tsv": enc.encode(
    "index\tsentence1\tsentence2\tlabel\n0\tIt rains.\tIt is dry.\tnot_entailment\n",
  ),
  "RTE/test.tsv": enc.encode("index\tsentence1\tsentence2\n0\tA.\tB.\n"),
});
const raceDoc = JSON.stringify({
  id: "1.txt",
  article: "Tom has a red ball.",
  questions: ["What colour is the ball?"],
  options: [["red", "blue", "green", "black"]],
  answers: ["A"],
});
const RACE = await createTarGzip(
  ["train", "dev", "test"].flatMap((s) =>
    ["middle", "high"].map((l) => ({ name: `RACE/${s}/${l}/1.txt`, data: raceDoc }))
  ),
);
const SLIP = zipSync({ "SST-2/train.tsv": enc.encode("x"), "../evil.txt": enc.encode("x") });
const BIG = new Uint8Array(200_000).map((_, i) => i % 251);
const BIG_ZIP = zipSync({ "SST-2/train.tsv": BIG, "SST-2/dev.tsv": enc.encode("x") }, {
  level: 0,
});

interface Served {
  url: string;
  ranges: string[];
  close(): Promise<void>;
}

/** A local server: /<name> serves FILES[name], honouring Range; /cut/<name> cuts the first try. */
function serve(files: Record<string, Uint8Array>): Served {
  const ranges: string[] = [];
  const cutOnce = new Set<string>();
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      const path = new URL(req.url).pathname.slice(1);
      const cut = path.startsWith("cut/");
      const name = cut ? path.slice(4) : path;
      const body = files[name];
      if (!body) return new Response("not found", { status: 404 });
      const range = req.headers.get("range");
      if (range) ranges.push(range);
      const from = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
      if (from >= body.length) return new Response(null, { status: 416 });
      const rest = body.subarray(from);
      if (cut && !cutOnce.has(name)) {
        cutOnce.add(name);
        const half = rest.subarray(0, Math.floor(rest.length / 2));
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(half);
          },
          pull(c) {
            c.error(new Error("connection cut"));
          },
        });
        return new Response(stream, { headers: { "content-length": String(rest.length) } });
      }
      return new Response(rest.slice() as Uint8Array<ArrayBuffer>, {
        status: range ? 206 : 200,
        headers: range
          ? { "content-range": `bytes ${from}-${body.length - 1}/${body.length}` }
          : {},
      });
    },
  );
  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}`,
    ranges,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

function entry(
  name: string,
  folder: string,
  url: string,
  bytes: Uint8Array | null,
  over: Partial<FetchEntry["files"][number]> = {},
  marker = "train.tsv",
): FetchEntry {
  return {
    name,
    title: name,
    folder,
    marker,
    files: [{
      url,
      name: url.split("/").pop()!,
      size: bytes?.length,
      sha256: bytes ? sha(bytes) : undefined,
      checksum: bytes ? { kind: "published", source: "test" } : { kind: "tofu", why: "test" },
      format: "zip",
      strip: `${folder}/`,
      ...over,
    }],
  };
}

async function tmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "gpt1-fetch-" });
}

async function ls(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

const quiet = { log: () => {} };

/** The DataError `f` rejects with (fails when it resolves or throws something else). */
async function errOf(f: () => Promise<unknown>): Promise<DataError> {
  try {
    await f();
  } catch (e) {
    assert(e instanceof DataError, String(e));
    return e;
  }
  throw new Error("expected a DataError");
}

Deno.test("fetch: GLUE zip, RACE tar.gz and a plain file land where the loaders read", async () => {
  const s = serve({ "SST-2.zip": SST, "RTE.zip": RTE, "RACE.tar.gz": RACE });
  const root = await tmp();
  try {
    const manifest: FetchEntry[] = [
      entry("sst2", "SST-2", `${s.url}/SST-2.zip`, SST),
      entry("rte", "RTE", `${s.url}/RTE.zip`, RTE),
      entry(
        "race",
        "RACE",
        `${s.url}/RACE.tar.gz`,
        RACE,
        { format: "tar.gz", strip: "RACE/" },
        "dev/middle",
      ),
      {
        name: "storycloze",
        title: "sc",
        folder: "StoryCloze",
        marker: "x.csv",
        files: [],
        manual: "form",
      },
    ];
    const lines: string[] = [];
    const out = await fetchData(["all"], { dir: root, manifest, log: (l) => lines.push(l) });
    assertEquals(out.map((o) => o.status), ["fetched", "fetched", "fetched", "manual"]);
    assertEquals(await ls(join(root, "SST-2")), ["dev.tsv", "test.tsv", "train.tsv"]);
    assert(lines.some((l) => /storycloze.*form/.test(l)), lines.join("\n"));
    // the loaders read the fetched folder
    const sst = await getTask("SST-2").load(join(root, "SST-2"), "dev");
    assertEquals(sst.examples.length, 3);
    const rte = await getTask("RTE").load(join(root, "RTE"), "dev");
    assertEquals(rte.examples.length, 1);
    const race = await getTask("RACE").load(join(root, "RACE"), "dev");
    assertEquals(race.examples.length, 2);
    // --data takes the root or the task's own folder; --eval-file a file
    assertEquals(await resolveTaskDir(root, getTask("SST-2")), join(root, "SST-2"));
    assertEquals(await resolveTaskDir(join(root, "SST-2"), getTask("SST-2")), join(root, "SST-2"));
    assertEquals(
      (await loadEvalFile(getTask("SST-2"), join(root, "SST-2", "dev.tsv"), "dev")).length,
      3,
    );
    // no staging or download leftovers where a loader looks
    assertEquals((await ls(root)).filter((n) => !n.startsWith(".")), ["RACE", "RTE", "SST-2"]);
    assertEquals(await ls(join(root, ".downloads")), []);
    // a second run leaves present data alone
    const again = await fetchData(["sst2"], { dir: root, manifest, ...quiet });
    assertEquals(again[0].status, "present");
  } finally {
    await s.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fetch: a cut connection leaves a .part that the next run resumes with Range", async () => {
  const s = serve({ "big.zip": BIG_ZIP });
  const root = await tmp();
  try {
    const manifest = [entry("sst2", "SST-2", `${s.url}/cut/big.zip`, BIG_ZIP)];
    await assertRejects(
      () => fetchData(["sst2"], { dir: root, manifest, ...quiet }),
      DataError,
      "resume",
    );
    const part = join(root, ".downloads", "big.zip.part");
    const partial = (await Deno.stat(part)).size;
    assert(partial > 0 && partial < BIG_ZIP.length, `partial ${partial}`);
    assert(!(await Deno.stat(join(root, "SST-2")).catch(() => null)), "nothing lands early");
    await fetchData(["sst2"], { dir: root, manifest, ...quiet });
    assertEquals(s.ranges, [`bytes=${partial}-`]);
    assertEquals(await Deno.readFile(join(root, "SST-2", "train.tsv")), BIG);
  } finally {
    await s.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fetch: wrong checksum, HTTP error, truncated archive and zip-slip are DataErrors", async () => {
  const s = serve({
    "SST-2.zip": SST,
    "trunc.zip": SST.subarray(0, SST.length - 40),
    "slip.zip": SLIP,
  });
  const root = await tmp();
  try {
    const bad = entry("sst2", "SST-2", `${s.url}/SST-2.zip`, SST, { sha256: "0".repeat(64) });
    await assertRejects(
      () => fetchData(["sst2"], { dir: root, manifest: [bad], ...quiet }),
      DataError,
      "sha256",
    );
    assertEquals(await ls(join(root, ".downloads")), [], "the bad download is removed");
    const missing = entry("sst2", "SST-2", `${s.url}/nope.zip`, SST);
    const e404 = await errOf(() =>
      fetchData(["sst2"], { dir: root, manifest: [missing], ...quiet })
    );
    assert(
      /HTTP 404/.test(e404.message) && e404.message.includes(`${s.url}/nope.zip`),
      e404.message,
    );
    assert(/by hand and put it at/.test(e404.message), e404.message);
    const trunc = entry("sst2", "SST-2", `${s.url}/trunc.zip`, null);
    await assertRejects(
      () => fetchData(["sst2"], { dir: root, manifest: [trunc], ...quiet }),
      DataError,
      "truncated or corrupt",
    );
    const slip = entry("sst2", "SST-2", `${s.url}/slip.zip`, SLIP);
    await assertRejects(
      () => fetchData(["sst2"], { dir: root, manifest: [slip], ...quiet }),
      DataError,
      "outside the target folder",
    );
    assert(!(await Deno.stat(join(root, "..", "evil.txt")).catch(() => null)));
    assert(!(await Deno.stat(join(root, "SST-2")).catch(() => null)), "no half-unpacked folder");
    assertEquals(memberPath("SST-2/a/./b.tsv", "SST-2/"), "a/b.tsv");
    assertEquals(memberPath("__MACOSX/SST-2/x", "SST-2/"), null);
    let slipErr: unknown;
    try {
      memberPath("/etc/passwd");
    } catch (e) {
      slipErr = e;
    }
    assert(slipErr instanceof DataError);
  } finally {
    await s.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fetch: path collisions (a file where the folder goes, a file already there)", async () => {
  const s = serve({ "SST-2.zip": SST });
  const root = await tmp();
  try {
    const m = [entry("sst2", "SST-2", `${s.url}/SST-2.zip`, SST)];
    await Deno.writeTextFile(join(root, "SST-2"), "not a folder");
    await assertRejects(
      () => fetchData(["sst2"], { dir: root, manifest: m, ...quiet }),
      DataError,
      "a file is where",
    );
    await Deno.remove(join(root, "SST-2"));
    await Deno.mkdir(join(root, "SST-2"));
    await Deno.writeTextFile(join(root, "SST-2", "dev.tsv"), "mine");
    await assertRejects(
      () => fetchData(["sst2"], { dir: root, manifest: m, ...quiet }),
      DataError,
      "already there",
    );
    assertEquals(await Deno.readTextFile(join(root, "SST-2", "dev.tsv")), "mine", "user file kept");
    assertEquals(await ls(join(root, "SST-2")), ["dev.tsv"], "nothing merged before the check");
    // a folder where the download goes
    await Deno.remove(join(root, "SST-2"), { recursive: true });
    await Deno.mkdir(join(root, ".downloads", "SST-2.zip"), { recursive: true });
    await assertRejects(
      () => fetchData(["sst2"], { dir: root, manifest: m, ...quiet }),
      DataError,
      "a folder is where",
    );
    // a data root that is a file
    const f = join(root, "file");
    await Deno.writeTextFile(f, "");
    await assertRejects(
      () => fetchData(["sst2"], { dir: f, manifest: m, ...quiet }),
      DataError,
      "is a file",
    );
  } finally {
    await s.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fetch: trust on first use records the sha256 and rejects other bytes later", async () => {
  const s = serve({ "WSCollection.xml": enc.encode("<collection/>") });
  const root = await tmp();
  try {
    const m: FetchEntry[] = [{
      name: "wsc",
      title: "wsc",
      folder: "WSC",
      marker: "WSCollection.xml",
      files: [{
        url: `${s.url}/WSCollection.xml`,
        name: "WSCollection.xml",
        checksum: { kind: "tofu", why: "test" },
        format: "file",
      }],
    }];
    await fetchData(["wsc"], { dir: root, manifest: m, ...quiet });
    const rec = JSON.parse(await Deno.readTextFile(join(root, CHECKSUM_RECORD)));
    assertEquals(rec[`${s.url}/WSCollection.xml`], sha(enc.encode("<collection/>")));
    await Deno.remove(join(root, "WSC"), { recursive: true });
    rec[`${s.url}/WSCollection.xml`] = "f".repeat(64);
    await Deno.writeTextFile(join(root, CHECKSUM_RECORD), JSON.stringify(rec));
    await assertRejects(
      () => fetchData(["wsc"], { dir: root, manifest: m, ...quiet }),
      DataError,
      "sha256",
    );
  } finally {
    await s.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fetch: offline names the file, its URL and where to put it by hand", async () => {
  const root = await tmp();
  try {
    // port 9 on 127.0.0.1 (discard) is closed here: the connection is refused
    const m = [entry("sst2", "SST-2", "http://127.0.0.1:9/SST-2.zip", SST)];
    const e = await errOf(() => fetchData(["sst2"], { dir: root, manifest: m, ...quiet }));
    assert(
      e.message.includes("http://127.0.0.1:9/SST-2.zip") && e.message.includes("SST-2.zip"),
      e.message,
    );
    assert(/download .* by hand and put it at/.test(e.message), e.message);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fetch manifest: every entry has a source, checksum status and a loader folder", () => {
  const names = FETCH_MANIFEST.map((e) => e.name);
  for (
    const want of [
      "cola",
      "sst2",
      "qqp",
      "mnli",
      "qnli",
      "rte",
      "stsb",
      "snli",
      "scitail",
      "race",
      "wsc",
      "gpt1",
    ]
  ) {
    assert(names.includes(want), want);
  }
  for (const e of FETCH_MANIFEST) {
    assert(e.files.length > 0 || e.manual, e.name);
    for (const f of e.files) {
      assert(/^https?:\/\//.test(f.url), f.url);
      assertEquals(f.checksum.kind === "published", f.sha256 !== undefined, f.url);
      if (f.sha256) assert(/^[0-9a-f]{64}$/.test(f.sha256) && f.size! > 0, f.url);
    }
  }
  const gpt1 = FETCH_MANIFEST.find((e) => e.name === "gpt1")!;
  assertEquals(gpt1.files.filter((f) => /params_\d\.npy$/.test(f.name)).length, 10);
  assertEquals(resolveNames(["SST-2", "gpt1"]).map((e) => e.folder), ["SST-2", "gpt1"]);
  let err: unknown;
  try {
    resolveNames(["nope"]);
  } catch (e) {
    err = e;
  }
  assert(err instanceof DataError && /use all or one of/.test(err.message));
});

Deno.test("--init gpt1 resolves to <data>/gpt1, or names the fetch command", async () => {
  const root = await tmp();
  try {
    const e = await errOf(() => resolveInit("gpt1", root));
    assert(e.message.includes("deno task gpt1 fetch"), e.message);
    await Deno.mkdir(join(root, "gpt1"));
    for (
      const f of ["params_shapes.json", "params_0.npy", "params_9.npy", "encoder_bpe_40000.json"]
    ) {
      await Deno.writeTextFile(join(root, "gpt1", f), "");
    }
    assertEquals(await resolveInit("gpt1", root), {
      path: join(root, "gpt1"),
      vocab: join(root, "gpt1"),
    });
    assertEquals(await resolveInit("results/x.safetensors", root), {
      path: "results/x.safetensors",
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
