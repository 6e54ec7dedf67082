package dev.jmoco.backend.gpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Allocator size classes against a plain-loop reference: next power of two up to 1 MiB, then whole MiB. */
class SizeClassesTest {
    private static final long MIB = 1L << 20;

    private static long reference(long bytes) {
        if (bytes <= MIB) {
            long p = Float.BYTES;
            while (p < bytes) p *= 2;
            return p;
        }
        long m = MIB;
        while (m < bytes) m += MIB;
        return m;
    }

    @Test
    void matchesTheReference() {
        for (long b = 0; b <= 70_000; b++) assertEquals(reference(b), SizeClasses.of(b), "bytes " + b);
        for (long b : new long[] {MIB - 1, MIB, MIB + 1, 2 * MIB, 2 * MIB + 1, 100 * MIB - 3, 1L << 34})
            assertEquals(reference(b), SizeClasses.of(b), "bytes " + b);
    }

    @Test
    void edgeCases() {
        assertEquals(4, SizeClasses.of(0), "empty buffers still get one float (cuMemAlloc refuses 0 bytes)");
        assertEquals(4, SizeClasses.of(1));
        assertEquals(MIB, SizeClasses.of(MIB));
        assertEquals(2 * MIB, SizeClasses.of(MIB + 1));
        assertThrows(IllegalArgumentException.class, () -> SizeClasses.of(-1));
    }
}
