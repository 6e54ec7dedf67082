package dev.jmoco.backend.gpu;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The launch geometry that the launchers and the kernels (kernels/*.cl, kernels/cuda/*.cu) must agree on, defined
 * here and nowhere else: each constant reaches the kernels as the macro of the same name through {@link #defines()},
 * which the OpenCL program build (opencl.ClProgram) and the Maven build's nvcc (pom.xml, profile cuda-kernels, via
 * {@link #main}) pass as -D options. Copies by hand drifted silently; a kernel file that #defines one of these
 * names again fails KernelGeometryTest. Sizes private to a kernel (register blocks, paddings, staging slices) stay
 * #defines in its file. What each size is for is explained where the kernel uses it.
 */
public final class KernelGeometry {
    /** gemm.cl: GEMM_WG x GEMM_WG work-items per GEMM_TILE x GEMM_TILE tile of C; k in steps of GEMM_TK. */
    public static final int GEMM_TILE = 64, GEMM_TK = 16, GEMM_WG = 16;
    /** conv.cl: the implicit-GEMM convolutions tile as gemm_tiled does. */
    public static final int CONV_TILE = GEMM_TILE, CONV_WG = GEMM_WG;
    /** gemm_tf32.cu (CUDA only): GEMM_TF32_THREADS threads per GEMM_TF32_TILE square tile, k steps of GEMM_TF32_TK. */
    public static final int GEMM_TF32_TILE = 64, GEMM_TF32_TK = 16, GEMM_TF32_THREADS = 128;
    /** batchnorm.cl: threads of a plane reduction; channels x rows of a rows (hw = 1) reduction. */
    public static final int BN_WG = 256, BN_TILE_C = 32, BN_TILE_R = 8;
    /** elementwise.cl: elem_bias_backward's work-group, columns x rows. */
    public static final int BB_COLS = 32, BB_ROWS = 8;
    /** pooling.cl: threads of an average-pool work-group (also PlaneLayout's for batch norm's passes). */
    public static final int POOL_WG = 256;
    /** rows.cl: the largest work-group of the row reductions. */
    public static final int ROWS_WG = 256;
    /** losses.cl: losses_stats's one work-group; the largest of softmax_xent_rows. */
    public static final int LOSSES_STATS_THREADS = 256, XENT_MAX_THREADS = 256;
    /** losses.cl, fused InfoNCE: infonce_partial's threads, rows of q, queue keys per tile, accumulator columns. */
    public static final int INFONCE_THREADS = 256, INFONCE_ROWS = 32, INFONCE_KEYS = 128, INFONCE_COLS = 128;
    /** losses.cl: queue chunks per row at most, and threads of infonce_combine. */
    public static final int INFONCE_MAX_CHUNKS = 256, INFONCE_COMBINE_THREADS = 128;
    /** losses.cl: threads of infonce_rows (InfoNceRows). */
    public static final int INFONCE_ROWS_THREADS = 1024;

    private KernelGeometry() {}

    /** Every constant above, by name (sorted). */
    public static SortedMap<String, Integer> values() {
        SortedMap<String, Integer> values = new TreeMap<>();
        for (Field f : KernelGeometry.class.getDeclaredFields())
            if (Modifier.isPublic(f.getModifiers()) && Modifier.isStatic(f.getModifiers())) {
                try {
                    values.put(f.getName(), f.getInt(null));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        return values;
    }

    /**
     * The -D options: JMOCO_GEOMETRY (jmoco.h stops a compile without it), then NAME=value for every constant, in
     * name order (a stable string: the nvcc build records it to notice a change).
     */
    public static String defines() {
        StringBuilder sb = new StringBuilder("-DJMOCO_GEOMETRY");
        values().forEach((name, value) -> sb.append(" -D").append(name).append('=').append(value));
        return sb.toString();
    }

    /** Prints {@link #defines()}: the nvcc build's flags (pom.xml), also for compiling a kernel file by hand. */
    public static void main(String[] args) { System.out.println(defines()); }
}
