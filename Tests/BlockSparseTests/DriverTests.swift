import Testing
@testable import BlockSparse
import TestSupport

@Suite struct PartitionTests {
    let oneNode = Topology(nodes: [[0, 1]])

    @Test func balancedSplitEqualisesCost() {
        // Row 0 is heavy: equal rows would give worker 0 almost everything.
        var ptr: [Int32] = [0]
        for count in [40, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] {
            ptr.append(ptr.last! + Int32(count))
        }
        let costs = PartitionPlan.rowCosts(rowPointers: ptr, block: shape(8, 8), n: 64)
        let balanced = PartitionPlan.make(rowCosts: costs, n: 64, workers: 2, strategy: .balanced, topology: oneNode)
        let equal = PartitionPlan.make(rowCosts: costs, n: 64, workers: 2, strategy: .equalRows, topology: oneNode)
        #expect(balanced.imbalance < equal.imbalance)
        #expect(balanced.imbalance < 1.1)
        #expect(equal.partitions.map(\.blockRows) == [0..<20, 20..<41])
    }

    @Test func heavyRowsTriggerAnNSplit() {
        // One block row holds everything: only an N split gives two workers work.
        let ptr: [Int32] = [0, 100, 100, 100]
        let costs = PartitionPlan.rowCosts(rowPointers: ptr, block: shape(8, 8), n: 64)
        let plan = PartitionPlan.make(rowCosts: costs, n: 64, workers: 2, strategy: .balanced, topology: oneNode)
        #expect(plan.columnSlices == 2)
        #expect(Set(plan.partitions.map(\.columns)) == [0..<32, 32..<64])
        // Too narrow to split: N = 8 stays whole.
        let narrow = PartitionPlan.make(rowCosts: costs, n: 8, workers: 2, strategy: .balanced, topology: oneNode)
        #expect(narrow.columnSlices == 1)
    }

    @Test func balancedPlansCutEachWorkersShareIntoChunks() {
        let costs = (0..<64).map { Double(1 + ($0 * 37) % 11) }
        let plan = PartitionPlan.make(rowCosts: costs, n: 64, workers: 2, strategy: .balanced, topology: oneNode,
                                      chunksPerWorker: 4)
        #expect(plan.partitions.count == 8 && plan.columnSlices == 1)
        #expect(plan.imbalance < 1.25)  // whole rows of cost up to 11 in chunks of about 45
        // Contiguous and in order: chunk k ends where chunk k + 1 starts.
        let ranges = plan.partitions.map(\.blockRows)
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 64)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        // One worker, one range: chunks exist to share work between threads.
        #expect(PartitionPlan.make(rowCosts: costs, n: 64, workers: 1, strategy: .balanced, topology: oneNode,
                                   chunksPerWorker: 4).partitions.count == 1)
        // Equal rows stays one range per worker, the naive split it stands for.
        #expect(PartitionPlan.make(rowCosts: costs, n: 64, workers: 2, strategy: .equalRows, topology: oneNode,
                                   chunksPerWorker: 4).partitions.count == 2)
        // The N split still answers to the workers, not the chunks: one heavy row
        // among light ones is no reason to cut N into 8-column slices.
        var heavy = [Double](repeating: 1, count: 64)
        heavy[5] = 20
        #expect(PartitionPlan.make(rowCosts: heavy, n: 64, workers: 2, strategy: .balanced, topology: oneNode,
                                   chunksPerWorker: 4).columnSlices == 1)
    }

    @Test func moreWorkersThanRowsGivesEmptyPartitions() {
        let plan = PartitionPlan.make(rowCosts: [1, 1], n: 4, workers: 5, strategy: .equalRows, topology: oneNode)
        #expect(plan.partitions.count == 2)
        let cost = PartitionPlan.costSplit([5, 5], parts: 4)
        #expect(cost.count == 4)
        #expect(cost.map(\.count).reduce(0, +) == 2)
        #expect(cost.contains { $0.isEmpty })
    }

    @Test func partitionsCoverEveryRowOnce() {
        for workers in 1...7 {
            let costs = (0..<23).map { Double(($0 * 7919) % 13) }
            for strategy in PartitionStrategy.allCases {
                let plan = PartitionPlan.make(rowCosts: costs, n: 64, workers: workers, strategy: strategy, topology: oneNode)
                var covered = [Int](repeating: 0, count: 23 * 64)
                for p in plan.partitions { for r in p.blockRows { for c in p.columns { covered[r * 64 + c] += 1 } } }
                #expect(covered.allSatisfy { $0 == 1 }, "workers \(workers) \(strategy)")
            }
        }
    }

    @Test func nodesGetContiguousGroupsInProportion() {
        let two = Topology(nodes: [[0, 1], [2, 3]])
        let plan = PartitionPlan.make(rowCosts: [Double](repeating: 1, count: 16), n: 4, workers: 4,
                                      strategy: .balanced, topology: two)
        #expect(plan.partitions.map(\.node) == [0, 0, 1, 1])
        let four = Topology(nodes: [[0], [1], [2], [3]])
        let plan4 = PartitionPlan.make(rowCosts: [Double](repeating: 1, count: 16), n: 4, workers: 8,
                                       strategy: .balanced, topology: four)
        #expect(plan4.partitions.map(\.node) == [0, 0, 1, 1, 2, 2, 3, 3])
        let uneven = Topology(nodes: [[0, 1, 2], [3]])
        #expect(PartitionPlan.nodeAssignment(parts: 4, topology: uneven) == [0, 0, 0, 1])
    }
}

@Suite struct DriverTests {
    func singleThreaded(_ a: BSRMatrix, _ b: DenseMatrix, _ kernel: Kernel) throws -> DenseMatrix {
        var c = try DenseMatrix(zeros: a.rows, b.cols)
        try kernel.multiply(a, b, into: &c)
        return c
    }

    @Test(arguments: [1, 2, 3, 8, 200])
    func matchesSingleThreadBitForBit(_ threads: Int) throws {
        let a = randomBSR(97, 75, 8, 8, sparsity: 0.6, .powerlaw, seed: 5)
        let b = try DenseMatrix.random(rows: 75, cols: 20, seed: 6)
        let kernel = try Kernel.select(.bsr, block: a.block, n: 20)
        let expected = try singleThreaded(a, b, kernel)
        for strategy in PartitionStrategy.allCases {
            let driver = try ParallelSpMM(.bsr(a), b, kernel: kernel, options: DriverOptions(threads: threads, strategy: strategy))
            driver.run()
            let got = driver.result()
            if driver.plan.columnSlices == 1 {
                #expect(got == expected, "threads \(threads) \(strategy)")
            }
            let ref = try Reference(a, b)
            #expect(got.values.withUnsafeBufferPointer { ref.verify($0, ld: 20) }.passed)
        }
    }

    @Test func nSplitPassesVerificationAndAccumulates() throws {
        // A single dense block row forces an N split with 2 workers.
        let a = randomBSR(8, 256, 8, 8, sparsity: 0.0, seed: 8)
        let b = try DenseMatrix.random(rows: 256, cols: 64, seed: 9)
        let kernel = try Kernel.select(.bsr, block: a.block, n: 64)
        let driver = try ParallelSpMM(.bsr(a), b, kernel: kernel, options: DriverOptions(threads: 2))
        #expect(driver.plan.columnSlices == 2)
        driver.run()
        let ref = try Reference(a, b)
        let c = driver.result()
        #expect(c.values.withUnsafeBufferPointer { ref.verify($0, ld: 64) }.passed)
        // Bitwise equality with the single-threaded call also holds for N splits
        // with these kernels (each output element sums in the same order).
        #expect(c == (try singleThreaded(a, b, kernel)))
        let initial = try DenseMatrix.random(rows: 8, cols: 64, seed: 10)
        driver.setC(initial)
        driver.run(accumulate: true)
        #expect(driver.result().values.withUnsafeBufferPointer { ref.verify($0, ld: 64, initial: initial) }.passed)
    }

    @Test func partitionsAreHandedOutCostliestFirst() throws {
        // Power-law rows give chunks of unequal cost; one dense block row gives an
        // N split, whose slices cost the same and keep their index order.
        let cases = [(randomBSR(400, 256, 4, 4, sparsity: 0.7, .powerlaw, seed: 9), 3),
                     (randomBSR(8, 256, 8, 8, sparsity: 0.0, seed: 8), 2)]
        for (a, threads) in cases {
            let b = try DenseMatrix.random(rows: 256, cols: 64, seed: 10)
            let kernel = try Kernel.select(.bsr, block: a.block, n: 64)
            let driver = try ParallelSpMM(.bsr(a), b, kernel: kernel, options: DriverOptions(threads: threads))
            let order = driver.handOutOrder, cost = driver.plan.partitions.map(\.cost)
            #expect(order.sorted() == Array(cost.indices), "every partition once")
            #expect(zip(order, order.dropFirst()).allSatisfy { cost[$0] > cost[$1] || (cost[$0] == cost[$1] && $0 < $1) },
                    "costs \(order.map { cost[$0] })")
            if driver.plan.columnSlices == 1 { #expect(order != Array(cost.indices), "the chunks here differ in cost") }
            driver.run()
            #expect(driver.result() == (try singleThreaded(a, b, kernel)))
        }
    }

    @Test func csrOperandAndEmptyMatrices() throws {
        let bsr = randomBSR(50, 40, 1, 1, sparsity: 0.9, seed: 2)
        let csr = CSRMatrix(bsr: bsr)
        let b = try DenseMatrix.random(rows: 40, cols: 9, seed: 3)
        let kernel = try Kernel.select(.csr, block: shape(1, 1), n: 9)
        let driver = try ParallelSpMM(.csr(csr), b, kernel: kernel, options: DriverOptions(threads: 3))
        driver.run()
        let ref = try Reference(csr, b)
        #expect(driver.result().values.withUnsafeBufferPointer { ref.verify($0, ld: 9) }.passed)
        // Sparsity 1: every row empty, C must be all zero.
        let empty = randomBSR(16, 16, 4, 4, sparsity: 1)
        let e = try ParallelSpMM(.bsr(empty), try DenseMatrix.random(rows: 16, cols: 4, seed: 1),
                                 kernel: try Kernel.select(.bsr, block: empty.block, n: 4),
                                 options: DriverOptions(threads: 2))
        e.run()
        #expect(e.result().values.allSatisfy { $0 == 0 })
    }

    @Test func fakeTopologiesPlanOwnership() throws {
        let a = randomBSR(64, 64, 4, 4, sparsity: 0.5, seed: 4)
        let b = try DenseMatrix.random(rows: 64, cols: 16, seed: 5)
        let kernel = try Kernel.select(.bsr, block: a.block, n: 16)
        let two = Topology(nodes: [[0, 1], [2, 3]])
        let replicated = try ParallelSpMM(.bsr(a), b, kernel: kernel,
                                          options: DriverOptions(threads: 4, bPlacement: .replicated, topology: two,
                                                                 chunksPerThread: 1))
        #expect(replicated.plan.partitions.map(\.node) == [0, 0, 1, 1])
        #expect(replicated.bufferNodes.filter { $0.0 == "B" }.map(\.1) == [0, 1])
        #expect(replicated.bufferNodes.filter { $0.0.hasPrefix("A[") }.map(\.1) == [0, 0, 1, 1])
        #expect(replicated.placement() == nil)  // a fake topology never claims real placement
        // Chunks (the default, 4 per thread) stay in contiguous groups per node.
        let chunked = try ParallelSpMM(.bsr(a), b, kernel: kernel,
                                       options: DriverOptions(threads: 4, bPlacement: .replicated, topology: two))
        #expect(chunked.plan.partitions.map(\.node) == Array(repeating: 0, count: 8) + Array(repeating: 1, count: 8))
        #expect(chunked.bufferNodes.filter { $0.0.hasPrefix("A[") }.map(\.1)
                == chunked.plan.partitions.map { Optional($0.node) })
        let interleaved = try ParallelSpMM(.bsr(a), b, kernel: kernel,
                                           options: DriverOptions(threads: 8, bPlacement: .interleaved,
                                                                  topology: Topology(nodes: [[0], [1], [2], [3]])))
        #expect(interleaved.bufferNodes.filter { $0.0 == "B" }.map(\.1) == [nil])
        #expect(Set(interleaved.plan.partitions.map(\.node)) == [0, 1, 2, 3])
        interleaved.run()
        let ref = try Reference(a, b)
        #expect(interleaved.result().values.withUnsafeBufferPointer { ref.verify($0, ld: 16) }.passed)
    }

    @Test func realTopologyPlacesPagesOrFallsBack() throws {
        let topology = Topology.detect()
        #expect(topology.cpuCount >= 1)
        let a = randomBSR(256, 256, 8, 8, sparsity: 0.5, seed: 4)
        let b = try DenseMatrix.random(rows: 256, cols: 64, seed: 5)
        let driver = try ParallelSpMM(.bsr(a), b, kernel: try Kernel.select(.bsr, block: a.block, n: 64))
        if topology.isReal {
            let report = try #require(driver.placement())
            #expect(report.fraction == 1.0, "\(report)")
        } else {
            #expect(driver.placement() == nil)
            #expect(topology.fallbackReason != nil)
        }
    }

    @Test func mismatchedShapesAreErrors() throws {
        let a = randomBSR(8, 8, 4, 4, sparsity: 0.5)
        let b = try DenseMatrix.random(rows: 9, cols: 2, seed: 1)
        #expect(throws: MatrixError.self) {
            try ParallelSpMM(.bsr(a), b, kernel: try Kernel.select(.bsr, block: a.block, n: 2))
        }
        let b8 = try DenseMatrix.random(rows: 8, cols: 2, seed: 1)
        let wrong = try Kernel.select(.csr, block: shape(1, 1), n: 2)
        #expect(throws: MatrixError.self) { try ParallelSpMM(.bsr(a), b8, kernel: wrong) }
    }
}
