import Foundation
#if canImport(Glibc)
import Glibc
#endif

// The one way the project writes files: never half a file, never a torn
// result after an interrupt.

/// Writes `data` to `path` atomically (a temporary file in the same folder,
/// fsync'ed, then renamed over the target), creating the folder if needed.
/// - Throws: ``InputError`` naming the path.
public func writeAtomically(_ data: Data, to path: String) throws {
    try createFolder(of: path)
    try AtomicFile.write(path: path) { try $0.append(data) }
}

/// Proves before any long work that `path` can be written: creates its
/// folder if needed and a temporary file beside it, removed at once.
/// - Throws: ``InputError`` naming the path.
public func checkWritable(_ path: String) throws {
    try createFolder(of: path)
    try AtomicFile(path: path).abandon()
}

private func createFolder(of path: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    guard !dir.isEmpty else { return }
    do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
        throw InputError(source: path, "cannot create folder \(dir): \(error.localizedDescription)")
    }
}

/// The one overwrite rule of every command that writes files: an existing
/// file is replaced only when the user passed `--force`.
/// - Parameter alternative: what else the user can do, appended as "or ...".
/// - Throws: ``InputError`` naming the first of `paths` that exists.
public func refuseToOverwrite(_ paths: [String], force: Bool, alternative: String? = nil) throws {
    guard !force, let existing = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return }
    throw InputError(source: existing, "already exists; pass --force to overwrite it" + (alternative.map { " or " + $0 } ?? ""))
}

/// A temporary file next to the destination, renamed over it on success and
/// removed on failure. Output is buffered and written in 64 KiB pieces.
final class AtomicFile {
    let path: String
    let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []

    /// Runs `body` against a fresh temporary file and commits it to `path`;
    /// on any error the temporary file is removed and `path` is untouched.
    static func write(path: String, _ body: (AtomicFile) throws -> Void) throws {
        let file = try AtomicFile(path: path)
        do {
            try body(file)
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }

    fileprivate init(path: String) throws {
        guard !path.isEmpty else { throw InputError(source: "output", "the path is empty: name a file to write") }
        self.path = path
        let directory: String, name: Substring
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
            name = path[path.index(after: slash)...]
        } else {
            directory = "."
            name = path[...]
        }
        guard !name.isEmpty else { throw InputError(source: path, "cannot write: the path names a directory") }
        let tag = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        temporaryPath = "\(directory)/.\(name).\(getpid()).\(tag).tmp"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw InputError(source: path, "cannot create a temporary file in \(directory): \(systemMessage(errno))")
        }
        buffer.reserveCapacity(LineReader.chunk + 256)
    }

    func append(_ s: String) { buffer.append(contentsOf: s.utf8) }

    func append(_ data: Data) throws {
        buffer.append(contentsOf: data)
        try flushIfFull()
    }

    func appendInt(_ value: Int) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        let first = buffer.count
        repeat {
            buffer.append(UInt8(ascii: "0") + UInt8(v % 10))
            v /= 10
        } while v > 0
        buffer[first...].reverse()
    }

    func appendComment(_ comment: String?) {
        guard let comment else { return }
        for line in comment.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = line
            if line.last == "\r" { line = line.dropLast() }
            append(line.isEmpty ? "%\n" : "% \(line)\n")
        }
    }

    func flushIfFull() throws {
        if buffer.count >= LineReader.chunk { try flush() }
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
                if n >= 0 { done += n; continue }
                let code = errno
                if code == EINTR { continue }
                throw InputError(source: path, "write failed: \(systemMessage(code))")
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw InputError(source: path, "write failed: \(systemMessage(errno))") }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw InputError(source: path, "write failed: \(systemMessage(errno))") }
        guard rename(temporaryPath, path) == 0 else {
            throw InputError(source: path, "cannot replace the file: \(systemMessage(errno))")
        }
    }

    fileprivate func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
    }
}

/// The POSIX `write(2)`, under a name no `write` method can shadow.
@inline(__always)
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
