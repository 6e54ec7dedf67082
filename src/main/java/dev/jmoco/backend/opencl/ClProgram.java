package dev.jmoco.backend.opencl;

import dev.jmoco.backend.gpu.KernelGeometry;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_program;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * One built OpenCL program and its kernels, created on first use and cached by name (clCreateKernel per
 * launch would cost a driver call and leak unless released).
 */
final class ClProgram implements AutoCloseable {
    /**
     * OpenCL C 1.2: what every GPU vendor's driver compiles; keeps 2.0-only features out of the kernels. Then the
     * launch geometry the host shares with the kernels, defined once in KernelGeometry.
     */
    private static final String OPTIONS = "-cl-std=CL1.2 " + KernelGeometry.defines();

    private final cl_program program;
    private final Map<String, cl_kernel> kernels = new HashMap<>();

    /** Compiles {@code source} for {@code device}; a failure carries the build log. */
    ClProgram(cl_context context, cl_device_id device, String source) {
        try {
            program = CL.clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        } catch (CLException e) {
            throw ClError.of("clCreateProgramWithSource", e);
        }
        try {
            CL.clBuildProgram(program, 1, new cl_device_id[] {device}, OPTIONS, null, null);
        } catch (CLException e) {
            String log = buildLog(device);
            CL.clReleaseProgram(program);
            throw new IllegalStateException("clBuildProgram failed: " + CL.stringFor_errorCode(e.getStatus())
                    + "; build log:\n" + log, e);
        }
    }

    /** The kernel named {@code name}, created once. */
    synchronized cl_kernel kernel(String name) {
        cl_kernel k = kernels.get(name);
        if (k == null) {
            try {
                k = CL.clCreateKernel(program, name, null);
            } catch (CLException e) {
                throw ClError.of("clCreateKernel(" + name + ")", e);
            }
            kernels.put(name, k);
        }
        return k;
    }

    private String buildLog(cl_device_id device) {
        long[] size = new long[1];
        CL.clGetProgramBuildInfo(program, device, CL.CL_PROGRAM_BUILD_LOG, 0, null, size);
        byte[] bytes = new byte[(int) size[0]];
        CL.clGetProgramBuildInfo(program, device, CL.CL_PROGRAM_BUILD_LOG, bytes.length, Pointer.to(bytes), null);
        int n = bytes.length;
        while (n > 0 && bytes[n - 1] == 0) n--;
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void close() {
        kernels.values().forEach(CL::clReleaseKernel);
        kernels.clear();
        CL.clReleaseProgram(program);
    }
}
