// What the kernel descriptions (kernel_args_core.h, kernel_args_fused.h) need from an addon: a
// "Call" policy, a CallArgs (below: the scalar arguments, the same in both addons) that also says
// how an array argument is read and how an output is told apart from the other arrays. Both
// addons take the same arguments in the same order with the same checks; only this differs:
//
//   CPU  (typed_arrays.h):  Float32Array / Int32Array; outputs must not share bytes with others.
//   CUDA (cuda/bind.cc):    device buffer handles; outputs must not be the same buffer as others.
//
// A Call policy is made per call from (info, fn) and adds to CallArgs
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

// One call being parsed: its arguments and the function name every message starts with. The
// scalar arguments read the same in both addons; each addon's Call policy derives from this.
class CallArgs {
 public:
  CallArgs(const Napi::CallbackInfo& info, const char* fn) : info(info), fn(fn) {}

  const Napi::CallbackInfo& info;
  const char* fn;

  void expect_count(size_t n) const { expect_args(info, n, fn); }
  int64_t dim(size_t i, const char* name) const { return int_arg(info, i, fn, name, 0, kMaxDim); }
  int64_t integer(size_t i, const char* name, int64_t lo, int64_t hi) const {
    return int_arg(info, i, fn, name, lo, hi);
  }
  double number(size_t i, const char* name) const { return number_arg(info, i, fn, name); }
  bool boolean(size_t i, const char* name) const { return bool_arg(info, i, fn, name); }
  RngKey key(size_t i) const { return key_arg(info, i, fn); }
  bool absent(size_t i) const { return is_absent(info[i]); }
  // a product of dims, checked against overflow (the length an array must have)
  int64_t product(std::initializer_list<int64_t> dims) const { return checked_mul(info.Env(), fn, dims); }

  double probability(size_t i) const {
    const double p = number(i, "p");
    if (!(p >= 0.0 && p < 1.0)) range_error("p must be in [0, 1), got " + std::to_string(p));
    return p;
  }
  int32_t ignore_index(size_t i) const { return (int32_t)integer(i, "ignoreIndex", INT32_MIN, INT32_MAX); }

  // "fn: what"
  [[noreturn]] void range_error(const std::string& what) const { throw_range(info.Env(), std::string(fn) + ": " + what); }
};

// The kernels read their inputs while writing their outputs, so each output must be apart from
// every input and every other output. Checked output by output, each against the other arrays in
// argument order, so a message always names the earlier output first ("dq must not overlap dk").
template <class Call>
void outputs_must_not_overlap(const Call& call, std::initializer_list<NamedArg> outputs,
                              std::initializer_list<NamedArg> inputs) {
  std::vector<NamedArg> all(inputs);
  all.insert(all.end(), outputs.begin(), outputs.end());
  std::sort(all.begin(), all.end(), [](const NamedArg& a, const NamedArg& b) { return a.index < b.index; });
  for (const NamedArg& out : outputs) {
    for (const NamedArg& other : all) {
      if (other.index != out.index) call.must_not_overlap(out, other);
    }
  }
}

}  // namespace seqfair
