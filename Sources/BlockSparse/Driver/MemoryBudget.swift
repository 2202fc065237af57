import Foundation

// The memory budget: what a planned allocation may use (available memory,
// `ulimit -v`, KERNELBENCH_MEMORY_LIMIT), checked before the work starts.

/// Bytes of memory currently available (MemAvailable, or physical memory,
/// and no more than `ulimit -v` leaves), capped by `KERNELBENCH_MEMORY_LIMIT`
/// when that is set to a valid size.
public func availableMemory() -> Int {
    (try? budget()) ?? systemAvailableMemory()
}

/// Available memory capped by `KERNELBENCH_MEMORY_LIMIT`; throws when the
/// variable is malformed.
private func budget() throws -> Int {
    let system = systemAvailableMemory()
    return try memoryLimit().map { min(system, $0) } ?? system
}

/// MemAvailable from /proc/meminfo, or physical memory; capped by the
/// address space this process may still map when `ulimit -v` (RLIMIT_AS)
/// limits it, since an allocation beyond that fails however much RAM is free.
private func systemAvailableMemory() -> Int {
    let physical = meminfoAvailable()
        ?? Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    return addressSpaceHeadroom().map { min(physical, $0) } ?? physical
}

/// MemAvailable from /proc/meminfo, in bytes.
private func meminfoAvailable() -> Int? { procKiB("/proc/meminfo", "MemAvailable:").map { $0 * 1024 } }

/// A "Key:   123 kB" line of a /proc file, in KiB.
private func procKiB(_ file: String, _ key: String) -> Int? {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(key) {
        let parts = line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" })
        if let first = parts.first, let kib = Int(first) { return kib }
    }
    return nil
}

/// RLIMIT_AS minus the address space already mapped (VmSize), or nil when
/// there is no limit.
private func addressSpaceHeadroom() -> Int? {
    #if os(Linux)
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
    let mapped = (procKiB("/proc/self/status", "VmSize:") ?? 0) * 1024
    return max(0, Int(clamping: limit.rlim_cur) - mapped)
    #else
    return nil
    #endif
}

/// `KERNELBENCH_MEMORY_LIMIT`: bytes, or a number with a K, M or G suffix
/// (powers of 1024). Lets a user, CI or the fuzzer hold every planned
/// allocation to a budget.
/// - Returns: nil when unset.
/// - Throws: ``InputError`` naming the variable when it is not a size.
public func memoryLimit() throws -> Int? {
    guard let raw = ProcessInfoEnvironment.value("KERNELBENCH_MEMORY_LIMIT") else { return nil }
    let text = raw.trimmingCharacters(in: .whitespaces).uppercased()
    let scale: Int
    switch text.last {
    case "K": scale = 1 << 10
    case "M": scale = 1 << 20
    case "G": scale = 1 << 30
    default: scale = 1
    }
    let digits = scale == 1 ? Substring(text) : text.dropLast()
    guard let value = Int(digits), value > 0, value <= Int.max / scale else {
        throw InputError(source: "KERNELBENCH_MEMORY_LIMIT",
                         "'\(raw)' is not a size (bytes, or a number with K, M or G, e.g. 512M)")
    }
    return value * scale
}

/// Throws ``MatrixError/tooLarge(what:bytes:available:)`` when `bytes` would
/// not fit in the memory available now (with a 10% margin), and
/// ``InputError`` when `KERNELBENCH_MEMORY_LIMIT` is malformed.
public func checkMemory(_ bytes: Int, what: String) throws {
    let available = try budget()
    guard bytes >= 0, bytes <= available - available / 10 else {
        throw MatrixError.tooLarge(what: what, bytes: bytes, available: available)
    }
}
