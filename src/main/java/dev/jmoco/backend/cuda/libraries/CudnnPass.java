package dev.jmoco.backend.cuda.libraries;

/**
 * The three convolution passes of cuDNN's legacy API. Each has the same five functions (algorithm count,
 * heuristic algorithm list, measured algorithm list, workspace size, run) whose names differ only by the pass's word, and whose
 * descriptor arguments come in the pass's order: (x, w, y) forward, (w, dy, dx) backward data,
 * (x, dy, dw) backward filter, where dy is described like y, dx like x and dw like w.
 */
enum CudnnPass {
    FORWARD("Forward"), BACKWARD_DATA("BackwardData"), BACKWARD_FILTER("BackwardFilter");

    private final String word;

    CudnnPass(String word) { this.word = word; }

    /** cudnnStatus_t (cudnnHandle_t, int *count). */
    String maxCountFunction() { return "cudnnGetConvolution" + word + "AlgorithmMaxCount"; }

    /** cudnnStatus_t (handle, desc1, desc2, convDesc, desc3, int requested, int *returned, perf_t *perf). */
    String algorithmsFunction() { return "cudnnGetConvolution" + word + "Algorithm_v7"; }

    /**
     * The algorithms timed on the GPU, fastest first (cuDNN allocates the buffers it times on): as
     * {@link #algorithmsFunction}'s arguments.
     */
    String findFunction() { return "cudnnFindConvolution" + word + "Algorithm"; }

    /** cudnnStatus_t (handle, desc1, desc2, convDesc, desc3, int algo, size_t *bytes). */
    String workspaceFunction() { return "cudnnGetConvolution" + word + "WorkspaceSize"; }

    /**
     * cudnnStatus_t (handle, const void *alpha, desc1, const void *in1, desc2, const void *in2, convDesc,
     * int algo, void *workspace, size_t workspaceBytes, const void *beta, desc3, void *out).
     */
    String runFunction() { return "cudnnConvolution" + word; }
}
