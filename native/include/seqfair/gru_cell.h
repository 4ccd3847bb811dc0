// One GRU unit for one time step, shared by the CPU and CUDA kernels. Exactly torch.nn.GRU
// (FORMAT.md 4.5), gate order r, z, n:
//   gi = W_ih x_t + b_ih, gh = W_hh h_{t-1} + b_hh (both 3H, computed by GEMMs outside)
//   r = σ(gi_r + gh_r),  z = σ(gi_z + gh_z),  n = tanh(gi_n + r·gh_n),  h = (1-z)·n + z·h_{t-1}
// The forward keeps cache = [r, z, n, gh_n] per unit (layout (B,L,4H) in the drivers).
// Backward, with dh = ∂L/∂h_t (upstream of step t plus what flows back from step t+1):
//   dn = dh(1-z), dz = dh(h_{t-1} - n), da_n = dn(1-n²)          (a_n = gi_n + r·gh_n)
//   dgi_r = dgh_r = da_n·gh_n·r(1-r),  dgi_z = dgh_z = dz·z(1-z),  dgi_n = da_n,  dgh_n = da_n·r
//   ∂L/∂h_{t-1} = dh·z + W_hh^T dgh   (the GEMM part is done outside)
#pragma once
#include <cmath>

#include "seqfair/hd.h"

namespace seqfair {

SEQFAIR_HD float gru_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// gi* and gh* as above (gh includes b_hh); returns h_t, writes the cache entries
SEQFAIR_HD float gru_cell_forward(float gi_r, float gi_z, float gi_n, float gh_r, float gh_z, float gh_n, float h_prev,
                                  float* r_out, float* z_out, float* n_out) {
  const float r = gru_sigmoid(gi_r + gh_r);
  const float z = gru_sigmoid(gi_z + gh_z);
  const float n = tanhf(gi_n + r * gh_n);
  *r_out = r;
  *z_out = z;
  *n_out = n;
  return (1.0f - z) * n + z * h_prev;
}

// dh = ∂L/∂h_t; writes dgi (r,z,n), dgh_n (dgh_r = dgi_r, dgh_z = dgi_z); returns the direct part
// dh·z of ∂L/∂h_{t-1}
SEQFAIR_HD float gru_cell_backward(float dh, float r, float z, float n, float gh_n, float h_prev, float* dgi_r,
                                   float* dgi_z, float* dgi_n, float* dgh_n) {
  const float dn = dh * (1.0f - z);
  const float dz = dh * (h_prev - n);
  const float dan = dn * (1.0f - n * n);
  *dgi_r = dan * gh_n * r * (1.0f - r);
  *dgi_z = dz * z * (1.0f - z);
  *dgi_n = dan;
  *dgh_n = dan * r;
  return dh * z;
}

}  // namespace seqfair
