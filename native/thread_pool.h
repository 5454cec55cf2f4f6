// A persistent pool of worker threads for the kernels.
//
// Workers are created once (lazily) and sleep on a condition variable between calls, so an
// idle process does not burn CPU. parallel_for() hands out task indices through an atomic
// counter; the calling thread works too and returns when every task is done.
#pragma once
#include <cstdint>

namespace tsgpt {

using TaskFn = void (*)(void* ctx, int64_t task);

/** Run fn(ctx, t) for every t in [0, n_tasks), spread over the pool. */
void parallel_for(int64_t n_tasks, TaskFn fn, void* ctx);

/** Threads used by parallel_for (including the caller). */
int num_threads();

/** Change the thread count (≥ 1); joins and recreates the workers. */
void set_num_threads(int n);

/**
 * Split [0, n) into chunks of at least min_chunk elements and call f(begin, end) on each,
 * in parallel when there is more than one chunk. Small ranges run on the calling thread.
 */
template <typename F>
void parallel_range(int64_t n, int64_t min_chunk, F&& f) {
  if (n <= 0) return;
  int64_t threads = num_threads();
  int64_t chunks = n / (min_chunk > 0 ? min_chunk : 1);
  if (chunks > threads * 4) chunks = threads * 4;
  if (chunks <= 1 || threads <= 1) {
    f(int64_t(0), n);
    return;
  }
  struct Ctx { F* f; int64_t n; int64_t chunks; } ctx{&f, n, chunks};
  parallel_for(chunks, [](void* p, int64_t t) {
    auto* c = static_cast<Ctx*>(p);
    int64_t begin = c->n * t / c->chunks, end = c->n * (t + 1) / c->chunks;
    if (begin < end) (*c->f)(begin, end);
  }, &ctx);
}

}  // namespace tsgpt
