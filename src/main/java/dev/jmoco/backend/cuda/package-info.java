/**
 * The CUDA backend, through JCuda's driver API only. {@link dev.jmoco.backend.cuda.CudaBackend} is a
 * {@link dev.jmoco.backend.gpu.KernelRuntime} (one primary context, one stream, one module loaded from the
 * fatbin of {@link dev.jmoco.backend.cuda.CudaKernels}, a caching device allocator) and delegates every op to the
 * op-family classes shared with OpenCL, except where a faster path exists ({@link dev.jmoco.backend.cuda.CudaOptions}
 * selects): cuBLAS and cuDNN bound through the foreign function API (package
 * {@link dev.jmoco.backend.cuda.libraries}; a missing library is one line on standard error and the kernels run
 * instead), the
 * TF32 tensor-core GEMM ({@code Tf32Gemm}, {@code kernels/cuda/}) and InfoNCE by rows
 * ({@link dev.jmoco.backend.gpu.InfoNceRows}). {@link dev.jmoco.backend.cuda.CudaBackendProvider} answers, from one
 * cached probe ({@link dev.jmoco.backend.cuda.CudaDevices}), whether a driver, a GPU and the kernels exist; a
 * machine without a driver gets "no CUDA driver" and JCuda is never touched again. The launch geometry, argument
 * packing and size classes live in small classes free of JCuda natives, tested without a GPU.
 */
package dev.jmoco.backend.cuda;
