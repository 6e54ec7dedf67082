package dev.jmoco.backend.cuda;

import dev.jmoco.backend.gpu.DevicePool;
import jcuda.CudaException;
import jcuda.driver.JCudaDriver;

/** The CUDA backend's {@link DevicePool}: cuMemAlloc and cuMemFree, with the backend's context current. */
final class CudaPool extends DevicePool<DeviceMemory> {
    @Override
    protected DeviceMemory allocate(long bytes) {
        DeviceMemory ptr = new DeviceMemory();
        try {
            JCudaDriver.cuMemAlloc(ptr, bytes);
        } catch (CudaException e) {
            throw CudaError.of("cuMemAlloc(" + bytes + " bytes)", e);
        }
        return ptr;
    }

    @Override protected void free(DeviceMemory ptr) { JCudaDriver.cuMemFree(ptr); }
}
