// Row-wise kernels over the last axis: softmax, LayerNorm, RMSNorm, cross-entropy, and
// their gradients. Rows are independent, so they are split over the thread pool; row
// statistics are accumulated in double.
#include <cmath>

#include "kernels.h"
#include "thread_pool.h"
#include "vec_math.h"

namespace tsgpt {
namespace {

constexpr int64_t kRowChunk = 1 << 14;  // elements per parallel chunk, at least

int64_t min_rows(int64_t cols) { return cols >= kRowChunk ? 1 : kRowChunk / (cols > 0 ? cols : 1); }

template <typename F>
void for_rows(int64_t rows, int64_t cols, F&& f) {
  parallel_range(rows, min_rows(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) f(r);
  });
}

float row_max(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

// log Σ exp(x_i), stable: shifted by the max.
double log_sum_exp(const float* x, int64_t n) {
  const float m = row_max(x, n);
  if (m == -INFINITY || m == INFINITY) return m;  // all -inf (masked), or an inf logit
  return double(m) + std::log(exp_shifted_sum_const(x, n, m));
}

// Column sums Σ_r f(r, c) into acc[c] (+=), split over columns so no two threads share one.
template <typename F>
void accumulate_columns(int64_t rows, int64_t cols, float* acc, F&& f) {
  const int64_t min_cols = rows >= kRowChunk ? 16 : (kRowChunk / (rows > 0 ? rows : 1));
  parallel_range(cols, min_cols, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++) {
      double s = 0;
      for (int64_t r = 0; r < rows; r++) s += f(r, c);
      acc[c] += float(s);
    }
  });
}

}  // namespace

void softmax(const float* x, int64_t rows, int64_t cols, float* out, bool log) {
  if (cols <= 0) return;
  for_rows(rows, cols, [&](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = out + r * cols;
    const float m = row_max(xr, cols);
    // Vectorized exp (vec_math.h); the log form only needs the sum.
    const double s = log ? exp_shifted_sum_const(xr, cols, m) : exp_shifted_scaled_sum(xr, cols, m, yr);
    if (log) {
      const float shift = float(double(m) + std::log(s));
      for (int64_t i = 0; i < cols; i++) yr[i] = xr[i] - shift;
    } else {
      const float inv = float(1.0 / s);
      for (int64_t i = 0; i < cols; i++) yr[i] *= inv;
    }
  });
}

void softmax_backward(const float* y, const float* gy, int64_t rows, int64_t cols, float* gx, bool log) {
  if (cols <= 0) return;
  for_rows(rows, cols, [&](int64_t r) {
    const float* yr = y + r * cols;
    const float* gr = gy + r * cols;
    float* out = gx + r * cols;
    double s = 0;
    if (log) {
      for (int64_t i = 0; i < cols; i++) s += gr[i];
      const float fs = float(s);
      for (int64_t i = 0; i < cols; i++) out[i] = gr[i] - std::exp(yr[i]) * fs;
    } else {
      for (int64_t i = 0; i < cols; i++) s += double(gr[i]) * yr[i];
      const float fs = float(s);
      for (int64_t i = 0; i < cols; i++) out[i] = yr[i] * (gr[i] - fs);
    }
  });
}

void layer_norm(const float* x, const float* w, const float* b, int64_t rows, int64_t cols, double eps,
                float* out, float* mean, float* rstd) {
  if (cols <= 0) return;
  for_rows(rows, cols, [&](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = out + r * cols;
    double s = 0;
    for (int64_t i = 0; i < cols; i++) s += xr[i];
    const double mu = s / double(cols);
    double v = 0;
    for (int64_t i = 0; i < cols; i++) {
      const double d = xr[i] - mu;
      v += d * d;
    }
    const double rs = 1.0 / std::sqrt(v / double(cols) + eps);
    mean[r] = float(mu);
    rstd[r] = float(rs);
    const float fmu = float(mu), frs = float(rs);
    for (int64_t i = 0; i < cols; i++) {
      float h = (xr[i] - fmu) * frs;
      if (w) h *= w[i];
      if (b) h += b[i];
      yr[i] = h;
    }
  });
}

void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                         int64_t rows, int64_t cols, float* gx, float* gw, float* gb) {
  if (cols <= 0) return;
  // gx = rstd * (g - mean(g) - xhat * mean(g * xhat)), with g = gy * w.
  for_rows(rows, cols, [&](int64_t r) {
    const float* xr = x + r * cols;
    const float* gr = gy + r * cols;
    float* out = gx + r * cols;
    const float mu = mean[r], rs = rstd[r];
    double sg = 0, sgx = 0;
    for (int64_t i = 0; i < cols; i++) {
      const float g = w ? gr[i] * w[i] : gr[i];
      const float xh = (xr[i] - mu) * rs;
      sg += g;
      sgx += double(g) * xh;
    }
    const float mg = float(sg / double(cols)), mgx = float(sgx / double(cols));
    for (int64_t i = 0; i < cols; i++) {
      const float g = w ? gr[i] * w[i] : gr[i];
      const float xh = (xr[i] - mu) * rs;
      out[i] = rs * (g - mg - xh * mgx);
    }
  });
  if (gw) {
    accumulate_columns(rows, cols, gw, [&](int64_t r, int64_t c) {
      return double(gy[r * cols + c]) * double((x[r * cols + c] - mean[r]) * rstd[r]);
    });
  }
  if (gb) accumulate_columns(rows, cols, gb, [&](int64_t r, int64_t c) { return double(gy[r * cols + c]); });
}

void rms_norm(const float* x, const float* w, int64_t rows, int64_t cols, double eps, float* out, float* rstd) {
  if (cols <= 0) return;
  for_rows(rows, cols, [&](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = out + r * cols;
    double ss = 0;
    for (int64_t i = 0; i < cols; i++) ss += double(xr[i]) * xr[i];
    const float rs = float(1.0 / std::sqrt(ss / double(cols) + eps));
    rstd[r] = rs;
    for (int64_t i = 0; i < cols; i++) yr[i] = w ? xr[i] * rs * w[i] : xr[i] * rs;
  });
}

void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* gy,
                       int64_t rows, int64_t cols, float* gx, float* gw) {
  if (cols <= 0) return;
  // y = x * rstd * w  →  gx = rstd * g - x * rstd^3 * mean(g * x), with g = gy * w.
  for_rows(rows, cols, [&](int64_t r) {
    const float* xr = x + r * cols;
    const float* gr = gy + r * cols;
    float* out = gx + r * cols;
    const float rs = rstd[r];
    double sgx = 0;
    for (int64_t i = 0; i < cols; i++) sgx += double(w ? gr[i] * w[i] : gr[i]) * xr[i];
    const float k = float(double(rs) * rs * rs * sgx / double(cols));
    for (int64_t i = 0; i < cols; i++) {
      const float g = w ? gr[i] * w[i] : gr[i];
      out[i] = rs * g - xr[i] * k;
    }
  });
  if (gw) {
    accumulate_columns(rows, cols, gw, [&](int64_t r, int64_t c) {
      return double(gy[r * cols + c]) * double(x[r * cols + c] * rstd[r]);
    });
  }
}

void cross_entropy(const float* logits, const int32_t* targets, int64_t rows, int64_t cols, int32_t ignore_index,
                   float* losses, float* lse) {
  for_rows(rows, cols, [&](int64_t r) {
    const float* xr = logits + r * cols;
    const double l = log_sum_exp(xr, cols);
    lse[r] = float(l);
    const int32_t t = targets[r];
    losses[r] = t == ignore_index ? 0.0f : float(l - double(xr[t]));
  });
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* g_loss,
                            int64_t rows, int64_t cols, int32_t ignore_index, float* glogits) {
  for_rows(rows, cols, [&](int64_t r) {
    const float* xr = logits + r * cols;
    float* out = glogits + r * cols;
    const int32_t t = targets[r];
    if (t == ignore_index) {
      for (int64_t i = 0; i < cols; i++) out[i] = 0.0f;
      return;
    }
    const float g = g_loss[r], l = lse[r];
    exp_shifted_scaled(xr, cols, l, g, out);  // out may be the logits themselves
    out[t] -= g;
  });
}

}  // namespace tsgpt
