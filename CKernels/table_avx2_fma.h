/* Registry rows for the AVX2/FMA kernels (x86-64 only); see table_scalar.h. */
