package dev.jmoco.backend.cuda;

import dev.jmoco.backend.cuda.libraries.Cublas;
import dev.jmoco.backend.cuda.libraries.Cudnn;
import dev.jmoco.backend.cuda.libraries.NativeLibraryAssumptions;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * Device 0's primary context made current, one stream, and float arrays in device memory, through the driver
 * API as {@link CudaBackend} does it, so the GPU tests of {@link Cublas} and {@link Cudnn} run the libraries
 * exactly as the backend will: on the raw addresses of views at any float offset. Skips where no GPU is.
 */
final class NativeTestDevice implements AutoCloseable {
    /** Floats of device memory, the view starting {@code offset} floats into its own allocation. */
    record Floats(DeviceMemory memory, int offset, int length) {
        long address() { return memory.address() + 4L * offset; }
    }

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    final CudaStream stream = new CudaStream();
    private final List<DeviceMemory> allocations = new ArrayList<>();

    private NativeTestDevice() {
        JCudaDriver.cuDeviceGet(device, 0);
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        JCudaDriver.cuStreamCreate(stream, 0);
    }

    /**
     * Device 0, or a skipped test where there is no driver or no device; a failed one instead when the
     * environment sets JMOCO_REQUIRE_CUDA=1 (the GPU script does).
     */
    static NativeTestDevice openOrSkip() {
        if (!NativeLibraryAssumptions.driverPresent()) skipOrFail("no CUDA driver (libcuda.so.1) here");
        JCudaDriver.setExceptionsEnabled(true);
        int[] count = {0};
        try {
            JCudaDriver.cuInit(0);
            JCudaDriver.cuDeviceGetCount(count);
        } catch (CudaException e) {
            skipOrFail("CUDA driver present but unusable: cuInit / cuDeviceGetCount: " + e.getMessage());
        }
        if (count[0] == 0) skipOrFail("no CUDA device");
        return new NativeTestDevice();
    }

    private static void skipOrFail(String reason) {
        if ("1".equals(System.getenv("JMOCO_REQUIRE_CUDA"))) fail("JMOCO_REQUIRE_CUDA=1 but " + reason);
        // Skipped only where no GPU can be reached (every machine but a GPU one); the GPU script sets
        // JMOCO_REQUIRE_CUDA=1, so there a missing device fails above.
        abort(reason);
    }

    /** {@code values} copied to a fresh allocation, {@code offset} floats in (garbage before them). */
    Floats upload(float[] values, int offset) {
        DeviceMemory m = new DeviceMemory();
        long bytes = 4L * (offset + values.length);
        JCudaDriver.cuMemAlloc(m, bytes);
        allocations.add(m);
        JCudaDriver.cuMemcpyHtoD(m.withByteOffset(4L * offset), Pointer.to(values), 4L * values.length);
        return new Floats(m, offset, values.length);
    }

    /** Waits for the stream, then copies {@code f} back. */
    float[] download(Floats f) {
        JCudaDriver.cuStreamSynchronize(stream);
        float[] out = new float[f.length()];
        JCudaDriver.cuMemcpyDtoH(Pointer.to(out), f.memory().withByteOffset(4L * f.offset()), 4L * f.length());
        return out;
    }

    /** A workspace for {@link Cudnn} that grows (waiting for the stream before it frees the old one). */
    Cudnn.Workspace workspace() {
        return new Cudnn.Workspace() {
            private DeviceMemory memory;
            private long size;

            @Override
            public long address(long bytes) {
                if (bytes > size) {
                    if (memory != null) {
                        JCudaDriver.cuStreamSynchronize(stream);
                        JCudaDriver.cuMemFree(memory);
                        allocations.remove(memory);
                    }
                    memory = new DeviceMemory();
                    JCudaDriver.cuMemAlloc(memory, bytes);
                    allocations.add(memory);
                    size = bytes;
                }
                return bytes == 0 ? 0 : memory.address();
            }
        };
    }

    /** Frees every allocation, the stream, and releases the context. */
    @Override
    public void close() {
        JCudaDriver.cuStreamSynchronize(stream);
        for (DeviceMemory m : allocations) JCudaDriver.cuMemFree(m);
        allocations.clear();
        JCudaDriver.cuStreamDestroy(stream);
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
