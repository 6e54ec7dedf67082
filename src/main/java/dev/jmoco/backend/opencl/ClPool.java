package dev.jmoco.backend.opencl;

import dev.jmoco.backend.gpu.DevicePool;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.cl_context;
import org.jocl.cl_mem;

/** The OpenCL backend's {@link DevicePool}: clCreateBuffer and clReleaseMemObject in the backend's context. */
final class ClPool extends DevicePool<cl_mem> {
    private final cl_context context;

    ClPool(cl_context context) { this.context = context; }

    @Override
    protected cl_mem allocate(long bytes) {
        try {
            return CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, bytes, null, null);
        } catch (CLException e) {
            throw ClError.of("clCreateBuffer(" + bytes + " bytes)", e);
        }
    }

    @Override protected void free(cl_mem mem) { CL.clReleaseMemObject(mem); }
}
