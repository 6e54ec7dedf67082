/**
 * The OpenCL backend (JOCL): {@link dev.jmoco.backend.opencl.OpenClBackend} runs every op of
 * {@link dev.jmoco.backend.Backend} as kernels from {@code kernels/} (jar resources under
 * {@code dev/jmoco/kernels/}), built once per context as one program. One class per op family enqueues them
 * ({@code ClElementwise}, {@code ClUpdates}, {@code ClGemm}, {@code ClConv}, {@code ClBatchNorm},
 * {@code ClPooling}, {@code ClRows}, {@code ClLosses}) through {@code ClLaunch}; buffers are views
 * ({@code ClBuffer}: cl_mem + offset) of pooled device memory ({@code ClPool}). Devices are found by
 * {@link dev.jmoco.backend.opencl.ClDevices}; {@link dev.jmoco.backend.opencl.OpenClBackendProvider} makes
 * the backend available as {@code --device opencl} (a GPU) or {@code --device opencl:cpu} (e.g. PoCL).
 */
package dev.jmoco.backend.opencl;
