package dev.jmoco.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Off-heap storage for oneDNN's operands, and the copies between it and the heap arrays behind CpuBuffers.
 * oneDNN memory objects keep a data pointer from one call to the next, and a heap array has no fixed address
 * (the foreign function API passes heap memory to native code only for the length of one call), so every
 * operand travels through a native buffer. The buffers are slots, each one growing to the largest request
 * seen and shared by all shapes: a pass only needs them while it runs. Copies are split over the backend's
 * threads, since one core does not saturate memory bandwidth.
 */
final class CpuDnnlStaging implements AutoCloseable {
    /** Floats per copy task: big enough that a fork costs little next to it. */
    private static final int GRAIN = 1 << 16;

    private final Parallel parallel;
    private final boolean gather;
    private final Arena[] arenas;
    private final MemorySegment[] slots;

    /** {@code gather}: whether inputs may be gathered into blocked layouts with the Vector API (opt-in). */
    CpuDnnlStaging(Parallel parallel, int slots, boolean gather) {
        this.parallel = parallel;
        this.gather = gather;
        this.arenas = new Arena[slots];
        this.slots = new MemorySegment[slots];
    }

    /** Whether {@link #copyInBlocked} takes channel blocks of {@code block} floats. */
    boolean blocksChannels(int block) { return gather && CpuDnnlBlockedCopy.supports(block); }

    /**
     * dst in nChw{block}c = src [n, c, hw] at {@code offset} in NCHW, in one pass ({@link CpuDnnlBlockedCopy});
     * {@code index} and {@code tailIndex} from {@link #blockIndex}.
     */
    void copyInBlocked(float[] src, int offset, int n, int c, int hw, int block, int[] index, int[] tailIndex,
                       MemorySegment dst) {
        int jobs = n * ((c + block - 1) / block);
        parallel.forRange(jobs, Math.max(1, GRAIN / (hw * block)), (j0, j1) ->
                CpuDnnlBlockedCopy.copy(src, offset, c, hw, block, index, tailIndex, dst, j0, j1));
    }

    /** The gather offsets of a block of {@code block} channels of which {@code valid} exist (see copyInBlocked). */
    static int[] blockIndex(int block, int valid, int hw) { return CpuDnnlBlockedCopy.index(block, valid, hw); }

    /** Slot {@code i} with at least {@code bytes} bytes, 64-byte aligned (grown when smaller). */
    MemorySegment slot(int i, long bytes) {
        MemorySegment s = slots[i];
        if (s != null && s.byteSize() >= bytes) return s;
        if (arenas[i] != null) arenas[i].close();
        arenas[i] = Arena.ofShared(); // shared: the copies run on the pool's threads
        slots[i] = arenas[i].allocate(Math.max(bytes, 64), 64);
        return slots[i];
    }

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

    @Override
    public void close() {
        for (int i = 0; i < arenas.length; i++) {
            if (arenas[i] != null) arenas[i].close();
            arenas[i] = null;
            slots[i] = null;
        }
    }
}
