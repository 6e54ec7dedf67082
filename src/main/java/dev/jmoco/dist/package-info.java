/**
 * Collectives for data-parallel training, below the trainer and the MoCo step: {@link dev.jmoco.dist.Collective}
 * (all-reduce mean, all-gather, broadcast, barrier, small host sums) over one process
 * ({@link dev.jmoco.dist.SingleProcess}), MPI on host memory ({@link dev.jmoco.dist.MpiCollective}, Open MPI
 * bound in {@link dev.jmoco.dist.OpenMpi}) or NCCL on CUDA device memory ({@link dev.jmoco.dist.NcclCollective});
 * {@link dev.jmoco.dist.Collectives} opens the job's from how the process was launched
 * ({@link dev.jmoco.dist.Launch}). See docs/distributed.md.
 */
package dev.jmoco.dist;
