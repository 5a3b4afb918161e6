/**
 * The committed manifest of what `deno task gpt1 fetch` downloads: official URL, size and sha256
 * of each file, where the checksum comes from, and the folder layout the loaders read.
 *
 * Checksums: `published` ones come from TensorFlow Datasets' `url_checksums/*.txt` (GLUE's files
 * there are listed under their older firebasestorage URLs; the dl.fbaipublicfiles.com copies have
 * the same bytes, as HF `glue` dataset_infos `download_checksums` shows for SST-2.zip). Files
 * without a published checksum are trust-on-first-use: the sha256 of the first verified download
 * is recorded in `<data>/.fetch-checksums.json` and every later download must match it.
 *
 * @example
 * ```ts
 * import { FETCH_MANIFEST } from "./manifest.ts";
 * FETCH_MANIFEST.find((e) => e.name === "sst2")!.folder; // "SST-2"
 * ```
 * @module
 */

/** Where a file's checksum comes from. */
export type ChecksumSource =
  | { kind: "published"; source: string }
  | { kind: "tofu"; why: string };

/** One downloaded file. */
export interface FetchFile {
  /** Official URL. */
  url: string;
  /** File name while downloading (and for a plain file: its name in the target folder). */
  name: string;
  /** Size in bytes, when known. */
  size?: number;
  /** Hex sha256, when published. */
  sha256?: string;
  /** Where the checksum comes from. */
  checksum: ChecksumSource;
  /** `zip` / `tar.gz`: unpacked; `file`: copied as is. */
  format: "zip" | "tar.gz" | "file";
  /** Archive prefix to strip (e.g. `SST-2/`); members outside it are skipped. */
  strip?: string;
}

/** One fetchable item: a benchmark folder or the released weights. */
export interface FetchEntry {
  /** CLI name (`deno task gpt1 fetch <name>`). */
  name: string;
  /** What it is. */
  title: string;
  /** Folder under the data root the loaders read (e.g. `SST-2`, `gpt1`). */
  folder: string;
  /** A file that must exist in the folder once fetched (the check of "already here"). */
  marker: string;
  /** The files; empty when the data cannot be fetched (then `manual` says how to get it). */
  files: FetchFile[];
  /** For data behind a request form: where to get it and where the files go. */
  manual?: string;
}

const TFDS_GLUE = "TensorFlow Datasets url_checksums/glue.txt (same bytes under the firebase URL)";
const FB = "https://dl.fbaipublicfiles.com/glue/data";

function _glue(
  name: string,
  folder: string,
  zip: string,
  size?: number,
  sha256?: string,
  marker = "train.tsv",
): FetchEntry {
  return {
    name,
    title: `GLUE ${folder}`,
    folder,
    marker,
    files: [{
      url: `${FB}/${zip}`,
      name: zip,
      size,
      sha256,
      checksum: sha256
        ? { kind: "published", source: TFDS_GLUE }
        : { kind: "tofu", why: "no published checksum for this archive" },
      format: "zip",
      strip: `${zip.replace(/(-clean|v2)?\.zip$/, "")}/`,
    }],
  };
}

const RAW = "https://raw.githubusercontent.com/openai/finetune-transformer-lm/master/model";
const GPT1_TOFU: ChecksumSource = {
  kind: "tofu",
  why: "openai/finetune-transformer-lm publishes no checksums",
};

/** Everything `fetch` knows, in `fetch all` order. */
export const FETCH_MANIFEST: readonly FetchEntry[] = [
  _glue(
    "cola",
    "CoLA",
    "CoLA.zip",
    376971,
    "f212fcd832b8f7b435fb991f101abf89f96b933ab400603bf198960dfc32cbff",
  ),
  _glue(
    "sst2",
    "SST-2",
    "SST-2.zip",
    7439277,
    "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa",
  ),
  _glue(
    "stsb",
    "STS-B",
    "STS-B.zip",
    802872,
    "e60a6393de5a8b5b9bac5020a1554b54e3691f9d600b775bd131e613ac179c85",
  ),
  _glue("qqp", "QQP", "QQP-clean.zip"),
  _glue(
    "mnli",
    "MNLI",
    "MNLI.zip",
    312783507,
    "e7c1d896d26ed6caf700110645df426cc2d8ebf02a5ab743d5a5c68ac1c83633",
  ),
  _glue(
    "qnli",
    "QNLI",
    "QNLIv2.zip",
    10627589,
    "e634e78627a29adaecd4f955359b22bf5e70f2cbd93b493f2d624138a0c0e5f5",
  ),
  _glue(
    "rte",
    "RTE",
    "RTE.zip",
    697150,
    "6bf86de103ecd335f3441bd43574d23fef87ecc695977a63b82d5efb206556ee",
  ),
  {
    name: "mrpc",
    title: "GLUE MRPC",
    folder: "MRPC",
    marker: "train.tsv",
    files: [],
    manual: "GLUE builds MRPC's train/dev.tsv from Microsoft's MSI installer " +
      "(https://www.microsoft.com/en-us/download/details.aspx?id=52398) with " +
      "download_glue_data.py; put train.tsv, dev.tsv, test.tsv in <data>/MRPC/",
  },
  {
    name: "snli",
    title: "SNLI 1.0",
    folder: "SNLI",
    marker: "snli_1.0_train.jsonl",
    files: [{
      url: "https://nlp.stanford.edu/projects/snli/snli_1.0.zip",
      name: "snli_1.0.zip",
      size: 94550081,
      sha256: "afb3d70a5af5d8de0d9d81e2637e0fb8c22d1235c2749d83125ca43dab0dbd3e",
      checksum: { kind: "published", source: "TensorFlow Datasets url_checksums/snli.txt" },
      format: "zip",
      strip: "snli_1.0/",
    }],
  },
  {
    name: "scitail",
    title: "SciTail 1.1",
    folder: "SciTail",
    marker: "tsv_format/scitail_1.0_train.tsv",
    files: [{
      url: "https://ai2-public-datasets.s3.amazonaws.com/scitail/SciTailV1.1.zip",
      name: "SciTailV1.1.zip",
      checksum: { kind: "tofu", why: "no checksum found in TFDS or on the AI2 page" },
      format: "zip",
      strip: "SciTailV1.1/",
    }],
  },
  {
    name: "race",
    title: "RACE",
    folder: "RACE",
    marker: "dev/middle",
    files: [{
      url: "http://www.cs.cmu.edu/~glai1/data/race/RACE.tar.gz",
      name: "RACE.tar.gz",
      checksum: { kind: "tofu", why: "no checksum found for the CMU archive" },
      format: "tar.gz",
      strip: "RACE/",
    }],
  },
  {
    name: "wsc",
    title: "Winograd Schema Challenge (WSC273)",
    folder: "WSC",
    marker: "WSCollection.xml",
    files: [{
      url: "https://cs.nyu.edu/~davise/papers/WinogradSchemas/WSCollection.xml",
      name: "WSCollection.xml",
      checksum: { kind: "tofu", why: "no checksum published by NYU" },
      format: "file",
    }],
  },
  {
    name: "storycloze",
    title: "Story Cloze Test (spring 2016)",
    folder: "StoryCloze",
    marker: "cloze_test_val__spring2016.csv",
    files: [],
    manual: "request form at https://cs.rochester.edu/nlp/rocstories/ ; put " +
      "cloze_test_val__spring2016.csv and cloze_test_test__spring2016.csv in <data>/StoryCloze/",
  },
  {
    name: "gpt1",
    title: "released GPT-1 weights and vocabulary (openai/finetune-transformer-lm)",
    folder: "gpt1",
    marker: "params_9.npy",
    files: [
      "params_shapes.json",
      ...Array.from({ length: 10 }, (_, k) => `params_${k}.npy`),
      "encoder_bpe_40000.json",
      "vocab_40000.bpe",
    ].map((name) => ({
      url: `${RAW}/${name}`,
      name,
      checksum: GPT1_TOFU,
      format: "file" as const,
    })),
  },
];

/** The entry named `name`, or undefined. */
export function manifestEntry(name: string): FetchEntry | undefined {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, "");
  return FETCH_MANIFEST.find((e) => e.name === n || e.folder.toLowerCase().replace(/-/g, "") === n);
}
