package dev.jmoco.backend.cpu;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The copies between the heap arrays behind CpuBuffers and off-heap memory that oneDNN works on (see
 * {@link CpuDnnlTensors} for when they happen). Split over the backend's threads, since one core does not
 * saturate memory bandwidth.
 */
final class CpuDnnlStaging {
    /** Floats per copy task: big enough that a fork costs little next to it. */
    private static final int GRAIN = 1 << 16;

    private final Parallel parallel;

    CpuDnnlStaging(Parallel parallel) { this.parallel = parallel; }

    /** dst[0, size) = src[offset, offset + size). */
    void copyIn(float[] src, int offset, int size, MemorySegment dst) {
        parallel.forRange(size, GRAIN, (i0, i1) ->
                MemorySegment.copy(src, offset + i0, dst, JAVA_FLOAT, 4L * i0, i1 - i0));
    }

    /** dst[offset, offset + size) = src[0, size). */
    void copyOut(MemorySegment src, float[] dst, int offset, int size) {
        parallel.forRange(size, GRAIN, (i0, i1) ->
                MemorySegment.copy(src, JAVA_FLOAT, 4L * i0, dst, offset + i0, i1 - i0));
    }

    /** dst[offset, offset + size) += src[0, size): the backward passes' accumulation. */
    void addOut(MemorySegment src, float[] dst, int offset, int size) {
        MemorySegment s = src.asSlice(0, 4L * size);
        parallel.forRange(size, GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i++) dst[offset + i] += s.getAtIndex(JAVA_FLOAT, i);
        });
    }
}
