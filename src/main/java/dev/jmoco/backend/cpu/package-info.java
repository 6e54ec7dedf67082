/**
 * The pure-Java backend: the reference implementation of every op and the default that runs anywhere.
 *
 * <p>{@link dev.jmoco.backend.cpu.CpuBackend} checks arguments and delegates to one kernel class per op family
 * (GEMM, convolution, elementwise, pooling, batch norm, row ops, fused losses, state updates). Loops are
 * spread over every core by {@link dev.jmoco.backend.cpu.Parallel}; arrays come from a pool keyed by length,
 * so a training step with fixed shapes allocates no tensor storage after its first run. Hot loops use the
 * Vector API ({@code jdk.incubator.vector}) when the JVM runs with {@code --add-modules jdk.incubator.vector}
 * and plain Java otherwise. Two optional system libraries are bound through the foreign function API when
 * present: OpenBLAS for GEMM ({@link dev.jmoco.backend.cpu.CpuBlasOpenBlas}) and oneDNN for convolutions
 * ({@link dev.jmoco.backend.cpu.CpuDnnl}, {@link dev.jmoco.backend.cpu.CpuConvDnnl}); the Java kernels stay the
 * reference and the fallback.
 */
package dev.jmoco.backend.cpu;
