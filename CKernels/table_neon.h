/* Registry rows for the NEON kernels (aarch64 only); see table_scalar.h.
 *   KB_BSR(function, isa, block_rows, block_cols, tile_n, n_class)
 *   KB_CSR(function, isa, tile_n, n_class)
 * block 0x0 = generic (any block shape). Functions: neon.c. */
KB_BSR(bsr_f32_spmm_b4x4_n16__neon, KB_ISA_NEON, 4, 4, 16, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b8x8_n8__neon, KB_ISA_NEON, 8, 8, 8, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b8x8_n16__neon, KB_ISA_NEON, 8, 8, 16, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b16x16_n8__neon, KB_ISA_NEON, 16, 16, 8, KB_N_ANY)
KB_BSR(bsr_f32_spmm_b16x16_n16__neon, KB_ISA_NEON, 16, 16, 16, KB_N_ANY)
KB_BSR(bsr_f32_spmm_generic_n8__neon, KB_ISA_NEON, 0, 0, 8, KB_N_ANY)
KB_CSR(csr_f32_spmm_n8__neon, KB_ISA_NEON, 8, KB_N_ANY)
KB_CSR(csr_f32_spmm_n16__neon, KB_ISA_NEON, 16, KB_N_ANY)
