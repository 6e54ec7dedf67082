/**
 * The host side of the shared kernels in {@code kernels/}: {@link dev.jmoco.backend.kernel.KernelRuntime} (what
 * a device runtime offers: launches, scratch buffers, index uploads, limits) and one class per op family that
 * turns an op of {@link dev.jmoco.backend.Backend} into kernel launches. The OpenCL and the CUDA backend each
 * implement the runtime once and share everything else.
 */
package dev.jmoco.backend.kernel;
