/**
 * Loading the CUDA addon where there is no GPU or driver (this machine and CI): the process must
 * not crash, `info()` must say why no device is usable, and the loader must fall back to the cpu
 * backend with one line. Each check runs in a child process, so a crash would show as a failed
 * exit status instead of taking the test runner down.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const addonFile = join(root, 'build-cuda', 'Release', 'seqfair_cuda.node');
const built = existsSync(addonFile);
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function node(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, args, {
    cwd: root, encoding: 'utf8', env: { ...process.env, SEQFAIR_STRICT_BACKEND: undefined, ...env }, timeout: 120_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** what a fresh process reports from the real addon: info() and a failed alloc */
function probe() {
  const script = `
    const a = require(${JSON.stringify(addonFile)});
    const info = a.info();
    let alloc = null;
    try { a.free(a.alloc(4, 'f32')); alloc = 'ok'; } catch (e) { alloc = e.constructor.name + ': ' + e.message; }
    process.stdout.write(JSON.stringify({ info, count: a.deviceCount(), alloc }));`;
  const r = node(['-e', script]);
  return { ...r, out: r.status === 0 ? JSON.parse(r.stdout) as { info: { deviceCount: number; error: string | null; archs: string }; count: number; alloc: string } : null };
}

const hasDevice = built && (probe().out?.count ?? 0) > 0;

describe('loading the CUDA addon without a usable GPU', () => {
  it.skipIf(!built || hasDevice)('1. loads in a child process, info() says why, exit status 0', () => {
    const r = probe();
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.out!.info.deviceCount).toBe(0);
    expect(r.out!.count).toBe(0);
    expect(r.out!.info.error).toMatch(/driver|device/i);
    expect(r.out!.info.archs).toContain('90');
    // using it without a device is a JS error with the CUDA reason, not a crash
    expect(r.out!.alloc).toMatch(/^Error: alloc: .*(driver|device)/i);
  });

  const script = (name: string) => `
    import { chooseWithCuda, cudaNote, cudaStatus } from './src/backend/cuda.ts';
    const fake = (n) => ({ name: n === 'auto' ? 'cpu' : n });
    let result;
    try { result = chooseWithCuda(${JSON.stringify(name)}, fake).name; } catch (e) { result = 'threw: ' + e.message; }
    process.stdout.write(JSON.stringify({ result, note: cudaNote(), status: cudaStatus() }));`;

  it.skipIf(hasDevice)('2. SEQFAIR_BACKEND=cuda falls back to cpu with exactly one line on stderr', () => {
    const r = node([tsx, '--eval', script('cuda')]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { result: string; note: string };
    expect(out.result).toBe('cpu');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('seqfair:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^seqfair: using the cpu backend because the CUDA addon (is built .* but no GPU is usable|is not built)/);
    expect(out.note).toMatch(/^cuda: /);
  });

  it.skipIf(hasDevice)('3. auto picks cpu silently; SEQFAIR_STRICT_BACKEND=1 makes an explicit cuda request an error', () => {
    const auto = node([tsx, '--eval', script('auto')]);
    expect(auto.status, auto.stderr).toBe(0);
    expect(JSON.parse(auto.stdout).result).toBe('cpu');
    expect(auto.stderr).not.toMatch(/seqfair:/);
    const strict = node([tsx, '--eval', script('cuda')], { SEQFAIR_STRICT_BACKEND: '1' });
    expect(JSON.parse(strict.stdout).result).toMatch(/^threw: SEQFAIR_BACKEND=cuda: /);
  });

  it('4. an addon that is not built is reported as such (SEQFAIR_CUDA_ADDON points elsewhere)', () => {
    const r = node([tsx, '--eval', script('cuda')], { SEQFAIR_CUDA_ADDON: join(root, 'build-cuda', 'nope.node') });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { result: string; status: { built: boolean; reason: string } };
    expect(out.result).toBe('cpu');
    expect(out.status.built).toBe(false);
    expect(out.status.reason).toMatch(/the CUDA addon is not built \(tried .*nope\.node \(missing\)\)/);
  });
});
