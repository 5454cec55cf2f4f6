// Keeps large buffers in the malloc heap between training steps.
//
// A training step allocates and frees the same large typed arrays (activations, gradients,
// logits) every step. Node's ArrayBuffer allocator takes them from glibc malloc, which serves
// blocks above its mmap threshold (128 KiB, rising to at most 32 MiB) with a fresh mmap and
// returns them with munmap: every step then pays for the system calls and for faulting in every
// page again. Raising the mmap threshold and the trim threshold makes freed blocks stay in the
// heap and be reused by the next step. glibc only; TSGPT_MALLOC_TUNING=0 leaves malloc alone.
#include "malloc_tuning.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tsgpt {
namespace {

bool tuned = false;

}  // namespace

void tune_malloc() {
#if defined(__GLIBC__)
  static bool done = false;
  if (done) return;
  done = true;
  const char* env = std::getenv("TSGPT_MALLOC_TUNING");
  if (env && std::strcmp(env, "0") == 0) return;
  // Blocks up to 256 MiB come from the heap (llama-110m's logits of a batch fit), and up to
  // 512 MiB of free heap is kept rather than given back to the system after each free.
  const bool ok = mallopt(M_MMAP_THRESHOLD, 256 << 20) == 1;
  tuned = ok && mallopt(M_TRIM_THRESHOLD, 512 << 20) == 1;
#endif
}

bool malloc_tuned() { return tuned; }

}  // namespace tsgpt
