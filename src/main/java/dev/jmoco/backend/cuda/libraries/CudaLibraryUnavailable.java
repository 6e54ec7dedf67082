package dev.jmoco.backend.cuda.libraries;

/**
 * A vendor library (cuBLAS, cuDNN) cannot be used here: not found, a symbol missing, too old, or its handle
 * could not be created. The message is one line naming what is missing, e.g. "cuBLAS not used: neither
 * libcublas.so.13 nor libcublas.so.12 found"; the backend prints it and runs its own kernels instead.
 */
public final class CudaLibraryUnavailable extends RuntimeException {
    CudaLibraryUnavailable(String message) { super(message); }
}
