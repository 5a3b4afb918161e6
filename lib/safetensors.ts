/**
 * The safetensors format, read and written: an 8-byte header length, a JSON header (dtype,
 * shape and byte range per tensor, plus string `__metadata__`), then the tensor bytes. Files
 * are written atomically and carry `sha256`: the SHA-256 of the canonical header (keys sorted,
 * without `sha256` itself) followed by the tensor bytes, so any flipped byte is caught. F32,
 * F16, BF16 and F64 are read (as Float32Array); F32 and F16 are written.
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * await writeSafetensors("/tmp/x.safetensors", new Map([["w", { shape: [2], data: new Float32Array([1, 2]) }]]));
 * (await readSafetensors("/tmp/x.safetensors")).tensors.get("w")!.data; // Float32Array [1, 2]
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { CheckpointError, ConfigError } from "./errors.ts";
import { writeFileAtomic } from "./fsutil.ts";

/** Element types this module reads (all become float32); F32 and F16 can also be written. */
export type SafeDtype = "F32" | "F16" | "BF16" | "F64";

/** One tensor: its stored dtype, its shape, and its values as float32 (row-major). */
export interface SafeTensor {
  /** Element type in the file (values are always handed out as float32). */
  dtype: SafeDtype;
  /** Shape, e.g. `[768, 2304]`. */
  shape: number[];
  /** Row-major values; length = product of `shape`. */
  data: Float32Array;
}

/** A decoded safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name, in file order (by data offset). */
  tensors: Map<string, SafeTensor>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** A tensor to write: values as float32; `dtype` picks the stored type (default F32). */
export interface TensorToWrite {
  /** Shape, e.g. `[768, 2304]`. */
  shape: number[];
  /** Row-major float32 values. */
  data: Float32Array;
  /** Stored element type (default `"F32"`). */
  dtype?: "F32" | "F16";
}

const ITEM_SIZE: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const MAX_HEADER = 100_000_000; // the safetensors limit
const HASH_KEY = "sha256";

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** JSON with object keys sorted at every level (the form the content hash is taken over). */
function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(",")}]`;
  if (x && typeof x === "object") {
    const o = x as Record<string, unknown>;
    return `{${
      Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(x);
}

/** SHA-256 (hex) of the canonical header without its `sha256` field, then the tensor bytes. */
function contentHash(header: Record<string, unknown>, data: Uint8Array): string {
  const meta = { ...(header.__metadata__ as Record<string, string> | undefined) };
  delete meta[HASH_KEY];
  const h = createHash("sha256");
  h.update(canonicalJson({ ...header, __metadata__: meta }));
  h.update("\n");
  // hash in 64 MiB slices (node:crypto copies its input)
  for (let o = 0; o < data.length; o += 1 << 26) h.update(data.subarray(o, o + (1 << 26)));
  return h.digest("hex");
}

/**
 * Encodes tensors and string metadata as safetensors bytes (header padded to 8 bytes,
 * F32 tensors before F16 so every tensor is aligned), with the `sha256` content hash added
 * to the metadata.
 */
export function encodeSafetensors(
  tensors: Map<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = [...tensors].filter(([, t]) => (t.dtype ?? "F32") === "F32")
    .concat([...tensors].filter(([, t]) => t.dtype === "F16"));
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new ConfigError(`metadata ${k} must be a string`);
  }
  header.__metadata__ = { ...metadata, [HASH_KEY]: "0".repeat(64) };
  let off = 0;
  for (const [name, t] of entries) {
    const dtype = t.dtype ?? "F32";
    if (name === "__metadata__") throw new ConfigError(`reserved tensor name ${name}`);
    if (t.data.length !== prod(t.shape)) {
      throw new ConfigError(`tensor ${name}: ${t.data.length} values for shape [${t.shape}]`);
    }
    const n = t.data.length * ITEM_SIZE[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  const headerLen = (s: string) => Math.ceil(new TextEncoder().encode(s).length / 8) * 8;
  const n = headerLen(JSON.stringify(header));
  const out = new Uint8Array(8 + n + off);
  const data = out.subarray(8 + n);
  for (const [name, t] of entries) {
    const [s] = (header[name] as { data_offsets: number[] }).data_offsets;
    if ((t.dtype ?? "F32") === "F32") {
      data.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), s);
    } else {
      const h = Float16Array.from(t.data); // round to nearest even
      data.set(new Uint8Array(h.buffer), s);
    }
  }
  (header.__metadata__ as Record<string, string>)[HASH_KEY] = contentHash(header, data);
  const json = new TextEncoder().encode(JSON.stringify(header)); // same length: 64 hex chars
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.fill(0x20, 8, 8 + n);
  out.set(json, 8);
  return out;
}

/** Parses and checks the header; returns it and where the tensor bytes start. */
function parseHeader(bytes: Uint8Array, file: string): {
  header: Record<string, unknown>;
  start: number;
} {
  const fix = "the file is damaged: re-save it or use another checkpoint";
  if (bytes.length < 8) {
    throw new CheckpointError(`only ${bytes.length} bytes: truncated (no 8-byte header length)`, {
      file,
      fix,
    });
  }
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) {
    throw new CheckpointError(
      `header length ${n} does not fit in the ${bytes.length}-byte file: truncated or not ` +
        `a safetensors file`,
      { file, fix },
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new CheckpointError(`header is not valid JSON (${(e as Error).message})`, { file, fix });
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) {
    throw new CheckpointError("header is not a JSON object", { file, fix });
  }
  return { header: header as Record<string, unknown>, start: 8 + n };
}

/** Checks header entries against the data size; returns them sorted by offset. */
function checkEntries(header: Record<string, unknown>, dataLen: number, file: string) {
  const fix = "the file is damaged: re-save it or use another checkpoint";
  const out: { name: string; dtype: SafeDtype; shape: number[]; start: number; end: number }[] = [];
  const meta = header.__metadata__;
  if (meta !== undefined) {
    if (!meta || typeof meta !== "object" || Array.isArray(meta)) {
      throw new CheckpointError("__metadata__ is not an object", { file, fix });
    }
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== "string") {
        throw new CheckpointError(`__metadata__.${k} is not a string`, { file, fix });
      }
    }
  }
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: offs } = (e ?? {}) as Record<string, unknown>;
    if (typeof dtype !== "string" || !(dtype in ITEM_SIZE)) {
      throw new CheckpointError(`tensor ${name} has dtype ${JSON.stringify(dtype)}`, {
        file,
        fix: "only F32, F16, BF16 and F64 tensors can be read; convert the file to float32",
      });
    }
    const isNat = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(isNat)) {
      throw new CheckpointError(`tensor ${name} has a bad shape ${JSON.stringify(shape)}`, {
        file,
        fix,
      });
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNat) || offs[0] > offs[1]) {
      throw new CheckpointError(`tensor ${name} has bad data_offsets ${JSON.stringify(offs)}`, {
        file,
        fix,
      });
    }
    const want = prod(shape) * ITEM_SIZE[dtype as SafeDtype];
    if (offs[1] - offs[0] !== want) {
      throw new CheckpointError(
        `tensor ${name} [${shape}] ${dtype} needs ${want} bytes but data_offsets span ` +
          `${offs[1] - offs[0]}`,
        { file, fix },
      );
    }
    out.push({ name, dtype: dtype as SafeDtype, shape, start: offs[0], end: offs[1] });
  }
  out.sort((a, b) => a.start - b.start || a.end - b.end);
  let pos = 0;
  for (const e of out) {
    if (e.start !== pos) {
      throw new CheckpointError(
        `tensor ${e.name} starts at byte ${e.start} of the data, expected ${pos} (overlap or gap)`,
        { file, fix },
      );
    }
    pos = e.end;
  }
  if (pos > dataLen) {
    throw new CheckpointError(
      `truncated: the tensors need ${pos} bytes of data but only ${dataLen} are present`,
      { file, fix },
    );
  }
  if (pos < dataLen) {
    throw new CheckpointError(`${dataLen - pos} unexpected bytes after the last tensor`, {
      file,
      fix,
    });
  }
  return out;
}

/**
 * Decodes safetensors bytes; checks header, sizes, offsets and (when the metadata has one)
 * the `sha256` content hash. Throws {@link CheckpointError} naming `file` on any problem.
 */
export function decodeSafetensors(bytes: Uint8Array, file = "<bytes>"): SafetensorsFile {
  const { header, start } = parseHeader(bytes, file);
  const data = bytes.subarray(start);
  const entries = checkEntries(header, data.length, file);
  const metadata = { ...(header.__metadata__ as Record<string, string> | undefined) };
  if (metadata[HASH_KEY] !== undefined && contentHash(header, data) !== metadata[HASH_KEY]) {
    throw new CheckpointError(
      "content hash mismatch: the file was corrupted after it was written",
      {
        file,
        fix: "use another checkpoint (an earlier step) or re-save this one",
      },
    );
  }
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const n = prod(e.shape), at = data.byteOffset + e.start;
    let values: Float32Array;
    if (e.dtype === "F32") {
      values = at % 4 === 0
        ? new Float32Array(data.buffer, at, n)
        : new Float32Array(data.slice(e.start, e.end).buffer);
    } else if (e.dtype === "F16") {
      values = Float32Array.from(new Float16Array(data.slice(e.start, e.end).buffer));
    } else if (e.dtype === "BF16") {
      const h = new Uint16Array(data.slice(e.start, e.end).buffer), u = new Uint32Array(n);
      for (let i = 0; i < n; i++) u[i] = h[i] << 16;
      values = new Float32Array(u.buffer);
    } else {
      values = Float32Array.from(new Float64Array(data.slice(e.start, e.end).buffer));
    }
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: values });
  }
  return { tensors, metadata };
}

/**
 * Reads and verifies a safetensors file (see {@link decodeSafetensors}).
 *
 * @example
 * ```ts
 * const { tensors, metadata } = await readSafetensors("model.safetensors");
 * tensors.get("tokens_embed.weight")!.shape; // [40478, 768]
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new CheckpointError(`cannot read: ${(e as Error).message}`, {
      file: path,
      fix: "check the path",
    });
  }
  return decodeSafetensors(bytes, path);
}

/**
 * Reads only the header of a safetensors file (cheap even for big files): shapes, dtypes
 * and metadata, no values and no hash check.
 */
export async function readSafetensorsHeader(path: string): Promise<{
  shapes: Map<string, { dtype: SafeDtype; shape: number[] }>;
  metadata: Record<string, string>;
}> {
  const f = await Deno.open(path, { read: true });
  try {
    const size = (await f.stat()).size;
    const head = new Uint8Array(Math.min(size, 8));
    await readFull(f, head);
    const n = head.length === 8 ? Number(new DataView(head.buffer).getBigUint64(0, true)) : 0;
    const buf = new Uint8Array(Math.min(size, 8 + Math.min(n, MAX_HEADER)));
    buf.set(head);
    await readFull(f, buf.subarray(head.length));
    const { header, start } = parseHeader(buf, path);
    const entries = checkEntries(header, size - start, path);
    const shapes = new Map(entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape }]));
    return { shapes, metadata: { ...(header.__metadata__ as Record<string, string>) } };
  } finally {
    f.close();
  }
}

async function readFull(f: Deno.FsFile, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const n = await f.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
}

/**
 * Writes tensors + string metadata as a safetensors file, atomically (temp file + rename),
 * adding the `sha256` content hash.
 *
 * @example
 * ```ts
 * await writeSafetensors("/tmp/x.safetensors",
 *   new Map([["w", { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]), { note: "hi" });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
