package dev.jmoco.backend.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * One cuMemAlloc allocation of the pool. A CUdeviceptr that also tells its raw address, which cuBLAS and cuDNN
 * (called through the foreign function API, not JCuda) need; JCuda keeps that address protected.
 */
final class DeviceMemory extends CUdeviceptr {
    /** The device address cuMemAlloc returned (0 before the call). */
    long address() { return getNativePointer(); }
}
