/**
 * "From a fresh clone with network, `deno task gpt1 fetch all && deno task reproduce` runs every
 * stage", shown on 127.0.0.1: a local server serves small fixture archives in the official
 * layouts (GLUE's SST-2.zip and RTE.zip, WSCollection.xml, the released GPT-1 files) under the
 * real manifest's entries with only their URLs (and checksums) swapped; `fetch all` puts them in
 * an empty data folder; `reproduce` on that folder (micro settings: seconds) runs pre-training,
 * Table 5, the layers ablation and zero-shot for the Transformer and the LSTM, and writes the
 * report. No test touches the internet.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { zipSync } from "fflate";
import { assert, assertEquals } from "./_util.ts";
import { FETCH_MANIFEST, fetchData, type FetchEntry } from "../lib/fetch/mod.ts";
import { reproduce } from "../lib/reproduce.ts";
import { REPRODUCE_SCALES, type ReproduceSettings } from "../lib/settings.ts";
import { collectDocuments, mobyDickCorpus } from "../lib/corpus.ts";
import { readLayers, readTable5, readZeroShot, reproduceLayout } from "../lib/runs.ts";
import { findReleasedWeights } from "../lib/released.ts";
import { benchmarkFiles, releasedFiles } from "./_released.ts";

const enc = new TextEncoder();
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The fixture files as the official servers have them: file name → bytes. */
async function officialFiles(): Promise<Record<string, Uint8Array>> {
  const b = benchmarkFiles();
  const zip = (folder: string) =>
    zipSync(Object.fromEntries(
      Object.entries(b[folder]).map(([name, text]) => [`${folder}/${name}`, enc.encode(text)]),
    ));
  return {
    "SST-2.zip": zip("SST-2"),
    "RTE.zip": zip("RTE"),
    "WSCollection.xml": enc.encode(b.WSC["WSCollection.xml"]),
    ...(await releasedFiles({ nCtx: 64 })),
  };
}

/** The real manifest's entries for `names`, each file's URL on `base` (sizes and sha256 ours). */
function localManifest(
  names: string[],
  base: string,
  files: Record<string, Uint8Array>,
): FetchEntry[] {
  return FETCH_MANIFEST.filter((e) => names.includes(e.name)).map((e) => ({
    ...e,
    files: e.files.map((f) => {
      const bytes = files[f.name];
      assert(bytes, `no fixture for ${f.name}`);
      return {
        ...f,
        url: `${base}/${f.name}`,
        // keep each entry's checksum kind: published ones are checked against our bytes, TOFU
        // ones are recorded on first use
        ...(f.sha256 ? { size: bytes.length, sha256: sha(bytes) } : {}),
      };
    }),
  }));
}

/** Micro settings: the smoke pipeline cut to seconds, on the fixture tasks. */
function micro(corpus: string): ReproduceSettings {
  const s = REPRODUCE_SCALES.smoke;
  return {
    ...s,
    about: "fetch + reproduce test run",
    pretrain: {
      ...s.pretrain,
      corpus: [corpus],
      merges: 200,
      steps: 16,
      batchSize: 4,
      warmupSteps: 2,
      evalEvery: 8,
      evalWindows: 4,
      ckptEvery: 8,
      evalText: null,
    },
    table5: { ...s.table5, tasks: ["sst2"], maxTrain: 16, maxEval: 10, epochs: 1 },
    layers: { ...s.layers, tasks: ["rte"], layers: [-1, 2], maxTrain: 12, maxEval: 8, epochs: 1 },
    zeroshot: { tasks: ["sst2", "wsc"], maxExamples: { sst2: 8, wsc: 4 }, batchSize: 8 },
    lstm: { enabled: true, tasks: ["sst2"] },
    protocol: null, // its stages: tests/protocol_stages_test.ts
  };
}

Deno.test({
  name: "fetch all from 127.0.0.1 into an empty data folder, then reproduce runs every stage",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const files = await officialFiles();
    const requests: string[] = [];
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
      (req) => {
        const name = new URL(req.url).pathname.slice(1);
        requests.push(name);
        const body = files[name];
        return body
          ? new Response(body.slice() as Uint8Array<ArrayBuffer>)
          : new Response("not found", { status: 404 });
      },
    );
    const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
    const dir = await Deno.makeTempDir({ prefix: "gpt1-fetch-repro-" });
    try {
      const data = join(dir, "data");
      const manifest = localManifest(["sst2", "rte", "wsc", "storycloze", "gpt1"], base, files);
      assertEquals(manifest.length, 5);
      const lines: string[] = [];
      const fetched = await fetchData(["all"], { dir: data, manifest, log: (l) => lines.push(l) });
      assertEquals(fetched.map((o) => [o.name, o.status]), [
        ["sst2", "fetched"],
        ["rte", "fetched"],
        ["wsc", "fetched"],
        ["storycloze", "manual"],
        ["gpt1", "fetched"],
      ]);
      assertEquals(requests.length, 3 + 13, "each file downloaded once");
      assert(lines.some((l) => /trust on first use/.test(l)), lines.join("\n"));
      assert((await findReleasedWeights(data)).present, "the released weights are in place");

      // a corpus for pre-training (the embedded corpus is 18 MB: 12 chapters are enough here)
      const corpus = join(dir, "corpus");
      await Deno.mkdir(corpus);
      const docs = await collectDocuments([mobyDickCorpus()]);
      for (const [i, d] of docs.slice(2, 10).entries()) {
        await Deno.writeTextFile(join(corpus, `ch${i}.txt`), d.text.slice(0, 20_000));
      }
      const out = join(dir, "out");
      const r = await reproduce({
        settings: micro(corpus),
        outDir: out,
        dataRoot: data,
        cacheDir: join(dir, "cache"),
        log: () => {},
      });
      assertEquals(r.stages.map((x) => [x.stage, x.status]), [
        ["pretrain", "ran"],
        ["pretrain-lstm", "ran"],
        ["table5", "ran"],
        ["table5-lstm", "ran"],
        ["layers", "ran"],
        ["zeroshot", "ran"],
        ["zeroshot-lstm", "ran"],
        ["report", "ran"],
      ]);
      const layout = reproduceLayout(out, ["rte"]);
      const cells = await readTable5(layout);
      assertEquals(cells.map((c) => [c.task, c.variant]), [
        ["sst2", "full"],
        ["sst2", "no-pretrain"],
        ["sst2", "no-aux"],
        ["sst2", "lstm"],
      ]);
      assertEquals(cells[0].n, 10, "scored on the fetched dev.tsv");
      assertEquals((await readLayers(layout)).map((p) => p.nTransfer), [0, 3]);
      const zs = await readZeroShot(layout.pretrain);
      assertEquals([...new Set(zs.map((z) => z.task))].sort(), ["sst2", "wsc"]);
      const html = await Deno.readTextFile(r.report);
      assert(html.includes("Table 5: ablations"), "the report has Table 5");
      assertEquals(r.report, join(out, "report.html"));
    } finally {
      ac.abort();
      await server.finished;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
