@testable import BlockSparse

/// FNV-1a over the bit patterns of a matrix's arrays: a checksum that pins
/// generator output across machines.
func checksum(_ m: BSRMatrix) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ x: UInt64) { h = (h ^ x) &* 0x100_0000_01b3 }
    for p in m.rowPointers { mix(UInt64(UInt32(bitPattern: p))) }
    for c in m.columnIndices { mix(UInt64(UInt32(bitPattern: c))) }
    for v in m.values { mix(UInt64(v.bitPattern)) }
    return h
}

func shape(_ r: Int, _ c: Int) -> BlockShape { try! BlockShape(rows: r, cols: c) }

func randomBSR(_ rows: Int, _ cols: Int, _ r: Int, _ c: Int, sparsity: Double,
               _ distribution: BlockDistribution = .uniform, seed: UInt64 = 7) -> BSRMatrix {
    try! BSRMatrix.random(GeneratorSpec(rows: rows, cols: cols, block: shape(r, c), sparsity: sparsity,
                                        distribution: distribution, seed: seed))
}
