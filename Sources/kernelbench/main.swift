import BlockSparse
print(kbKernelCount())
