/* NEON kernels (aarch64 only). Registry rows: table_neon.h. */
#include "kernelbench.h"
#if defined(__aarch64__)
#include <arm_neon.h>
#endif
