// libFuzzer's driver entry point (compiler-rt, linked by -sanitize=fuzzer).
// Declared here because SwiftPM names an executable's entry point itself:
// the fuzz target's own main hands argc/argv to libFuzzer through this.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv,
                        int (*test_one_input)(const uint8_t *data, size_t size));
