import CKernels
import COpenBLAS
import CNuma
public func kbKernelCount() -> Int { var n: Int32 = 0; _ = kb_kernels(&n); return Int(n) }
