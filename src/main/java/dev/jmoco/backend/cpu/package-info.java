/**
 * The fast CPU backend, and the default that runs anywhere. It is not the reference: that is
 * {@link dev.jmoco.backend.reference.ReferenceOps}, which the tests hold this backend against.
 *
 * <p>{@link dev.jmoco.backend.cpu.CpuBackend}'s op bodies (its arguments checked by
 * {@link dev.jmoco.backend.CheckedBackend}) delegate to one kernel class per op family
 * (GEMM, convolution, elementwise, pooling, batch norm, row ops, fused losses, state updates). Loops are
 * spread over every core by {@link dev.jmoco.backend.cpu.Parallel}; arrays come from a pool keyed by length,
 * so a training step with fixed shapes allocates no tensor storage after its first run. Hot loops use the
 * Vector API ({@code jdk.incubator.vector}) when the JVM runs with {@code --add-modules jdk.incubator.vector}
 * and plain Java otherwise. Two optional system libraries are bound through the foreign function API when
 * present: OpenBLAS for GEMM ({@link dev.jmoco.backend.cpu.CpuBlasOpenBlas}) and oneDNN for convolutions
 * ({@link dev.jmoco.backend.cpu.CpuDnnl}, {@link dev.jmoco.backend.cpu.CpuConvDnnl}); the Java kernels stay the
 * fallback.
 */
package dev.jmoco.backend.cpu;
