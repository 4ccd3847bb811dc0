/**
 * The safetensors file layout (https://github.com/huggingface/safetensors), written and read
 * without a dependency because the format is three lines of spec:
 *
 *   8 bytes    N, the header length, unsigned little-endian 64-bit
 *   N bytes    JSON header: { name: { dtype, shape, data_offsets: [begin, end] }, …,
 *                             "__metadata__": { string: string } (optional) }
 *              padded with spaces so the data starts 8-byte aligned (the spec allows that)
 *   rest       raw little-endian tensor bytes; offsets are relative to the start of this part
 *
 * Only F32 and I32 occur in seqfair. Tensors are written in the order given (a Map keeps the
 * model's registration order), so the bytes of a checkpoint are a function of its contents only
 * and two checkpoints of the same state compare equal byte for byte. The reader checks every
 * offset against the buffer and names the file and the tensor when something does not fit.
 */
import { readFileSync } from 'node:fs';

export type SafeDType = 'F32' | 'I32';

export interface SafeTensor {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, q) => p * q, 1);

/** Serialises named tensors (and optional string metadata) into the safetensors layout. */
export function encodeSafetensors(tensors: Map<string, SafeTensor> | Record<string, SafeTensor>,
  metadata?: Record<string, string>): Buffer {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`safetensors: metadata value of '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error("safetensors: '__metadata__' is reserved and cannot name a tensor");
    if (t.data.length !== sizeOf(t.shape)) {
      throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values but shape (${t.shape.join(',')})`);
    }
    const bytes = t.data.byteLength;
    const dtype: SafeDType = t.data instanceof Int32Array ? 'I32' : 'F32';
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    // Float32Array/Int32Array bytes are little-endian on every platform Node runs on (x86, ARM)
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    src.copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** Parses a safetensors buffer (`what` names it in error messages, e.g. the file path). */
export function decodeSafetensors(buf: Buffer, what = 'safetensors'): DecodedSafetensors {
  const fail = (msg: string): never => {
    throw new Error(`${what}: ${msg}`);
  };
  if (buf.length < 8) fail(`${buf.length} bytes is too short for a safetensors file (the 8-byte header length is missing)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (!(n >= 2) || 8 + n > buf.length) fail(`header length ${n} does not fit in ${buf.length} bytes: not a safetensors file, or truncated`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    return fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as HeaderEntry;
    if (!e || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      fail(`tensor '${name}' has a malformed header entry ${JSON.stringify(raw)}`);
    }
    if (e.dtype !== 'F32' && e.dtype !== 'I32') fail(`tensor '${name}' has dtype ${e.dtype}; only F32 and I32 are supported`);
    const [b, end] = e.data_offsets;
    const count = sizeOf(e.shape);
    if (!Number.isInteger(b) || !Number.isInteger(end) || b < 0 || end > dataLen || end - b !== count * 4) {
      fail(`tensor '${name}' (${e.dtype} (${e.shape.join(',')})) has data_offsets [${b}, ${end}] that do not fit its ${count} values or the ${dataLen} data bytes`);
    }
    // copy into a fresh, aligned buffer (the data part need not be 4-byte aligned in the file buffer)
    const bytes = new Uint8Array(end - b);
    bytes.set(buf.subarray(dataStart + b, dataStart + end));
    const data = e.dtype === 'F32' ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer);
    tensors.set(name, { shape: e.shape, data });
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): DecodedSafetensors {
  return decodeSafetensors(readFileSync(file), file);
}
