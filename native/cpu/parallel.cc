#include "cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace seqfair {
namespace {

// One job at a time: the addon is driven from the JS thread, so calls never overlap.
class Pool {
 public:
  explicit Pool(int threads) { resize(threads); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    threads = std::max(1, threads);
    if (threads == size()) return;
    stop();
    stopping_ = false;
    for (int i = 0; i < threads - 1; ++i) workers_.emplace_back([this] { work(); });
  }

  void run(int64_t chunks, const std::function<void(int64_t)>& chunk_fn) {
    if (chunks <= 0) return;
    if (chunks == 1 || workers_.empty()) {
      for (int64_t c = 0; c < chunks; ++c) chunk_fn(c);
      return;
    }
    uint32_t gen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &chunk_fn;
      chunks_ = chunks;
      pending_ = chunks;
      error_ = nullptr;
      gen = ++generation_;
      ticket_.store(static_cast<uint64_t>(gen) << 32);
    }
    cv_.notify_all();
    drain(gen, chunk_fn, chunks);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Claims chunks of job `gen` only: the ticket packs (generation, next index), so a thread still
  // draining an earlier job fails its compare-and-swap once the next job is published, instead of
  // taking an index of the new job (which would run a chunk twice and miscount pending_).
  void drain(uint32_t gen, const std::function<void(int64_t)>& job, int64_t chunks) {
    uint64_t t = ticket_.load();
    for (;;) {
      if (static_cast<uint32_t>(t >> 32) != gen) return;
      const int64_t c = static_cast<int64_t>(t & 0xffffffffu);
      if (c >= chunks) return;
      if (!ticket_.compare_exchange_weak(t, t + 1)) continue;  // t reloaded
      try {
        job(c);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!error_) error_ = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_cv_.notify_all();
      }
      t = ticket_.load();
    }
  }

  void work() {
    uint32_t seen = 0;
    for (;;) {
      const std::function<void(int64_t)>* job;
      int64_t chunks;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || (generation_ != seen && job_ != nullptr); });
        if (stopping_) return;
        // job_ and chunks_ belong to generation_ while the lock is held
        seen = generation_;
        job = job_;
        chunks = chunks_;
      }
      drain(seen, *job, chunks);
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t chunks_ = 0;
  // (generation << 32) | next chunk index; chunk counts stay far below 2^32 (threads · 4)
  std::atomic<uint64_t> ticket_{0};
  int64_t pending_ = 0;
  uint32_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* env = std::getenv("SEQFAIR_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

Pool& pool() {
  static Pool p(default_threads());
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(n); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t threads = num_threads();
  // a few chunks per thread balance uneven work without much scheduling cost
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, threads * 4);
  chunks = std::max<int64_t>(1, chunks);
  const int64_t per = (n + chunks - 1) / chunks;
  chunks = (n + per - 1) / per;
  pool().run(chunks, [&](int64_t c) {
    const int64_t b = c * per;
    const int64_t e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

}  // namespace seqfair
