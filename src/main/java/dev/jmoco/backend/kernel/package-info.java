/**
 * The host side of the shared kernels in {@code kernels/}: {@link dev.jmoco.backend.kernel.KernelRuntime} (what
 * a device runtime offers: launches, scratch buffers, index uploads, limits), with
 * {@link dev.jmoco.backend.kernel.KernelLaunch} and {@link dev.jmoco.backend.kernel.DeviceBuffer}, and one class
 * per op family that turns an op of {@link dev.jmoco.backend.Backend} into kernel launches:
 * {@link dev.jmoco.backend.kernel.ElementwiseKernels}, {@link dev.jmoco.backend.kernel.UpdateKernels},
 * {@link dev.jmoco.backend.kernel.GemmKernels}, {@link dev.jmoco.backend.kernel.ConvKernels},
 * {@link dev.jmoco.backend.kernel.BatchNormKernels}, {@link dev.jmoco.backend.kernel.PoolingKernels},
 * {@link dev.jmoco.backend.kernel.RowsKernels} and {@link dev.jmoco.backend.kernel.LossKernels} (InfoNCE's
 * split planning in {@code InfoNceKernels}; the plane-walking geometry in {@code PlaneLayout}). The OpenCL and
 * the CUDA backend each implement the runtime once and construct these eight objects with themselves.
 */
package dev.jmoco.backend.kernel;
