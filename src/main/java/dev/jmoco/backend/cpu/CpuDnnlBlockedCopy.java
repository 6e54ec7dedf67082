package dev.jmoco.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Copies an NCHW heap array into oneDNN's channel-blocked layout nChw{B}c (B = 8 or 16: [n][c / B][h][w][B],
 * channels padded with zeros up to a multiple of B) in one pass, with one gather of B floats, one from each
 * channel plane, per pixel. It replaces a plain copy followed by oneDNN's reorder: measured on a shared 2-core
 * AVX2 machine for 4M floats, 2.5-2.8 ms against 2.2 + 2.5 ms (a scalar transpose took 4.5 ms, through a heap
 * tile 5.9 ms). Only this class touches jdk.incubator.vector; it is used only when the module is present and
 * the preferred vector holds B floats.
 */
final class CpuDnnlBlockedCopy {
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256, S16 = FloatVector.SPECIES_512;

    private CpuDnnlBlockedCopy() {}

    /** Whether blocks of {@code block} floats are copied here at full vector width. */
    static boolean supports(int block) {
        return (block == 8 || block == 16) && FloatVector.SPECIES_PREFERRED.length() >= block;
    }

    /**
     * The gather offsets of a block: 0, hw, 2 hw, ... for its first {@code valid} channels, then 0. The masked
     * gather of a block with padded channels checks even the masked-off lanes' indices (JDK 25), so those
     * point at the block's first element.
     */
    static int[] index(int block, int valid, int hw) {
        int[] index = new int[block];
        for (int i = 0; i < valid; i++) index[i] = i * hw;
        return index;
    }

    /**
     * Channel blocks [j0, j1) (block j = image j / blocks, channels B (j % blocks) ...) of src [n, c, hw] at
     * {@code offset} into dst; {@code index} and {@code tailIndex} from {@link #index} for B and for the
     * channels of the last block.
     */
    static void copy(float[] src, int offset, int c, int hw, int block, int[] index, int[] tailIndex,
                     MemorySegment dst, int j0, int j1) {
        if (block == 8) copy8(src, offset, c, hw, index, tailIndex, dst, j0, j1);
        else copy16(src, offset, c, hw, index, tailIndex, dst, j0, j1);
    }

    // One loop per block size, each with its species a constant: a species C2 cannot see as constant makes
    // every vector a boxed object (measured: slower than the copy and reorder this replaces).

    private static void copy8(float[] src, int offset, int c, int hw, int[] index, int[] tailIndex,
                              MemorySegment dst, int j0, int j1) {
        int blocks = (c + 7) / 8;
        ByteOrder order = ByteOrder.nativeOrder();
        for (int j = j0; j < j1; j++) {
            int image = j / blocks, c0 = (j % blocks) * 8, plane = offset + (image * c + c0) * hw;
            long out = 32L * j * hw;
            if (c0 + 8 <= c) {
                for (int p = 0; p < hw; p++)
                    FloatVector.fromArray(S8, src, plane + p, index, 0).intoMemorySegment(dst, out + 32L * p, order);
            } else { // the last block of a channel count off the block size: the lanes past c are zero
                VectorMask<Float> m = S8.indexInRange(0, c - c0);
                for (int p = 0; p < hw; p++)
                    FloatVector.fromArray(S8, src, plane + p, tailIndex, 0, m).intoMemorySegment(dst, out + 32L * p, order);
            }
        }
    }

    private static void copy16(float[] src, int offset, int c, int hw, int[] index, int[] tailIndex,
                               MemorySegment dst, int j0, int j1) {
        int blocks = (c + 15) / 16;
        ByteOrder order = ByteOrder.nativeOrder();
        for (int j = j0; j < j1; j++) {
            int image = j / blocks, c0 = (j % blocks) * 16, plane = offset + (image * c + c0) * hw;
            long out = 64L * j * hw;
            if (c0 + 16 <= c) {
                for (int p = 0; p < hw; p++)
                    FloatVector.fromArray(S16, src, plane + p, index, 0).intoMemorySegment(dst, out + 64L * p, order);
            } else {
                VectorMask<Float> m = S16.indexInRange(0, c - c0);
                for (int p = 0; p < hw; p++)
                    FloatVector.fromArray(S16, src, plane + p, tailIndex, 0, m).intoMemorySegment(dst, out + 64L * p, order);
            }
        }
    }
}
