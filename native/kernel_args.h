// What the kernel descriptions (kernel_args_core.h, kernel_args_fused.h) need from an addon: an
// "Arrays" policy saying how an array argument is read and how an output is told apart from the
// other arrays. Both addons take the same arguments in the same order with the same checks; only
// this differs:
//
//   CPU  (typed_arrays.h):  Float32Array / Int32Array; outputs must not share bytes with others.
//   CUDA (cuda/bind.cc):    device buffer handles; outputs must not be the same buffer as others.
//
// An Arrays policy is made per call from (info, fn) and has
//   const Napi::CallbackInfo& info; const char* fn;
//   float*   f32(i, name, length)          the f32 array at argument i, of exactly `length`
//   int32_t* i32(i, name, length)          elements (kAnyLength: any length)
//   float*   f32_or_null(i, name, length)  as f32, but null/undefined gives nullptr
//   int32_t* i32_or_null(i, name, length)
//   int64_t  length(i)                     element count of an array argument already read
//   void     must_not_overlap(out, other)  throws a RangeError naming both (NamedArg each)
// Every bad argument throws a JS TypeError/RangeError before any kernel runs.
#pragma once
#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "check.h"

namespace seqfair {

constexpr int64_t kAnyLength = -1;
constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;

// an array argument: its position and the name messages use
struct NamedArg {
  size_t index;
  const char* name;
};

inline bool is_absent(const Napi::Value& v) { return v.IsNull() || v.IsUndefined(); }

inline int64_t dim_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  return int_arg(info, i, fn, name, 0, kMaxDim);
}

inline double prob_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const double p = number_arg(info, i, fn, "p");
  if (!(p >= 0.0 && p < 1.0)) {
    throw_range(info.Env(), std::string(fn) + ": p must be in [0, 1), got " + std::to_string(p));
  }
  return p;
}

inline int32_t ignore_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return (int32_t)int_arg(info, i, fn, "ignoreIndex", INT32_MIN, INT32_MAX);
}

// The kernels read their inputs while writing their outputs, so each output must be apart from
// every input and every other output. Checked output by output, each against the other arrays in
// argument order, so a message always names the earlier output first ("dq must not overlap dk").
template <class Arrays>
void outputs_must_not_overlap(const Arrays& arrays, std::initializer_list<NamedArg> outputs,
                              std::initializer_list<NamedArg> inputs) {
  std::vector<NamedArg> all(inputs);
  all.insert(all.end(), outputs.begin(), outputs.end());
  std::sort(all.begin(), all.end(), [](const NamedArg& a, const NamedArg& b) { return a.index < b.index; });
  for (const NamedArg& out : outputs) {
    for (const NamedArg& other : all) {
      if (other.index != out.index) arrays.must_not_overlap(out, other);
    }
  }
}

}  // namespace seqfair
