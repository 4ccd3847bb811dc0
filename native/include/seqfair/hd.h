// SEQFAIR_HD marks arithmetic shared by the CPU kernels and the CUDA kernels: the same inline
// function body is compiled for the host by g++ (CPU addon) and for host+device by nvcc.
#pragma once
#if defined(__CUDACC__)
#define SEQFAIR_HD __host__ __device__ __forceinline__
#else
#define SEQFAIR_HD inline
#endif
