/* AVX2/FMA kernels (x86-64). Every function carries
 * __attribute__((target("avx2,fma"))) so the rest of the target stays
 * baseline x86-64. Registry rows: table_avx2_fma.h. */
#include "kernelbench.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif
