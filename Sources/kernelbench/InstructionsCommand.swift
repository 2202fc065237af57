import ArgumentParser
import Benchmarking
import BlockSparse
import Foundation

/// The fixed, single-thread cases of the deterministic instruction gate
/// (`scripts/instruction-gate.sh` runs each under valgrind's callgrind).
struct Instructions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or run the fixed single-thread cases of the instruction-count gate.",
        discussion: """
            Each case multiplies a seeded 128x128 block-sparse matrix (75% of its blocks empty) by a \
            seeded dense matrix with N = 32 or N = 1 columns, with one kernel family: the scalar \
            generic BSR and SpMV kernels and the scalar CSR kernel, and, for each gated SIMD ISA \
            this CPU runs (avx2_fma, neon; not avx512, which valgrind cannot decode), every \
            specialised block shape in the registry, the generic kernel (on 9x9 blocks, a shape \
            no kernel is specialised for) and the \
            CSR kernel where one exists. The kernel is chosen by Kernel.select for that format, \
            block shape, N and ISA, whatever dispatch would pick.

            --case NAME verifies the product against the reference once, then calls the kernel \
            --calls times with no timing loop, so that an instruction counter restricted to the \
            kernel function (callgrind --toggle-collect=KERNEL) sees exactly calls+1 kernel calls. \
            --counts FILE turns lines "CASE TOTAL_INSTRUCTIONS" into a result file in the \
            kernelbench JSON schema: one aggregate "median" entry per case, real_time = \
            instructions per kernel call, time_unit "instructions" (read by `kernelbench compare`, \
            which compares such files deterministically).
            """)

    @Flag(help: "List the cases for this CPU: one line per case, \"CASE<TAB>KERNEL\".")
    var list = false

    @Option(name: .customLong("case"), help: "Run one case (verify, then call its kernel --calls times).")
    var caseName: String?

    @Option(help: "Kernel calls after the verifying call.")
    var calls = 10

    @Option(help: "Read \"CASE TOTAL_INSTRUCTIONS\" lines (total over --calls + 1 kernel calls: a positive whole number, one line per case) and write a result file.")
    var counts: String?

    @Option(help: "Result file written with --counts (default: standard output).")
    var output: String?

    @Flag(help: "Overwrite an existing --output file.")
    var force = false

    func validate() throws {
        let modes = [list, caseName != nil, counts != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --list, --case NAME, --counts FILE") }
        guard (1...100_000).contains(calls) else { throw ValidationError("--calls must be between 1 and 100000 (got \(calls))") }
        if output != nil && counts == nil { throw ValidationError("--output goes with --counts") }
        if output?.isEmpty == true { throw ValidationError("--output is empty: name the result file to write, or leave it out for standard output") }
        if let output { try refuseToOverwrite([output], force: force) }
    }

    func run() throws {
        let cases = try GateCase.all()
        if list {
            for c in cases { print("\(c.name)\t\(c.kernel.name)") }
        } else if let caseName {
            guard let c = cases.first(where: { $0.name == caseName }) else {
                throw CLIFailure.usage("no gate case \"\(caseName)\" on this CPU (see `kernelbench instructions --list`)")
            }
            let verification = try c.runVerified(calls: calls)
            note("\(c.name): \(c.kernel.name), \(verification)")
        } else if let counts {
            let report = try GateCase.report(countsPath: counts, cases: cases, calls: calls)
            let data = try report.jsonData() + Data("\n".utf8)
            if let output { try writeAtomically(data, to: output) } else { FileHandle.standardOutput.write(data) }
        }
    }
}
