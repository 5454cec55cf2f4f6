// malloc settings for a training loop's allocation pattern (malloc_tuning.cc).
#pragma once

namespace tsgpt {

/** Applies the settings once (at addon load), unless TSGPT_MALLOC_TUNING=0. */
void tune_malloc();

/** Whether the settings are in effect. */
bool malloc_tuned();

}  // namespace tsgpt
