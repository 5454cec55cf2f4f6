#include "thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace tsgpt {
namespace {

// One job at a time: the caller publishes it, bumps `generation` and wakes the workers.
struct Pool {
  std::mutex mu;
  std::condition_variable wake;       // workers wait here for a new generation
  std::condition_variable done;       // the caller waits here for the last worker
  std::vector<std::thread> workers;
  std::atomic<uint64_t> generation{0};
  bool stopping = false;

  // The current job.
  TaskFn fn = nullptr;
  void* ctx = nullptr;
  int64_t n_tasks = 0;
  int active_workers = 0;              // workers that take part in this job
  std::atomic<int64_t> next_task{0};
  std::atomic<int> running{0};         // workers still busy with this job

  int threads = 0;                     // 0 = not initialised yet
  std::mutex call_mu;                  // one parallel_for at a time (JS worker threads)
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

void run_tasks(Pool& p) {
  for (;;) {
    int64_t t = p.next_task.fetch_add(1, std::memory_order_relaxed);
    if (t >= p.n_tasks) break;
    p.fn(p.ctx, t);
  }
}

void worker_main(int index) {
  Pool& p = pool();
  uint64_t seen = p.generation.load();
  for (;;) {
    // Spin briefly (a few microseconds) before sleeping: back-to-back kernel calls then
    // avoid a futex round trip, and an idle process still sleeps.
    bool got = false;
    for (int spin = 0; spin < 2000; spin++) {
      if (p.generation.load(std::memory_order_acquire) != seen) { got = true; break; }
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    std::unique_lock<std::mutex> lock(p.mu);
    if (!got) p.wake.wait(lock, [&] { return p.stopping || p.generation.load() != seen; });
    if (p.stopping) return;
    seen = p.generation.load();
    bool take_part = index < p.active_workers;
    lock.unlock();
    if (!take_part) continue;
    run_tasks(p);
    if (p.running.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> g(p.mu);
      p.done.notify_one();
    }
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
  for (int i = 0; i < threads - 1; i++) p.workers.emplace_back(worker_main, i);
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
  // Busy (another JS thread is using the pool) or nothing to share: run here.
  if (!call.owns_lock() || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t);
    return;
  }
  ensure_started(p);
  int helpers = int(p.workers.size());
  if (int64_t(helpers) > n_tasks - 1) helpers = int(n_tasks - 1);
  if (helpers <= 0) {
    for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t);
    return;
  }
  {
    std::lock_guard<std::mutex> g(p.mu);
    p.fn = fn;
    p.ctx = ctx;
    p.n_tasks = n_tasks;
    p.active_workers = helpers;
    p.next_task.store(0, std::memory_order_relaxed);
    p.running.store(helpers, std::memory_order_relaxed);
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.wake.notify_all();
  run_tasks(p);
  // Wait for the helpers: spin a little, then sleep.
  for (int spin = 0; spin < 4000 && p.running.load(std::memory_order_acquire) != 0; spin++) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  if (p.running.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lock(p.mu);
    p.done.wait(lock, [&] { return p.running.load(std::memory_order_acquire) == 0; });
  }
}

}  // namespace tsgpt
