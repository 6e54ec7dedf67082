package dev.jmoco.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * The CUDA kernels of this build: every file of {@code kernels/} compiled by nvcc into one fatbin (cubins for
 * sm_80 and sm_90, PTX for compute_80), a class-path resource. One fatbin rather than one per file because a
 * CUDA module is one translation unit: the backend then makes one {@code cuModuleLoadDataEx} call and finds
 * every kernel by name in that one module ({@code cuModuleGetFunction}), as the OpenCL backend builds one
 * program. The build writes the resource only where nvcc exists (pom.xml, profile {@code cuda-kernels}).
 */
public final class CudaKernels {
    /** Class-path location of the fatbin, as the build writes it. */
    static final String RESOURCE = "dev/jmoco/kernels/cuda/jmoco.fatbin";
    /** The first four bytes of every fatbin, read little-endian. */
    static final int FATBIN_MAGIC = 0xBA55ED50;
    static final String NONE = "no CUDA kernels in this build (nvcc was not found when it was built)";

    private CudaKernels() {}

    /**
     * The fatbin's bytes, or empty when the build had no nvcc. Read from the class path on every call (the
     * backend needs them once, to load its module).
     *
     * @throws IllegalStateException if the resource exists but is not a fatbin (a damaged jar)
     */
    public static Optional<byte[]> fatbin() {
        try (InputStream in = CudaKernels.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) return Optional.empty();
            byte[] bytes = in.readAllBytes();
            if (bytes.length < 4 || ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(0) != FATBIN_MAGIC)
                throw new IllegalStateException("class-path resource " + RESOURCE + " is not a fatbin");
            return Optional.of(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    /** One line for the user: what the fatbin holds and its size, or that this build has none. */
    public static String status() {
        return fatbin()
                .map(b -> "kernels: fatbin with sm_80, sm_90 cubins and compute_80 PTX (" + b.length + " bytes)")
                .orElse(NONE);
    }
}
