/**
 * The GPU backends' shared host code: the host side of the shared kernels in {@code kernels/}, written once
 * for the OpenCL and the CUDA backend: {@link dev.jmoco.backend.gpu.KernelRuntime} (what
 * a device runtime offers: launches, scratch buffers, index uploads, limits), with
 * {@link dev.jmoco.backend.gpu.KernelLaunch} and {@link dev.jmoco.backend.gpu.DeviceBuffer}, and one class
 * per op family that turns an op of {@link dev.jmoco.backend.Backend} into kernel launches:
 * {@link dev.jmoco.backend.gpu.ElementwiseKernels}, {@link dev.jmoco.backend.gpu.UpdateKernels},
 * {@link dev.jmoco.backend.gpu.GemmKernels}, {@link dev.jmoco.backend.gpu.ConvKernels},
 * {@link dev.jmoco.backend.gpu.BatchNormKernels}, {@link dev.jmoco.backend.gpu.PoolingKernels},
 * {@link dev.jmoco.backend.gpu.RowsKernels} and {@link dev.jmoco.backend.gpu.LossKernels} (InfoNCE's
 * split planning in {@code InfoNceKernels}; the plane-walking geometry in {@code PlaneLayout}). The OpenCL and
 * the CUDA backend each implement the runtime once and construct these eight objects with themselves.
 */
package dev.jmoco.backend.gpu;
