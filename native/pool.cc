// A small persistent thread pool for the native kernels. The JS thread that calls a kernel
// takes part in the work and waits synchronously for the rest.
//
// Work is a list of chunks that threads claim one at a time (dynamic scheduling): on a
// machine shared with other processes a worker may not get a core for milliseconds, and
// then the calling thread simply does every chunk itself instead of waiting for a fixed
// share to be done. A worker that wakes after the last chunk was claimed finds nothing to
// do. Claims carry the task's generation, so a late worker can never take a chunk of a task
// that has already finished.
//
// Workers spin briefly after each task (a training step calls kernels back to back, tens of
// microseconds apart) and then sleep on a futex (C++20 atomic wait): an idle process costs
// no CPU.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#else
static inline void cpu_relax() {}
#endif

namespace aelab {
namespace {

// How long an idle worker, or the caller waiting for the last chunks, spins before sleeping.
constexpr auto kSpin = std::chrono::microseconds(100);
constexpr uint64_t kLow = 0xffffffffull;

struct Pool {
  std::vector<std::thread> workers;
  std::atomic<uint32_t> wake{0};        // bumped for every task: workers wait on it
  std::atomic<uint64_t> ticket{0};      // generation << 32 | next chunk to claim
  std::atomic<uint64_t> total{0};       // generation << 32 | chunks in the task
  std::atomic<uint32_t> done{0};        // chunks finished in the current task
  std::atomic<int> active{1};           // threads that take part, the caller included
  ChunkFn fn = nullptr;
  void* ctx = nullptr;
  uint32_t generation = 0;
  std::mutex busy;                      // one task at a time (several JS threads may load the addon)

  explicit Pool(int n) {
    for (int t = 1; t < n; t++) workers.emplace_back([this, t] { loop(t); });
  }

  int threads() const { return 1 + static_cast<int>(workers.size()); }

  // Claims and runs chunks of the current task until none is left.
  void work() {
    for (;;) {
      uint64_t t = ticket.load(std::memory_order_acquire);
      const uint64_t tt = total.load(std::memory_order_acquire);
      if ((t >> 32) != (tt >> 32)) continue;  // a new task is being published
      const uint64_t index = t & kLow;
      if (index >= (tt & kLow)) return;
      if (!ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
      // The task cannot finish before this chunk is done, so fn and ctx are its own.
      fn(ctx, static_cast<int64_t>(index));
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == (tt & kLow)) done.notify_one();
    }
  }

  // tid: 1, 2, ...; a worker at or past the thread count asked for stays out of tasks.
  void loop(int tid) {
    uint32_t seen = wake.load(std::memory_order_acquire);
    for (;;) {
      uint32_t w;
      auto until = std::chrono::steady_clock::now() + kSpin;
      int spins = 0;
      while ((w = wake.load(std::memory_order_acquire)) == seen) {
        cpu_relax();
        if (++spins % 64 == 0 && std::chrono::steady_clock::now() > until) wake.wait(seen, std::memory_order_acquire);
      }
      seen = w;
      if (tid < active.load(std::memory_order_relaxed)) work();
    }
  }

  void run(ChunkFn f, void* c, int64_t chunks) {
    fn = f;
    ctx = c;
    generation++;
    done.store(0, std::memory_order_relaxed);
    total.store(static_cast<uint64_t>(generation) << 32 | static_cast<uint64_t>(chunks), std::memory_order_release);
    ticket.store(static_cast<uint64_t>(generation) << 32, std::memory_order_release);
    wake.fetch_add(1, std::memory_order_release);
    wake.notify_all();
    work();
    auto until = std::chrono::steady_clock::now() + kSpin;
    int spins = 0;
    for (uint32_t d; (d = done.load(std::memory_order_acquire)) != static_cast<uint32_t>(chunks);) {
      cpu_relax();
      if (++spins % 64 == 0 && std::chrono::steady_clock::now() > until) done.wait(d, std::memory_order_acquire);
    }
  }
};

// Created on first use and never destroyed: workers sleep in a futex wait, which does not
// keep the process alive, and a static std::thread destroyed while joinable would abort.
Pool* pool = nullptr;
std::mutex poolInit;
int wanted = 0;  // 0: hardware threads

Pool* get() {
  std::lock_guard<std::mutex> lock(poolInit);
  if (!pool) {
    int n = wanted > 0 ? wanted : static_cast<int>(std::thread::hardware_concurrency());
    pool = new Pool(n < 1 ? 1 : n > 64 ? 64 : n);
    pool->active.store(pool->threads());
  }
  return pool;
}

}  // namespace

int pool_threads() {
  Pool* p = get();
  return wanted > 0 && wanted < p->threads() ? wanted : p->threads();
}

void pool_set_threads(int n) {
  std::lock_guard<std::mutex> lock(poolInit);
  wanted = n;
  // An existing pool keeps its threads (they cannot be joined safely while a JS thread might
  // be inside a task): it grows when asked for more, and leaves the extra ones out otherwise.
  if (!pool) return;
  std::lock_guard<std::mutex> busy(pool->busy);
  for (int t = pool->threads(); t < n && t < 64; t++) pool->workers.emplace_back([p = pool, t] { p->loop(t); });
  pool->active.store(n > 0 && n < pool->threads() ? n : pool->threads());
}

void pool_run(ChunkFn fn, void* ctx, int64_t chunks) {
  if (chunks <= 0) return;
  Pool* p = get();
  std::unique_lock<std::mutex> lock(p->busy, std::defer_lock);
  if (chunks == 1 || pool_threads() <= 1 || chunks > static_cast<int64_t>(kLow) || !lock.try_lock()) {
    for (int64_t i = 0; i < chunks; i++) fn(ctx, i);
    return;
  }
  p->run(fn, ctx, chunks);
}

}  // namespace aelab
