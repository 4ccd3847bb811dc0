/**
 * The CUDA addon as built by `npm install` (build-cuda/Release/seqfair_cuda.node): it exists
 * wherever nvcc does (CI has nvcc), and its embedded device code holds a kernel for every Backend
 * method, for every architecture it promises.
 *
 * cuobjdump is not installed here, so the test reads the module itself: the ELF section
 * .nv_fatbin holds one fat binary per compiled .cu file (header magic 0xBA55ED50), each a list of
 * entries (kind 2 = SASS cubin, kind 1 = PTX) with the target architecture in the entry header.
 * CMakeLists.txt builds with --no-compress, so kernel symbols are plain text inside each entry
 * (mangled: "<length>sfk_name..."), and the host-side registration strings, which name the kernels
 * whether or not device code exists, are not looked at.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import type { CudaAddon } from '../../src/backend/cuda.js';
import { referenceBackend } from '../../src/backend/reference.js';
// @ts-expect-error -- plain ESM build helper without type declarations
import { findNvcc } from '../../scripts/cuda-build.mjs';

const root = join(__dirname, '..', '..');
const addonFile = join(root, 'build-cuda', 'Release', 'seqfair_cuda.node');
const nvcc = findNvcc() as string | null;
/** the architectures CMakeLists.txt compiles by default (SASS) and the PTX it embeds */
const SASS = [80, 86, 89, 90];
const PTX = [90];

interface FatEntry { kind: 'sass' | 'ptx'; arch: number; compressed: boolean; names: Set<string> }

/** the named section of an ELF64 little-endian file */
function elfSection(buf: Buffer, want: string): Buffer | null {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) throw new Error('not an ELF64 file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a), shnum = buf.readUInt16LE(0x3c), shstrndx = buf.readUInt16LE(0x3e);
  const sec = (i: number) => {
    const o = shoff + i * shentsize;
    return { name: buf.readUInt32LE(o), offset: Number(buf.readBigUInt64LE(o + 0x18)), size: Number(buf.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = sec(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    const start = strtab.offset + s.name;
    const name = buf.toString('latin1', start, buf.indexOf(0, start));
    if (name === want) return buf.subarray(s.offset, s.offset + s.size);
  }
  return null;
}

/**
 * kernel names in a payload: mangled "<len>sfk_..." taken at exactly <len> characters. The digits
 * before the name may run into the mangling before it ("_GLOBAL__N_1" + "14sfk_gemm_tiled"), so
 * the longest digit suffix that fits the text is the length.
 */
function kernelNames(payload: Buffer): Set<string> {
  const text = payload.toString('latin1');
  const out = new Set<string>();
  for (const m of text.matchAll(/(\d+)(sfk_[A-Za-z0-9_]+)/g)) {
    const digits = m[1]!, rest = m[2]!;
    for (let i = 0; i < digits.length; i++) {
      const len = Number(digits.slice(i));
      if (len >= 4 && len <= rest.length) {
        out.add(rest.slice(0, len));
        break;
      }
    }
  }
  return out;
}

function fatbinEntries(section: Buffer): FatEntry[] {
  const entries: FatEntry[] = [];
  let p = 0;
  while (p + 16 <= section.length) {
    if (section.readUInt32LE(p) !== 0xba55ed50) { p += 8; continue; }
    const headerSize = section.readUInt16LE(p + 6);
    const fatSize = Number(section.readBigUInt64LE(p + 8));
    let q = p + headerSize;
    while (q < p + headerSize + fatSize) {
      const kind = section.readUInt16LE(q);
      const entryHeader = section.readUInt32LE(q + 4);
      const size = Number(section.readBigUInt64LE(q + 8));
      const arch = section.readUInt32LE(q + 28);
      const flags = Number(section.readBigUInt64LE(q + 40));
      const payload = section.subarray(q + entryHeader, q + entryHeader + size);
      entries.push({ kind: kind === 1 ? 'ptx' : 'sass', arch, compressed: (flags & 0x2000) !== 0 || (flags & 0x8000) !== 0, names: kernelNames(payload) });
      q += entryHeader + size;
    }
    p += headerSize + fatSize;
  }
  return entries;
}

/** every kernel method of the Backend contract (the reference backend implements them all) */
const backendMethods = Object.keys(referenceBackend).filter(
  (k) => typeof (referenceBackend as unknown as Record<string, unknown>)[k] === 'function',
);

describe('CUDA addon build', () => {
  it.skipIf(!nvcc)('1. is built where nvcc is (by `npm install` / `npm run build:cuda`)', () => {
    expect(existsSync(addonFile), `${addonFile} is missing: nvcc is on PATH (${nvcc}), so \`npm install\` should have ` +
      'built it; see build-cuda/build.log, or run `npm run build:cuda`').toBe(true);
  });

  it.runIf(!nvcc)('1. (skipped: nvcc is not on PATH here, so no CUDA addon is built)', () => {
    process.stdout.write('CUDA addon tests skipped: nvcc is not on PATH\n');
  });

  const built = existsSync(addonFile);

  it.skipIf(!built)('2. maps every Backend kernel to CUDA kernels whose source exists', () => {
    const table = (createRequire(import.meta.url)(addonFile) as CudaAddon).kernels();
    const missing = backendMethods.filter((m) => !table[m] || table[m]!.length === 0);
    expect(missing, 'Backend methods without a CUDA kernel').toEqual([]);
    const sources = readdirSync(join(root, 'native', 'cuda')).filter((f) => f.endsWith('.cu'))
      .map((f) => readFileSync(join(root, 'native', 'cuda', f), 'utf8')).join('\n');
    for (const names of Object.values(table))
      for (const n of names) expect(sources, `__global__ ${n} in native/cuda/*.cu`).toMatch(new RegExp(`__global__ void (__launch_bounds__\\([^)]*\\) )?${n}\\(`));
  });

  it.skipIf(!built)('3. embeds SASS for sm_80/86/89/90 and compute_90 PTX, each holding every kernel', () => {
    const section = elfSection(readFileSync(addonFile), '.nv_fatbin');
    expect(section, '.nv_fatbin section').not.toBeNull();
    const entries = fatbinEntries(section!);
    expect(entries.filter((e) => e.compressed), 'compressed entries (build with --no-compress)').toEqual([]);
    const table = (createRequire(import.meta.url)(addonFile) as CudaAddon).kernels();
    const wanted = [...new Set(Object.values(table).flat())].sort();
    const report: string[] = [];
    for (const [kind, archs] of [['sass', SASS], ['ptx', PTX]] as const) {
      for (const arch of archs) {
        const have = new Set<string>();
        for (const e of entries) if (e.kind === kind && e.arch === arch) for (const n of e.names) have.add(n);
        const lacking = wanted.filter((n) => !have.has(n));
        if (lacking.length) report.push(`${kind} ${arch}: missing ${lacking.join(', ')}`);
      }
    }
    expect(report).toEqual([]);
    // the listing, for the log
    const sass90 = new Set<string>();
    for (const e of entries) if (e.kind === 'sass' && e.arch === 90) for (const n of e.names) sass90.add(n);
    process.stdout.write(`kernels in sm_90 SASS (${sass90.size}): ${[...sass90].sort().join(' ')}\n`);
  });
});
