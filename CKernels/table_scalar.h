/* Registry rows for the portable scalar kernels (no include guard: an X-macro
 * table, included by registry.c once per expansion).
 *   KB_BSR(function, isa, block_rows, block_cols, tile_n, n_class)
 *   KB_CSR(function, isa, tile_n, n_class)
 * block 0x0 = generic (any block shape). */
KB_BSR(bsr_f32_spmm_generic__scalar, KB_ISA_SCALAR, 0, 0, 1, KB_N_ANY)
KB_BSR(bsr_f32_spmv_generic__scalar, KB_ISA_SCALAR, 0, 0, 1, KB_N_ONE)
KB_CSR(csr_f32_spmm__scalar, KB_ISA_SCALAR, 1, KB_N_ANY)
