/**
 * The CUDA backend's vendor libraries, bound through the foreign function API ({@code java.lang.foreign}, no
 * JNI): cuBLAS ({@link dev.jmoco.backend.cuda.libraries.Cublas}, its symbols in {@code CublasFunctions}) and
 * cuDNN ({@link dev.jmoco.backend.cuda.libraries.Cudnn}; per-shape algorithm plans in {@code CudnnConv} and
 * {@code CudnnPass}, symbols in {@code CudnnFunctions}), on top of {@code NativeLibrary} and {@code NativeCalls}
 * (finding a shared library by soname, binding its functions, turning status codes into exceptions).
 * {@link dev.jmoco.backend.cuda.libraries.CudaLibraries} says which of them this machine has. Nothing here
 * depends on the rest of the CUDA backend: it takes the stream and device pointers as plain addresses.
 */
package dev.jmoco.backend.cuda.libraries;
