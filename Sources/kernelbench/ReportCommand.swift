import ArgumentParser
import Benchmarking
import BlockSparse
import PaperStudy
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a result file as Markdown, HTML (inline SVG charts) and CSV.",
        discussion: """
            Writes RESULT-stem.md, .html and .csv (see --format) next to the result file or into \
            --output, each atomically. An existing file is never overwritten without --force. \
            The HTML page is self-contained: it needs no network and no JavaScript.

            Times in ns, us, ms or s are shown in readable units (the CSV's *_seconds columns hold \
            seconds). A file of instruction counts (time_unit "instructions", as written by \
            `kernelbench instructions --counts`) is shown as counts per kernel call, with \
            *_instructions CSV columns. Any other time_unit is refused, as `compare` refuses it.
            """)

    @Argument(help: "A result file written by `kernelbench run` (JSON).")
    var result: String

    @Option(name: [.short, .long], help: "Folder for the reports (default: the result file's folder).")
    var output: String?

    @Flag(help: "Overwrite existing report files.")
    var force = false

    @Option(help: "Comma-separated formats to write: md, html, csv.")
    var format = "md,html,csv"

    func validate() throws {
        do { _ = try ReportFormat.parseList(format) } catch let error as InputError {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        let formats = try ReportFormat.parseList(format)
        let report = try BenchmarkReport.load(path: result)
        let name = (result as NSString).lastPathComponent
        let stem = name.lowercased().hasSuffix(".json") ? String(name.dropLast(5)) : (name as NSString).deletingPathExtension
        let directory = output ?? (result as NSString).deletingLastPathComponent
        let written = try ReportRenderer.write(report, stem: stem.isEmpty ? "report" : stem, directory: directory,
                                               formats: formats, force: force, input: result)
        for path in written { print(path) }
    }
}
