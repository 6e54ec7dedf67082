/**
 * The CUDA backend (in progress). So far {@link dev.jmoco.backend.cuda.CudaKernels}: the kernels of
 * {@code kernels/}, compiled by nvcc at build time (pom.xml, profile {@code cuda-kernels}) into one fatbin that
 * travels in the jar, for the backend to load as one module with {@code cuModuleLoadDataEx}. A jar built
 * without nvcc has no CUDA kernels, and says so.
 */
package dev.jmoco.backend.cuda;
