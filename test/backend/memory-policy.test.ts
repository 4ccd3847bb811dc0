/**
 * The addon's heap policy (native/cpu/memory_policy.cc): once it has loaded, memory that V8 frees
 * stays in the process for reuse (first touches of fresh pages cost ~10 µs each on these VMs);
 * SEQFAIR_MALLOC=default leaves glibc's policy, which hands the freed pages back. Each case runs
 * in a child process: it loads the addon, fills 200 MB of typed arrays, drops them, collects
 * garbage and reports its resident set before, at the peak and after.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const addonPath = fileURLToPath(new URL('../../build/Release/seqfair_cpu.node', import.meta.url));

const child = `
const addon = require(${JSON.stringify(addonPath)});
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const before = rss();
let bufs = [];
for (let i = 0; i < 50; i++) { const a = new Float32Array(1 << 20); a.fill(1); bufs.push(a); }
const peak = rss();
bufs = null;
global.gc();
setTimeout(() => { global.gc(); setTimeout(() => {
  console.log(JSON.stringify({ memory: addon.info().memory, before, peak, after: rss() }));
}, 200); }, 200);
`;

function run(env: Record<string, string>): { memory: string; before: number; peak: number; after: number } {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', child], {
    env: { ...process.env, ...env }, encoding: 'utf8',
  });
  return JSON.parse(out.trim()) as { memory: string; before: number; peak: number; after: number };
}

describe.runIf(process.platform === 'linux')('heap policy of the cpu addon', () => {
  it('keeps freed memory by default: the resident set stays near its peak after a collection', () => {
    const r = run({});
    expect(r.memory).toBe('kept');
    expect(r.peak - r.before).toBeGreaterThan(180);
    expect(r.after - r.before).toBeGreaterThan(150);
  });

  it("SEQFAIR_MALLOC=default leaves glibc's policy: the freed pages go back", () => {
    const r = run({ SEQFAIR_MALLOC: 'default' });
    expect(r.memory).toBe('default');
    expect(r.peak - r.before).toBeGreaterThan(180);
    expect(r.after - r.before).toBeLessThan(100);
  });
});
