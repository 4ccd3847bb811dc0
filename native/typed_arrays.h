// The CPU addon's array access (the Call policy of kernel_args.h): an array argument is a Float32Array or Int32Array
// read in place, and an output must not share a byte with another array argument, since the
// kernels read their inputs while they write their outputs. Empty arrays share no bytes.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "check.h"
#include "kernel_args.h"

namespace seqfair {

class TypedArrays : public CallArgs {
 public:
  // The core kernels' messages say "gemm: output c must not overlap input a", the fused kernels'
  // "crossEntropyForward: loss must not overlap lse" (the tests match both wordings).
  enum class Wording { kPlain, kOutputInput };

  TypedArrays(const Napi::CallbackInfo& info, const char* fn, Wording wording = Wording::kPlain)
      : CallArgs(info, fn), wording_(wording) {}

  float* f32(size_t i, const char* name, int64_t length) const { return f32_arg(info, i, fn, name, length); }
  int32_t* i32(size_t i, const char* name, int64_t length) const { return i32_arg(info, i, fn, name, length); }
  float* f32_or_null(size_t i, const char* name, int64_t length) const { return f32_opt_arg(info, i, fn, name, length); }
  int32_t* i32_or_null(size_t i, const char* name, int64_t length) const { return i32_opt_arg(info, i, fn, name, length); }
  int64_t length(size_t i) const { return (int64_t)info[i].As<Napi::TypedArray>().ElementLength(); }

  void must_not_overlap(const NamedArg& out, const NamedArg& other) const {
    const Bytes a = bytes_of(out.index), b = bytes_of(other.index);
    if (a.lo == a.hi || b.lo == b.hi || !(a.lo < b.hi && b.lo < a.hi)) return;
    if (wording_ == Wording::kOutputInput) {
      throw_range(info.Env(), std::string(fn) + ": output " + out.name + " must not overlap input " + other.name);
    }
    throw_range(info.Env(), std::string(fn) + ": " + out.name + " must not overlap " + other.name);
  }

 private:
  struct Bytes {
    uintptr_t lo, hi;
  };
  // an absent optional array (null) has no bytes
  Bytes bytes_of(size_t i) const {
    if (!info[i].IsTypedArray()) return Bytes{0, 0};
    auto arr = info[i].As<Napi::TypedArray>();
    const uintptr_t base = reinterpret_cast<uintptr_t>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    return Bytes{base, base + arr.ByteLength()};
  }

  Wording wording_;
};

}  // namespace seqfair
