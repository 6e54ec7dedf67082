/*
 * jmoco.h - the portability header: one kernel text for OpenCL C and CUDA.
 *
 * Kernels use ONLY these macros where the two languages differ (see kernels/README.md):
 *   KERNEL, GLOBAL, LOCAL, BARRIER(), GLOBAL_ID(d), LOCAL_ID(d), GROUP_ID(d), LOCAL_SIZE(d),
 *   NUM_GROUPS(d), DEVICE_FN, RESTRICT
 * and the math functions exp, log, sqrt, fmax, fmin, fabs on float arguments (float overloads in both).
 * Ids are int-valued in both languages (OpenCL's size_t ids are cast), so index arithmetic reads the same.
 * The OpenCL backend prepends this file to the kernel sources (dropping their #include line); nvcc finds it
 * with -I kernels. Its own tests: src/test/resources/dev/jmoco/kerneltest/header_test.cl.
 */
#ifndef JMOCO_H
#define JMOCO_H

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

#define GLOBAL_ID(d) ((int) get_global_id(d))
#define LOCAL_ID(d) ((int) get_local_id(d))
#define GROUP_ID(d) ((int) get_group_id(d))
#define LOCAL_SIZE(d) ((int) get_local_size(d))
#define NUM_GROUPS(d) ((int) get_num_groups(d))

#endif

#endif /* JMOCO_H */
