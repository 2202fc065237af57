#include <benchmark/benchmark.h>
#include "kernelbench.h"
BENCHMARK_MAIN();
