import ArgumentParser
import Benchmarking
import BlockSparse
import Foundation

/// `kernelbench`: the suite a user runs. Thin layer over BlockSparse.
@main
struct KernelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernelbench",
        abstract: "Benchmark block-sparse (BSR) x dense matrix multiplication against CSR and dense BLAS.",
        discussion: """
            Every timed result is first verified against a Swift scalar reference. With no \
            subcommand, `run` executes the default suite (see `kernelbench run --help`).

            Exit codes: 0 success, 1 runtime failure (including a verification mismatch), \
            2 bad usage or bad input.
            Environment: KERNELBENCH_ISA=scalar|avx2_fma|avx512|neon forces the kernels' ISA; \
            KERNELBENCH_MKL=/path/to/libmkl_rt.so.N is the Intel MKL of `run --peers mkl` \
            (`make peers` installs one).
            """,
        subcommands: [Run.self, List.self, Peak.self, Export.self, Compare.self, Report.self, Instructions.self, Paper.self],
        defaultSubcommand: Run.self
    )

    /// Parses, runs, and maps failures to one clear line and an exit code:
    /// 2 for usage and input errors, 1 for runtime failures. Never a stack trace.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {  // --help, --version: ArgumentParser prints them
                exit(withError: error)
            }
            let message = fullMessage(for: error)
            FileHandle.standardError.write(Data(("kernelbench: " + message.split(separator: "\n").joined(separator: "\n  ") + "\n").utf8))
            FileHandle.standardError.write(Data("  (see `kernelbench --help`)\n".utf8))
            // `compare` reserves 2 for "regression found": its usage errors are errors (1).
            Foundation.exit(CommandLine.arguments.dropFirst().first == "compare" ? 1 : 2)
        }
        // A bad KERNELBENCH_ISA is a usage error of the commands that run kernels, found before any
        // work (`list` shows the machine first, then fails the same way).
        if command is Run || command is Peak || command is Instructions || command is Paper {
            do { _ = try Kernel.dispatchISA() } catch {
                FileHandle.standardError.write(Data("kernelbench: \(error)\n".utf8))
                Foundation.exit(2)
            }
        }
        do {
            try command.run()
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("kernelbench: \(failure.message)\n".utf8))
            Foundation.exit(failure.code)
        } catch let error as InputError {
            FileHandle.standardError.write(Data("kernelbench: \(error)\n".utf8))
            Foundation.exit(2)
        } catch let error as MatrixError {
            FileHandle.standardError.write(Data("kernelbench: \(error)\n".utf8))
            Foundation.exit(2)
        } catch let error as ValidationError {
            FileHandle.standardError.write(Data("kernelbench: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch {
            // `--help` can come back as a help command whose run() throws a clean exit.
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data("kernelbench: \(error)\n".utf8))
            Foundation.exit(1)
        }
    }
}

/// A failure with its exit code: 1 runtime (e.g. verification mismatch), 2 usage/input.
struct CLIFailure: Error {
    var message: String
    var code: Int32
    static func runtime(_ message: String) -> CLIFailure { CLIFailure(message: message, code: 1) }
    static func usage(_ message: String) -> CLIFailure { CLIFailure(message: message, code: 2) }
}

/// Writes a line to standard error (progress and notices never pollute stdout).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Warns (once) about thread counts above the CPUs this process may use:
/// such cases share cores, so their speedups do not measure scaling.
/// `cpus` is the usable CPU count the caller detected; `hint` ends the
/// message (how to ask for exactly the usable CPUs).
func warnIfOversubscribed(_ counts: [Int], cpus: Int, option: String, hint: String) {
    let over = counts.filter { $0 > cpus }
    guard !over.isEmpty else { return }
    note("kernelbench: warning: \(option) \(over.map(String.init).joined(separator: ",")) is more than the \(cpus) "
         + "CPU(s) this process may use: those cases share cores, so their speedups do not measure scaling (\(hint)).")
}
