package dev.jmoco.backend.cuda;

import jcuda.driver.CUstream;

/** The backend's stream, with its raw handle for the libraries bound through the foreign function API. */
final class CudaStream extends CUstream {
    /** The CUstream handle cuStreamCreate returned (0 before the call). */
    long handle() { return getNativePointer(); }
}
