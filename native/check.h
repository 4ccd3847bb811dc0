// Argument checking for the N-API entry points (in the spirit of better-sqlite3's macros):
// every pointer, length, integer and index that JavaScript hands to a kernel is validated here and
// a bad one becomes a JS TypeError/RangeError, never a crash. Messages name the function and the
// argument: "gemm: a must be a Float32Array of length 12, got length 10".
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "seqfair/binary.h"
#include "seqfair/philox.h"

namespace seqfair {

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

inline void expect_args(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() != n) {
    throw_type(info.Env(), std::string(fn) + ": expected " + std::to_string(n) + " arguments, got " +
                               std::to_string(info.Length()));
  }
}

inline double number_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsNumber()) throw_type(info.Env(), std::string(fn) + ": expected " + name + " to be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v)) throw_range(info.Env(), std::string(fn) + ": " + name + " must be finite");
  return v;
}

inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t lo,
                       int64_t hi) {
  const double v = number_arg(info, i, fn, name);
  if (v != std::floor(v) || v < (double)lo || v > (double)hi) {
    throw_range(info.Env(), std::string(fn) + ": expected " + name + " to be an integer in [" + std::to_string(lo) +
                                ", " + std::to_string(hi) + "], got " + std::to_string(v));
  }
  return (int64_t)v;
}

inline bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsBoolean()) throw_type(info.Env(), std::string(fn) + ": expected " + name + " to be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// A typed array argument with an exact expected element count (expected < 0: any length).
template <typename T, napi_typedarray_type Kind>
inline T* typed_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t expected,
                    const char* type_name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != Kind) {
    throw_type(info.Env(), std::string(fn) + ": expected " + name + " to be a " + type_name);
  }
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  const int64_t len = (int64_t)arr.ElementLength();
  if (expected >= 0 && len != expected) {
    throw_range(info.Env(), std::string(fn) + ": " + name + " must be a " + type_name + " of length " +
                                std::to_string(expected) + ", got length " + std::to_string(len));
  }
  return arr.Data();
}

inline float* f32_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t expected) {
  return typed_arg<float, napi_float32_array>(info, i, fn, name, expected, "Float32Array");
}

inline int32_t* i32_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t expected) {
  return typed_arg<int32_t, napi_int32_array>(info, i, fn, name, expected, "Int32Array");
}

// null/undefined -> nullptr, otherwise a Float32Array of the expected length
inline float* f32_opt_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                          int64_t expected) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return f32_arg(info, i, fn, name, expected);
}

inline int32_t* i32_opt_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                            int64_t expected) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return i32_arg(info, i, fn, name, expected);
}

// Every id must lie in [lo, hi) (or equal `allowed`, e.g. an ignore index or -1 padding).
inline void check_ids(Napi::Env env, const int32_t* ids, int64_t n, int64_t lo, int64_t hi, const char* fn,
                      const char* name, bool has_allowed = false, int64_t allowed = 0) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = ids[i];
    if (has_allowed && v == allowed) continue;
    if (v < lo || v >= hi) {
      throw_range(env, std::string(fn) + ": " + name + "[" + std::to_string(i) + "] = " + std::to_string(v) +
                           " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + ")");
    }
  }
}

// Products of dimensions, checked against overflow and a sane upper bound (2^40 elements).
inline int64_t checked_mul(Napi::Env env, const char* fn, std::initializer_list<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (d < 0) throw_range(env, std::string(fn) + ": negative dimension");
    if (d != 0 && p > (int64_t(1) << 40) / d) throw_range(env, std::string(fn) + ": dimensions too large");
    p *= d;
  }
  return p;
}

// {seed, stream, offset} object -> RngKey
inline RngKey key_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  Napi::Env env = info.Env();
  if (!info[i].IsObject()) throw_type(env, std::string(fn) + ": expected key to be an object {seed, stream, offset}");
  Napi::Object o = info[i].As<Napi::Object>();
  auto field = [&](const char* name, double hi) -> double {
    Napi::Value v = o.Get(name);
    if (!v.IsNumber()) throw_type(env, std::string(fn) + ": expected key." + name + " to be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > hi || d != std::floor(d)) {
      throw_range(env, std::string(fn) + ": key." + name + " must be a non-negative integer below 2^53");
    }
    return d;
  };
  RngKey k;
  k.seed = (uint64_t)field("seed", 9007199254740991.0);
  k.stream = (uint32_t)field("stream", 4294967295.0);
  k.offset = (uint64_t)field("offset", 9007199254740991.0);
  return k;
}

// NARM attention (both addons): T query rows, the last T of L positions, so T <= L
inline void check_narm_dims(Napi::Env env, const char* fn, int64_t T, int64_t L) {
  if (T > L) {
    throw_range(env, std::string(fn) + ": T = " + std::to_string(T) + " query rows exceed L = " + std::to_string(L) +
                         " positions");
  }
}

// The loop of a broadcast binary op (seqfair/binary.h) from three JS arrays of integers at
// arguments i, i+1, i+2 (dims, strides of a, strides of b), checked against the arrays' lengths:
// equal lengths ≤ kBinaryMaxRank, dims ≥ 1 with Π dims = ny, strides ≥ 0, the last axis's strides
// 0 or 1, and every offset the loop reads inside a (na values) and b (nb values).
inline BroadcastLoop broadcast_loop_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, int64_t na,
                                        int64_t nb, int64_t ny) {
  Napi::Env env = info.Env();
  const char* names[3] = {"dims", "stridesA", "stridesB"};
  BroadcastLoop l;
  int64_t* dst[3] = {l.dims, l.sa, l.sb};
  uint32_t rank = 0;
  for (int k = 0; k < 3; ++k) {
    if (!info[i + k].IsArray()) throw_type(env, std::string(fn) + ": expected " + names[k] + " to be an array of integers");
    Napi::Array arr = info[i + k].As<Napi::Array>();
    if (k == 0) rank = arr.Length();
    if (arr.Length() != rank) {
      throw_range(env, std::string(fn) + ": " + names[k] + " has " + std::to_string(arr.Length()) + " entries, dims has " +
                           std::to_string(rank));
    }
    if (rank > (uint32_t)kBinaryMaxRank) {
      throw_range(env, std::string(fn) + ": at most " + std::to_string(kBinaryMaxRank) + " loop axes, got " + std::to_string(rank));
    }
    for (uint32_t d = 0; d < rank; ++d) {
      Napi::Value v = arr.Get(d);
      const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
      const double lo = k == 0 ? 1 : 0;
      if (!(x == std::floor(x)) || x < lo || x > 2147483647.0) {
        throw_range(env, std::string(fn) + ": " + names[k] + "[" + std::to_string(d) + "] must be an integer >= " +
                             std::to_string((int)lo));
      }
      dst[k][d] = (int64_t)x;
    }
  }
  l.rank = (int32_t)rank;
  // n ≤ ny ≤ 2^31 before each product and every term ≤ 2^62, so nothing here overflows
  int64_t n = 1, maxA = 0, maxB = 0;
  for (int d = 0; d < l.rank && n <= ny; ++d) {
    n *= l.dims[d];
    maxA += (l.dims[d] - 1) * l.sa[d];
    maxB += (l.dims[d] - 1) * l.sb[d];
    if (maxA >= na || maxB >= nb) {
      throw_range(env, std::string(fn) + ": the loop reads past the end of " + (maxA >= na ? "a" : "b"));
    }
  }
  if (n != ny) throw_range(env, std::string(fn) + ": the loop covers " + std::to_string(n) + " elements, y has " + std::to_string(ny));
  if (l.rank > 0 && (l.sa[l.rank - 1] > 1 || l.sb[l.rank - 1] > 1)) {
    throw_range(env, std::string(fn) + ": the last loop axis must have stride 0 or 1 in both operands");
  }
  if (na <= 0 || nb <= 0) throw_range(env, std::string(fn) + ": the loop reads past the end of " + (na <= 0 ? "a" : "b"));
  return l;
}

}  // namespace seqfair
