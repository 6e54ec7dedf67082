package dev.jmoco.backend.opencl;

import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * One OpenCL device as found by {@link ClDevices}: what {@code jmoco devices} prints and what the backend
 * opens.
 *
 * @param platform       name of the platform (driver) that offers the device
 * @param name           device name
 * @param gpu            whether the device type includes CL_DEVICE_TYPE_GPU
 * @param computeUnits   CL_DEVICE_MAX_COMPUTE_UNITS
 * @param globalMemBytes CL_DEVICE_GLOBAL_MEM_SIZE
 * @param platformId     the platform's handle (to create a context)
 * @param deviceId       the device's handle
 */
public record ClDevice(String platform, String name, boolean gpu, int computeUnits, long globalMemBytes,
                       cl_platform_id platformId, cl_device_id deviceId) {

    /** One line: "NAME (GPU, 80 compute units, 79.6 GiB; platform P)". */
    public String describe() {
        return String.format("%s (%s, %d compute units, %.1f GiB; platform %s)", name, gpu ? "GPU" : "CPU",
                computeUnits, globalMemBytes / (double) (1L << 30), platform);
    }
}
