#include "thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace tsgpt {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// One job at a time. The caller publishes it under `mu` and bumps `generation`; workers
// take task indices from `next`, whose high 32 bits hold the job's generation, so a worker
// that wakes late can never take a task of a newer job with the old job's function.
// The caller waits until every task is done, not until every worker has woken: a task
// nobody has claimed yet it runs itself, so a descheduled worker costs no waiting.
struct Pool {
  std::mutex mu;
  std::condition_variable wake;   // workers sleep here between jobs
  std::condition_variable done;   // the caller sleeps here for the last task
  std::vector<std::thread> workers;
  bool stopping = false;
  int sleeping = 0;               // workers inside wake.wait (guarded by mu)
  bool caller_waiting = false;    // guarded by mu

  // The current job (written under mu, before generation is bumped).
  std::atomic<uint64_t> generation{0};
  TaskFn fn = nullptr;
  void* ctx = nullptr;
  int64_t n_tasks = 0;
  std::atomic<uint64_t> next{0};      // (generation << 32) | next task index
  std::atomic<int64_t> finished{0};   // tasks of the current job that are done

  int threads = 0;                    // 0 = not initialised yet
  std::mutex call_mu;                 // one parallel_for at a time (JS worker threads)
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destructors
  return *p;
}

int default_threads() {
  if (const char* env = std::getenv("TSGPT_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n > 256 ? 256 : n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : int(hw);
}

// Claims and runs tasks of job `gen` until none is left (or a newer job replaced it).
void run_tasks(Pool& p, uint64_t gen, TaskFn fn, void* ctx, int64_t n_tasks) {
  uint64_t v = p.next.load(std::memory_order_acquire);
  for (;;) {
    if ((v >> 32) != (gen & 0xffffffffu)) return;
    const int64_t t = int64_t(v & 0xffffffffu);
    if (t >= n_tasks) return;
    if (!p.next.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
    fn(ctx, t);
    if (p.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == n_tasks) {
      std::lock_guard<std::mutex> g(p.mu);
      if (p.caller_waiting) p.done.notify_one();
    }
    v = p.next.load(std::memory_order_acquire);
  }
}

// `seen` is the generation when the worker was created (read by its creator).
void worker_main(uint64_t seen) {
  Pool& p = pool();
  for (;;) {
    // Spin briefly before sleeping: back-to-back kernel calls then skip the futex round
    // trip, and an idle process still sleeps.
    for (int spin = 0; spin < 4000 && p.generation.load(std::memory_order_acquire) == seen; spin++) cpu_relax();
    TaskFn fn;
    void* ctx;
    int64_t n_tasks;
    {
      std::unique_lock<std::mutex> lock(p.mu);
      if (!p.stopping && p.generation.load() == seen) {
        p.sleeping++;
        p.wake.wait(lock, [&] { return p.stopping || p.generation.load() != seen; });
        p.sleeping--;
      }
      if (p.stopping) return;
      seen = p.generation.load();
      fn = p.fn;
      ctx = p.ctx;
      n_tasks = p.n_tasks;
    }
    run_tasks(p, seen, fn, ctx, n_tasks);
  }
}

void stop_workers(Pool& p) {
  {
    std::lock_guard<std::mutex> g(p.mu);
    p.stopping = true;
  }
  p.wake.notify_all();
  for (auto& t : p.workers) t.join();
  p.workers.clear();
  p.stopping = false;
}

void start_workers(Pool& p, int threads) {
  p.threads = threads;
  for (int i = 0; i < threads - 1; i++) p.workers.emplace_back(worker_main, p.generation.load());
}

void ensure_started(Pool& p) {
  if (p.threads == 0) start_workers(p, default_threads());
}

}  // namespace

int num_threads() {
  Pool& p = pool();
  std::lock_guard<std::mutex> g(p.call_mu);
  ensure_started(p);
  return p.threads;
}

void set_num_threads(int n) {
  if (n < 1) n = 1;
  if (n > 256) n = 256;
  Pool& p = pool();
  std::lock_guard<std::mutex> g(p.call_mu);
  if (p.threads == n) return;
  stop_workers(p);
  start_workers(p, n);
}

void parallel_for(int64_t n_tasks, TaskFn fn, void* ctx) {
  if (n_tasks <= 0) return;
  Pool& p = pool();
  std::unique_lock<std::mutex> call(p.call_mu, std::try_to_lock);
  // Busy (another JS thread is using the pool), a single task, or no workers: run here.
  if (!call.owns_lock() || n_tasks == 1 || n_tasks > 0x7fffffff) {
    for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t);
    return;
  }
  ensure_started(p);
  if (p.workers.empty()) {
    for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t);
    return;
  }
  uint64_t gen;
  bool wake_needed;
  {
    std::lock_guard<std::mutex> g(p.mu);
    gen = p.generation.load() + 1;
    p.fn = fn;
    p.ctx = ctx;
    p.n_tasks = n_tasks;
    p.finished.store(0, std::memory_order_relaxed);
    p.next.store((gen & 0xffffffffu) << 32, std::memory_order_relaxed);
    p.generation.store(gen, std::memory_order_release);
    wake_needed = p.sleeping > 0;
  }
  if (wake_needed) p.wake.notify_all();
  run_tasks(p, gen, fn, ctx, n_tasks);
  // Tasks claimed by workers may still be running: spin a little, then sleep.
  for (int spin = 0; spin < 4000 && p.finished.load(std::memory_order_acquire) < n_tasks; spin++) cpu_relax();
  if (p.finished.load(std::memory_order_acquire) < n_tasks) {
    std::unique_lock<std::mutex> lock(p.mu);
    p.caller_waiting = true;
    p.done.wait(lock, [&] { return p.finished.load(std::memory_order_acquire) >= n_tasks; });
    p.caller_waiting = false;
  }
}

}  // namespace tsgpt
