package dev.jmoco.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The once-per-JVM retain behind {@link CudaDevices#primaryContext} ({@link CudaDevices.RetainedOnce}), here with a
 * counting retain instead of cuDevicePrimaryCtxRetain, so no GPU is needed.
 */
class PrimaryContextTest {

    @Test
    void eachOrdinalIsRetainedOnceAndSharedByEveryCaller() {
        List<Integer> retained = new ArrayList<>();
        CudaDevices.RetainedOnce<Object> contexts = new CudaDevices.RetainedOnce<>(ordinal -> {
            retained.add(ordinal);
            return new Object();
        });
        Object first = contexts.get(0);
        // A second backend on device 0, opened after the first closed or beside it, gets the same context.
        for (int i = 0; i < 5; i++) assertSame(first, contexts.get(0));
        Object other = contexts.get(1);
        assertSame(other, contexts.get(1));
        assertEquals(List.of(0, 1), retained);
    }

    @Test
    void aFailedRetainRecordsNothingAndIsTriedAgain() {
        AtomicInteger calls = new AtomicInteger();
        CudaDevices.RetainedOnce<String> contexts = new CudaDevices.RetainedOnce<>(ordinal -> {
            if (calls.incrementAndGet() == 1) throw new IllegalStateException("CUDA_ERROR_OUT_OF_MEMORY");
            return "context " + ordinal;
        });
        assertThrows(IllegalStateException.class, () -> contexts.get(3));
        assertEquals("context 3", contexts.get(3));
        assertEquals("context 3", contexts.get(3));
        assertEquals(2, calls.get());
    }

    @Test
    void backendsOpenedAtOnceRetainOnce() throws InterruptedException {
        AtomicInteger calls = new AtomicInteger();
        CudaDevices.RetainedOnce<Object> contexts = new CudaDevices.RetainedOnce<>(ordinal -> {
            calls.incrementAndGet();
            return new Object();
        });
        int threads = 8;
        Object[] got = new Object[threads];
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int i = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                got[i] = contexts.get(0);
            });
            th.start();
            all.add(th);
        }
        start.countDown();
        for (Thread th : all) th.join();
        assertEquals(1, calls.get());
        for (Object o : got) assertSame(got[0], o);
    }
}
