/**
 * The OpenCL backend (JOCL): {@link dev.jmoco.backend.opencl.OpenClBackend} runs every op of
 * {@link dev.jmoco.backend.Backend} as kernels from {@code kernels/} (jar resources under
 * {@code dev/jmoco/kernels/}), built once per context as one program ({@code ClKernelSources},
 * {@code ClProgram}). This package is the OpenCL runtime only: the backend implements
 * {@link dev.jmoco.backend.gpu.KernelRuntime}, {@code ClLaunch} is its kernel launch and {@code ClBuffer}
 * (cl_mem + offset) its device buffer, views of pooled device memory ({@code ClPool}); the host code of each op
 * family (launch geometry, scratch, arguments) is shared with the CUDA backend in
 * {@link dev.jmoco.backend.gpu}. Devices are found by {@link dev.jmoco.backend.opencl.ClDevices};
 * {@link dev.jmoco.backend.opencl.OpenClBackendProvider} makes the backend available as {@code --device opencl}
 * (a GPU) or {@code --device opencl:cpu} (e.g. PoCL).
 */
package dev.jmoco.backend.opencl;
