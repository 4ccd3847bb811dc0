/**
 * Float log / exp / cos(2πu) with the same bits as native/include/seqfair/portable_math.h (the C++
 * and CUDA twin; read its header for why these exist). Every step is one binary32 operation:
 * the double result of +, −, ×, ÷ or √ on two floats, rounded by Math.fround, is exactly the
 * correctly rounded binary32 result (double has more than 2·24 + 2 bits), so this code
 * reproduces the native scalar code, its AVX2 lanes and CUDA bit for bit. Constants are
 * Math.fround(double literal), like the C++ (float)(double literal).
 */
const f = Math.fround;

const LN2_HI = f(0.693145751953125);
const LN2_LO = f(1.4286068202862268e-6);
const LOG2E = f(1.4426950408889634);
const SQRT2 = f(1.4142135623730951);
const L3 = f(0.66666666666666663), L5 = f(0.40000000000000002), L7 = f(0.2857142857142857), L9 = f(0.22222222222222221);
const E3 = f(0.16666666666666666), E4 = f(0.041666666666666664), E5 = f(0.0083333333333333332);
const E6 = f(0.0013888888888888889), E7 = f(0.00019841269841269841);
const C2 = f(1.2337005501361697), C4 = f(0.25366950790104797), C6 = f(0.020863480763352957);
const C8 = f(0.00091926027483942626), C10 = f(0.000025202042373060596);
const S1 = f(1.5707963267948966), S3 = f(0.64596409750624617), S5 = f(0.079692626246167034);
const S7 = f(0.0046817541353186866), S9 = f(0.00016044118478735975), S11 = f(0.0000035988432352120839);
/** below this f32Exp returns 0 (its result is never subnormal) */
export const EXP_MIN = -86.5;
/** the smallest normal float */
export const FLT_MIN = 1.1754943508222875e-38;

const cast = new DataView(new ArrayBuffer(4));
function bitsOf(x: number): number {
  cast.setFloat32(0, x, true);
  return cast.getUint32(0, true);
}
function floatOf(u: number): number {
  cast.setUint32(0, u >>> 0, true);
  return cast.getFloat32(0, true);
}

/** natural log of a positive normal float x (x = m·2^e, m in (√½, √2], log m = 2 atanh((m−1)/(m+1))) */
export function f32Log(x: number): number {
  const b = bitsOf(x);
  let e = (b >>> 23) - 127;
  let m = floatOf((b & 0x7fffff) | 0x3f800000);
  if (m > SQRT2) {
    m = f(m * 0.5);
    e = e + 1;
  }
  const s = f(f(m - 1) / f(m + 1));
  const s2 = f(s * s);
  const p = f(f(f(f(f(f(f(L9 * s2) + L7) * s2) + L5) * s2) + L3) * s2);
  const logm = f(f(2 * s) + f(s * p));
  return f(f(f(e * LN2_LO) + logm) + f(e * LN2_HI));
}

/** e^y for y <= 0: y = k·ln2 + r, Taylor to r^7 on |r| <= ln2/2; 0 below EXP_MIN */
export function f32Exp(y: number): number {
  if (!(y >= EXP_MIN)) return 0;
  const k = Math.floor(f(f(y * LOG2E) + 0.5));
  const r = f(f(y - f(k * LN2_HI)) - f(k * LN2_LO));
  let p = f(f(E7 * r) + E6);
  p = f(f(p * r) + E5);
  p = f(f(p * r) + E4);
  p = f(f(p * r) + E3);
  p = f(f(p * r) + 0.5);
  p = f(f(p * r) + 1);
  p = f(f(p * r) + 1);
  return f(p * 2 ** k);
}

/** cos(2πu) for u in [0, 1): 4u = n + f exactly, quadrant n mod 4 picks ±cos/±sin of (π/2)·f */
export function f32Cos2pi(u: number): number {
  const v = f(u * 4);
  const n = Math.floor(f(v + 0.5));
  const x = f(v - n);
  const x2 = f(x * x);
  const c = f(f(f(f(f(f(f(f(f(f(-C10 * x2) + C8) * x2) - C6) * x2) + C4) * x2) - C2) * x2) + 1);
  const s = f(f(f(f(f(f(f(f(f(f(f(-S11 * x2) + S9) * x2) - S7) * x2) + S5) * x2) - S3) * x2) + S1) * x);
  switch (n & 3) {
    case 0: return c;
    case 1: return -s;
    case 2: return -c;
    default: return s;
  }
}
