package dev.jmoco.backend.cuda;

import dev.jmoco.backend.NativeBindings;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The CUDA driver and devices of this machine, probed once per JVM. Without a driver, loading JCuda's binding
 * throws UnsatisfiedLinkError (libcuda.so.1 missing) and every later touch NoClassDefFoundError (CONTRIBUTING.md,
 * Known hazards): the first answer is cached and never retried.
 */
public final class CudaDevices {
    static final String NO_DRIVER = "no CUDA driver (libcuda.so.1 not found)";

    private static Discovery cached;

    /**
     * The primary context of each device ordinal, retained once for the life of the JVM: see
     * {@link #primaryContext}.
     */
    private static final RetainedOnce<CUcontext> PRIMARY_CONTEXTS = new RetainedOnce<>(ordinal -> {
        CUdevice d = new CUdevice();
        JCudaDriver.cuDeviceGet(d, ordinal);
        CUcontext c = new CUcontext();
        JCudaDriver.cuDevicePrimaryCtxRetain(c, d);
        return c;
    });

    private CudaDevices() {}

    /**
     * The primary context of device {@code ordinal} (cuInit has run), retained by the first call in this JVM
     * and, on purpose, never released, so every {@link CudaBackend} of the device, one after another or side by
     * side, runs in one context. With a retain and a release per backend, closing the last one brought the
     * usage count to zero and the driver destroyed the primary context with all that lived in it; the next
     * backend's retain made a new context, while the CUDA runtime inside cuBLAS and cuDNN keeps per-context
     * state beyond a handle's life (the context it bound to, the modules of its kernels), so their next handle
     * could run under a context that no longer exists. Holding one retain for the process costs the context's
     * own device memory once the last backend has closed; the driver tears the context down when the process
     * exits. Each backend still frees its own memory, stream, module and library handles.
     *
     * @throws CudaException from cuDeviceGet or cuDevicePrimaryCtxRetain (nothing retained; a later call tries
     *                       again)
     */
    static CUcontext primaryContext(int ordinal) { return PRIMARY_CONTEXTS.get(ordinal); }

    /**
     * One value per device ordinal, made by {@code retain} on the first {@link #get} of that ordinal and kept
     * for good (the primary contexts; any {@code retain} in tests). A {@code retain} that throws records nothing.
     * Thread-safe: two backends opened at once on one device retain its context once.
     */
    static final class RetainedOnce<T> {
        private final IntFunction<T> retain;
        private final Map<Integer, T> byOrdinal = new HashMap<>();

        RetainedOnce(IntFunction<T> retain) { this.retain = retain; }

        synchronized T get(int ordinal) {
            T value = byOrdinal.get(ordinal);
            if (value == null) {
                value = retain.apply(ordinal);
                byOrdinal.put(ordinal, value);
            }
            return value;
        }
    }

    /**
     * What the driver offers, or why it offers nothing.
     *
     * @param problem       null when the driver initialised; else why CUDA cannot run (one line)
     * @param driverVersion cuDriverGetVersion, e.g. 12080 for 12.8; 0 without a driver
     * @param devices       the devices by ordinal
     */
    public record Discovery(String problem, int driverVersion, List<CudaDevice> devices) {
        /** "12.8", or "none". */
        public String driverVersionText() {
            return driverVersion == 0 ? "none" : driverVersion / 1000 + "." + driverVersion % 1000 / 10;
        }
    }

    /** Probes on the first call, then returns the same answer. Never throws. */
    public static synchronized Discovery discover() {
        if (cached == null) cached = probe();
        return cached;
    }

    private static Discovery probe() {
        try {
            NativeBindings.initialise("jcuda.driver.JCudaDriver");
            JCudaDriver.setExceptionsEnabled(true);
        } catch (LinkageError e) {
            return new Discovery(noDriver(e), 0, List.of());
        }
        int[] version = new int[1];
        try {
            JCudaDriver.cuInit(0);
            JCudaDriver.cuDriverGetVersion(version);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            List<CudaDevice> devices = new ArrayList<>();
            for (int i = 0; i < count[0]; i++) devices.add(device(i));
            return new Discovery(devices.isEmpty() ? "no CUDA device" : null, version[0], List.copyOf(devices));
        } catch (CudaException e) {
            return new Discovery("CUDA driver: " + e.getMessage(), version[0], List.of());
        } catch (LinkageError e) {
            return new Discovery(noDriver(e), 0, List.of());
        }
    }

    /** The driver's answer for device {@code ordinal}; cuInit has run. */
    private static CudaDevice device(int ordinal) {
        CUdevice d = new CUdevice();
        JCudaDriver.cuDeviceGet(d, ordinal);
        byte[] name = new byte[256];
        JCudaDriver.cuDeviceGetName(name, name.length, d);
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        long[] mem = new long[1];
        JCudaDriver.cuDeviceTotalMem(mem, d);
        return new CudaDevice(ordinal, new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8),
                attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), mem[0],
                attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT));
    }

    /** cuDeviceGetAttribute. */
    static int attribute(CUdevice d, int attribute) {
        int[] v = new int[1];
        JCudaDriver.cuDeviceGetAttribute(v, attribute, d);
        return v[0];
    }

    /** The driver library itself is missing (the usual case) or JCuda's own natives cannot load here. */
    private static String noDriver(LinkageError e) {
        String m = String.valueOf(e.getMessage());
        return m.contains("libcuda") || e instanceof NoClassDefFoundError ? NO_DRIVER
                : "JCuda cannot load its natives: " + m.lines().findFirst().orElse(m);
    }
}
