#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (Tests/fuzz/seeds/<target>/).

Seeds are small valid files of every kind each parser accepts, plus a few
near misses, so the fuzzer starts from the format rather than from nothing.
The JSON seeds are cut down from the committed reports. Run from the
repository root: python3 Tests/fuzz/make-seeds.py
"""
import gzip, json, os, shutil, struct

ROOT = "Tests/fuzz/seeds"


def put(target, name, data):
    os.makedirs(f"{ROOT}/{target}", exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(f"{ROOT}/{target}/{name}", "wb") as f:
        f.write(data)


def mtx():
    put("mtx", "coordinate-real-general.mtx",
        "%%MatrixMarket matrix coordinate real general\n% comment\n3 4 4\n1 1 1.5\n2 3 -2e-3\n3 4 7\n3 1 0\n")
    put("mtx", "coordinate-symmetric.mtx",
        "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 2\n2 1 -1\n3 2 4.25\n")
    put("mtx", "coordinate-skew.mtx",
        "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 1\n3 1 -3\n")
    put("mtx", "coordinate-pattern.mtx",
        "%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 1\n")
    put("mtx", "coordinate-integer-crlf.mtx",
        "%%MatrixMarket matrix coordinate integer general\r\n2 3 2\r\n1 3 5\r\n2 2 -4\r\n")
    put("mtx", "array-real-general.mtx",
        "%%MatrixMarket matrix array real general\n2 3\n1\n0\n2.5\n-1\n0\n3\n")
    put("mtx", "array-symmetric.mtx",
        "%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n3\n4\n5\n6\n")
    put("mtx", "empty.mtx", "%%MatrixMarket matrix coordinate real general\n5 7 0\n")
    put("mtx", "bad-count.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n")
    put("mtx", "duplicate.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n1 1 2\n")


def idx_bytes(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def idx():
    images = idx_bytes([2, 3, 3], range(18))
    labels = idx_bytes([4], [0, 9, 3, 1])
    put("idx", "images.idx", images)
    put("idx", "labels.idx", labels)
    put("idx", "images.idx.gz", gzip.compress(images, mtime=0))
    put("idx", "labels.idx.gz", gzip.compress(labels, mtime=0))
    put("idx", "truncated.idx", images[:-5])
    put("idx", "float-type.idx", bytes([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]))


def safetensors_file(tensors, metadata=None):
    header, blob = {}, b""
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(payload)]}
        blob += payload
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob


def safetensors():
    f32 = struct.pack("<6f", 1, -2, 0.5, 0, 3, 1e-3)
    f16 = struct.pack("<4e", 1, -0.5, 2, 65504)
    bf16 = b"".join(struct.pack("<f", v)[2:] for v in (1.0, -2.0, 0.25, 8.0))
    put("safetensors", "f32.safetensors", safetensors_file([("w", "F32", [2, 3], f32)], {"format": "pt"}))
    put("safetensors", "f16-bf16.safetensors",
        safetensors_file([("a", "F16", [2, 2], f16), ("b", "BF16", [1, 4], bf16)]))
    put("safetensors", "rank1-i32.safetensors",
        safetensors_file([("v", "F32", [6], f32), ("i", "I32", [1, 1], b"\0\0\0\0")]))
    put("safetensors", "empty-tensor.safetensors", safetensors_file([("z", "F32", [0, 3], b"")]))


def cut_kernelbench(path, keep):
    report = json.load(open(path))
    names = []
    for e in report["benchmarks"]:
        if e["run_name"] not in names:
            names.append(e["run_name"])
    chosen = set(names[i] for i in keep if i < len(names))
    report["benchmarks"] = [e for e in report["benchmarks"] if e["run_name"] in chosen]
    return json.dumps(report, indent=1)


def google_benchmark():
    return json.dumps({
        "context": {"date": "2026-11-25T10:00:00+00:00", "host_name": "vm", "executable": "microbench",
                    "num_cpus": 2, "mhz_per_cpu": 2445, "cpu_scaling_enabled": False,
                    "caches": [{"type": "Data", "level": 1, "size": 32768, "num_sharing": 1}],
                    "library_build_type": "release"},
        "benchmarks": [
            {"name": "BM_bsr/8x8/n64/repeats:3", "run_name": "BM_bsr/8x8/n64", "run_type": "iteration",
             "repetitions": 3, "repetition_index": 0, "iterations": 100, "real_time": 1.5e3, "cpu_time": 1.5e3,
             "time_unit": "us"},
            {"name": "BM_bsr/8x8/n64/repeats:3", "run_name": "BM_bsr/8x8/n64", "run_type": "iteration",
             "repetitions": 3, "repetition_index": 1, "iterations": 100, "real_time": 1.6e3, "cpu_time": 1.6e3,
             "time_unit": "us"},
            {"name": "BM_bsr/8x8/n64_median", "run_name": "BM_bsr/8x8/n64", "run_type": "aggregate",
             "aggregate_name": "median", "repetitions": 3, "real_time": 1.55e3, "cpu_time": 1.55e3,
             "time_unit": "us"},
            {"name": "BM_csr/n64", "run_name": "BM_csr/n64", "run_type": "iteration", "error_occurred": True,
             "error_message": "verification failed", "real_time": 0, "time_unit": "ms"},
        ]}, indent=1)


def results():
    small = cut_kernelbench("reports/kernels/kernels.json", [0, 1, 40, 200])
    put("compare", "kernelbench.json", small)
    put("report", "kernelbench.json", small)
    put("compare", "google-benchmark.json", google_benchmark())
    instr = json.load(open("reports/baselines/instructions-x86_64.json"))
    instr["benchmarks"] = instr["benchmarks"][:3]
    put("compare", "instructions.json", json.dumps(instr, indent=1))
    put("compare", "not-results.json", '{"benchmarks": 3}')
    scaling = "reports/scaling/small.json"
    if os.path.exists(scaling):
        put("report", "scaling.json", cut_kernelbench(scaling, [0]))


def paper():
    study = json.load(open("reports/paper/quick/results.json"))
    study["runs"] = study["runs"][:2]
    for run in study["runs"]:
        run["levels"] = run["levels"][:3]
        for level in run["levels"]:
            level["timings"] = level["timings"][:2]
    put("paper", "results.json", json.dumps(study, indent=1))
    study["complete"] = False
    study["runs"] = []
    put("paper", "dense-only.json", json.dumps(study, indent=1))


if __name__ == "__main__":
    shutil.rmtree(ROOT, ignore_errors=True)
    mtx(); idx(); safetensors(); results(); paper()
    for target in sorted(os.listdir(ROOT)):
        files = os.listdir(f"{ROOT}/{target}")
        size = sum(os.path.getsize(f"{ROOT}/{target}/{f}") for f in files)
        print(f"{target}: {len(files)} seeds, {size} bytes")
