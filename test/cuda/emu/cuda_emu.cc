// The CPU emulation of CUDA declared in cuda_emu.h: a cooperative fiber scheduler per block and
// the runtime API subset (device memory is host memory). See cuda_emu.h for what is and is not
// emulated. Single-threaded by design: launches run to completion before they return.
#include "cuda_emu.h"

#include <sys/mman.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

// x86-64: a minimal context switch (callee-saved registers, MXCSR and the x87 control word), ~20x
// faster than glibc's swapcontext, which makes two signal-mask system calls per switch. Other
// architectures use ucontext.
#if defined(__x86_64__)
extern "C" void seqfair_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .text
  .p2align 4
  .globl seqfair_emu_switch
  .hidden seqfair_emu_switch
  .type seqfair_emu_switch,@function
seqfair_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size seqfair_emu_switch, .-seqfair_emu_switch
)");
#endif

namespace emu {

enum class St { Runnable, AtBlock, AtWarp, Done };

struct Fiber {
#if defined(__x86_64__)
  void* sp = nullptr;  // saved stack pointer (seqfair_emu_switch)
#else
  ucontext_t ctx;
#endif
  void* stack = nullptr;
  uint3 tid{0, 0, 0};
  int linear = 0;
  St st = St::Done;
};

uint3 g_block_idx{0, 0, 0};
dim3 g_block_dim, g_grid_dim;
Fiber* g_current = nullptr;
cudaError_t g_last_error = cudaSuccess;

namespace {

constexpr size_t kStack = 512 * 1024;
constexpr size_t kDefaultSmem = 48 * 1024;
constexpr size_t kMaxSmem = 227 * 1024;

#if defined(__x86_64__)
void* g_sched_sp = nullptr;
#else
ucontext_t g_sched;
#endif
std::vector<Fiber> g_fibers;
const std::function<void()>* g_body = nullptr;
std::vector<uint64_t> g_xchg;
std::vector<unsigned char> g_dyn;
std::map<const void*, int> g_max_dyn;
const char* g_kernel = "?";
std::mutex g_launch_mutex;  // launches from several JS threads run one at a time

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "cuda-emu: kernel %s, block (%u,%u,%u): %s\n", g_kernel, g_block_idx.x, g_block_idx.y,
               g_block_idx.z, msg.c_str());
  std::fflush(stderr);
  std::abort();
}

void switch_to_scheduler(Fiber* f) {
#if defined(__x86_64__)
  seqfair_emu_switch(&f->sp, g_sched_sp);
#else
  swapcontext(&f->ctx, &g_sched);
#endif
}

void switch_to_fiber(Fiber* f) {
#if defined(__x86_64__)
  seqfair_emu_switch(&g_sched_sp, f->sp);
#else
  swapcontext(&g_sched, &f->ctx);
#endif
}

[[noreturn]] void fiber_entry() {
  (*g_body)();
  g_current->st = St::Done;
  switch_to_scheduler(g_current);
  std::abort();  // a finished fiber is never resumed
}

void yield(St s) {
  Fiber* f = g_current;
  f->st = s;
  switch_to_scheduler(f);
}

// prepares f to start in fiber_entry at its next switch_to_fiber
void reset_fiber(Fiber& f) {
#if defined(__x86_64__)
  // frame popped by seqfair_emu_switch: [mxcsr, x87 cw] r15 r14 r13 r12 rbx rbp, then the return
  // address (fiber_entry) at a 16-byte aligned slot, so fiber_entry starts with rsp % 16 == 8
  uintptr_t top = (reinterpret_cast<uintptr_t>(f.stack) + kStack - 64) & ~uintptr_t(15);
  uint64_t* a = reinterpret_cast<uint64_t*>(top);
  a[0] = reinterpret_cast<uint64_t>(&fiber_entry);
  for (int i = 1; i <= 6; ++i) a[-i] = 0;
  uint32_t ctl[2];
  asm volatile("stmxcsr %0" : "=m"(ctl[0]));
  asm volatile("fnstcw %0" : "=m"(ctl[1]));
  std::memcpy(&a[-7], ctl, 8);
  f.sp = &a[-7];
#else
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = f.stack;
  f.ctx.uc_stack.ss_size = kStack;
  f.ctx.uc_link = nullptr;
  makecontext(&f.ctx, fiber_entry, 0);
#endif
}

void ensure_fibers(size_t n) {
  while (g_fibers.size() < n) {
    g_fibers.emplace_back();
    void* st = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (st == MAP_FAILED) fail("cannot allocate a fiber stack");
    g_fibers.back().stack = st;
  }
}

void run_block(int n) {
  for (int i = 0; i < n; ++i) {
    Fiber& f = g_fibers[(size_t)i];
    reset_fiber(f);
    f.linear = i;
    f.tid = uint3{(unsigned)i % g_block_dim.x, ((unsigned)i / g_block_dim.x) % g_block_dim.y,
                  (unsigned)i / (g_block_dim.x * g_block_dim.y)};
    f.st = St::Runnable;
  }
  for (;;) {
    for (int i = 0; i < n; ++i) {
      Fiber& f = g_fibers[(size_t)i];
      if (f.st != St::Runnable) continue;
      g_current = &f;
      switch_to_fiber(&f);
    }
    int done = 0, at_block = 0, at_warp = 0;
    for (int i = 0; i < n; ++i) {
      const St s = g_fibers[(size_t)i].st;
      done += s == St::Done;
      at_block += s == St::AtBlock;
      at_warp += s == St::AtWarp;
    }
    if (done == n) return;
    bool released = false;
    for (int w0 = 0; w0 < n; w0 += 32) {
      const int w1 = std::min(n, w0 + 32);
      int here = 0;
      for (int i = w0; i < w1; ++i) here += g_fibers[(size_t)i].st == St::AtWarp;
      if (here == 0) continue;
      if (here == w1 - w0) {
        for (int i = w0; i < w1; ++i) g_fibers[(size_t)i].st = St::Runnable;
        released = true;
      }
    }
    if (released) continue;
    if (at_warp > 0) fail("a warp-level barrier (shuffle or __syncwarp) is not reached by every lane of its warp");
    if (at_block > 0 && done > 0) fail("__syncthreads() is not reached by every thread of the block (some returned)");
    if (at_block == n) {
      for (int i = 0; i < n; ++i) g_fibers[(size_t)i].st = St::Runnable;
      continue;
    }
    fail("deadlock");
  }
}

}  // namespace

uint3 thread_idx() { return g_current->tid; }
void sync_block() { yield(St::AtBlock); }
void sync_warp() { yield(St::AtWarp); }
unsigned char* dynamic_smem() { return g_dyn.data(); }
int lane_id() { return g_current->linear % 32; }

uint64_t warp_exchange(uint64_t v, int src_lane) {
  const int me = g_current->linear;
  const int base = me - me % 32;
  const int n = (int)(g_block_dim.x * g_block_dim.y * g_block_dim.z);
  if (base + 32 > n) fail("full-mask warp shuffle in a partial warp (block size not a multiple of 32)");
  if (src_lane < 0 || src_lane >= 32) fail("shuffle source lane out of range");
  g_xchg[(size_t)me] = v;
  yield(St::AtWarp);
  const uint64_t got = g_xchg[(size_t)(base + src_lane)];
  yield(St::AtWarp);  // nobody overwrites a slot before every lane has read
  return got;
}

void set_max_dynamic_smem(const void* kernel, int bytes) { g_max_dyn[kernel] = bytes; }

void launch_impl(dim3 grid, dim3 block, size_t smem, const void* kernel, const char* name,
                 const std::function<void()>& body) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  const uint64_t threads = (uint64_t)block.x * block.y * block.z;
  size_t limit = kDefaultSmem;
  auto it = g_max_dyn.find(kernel);
  if (it != g_max_dyn.end()) limit = std::min<size_t>(kMaxSmem, (size_t)it->second);
  if (threads == 0 || threads > SEQFAIR_EMU_MAX_THREADS || block.z > 64 || grid.x == 0 || grid.y == 0 ||
      grid.z == 0 || grid.y > 65535 || grid.z > 65535 || grid.x > 2147483647u || smem > limit) {
    std::fprintf(stderr, "cuda-emu: invalid launch of %s: grid (%u,%u,%u) block (%u,%u,%u) smem %zu (limit %zu)\n",
                 name, grid.x, grid.y, grid.z, block.x, block.y, block.z, smem, limit);
    g_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  g_kernel = name;
  g_block_dim = block;
  g_grid_dim = grid;
  g_body = &body;
  ensure_fibers((size_t)threads);
  g_xchg.assign((size_t)threads, 0);
  g_dyn.assign(smem + 16, 0xCD);  // garbage, like uninitialised shared memory
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        g_block_idx = uint3{x, y, z};
        run_block((int)threads);
      }
  g_kernel = "?";
}

}  // namespace emu

// ---- runtime API -----------------------------------------------------------------------------

namespace {
std::mutex g_mem_mutex;
std::map<void*, size_t> g_allocs;
size_t g_used = 0;
constexpr size_t kTotal = size_t(16) << 30;
int g_stream_dummy = 0;
}  // namespace

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    default: return "unspecified launch failure";
  }
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::g_last_error;
  emu::g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return emu::g_last_error; }
cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return cudaErrorInvalidValue;
  std::memset(p, 0, sizeof(*p));
  std::snprintf(p->name, sizeof(p->name), "seqfair CUDA emulator (CPU)");
  p->totalGlobalMem = kTotal;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 4;
  p->sharedMemPerBlockOptin = 227 * 1024;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = reinterpret_cast<cudaStream_t>(&g_stream_dummy);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaMalloc(void** p, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  if (g_used + bytes > kTotal) {
    emu::g_last_error = cudaErrorMemoryAllocation;
    return cudaErrorMemoryAllocation;
  }
  // garbage-filled like fresh device memory, so a kernel that reads before writing is caught
  void* q = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!q) {
    emu::g_last_error = cudaErrorMemoryAllocation;
    return cudaErrorMemoryAllocation;
  }
  std::memset(q, 0xFF, bytes);  // 0xFFFFFFFF is a NaN as a float and -1 as an int
  g_allocs[q] = bytes;
  g_used += bytes;
  *p = q;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  auto it = g_allocs.find(p);
  if (it == g_allocs.end()) return cudaErrorInvalidValue;
  g_used -= it->second;
  g_allocs.erase(it);
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  *free_bytes = kTotal - g_used;
  *total_bytes = kTotal;
  return cudaSuccess;
}
