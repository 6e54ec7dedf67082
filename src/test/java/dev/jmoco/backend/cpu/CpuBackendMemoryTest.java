package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Buffers, views and the pool: the memory contract every op relies on. */
class CpuBackendMemoryTest {

    @Test
    void slicesShareStorageWithTheirRoot() {
        try (CpuBackend b = new CpuBackend(2); Buffer root = b.allocate(10)) {
            b.fill(root, 0);
            Buffer view = root.slice(4, 3);
            b.fill(view, 7);
            float[] out = new float[10];
            b.download(root, out, 0);
            assertArrayEquals(new float[] {0, 0, 0, 0, 7, 7, 7, 0, 0, 0}, out);
            assertEquals(3, view.size());
            view.close(); // a view's close is a no-op: the root stays usable
            b.download(root, out, 0);
            assertEquals(7, out[4]);
        }
    }

    @Test
    void sliceOutOfRangeIsRefused() {
        try (CpuBackend b = new CpuBackend(1); Buffer root = b.allocate(8)) {
            var e = assertThrows(IndexOutOfBoundsException.class, () -> root.slice(6, 3));
            assertTrue(e.getMessage().contains("[6, 9)") && e.getMessage().contains("8 floats"), e.getMessage());
        }
    }

    @Test
    void closedBuffersAreReusedAndLiveCountReturns() {
        try (CpuBackend b = new CpuBackend(1)) {
            long live0 = b.poolStats().live();
            b.allocate(1000).close();
            long created = b.poolStats().created();
            for (int i = 0; i < 5; i++) {
                Buffer x = b.allocate(1000);
                x.close();
                x.close(); // idempotent: must not return the array twice
            }
            assertEquals(created, b.poolStats().created(), "same-size requests must be served from the pool");
            assertEquals(live0, b.poolStats().live());
            Buffer x = b.allocate(1000), y = b.allocate(1000);
            assertTrue(b.poolStats().created() == created + 1, "a second live buffer of that size needs new storage");
            x.close();
            y.close();
        }
    }

    @Test
    void uploadAndDownloadCheckSizes() {
        try (CpuBackend b = new CpuBackend(1); Buffer x = b.allocate(4)) {
            var e = assertThrows(IllegalArgumentException.class, () -> b.upload(new float[3], 0, x));
            assertTrue(e.getMessage().contains("upload"), e.getMessage());
            var f = assertThrows(IllegalArgumentException.class, () -> b.download(x, new float[4], 1));
            assertTrue(f.getMessage().contains("download"), f.getMessage());
        }
    }

    @Test
    void buffersOfAnotherBackendAreRefused() {
        try (CpuBackend a = new CpuBackend(1); CpuBackend other = new CpuBackend(1);
             Buffer x = a.allocate(4); Buffer y = other.allocate(4)) {
            var e = assertThrows(IllegalArgumentException.class, () -> a.copy(x, y));
            assertTrue(e.getMessage().contains("does not belong"), e.getMessage());
        }
    }

    @Test
    void parallelCoversTheRangeExactlyOnce() {
        Parallel p = new Parallel(3);
        int[] hits = new int[1001];
        p.forRange(hits.length, 10, (s, e) -> { for (int i = s; i < e; i++) hits[i]++; });
        for (int h : hits) assertEquals(1, h);
        p.shutdown();
    }
}
