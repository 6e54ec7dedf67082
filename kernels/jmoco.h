/*
 * jmoco.h - the portability header: one kernel text for OpenCL C and CUDA.
 *
 * Kernels use ONLY these macros where the two languages differ (see kernels/README.md):
 *   KERNEL, GLOBAL, LOCAL, BARRIER(), GLOBAL_ID(d), LOCAL_ID(d), GROUP_ID(d), LOCAL_SIZE(d),
 *   NUM_GROUPS(d), DEVICE_FN, RESTRICT, LOCAL_PTR, DEVICE_FN_LOCAL
 * and the math functions exp, log, sqrt, fmax, fmin, fabs on float arguments (float overloads in both).
 * Ids are int-valued in both languages (OpenCL's size_t ids are cast), so index arithmetic reads the same.
 * The OpenCL backend prepends this file to the kernel sources (dropping their #include line); nvcc finds it
 * with -I kernels. Its own tests: src/test/resources/dev/jmoco/kerneltest/header_test.cl.
 *
 * It also defines the work-group reductions block_sum and block_max (end of file), shared by every kernel.
 */
#ifndef JMOCO_H
#define JMOCO_H

/* The sizes kernels share with their launchers (GEMM_TILE, BN_WG, ...) are defined once, in Java, and passed
   as -D options (kernels/README.md, "Kernel geometry"); without them the kernels would not compile anyway, this
   says why. */
#ifndef JMOCO_GEOMETRY
#error "kernel geometry missing: compile with the -D options of dev.jmoco.backend.gpu.KernelGeometry"
#endif

#if defined(__CUDACC__)

/* extern "C": the host looks kernels up by their plain name (cuModuleGetFunction), as OpenCL does. */
#define KERNEL extern "C" __global__
/* CUDA has one generic address space for device pointers. */
#define GLOBAL
/* Shared memory declared inside the kernel body, the way OpenCL declares a __local array there. */
#define LOCAL __shared__
#define BARRIER() __syncthreads()
#define DEVICE_FN __device__ static inline
#define RESTRICT __restrict__
/* A pointer parameter to shared memory (a helper taking a LOCAL array): CUDA pointers are generic. */
#define LOCAL_PTR
/* A helper taking a LOCAL_PTR (see the OpenCL branch for why it is forced inline). */
#define DEVICE_FN_LOCAL __device__ static __forceinline__

/* Component d of a dim3 (d is a constant in practice, so the branches fold away). */
#define JMOCO_DIM3(v, d) ((int) ((d) == 0 ? (v).x : (d) == 1 ? (v).y : (v).z))
#define GLOBAL_ID(d) (JMOCO_DIM3(blockIdx, d) * JMOCO_DIM3(blockDim, d) + JMOCO_DIM3(threadIdx, d))
#define LOCAL_ID(d) JMOCO_DIM3(threadIdx, d)
#define GROUP_ID(d) JMOCO_DIM3(blockIdx, d)
#define LOCAL_SIZE(d) JMOCO_DIM3(blockDim, d)
#define NUM_GROUPS(d) JMOCO_DIM3(gridDim, d)

/* CUDA's exp(float) etc. would promote to double; these route the OpenCL spellings to the float versions.
   Macros (not overloads) so that no double overload is ever chosen, whatever the argument expression. */
#define exp(x) expf(x)
#define log(x) logf(x)
#define sqrt(x) sqrtf(x)
#define fmax(a, b) fmaxf(a, b)
#define fmin(a, b) fminf(a, b)
#define fabs(x) fabsf(x)

#else /* OpenCL C */

#define KERNEL __kernel
#define GLOBAL __global
#define LOCAL __local
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE)
#define DEVICE_FN static inline
#define RESTRICT restrict
#define LOCAL_PTR __local
/* PoCL 3.1 (pthread driver) turns a kernel's LOCAL array that reaches a not-yet-inlined helper through a
   pointer into ONE array shared by all work-groups running at once: results then mix between concurrent
   groups (seen as wrong block_sum results under load). Inlining in the front end keeps the array the
   kernel's own, so every helper that takes a LOCAL_PTR is declared with this instead of DEVICE_FN. */
#define DEVICE_FN_LOCAL static inline __attribute__((always_inline))

#define GLOBAL_ID(d) ((int) get_global_id(d))
#define LOCAL_ID(d) ((int) get_local_id(d))
#define GROUP_ID(d) ((int) get_group_id(d))
#define LOCAL_SIZE(d) ((int) get_local_size(d))
#define NUM_GROUPS(d) ((int) get_num_groups(d))

#endif

/*
 * Work-group reductions: block_sum(v, scratch) and block_max(v, scratch) return the sum (the max) of v over
 * the work-group, to every work-item. Requirements:
 *   - every work-item of the group calls, with the same scratch (a call is a barrier: never under a branch
 *     that not all work-items take);
 *   - a 1-D work-group (ids from LOCAL_ID(0)) whose size is a power of two from 32 to 1024;
 *   - scratch: a LOCAL float array of at least LOCAL_SIZE(0) floats (CUDA uses the first 32, OpenCL all).
 * Each call starts with a barrier, so calls may follow each other on the same scratch (the next call's
 * writes wait until every work-item has read the previous result), and so may any earlier use of scratch
 * by the kernel; a kernel that writes scratch itself after a call must BARRIER() first.
 * The order of the additions is fixed by the group size, so results are the same on every run.
 */
#if defined(__CUDACC__)

/* Warp shuffles (a butterfly: every lane ends with its warp's result), one partial per warp in shared memory,
   then every warp reduces the (at most 32) partials itself, so no third barrier is needed to broadcast. */
DEVICE_FN_LOCAL float block_sum(float v, LOCAL_PTR float* scratch) {
    int lane = LOCAL_ID(0) & 31, warps = LOCAL_SIZE(0) >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (lane == 0) scratch[LOCAL_ID(0) >> 5] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

DEVICE_FN_LOCAL float block_max(float v, LOCAL_PTR float* scratch) {
    int lane = LOCAL_ID(0) & 31, warps = LOCAL_SIZE(0) >> 5;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) scratch[LOCAL_ID(0) >> 5] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

#else /* OpenCL C */

/* A tree in local memory: log2(size) halvings, one barrier each. */
DEVICE_FN_LOCAL float block_sum(float v, LOCAL_PTR float* scratch) {
    int lid = LOCAL_ID(0);
    BARRIER();
    scratch[lid] = v;
    BARRIER();
    for (int width = LOCAL_SIZE(0) >> 1; width > 0; width >>= 1) {
        if (lid < width) scratch[lid] += scratch[lid + width];
        BARRIER();
    }
    return scratch[0];
}

DEVICE_FN_LOCAL float block_max(float v, LOCAL_PTR float* scratch) {
    int lid = LOCAL_ID(0);
    BARRIER();
    scratch[lid] = v;
    BARRIER();
    for (int width = LOCAL_SIZE(0) >> 1; width > 0; width >>= 1) {
        if (lid < width) scratch[lid] = fmax(scratch[lid], scratch[lid + width]);
        BARRIER();
    }
    return scratch[0];
}

#endif

#endif /* JMOCO_H */
