/* Registry rows for the NEON kernels (aarch64 only); see table_scalar.h. */
