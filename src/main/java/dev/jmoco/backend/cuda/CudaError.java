package dev.jmoco.backend.cuda;

import jcuda.CudaException;

/**
 * Turns a CUDA driver failure into an exception naming the call and the CUresult. JCuda, with exceptions
 * enabled, only says the CUresult name ("CUDA_ERROR_OUT_OF_MEMORY"); which call failed is what a user needs.
 */
final class CudaError {
    private CudaError() {}

    /** An {@link IllegalStateException} saying "{@code call} failed: CURESULT_NAME". */
    static IllegalStateException of(String call, CudaException e) {
        return new IllegalStateException(call + " failed: " + e.getMessage(), e);
    }
}
