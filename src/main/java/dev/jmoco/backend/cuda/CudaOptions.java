package dev.jmoco.backend.cuda;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What {@code --device cuda[:N][:kernels][:tf32][:portable][:profile]} asks for, in any order after "cuda":
 * <ul>
 *   <li>{@code N}: the device ordinal (0 by default);</li>
 *   <li>{@code kernels}: never use cuBLAS or cuDNN, only the kernels of this project (to compare both paths);</li>
 *   <li>{@code tf32}: allow tensor-core TF32 for GEMM and convolution (cuBLAS/cuDNN math modes, and the
 *       hand-written TF32 GEMM); off by default, as PyTorch's float32 matmul;</li>
 *   <li>{@code portable}: only the kernels shared with OpenCL: no CUDA-only fast path, no cuBLAS or cuDNN;</li>
 *   <li>{@code profile}: time every kernel and library call on the GPU ({@link CudaBackend#profile()}).</li>
 * </ul>
 *
 * @param ordinal   the CUDA device ordinal
 * @param libraries whether cuBLAS and cuDNN are used where found
 * @param tf32      whether TF32 tensor-core math is allowed
 * @param portable  whether only the kernels shared with OpenCL run
 * @param profile   whether GPU time is recorded per kernel and library call
 */
public record CudaOptions(int ordinal, boolean libraries, boolean tf32, boolean portable, boolean profile) {
    /** The form of the option, for messages. */
    public static final String SYNTAX = "cuda[:N][:kernels][:tf32][:portable][:profile]";

    /** The defaults: device 0, libraries where found, no TF32, CUDA-only fast paths on, no profile. */
    public static final CudaOptions DEFAULT = new CudaOptions(0, true, false, false, false);

    private static final List<String> FLAGS = List.of("kernels", "tf32", "portable", "profile");

    /**
     * Parses the part after "cuda:" ("" for plain "cuda").
     *
     * @throws IllegalArgumentException naming the word not understood, a repeated word or an ordinal out of range
     */
    public static CudaOptions parse(String option) {
        if (option.isEmpty()) return DEFAULT;
        Set<String> seen = new HashSet<>();
        int ordinal = 0;
        for (String word : option.split(":", -1)) {
            boolean isOrdinal = !word.isEmpty() && word.length() <= 4 && word.chars().allMatch(Character::isDigit);
            if (!isOrdinal && !FLAGS.contains(word))
                throw new IllegalArgumentException("unknown option '" + word + "' in 'cuda:" + option + "' (form: "
                        + SYNTAX + ")");
            if (!seen.add(isOrdinal ? "N" : word))
                throw new IllegalArgumentException("'" + word + "' repeats an option in 'cuda:" + option + "'");
            if (isOrdinal) ordinal = Integer.parseInt(word);
        }
        return new CudaOptions(ordinal, !seen.contains("kernels"), seen.contains("tf32"), seen.contains("portable"),
                seen.contains("profile"));
    }

    /** Whether cuBLAS and cuDNN are to be opened: allowed, and not excluded by {@code portable}. */
    public boolean usesLibraries() { return libraries && !portable; }

    /** Whether gemm runs the CUDA-only TF32 kernel, given whether cuBLAS (which takes precedence) opened. */
    public boolean usesTf32Kernel(boolean cublasOpen) { return tf32 && !portable && !cublasOpen; }

    /** Whether InfoNCE runs by rows (GEMM + row kernel) rather than the one-pass kernel shared with OpenCL. */
    public boolean usesInfoNceRows() { return !portable; }

    /** The option text that parses back to this ("" for the defaults). */
    public String text() {
        StringBuilder b = new StringBuilder(ordinal == 0 ? "" : ":" + ordinal);
        if (!libraries) b.append(":kernels");
        if (tf32) b.append(":tf32");
        if (portable) b.append(":portable");
        if (profile) b.append(":profile");
        return b.isEmpty() ? "" : b.substring(1);
    }
}
