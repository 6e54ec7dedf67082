package dev.jmoco.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A layout in which oneDNN keeps a 4-d tensor (activations n, c, h, w; filters k, c, r, s): one of the format
 * tags jmoco names (plain, nChw8c, nChw16c), or a layout a primitive chose that has no tag here (its filters'
 * OIhw8i8o, say). Made and interned by {@link CpuDnnlTensors}, so layouts compare with ==; the memory
 * descriptor lives as long as the backend.
 */
final class CpuDnnlLayout {
    /** The tag for a layout oneDNN chose that jmoco does not name. */
    static final int UNNAMED = 0;

    final long[] dims;
    /** {@link CpuDnnl#TAG_NCHW}, {@link CpuDnnl#TAG_NCHW8C}, {@link CpuDnnl#TAG_NCHW16C} or {@link #UNNAMED}. */
    final int tag;
    final MemorySegment md;
    /** Bytes of storage, padded channels included. */
    final long bytes;
    /** The plain (NCHW / KCRS) layout of the same dims: jmoco's own, the arrays' layout. */
    final CpuDnnlLayout plain;

    CpuDnnlLayout(long[] dims, int tag, MemorySegment md, long bytes, CpuDnnlLayout plain) {
        this.dims = dims.clone();
        this.tag = tag;
        this.md = md;
        this.bytes = bytes;
        this.plain = plain == null ? this : plain;
    }

    boolean isPlain() { return plain == this; }

    /** Channels per block: 8 or 16 for nChw8c / nChw16c, 1 for plain, 0 for an unnamed layout. */
    int channelBlock() {
        return switch (tag) {
            case CpuDnnl.TAG_NCHW8C -> 8;
            case CpuDnnl.TAG_NCHW16C -> 16;
            case CpuDnnl.TAG_NCHW -> 1;
            default -> 0;
        };
    }

    @Override
    public String toString() {
        String name = switch (tag) {
            case CpuDnnl.TAG_NCHW8C -> "nChw8c";
            case CpuDnnl.TAG_NCHW16C -> "nChw16c";
            case CpuDnnl.TAG_NCHW -> "plain";
            default -> "oneDNN's own";
        };
        return name + " " + Arrays.toString(dims);
    }
}
