package dev.jmoco.backend.opencl;

import dev.jmoco.backend.NativeBindings;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the OpenCL platforms and devices of this machine, once per JVM. Finding them never throws: a missing
 * runtime (JOCL's natives or libOpenCL.so cannot load: a {@link LinkageError}, caught once and never retried)
 * or an ICD loader without platforms is reported as {@link Discovery#problem()}.
 */
public final class ClDevices {
    private ClDevices() {}

    /**
     * The devices found, or why none could be looked for.
     *
     * @param devices every device of every platform, GPUs first (in platform order)
     * @param problem null when the OpenCL runtime answered, else why it did not
     */
    public record Discovery(List<ClDevice> devices, String problem) {

        /** The first GPU, or null. */
        public ClDevice firstGpu() { return devices.stream().filter(ClDevice::gpu).findFirst().orElse(null); }

        /** The first CPU (non-GPU) device, or null. */
        public ClDevice firstCpu() { return devices.stream().filter(d -> !d.gpu()).findFirst().orElse(null); }
    }

    private static Discovery discovery;

    /** The devices of this machine (looked for on the first call only). */
    public static synchronized Discovery discover() {
        if (discovery == null) discovery = lookUp();
        return discovery;
    }

    private static Discovery lookUp() {
        try {
            NativeBindings.initialise("org.jocl.CL");
            CL.setExceptionsEnabled(true);
            int[] count = new int[1];
            CL.clGetPlatformIDs(0, null, count);
            if (count[0] == 0) return new Discovery(List.of(), "no OpenCL platform (no ICD driver installed)");
            cl_platform_id[] platforms = new cl_platform_id[count[0]];
            CL.clGetPlatformIDs(platforms.length, platforms, null);
            List<ClDevice> gpus = new ArrayList<>(), others = new ArrayList<>();
            for (cl_platform_id p : platforms) {
                String platform = platformString(p, CL.CL_PLATFORM_NAME);
                for (cl_device_id d : devices(p)) {
                    boolean gpu = (deviceLong(d, CL.CL_DEVICE_TYPE) & CL.CL_DEVICE_TYPE_GPU) != 0;
                    ClDevice device = new ClDevice(platform, deviceString(d, CL.CL_DEVICE_NAME), gpu,
                            (int) deviceInt(d, CL.CL_DEVICE_MAX_COMPUTE_UNITS),
                            deviceLong(d, CL.CL_DEVICE_GLOBAL_MEM_SIZE), p, d);
                    (gpu ? gpus : others).add(device);
                }
            }
            gpus.addAll(others);
            return new Discovery(List.copyOf(gpus), null);
        } catch (LinkageError e) {
            return new Discovery(List.of(), "no OpenCL runtime (libOpenCL.so): " + e.getMessage());
        } catch (CLException e) {
            // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no driver is registered.
            return new Discovery(List.of(), "no OpenCL platform (" + CL.stringFor_errorCode(e.getStatus()) + ")");
        }
    }

    private static List<cl_device_id> devices(cl_platform_id p) {
        int[] count = new int[1];
        try {
            CL.clGetDeviceIDs(p, CL.CL_DEVICE_TYPE_ALL, 0, null, count);
        } catch (CLException e) {
            return List.of(); // CL_DEVICE_NOT_FOUND: a platform without devices
        }
        cl_device_id[] ids = new cl_device_id[count[0]];
        CL.clGetDeviceIDs(p, CL.CL_DEVICE_TYPE_ALL, ids.length, ids, null);
        return List.of(ids);
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, param, 0, null, size);
        byte[] bytes = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, param, bytes.length, Pointer.to(bytes), null);
        return cString(bytes);
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] bytes = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, bytes.length, Pointer.to(bytes), null);
        return cString(bytes);
    }

    /** A cl_ulong or size_t device property. */
    static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_long, Pointer.to(v), null);
        return v[0];
    }

    /** A cl_uint device property. */
    static long deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_int, Pointer.to(v), null);
        return v[0] & 0xffffffffL;
    }

    private static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) n++;
        return new String(bytes, 0, n, StandardCharsets.UTF_8).trim();
    }
}
