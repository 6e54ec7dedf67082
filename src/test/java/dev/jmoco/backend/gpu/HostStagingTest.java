package dev.jmoco.backend.gpu;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Host copies of asynchronous uploads: held (never reused) until retired, then recycled. */
class HostStagingTest {

    private static int[] read(ByteBuffer b) {
        int[] v = new int[b.limit() / Integer.BYTES];
        b.duplicate().order(b.order()).asIntBuffer().get(v);
        return v;
    }

    @Test
    void heldBuffersAreNotReusedUntilRetired() {
        HostStaging s = new HostStaging();
        ByteBuffer a = s.hold(new int[] {1, 2, 3});
        ByteBuffer b = s.hold(new int[] {4});
        assertNotSame(a, b);
        assertTrue(a.isDirect(), "a Java array would move under an asynchronous copy");
        assertArrayEquals(new int[] {1, 2, 3}, read(a));
        assertArrayEquals(new int[] {4}, read(b));
        assertEquals(a.capacity() + b.capacity(), s.heldBytes());
        s.retire();
        assertEquals(0, s.heldBytes());
        ByteBuffer c = s.hold(new int[] {9, 8});
        assertTrue(c == a || c == b, "a retired buffer is reused");
        assertArrayEquals(new int[] {9, 8}, read(c));
        assertEquals(8, c.limit());
    }

    @Test
    void emptyAndLargeArrays() {
        HostStaging s = new HostStaging();
        assertEquals(0, s.hold(new int[0]).limit());
        int[] big = new int[10_000];
        for (int i = 0; i < big.length; i++) big[i] = i * 7 - 3;
        assertArrayEquals(big, read(s.hold(big)));
    }
}
