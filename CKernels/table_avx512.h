/* Registry rows for the AVX-512 kernels (x86-64 only; AVX-512 F + VL, run
 * only where CPUID reports them and XCR0 enables the opmask and ZMM state);
 * see table_scalar.h.
 *   KB_BSR(function, isa, block_rows, block_cols, tile_n, n_class)
 *   KB_CSR(function, isa, tile_n, n_class)
 * SpMM kernels: register tile of 64 columns (4 zmm; N tails masked); the
 * N = 1 rows fall back to the SpMM kernel of their shape when n != 1 or
 * ldb != 1. Functions: avx512.c. */
KB_BSR(bsr_f32_spmm_b2x2_n64__avx512, KB_ISA_AVX512, 2, 2, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b4x4_n64__avx512, KB_ISA_AVX512, 4, 4, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b8x8_n64__avx512, KB_ISA_AVX512, 8, 8, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b16x16_n64__avx512, KB_ISA_AVX512, 16, 16, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b32x32_n64__avx512, KB_ISA_AVX512, 32, 32, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b1x4_n64__avx512, KB_ISA_AVX512, 1, 4, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b4x1_n64__avx512, KB_ISA_AVX512, 4, 1, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b8x1_n64__avx512, KB_ISA_AVX512, 8, 1, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b16x1_n64__avx512, KB_ISA_AVX512, 16, 1, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmm_generic_n64__avx512, KB_ISA_AVX512, 0, 0, 64, KB_N_ANY)
KB_BSR(bsr_f32_spmv_b2x2__avx512, KB_ISA_AVX512, 2, 2, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_b4x4__avx512, KB_ISA_AVX512, 4, 4, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_b8x8__avx512, KB_ISA_AVX512, 8, 8, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_b16x16__avx512, KB_ISA_AVX512, 16, 16, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_b32x32__avx512, KB_ISA_AVX512, 32, 32, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_b1x4__avx512, KB_ISA_AVX512, 1, 4, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_b4x1__avx512, KB_ISA_AVX512, 4, 1, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_b8x1__avx512, KB_ISA_AVX512, 8, 1, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_b16x1__avx512, KB_ISA_AVX512, 16, 1, 1, KB_N_ONE)
KB_BSR(bsr_f32_spmv_generic__avx512, KB_ISA_AVX512, 0, 0, 1, KB_N_ONE)
KB_CSR(csr_f32_spmm_n64__avx512, KB_ISA_AVX512, 64, KB_N_ANY)
KB_CSR(csr_f32_spmv__avx512, KB_ISA_AVX512, 1, KB_N_ONE)
