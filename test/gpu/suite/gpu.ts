/**
 * Whether the test/gpu suites can run: the CUDA addon loaded and a device answered (a real GPU,
 * or the CPU emulator when SEQFAIR_CUDA_ADDON points at build-cuda/emu/Release/seqfair_cuda_emu.node).
 * Without one, every test/gpu file skips; `npm run test:gpu` says so in one line and exits 0.
 */
import type { Backend } from '../../../src/backend/backend.js';
import { loadCpuBackend } from '../../../src/backend/cpu.js';
import { type CudaDevice, cudaStatus, loadCudaAddon, loadCudaBackend } from '../../../src/backend/cuda.js';

export const status = cudaStatus();
export const haveGpu = status.usable;
export const skipReason = status.reason ?? '';

export const cuda = (): Backend & { device: CudaDevice } => loadCudaBackend();
export const cudaAddon = () => loadCudaAddon();

export function cpuOrNull(): Backend | null {
  try {
    return loadCpuBackend();
  } catch {
    return null;
  }
}
