package dev.jmoco.dist;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BackendProvider;
import dev.jmoco.backend.Backends;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.cuda.CudaBackend;
import dev.jmoco.backend.cuda.CudaBackendProvider;
import dev.jmoco.backend.cuda.libraries.NativeLibraryAssumptions;
import dev.jmoco.backend.cuda.libraries.Nccl;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link NcclCollective} and {@link Nccl} on a real GPU with one rank (bootstrap {@link SingleProcess}): the
 * collectives on {@code cuda} device buffers against the same calls of {@link SingleProcess} on the CPU backend
 * and against what one rank must give (the mean and the gather of one rank are its input). Every buffer is a
 * view at an odd float offset between sentinel guards, so a wrong address, offset, count or data type shows as
 * a changed guard or value; the out-of-place calls of {@link Nccl} make NCCL really copy (one rank in place may
 * move nothing).
 * <p>
 * Runs only where the cuda provider reports a device and this build's kernels, and libnccl.so.2 loads; skipped
 * otherwise, unless JMOCO_REQUIRE_CUDA=1 / JMOCO_REQUIRE_CUDA_LIBRARIES=1 (native-tests/run-gpu.sh): then it fails.
 */
class NcclCollectiveGpuTest {
    private static final String REQUIRE_CUDA = "JMOCO_REQUIRE_CUDA";
    private static final int GUARD = 3;
    private static final float SENTINEL = -12345.5f;

    private static CudaBackend cuda;
    private static Backend cpu;
    private static String absent;
    private static NcclCollective nccl;

    @BeforeAll
    static void open() {
        BackendProvider.Availability a = new CudaBackendProvider().availability();
        if (!a.available()) {
            absent = a.reason();
            return;
        }
        // A device that is reported but cannot be opened fails here, as it should.
        cuda = (CudaBackend) Backends.create("cuda");
        cpu = Backends.create("cpu");
    }

    @AfterAll
    static void close() {
        try {
            if (nccl != null) nccl.close();
        } finally {
            if (cuda != null) cuda.close();
            if (cpu != null) cpu.close();
        }
    }

    @BeforeEach
    void needsCudaAndNccl() {
        if ("1".equals(System.getenv(REQUIRE_CUDA)) && cuda == null)
            fail(REQUIRE_CUDA + "=1 but CUDA cannot run here: " + absent);
        // Skipped where no GPU can be reached (CI, every machine but a GPU one); the GPU script sets
        // JMOCO_REQUIRE_CUDA=1, so there a missing device fails above.
        assumeTrue(cuda != null, () -> "no CUDA: " + absent);
        NativeLibraryAssumptions.requireLoadable("NCCL", Nccl.SONAMES);
        if (nccl == null) nccl = NcclCollective.open(cuda, new SingleProcess());
    }

    @Test
    void describesItselfAsOneRank() {
        assertEquals(0, nccl.rank());
        assertEquals(1, nccl.size());
        assertTrue(nccl.name().matches("NCCL 2\\.\\d+\\.\\d+ \\(bootstrap over one process\\)"), nccl.name());
        assertTrue(Nccl.supportsAvg(Nccl.versionOf()), Nccl.versionOf());
    }

    @Test
    void allReduceMeanOfTwoBuffersIsTheInputForOneRank() {
        float[] a = values(1000, 1), b = values(37, 2);
        Guarded ga = Guarded.of(cuda, a), gb = Guarded.of(cuda, b);
        Guarded ca = Guarded.of(cpu, a), cb = Guarded.of(cpu, b);
        try {
            CollectiveTally.Totals before = totals("all-reduce");
            nccl.allReduceMean(List.of(ga.view, gb.view));
            try (SingleProcess one = new SingleProcess()) {
                one.allReduceMean(List.of(ca.view, cb.view));
            }
            assertArrayEquals(a, ga.read(), "mean of one rank, buffer of 1000");
            assertArrayEquals(b, gb.read(), "mean of one rank, buffer of 37");
            assertArrayEquals(ca.read(), ga.read(), "cuda over NCCL against cpu over one process");
            assertArrayEquals(cb.read(), gb.read(), "cuda over NCCL against cpu over one process");
            CollectiveTally.Totals after = totals("all-reduce");
            assertEquals(before.calls() + 1, after.calls(), "one call tallied");
            assertEquals(before.bytes() + 4L * (1000 + 37), after.bytes(), "this rank's bytes tallied");
            assertTrue(after.seconds() > before.seconds(), "time tallied");
            assertEquals(0, after.stagingSeconds(), "no staging through host memory");
        } finally {
            for (Guarded g : new Guarded[] {ga, gb, ca, cb}) g.close();
        }
    }

    @Test
    void allGatherCopiesTheSendBufferIntoRecv() {
        float[] x = values(513, 3);
        Guarded send = Guarded.of(cuda, x), recv = Guarded.of(cuda, filled(513, 7f));
        Guarded cpuSend = Guarded.of(cpu, x), cpuRecv = Guarded.of(cpu, filled(513, 7f));
        try {
            nccl.allGather(send.view, recv.view);
            try (SingleProcess one = new SingleProcess()) {
                one.allGather(cpuSend.view, cpuRecv.view);
            }
            assertArrayEquals(x, recv.read(), "gather of one rank");
            assertArrayEquals(cpuRecv.read(), recv.read(), "cuda over NCCL against cpu over one process");
            assertArrayEquals(x, send.read(), "the send buffer is unchanged");
            assertThrows(IllegalArgumentException.class, () -> nccl.allGather(send.view, send.view.slice(0, 512)));
        } finally {
            for (Guarded g : new Guarded[] {send, recv, cpuSend, cpuRecv}) g.close();
        }
    }

    @Test
    void broadcastFromRankZeroKeepsTheBuffer() {
        float[] x = values(300, 4);
        Guarded g = Guarded.of(cuda, x), c = Guarded.of(cpu, x);
        try {
            CollectiveTally.Totals before = totals("broadcast");
            nccl.broadcast(g.view, 0);
            try (SingleProcess one = new SingleProcess()) {
                one.broadcast(c.view, 0);
            }
            assertArrayEquals(x, g.read());
            assertArrayEquals(c.read(), g.read());
            assertThrows(IllegalArgumentException.class, () -> nccl.broadcast(g.view, 1));
            assertEquals(before.bytes() + 4L * 300, totals("broadcast").bytes());
        } finally {
            g.close();
            c.close();
        }
    }

    @Test
    void hostOperationsAreTheBootstraps() {
        assertArrayEquals(new double[] {1.5, -2}, nccl.sum(new double[] {1.5, -2}));
        assertArrayEquals(new byte[] {1, 2, 3}, nccl.broadcast(new byte[] {1, 2, 3}, 0));
        nccl.barrier();
    }

    @Test
    void aBufferOfAnotherBackendIsRefusedByName() {
        try (Buffer b = cpu.allocate(4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> nccl.allReduceMean(List.of(b)));
            assertTrue(e.getMessage().contains("backend cpu"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> nccl.broadcast(b, 0));
            assertTrue(e.getMessage().contains("backend cpu"), e.getMessage());
        }
    }

    /**
     * {@link Nccl} itself, out of place (so NCCL must move the data): sum, average, gather and broadcast of one
     * rank each write exactly {@code send} into the {@code recv} view, and nothing around it.
     */
    @Test
    void outOfPlaceCallsWriteExactlyTheView() {
        byte[] id = Nccl.uniqueId();
        assertEquals(Nccl.UNIQUE_ID_BYTES, id.length);
        assertTrue(!Arrays.equals(id, new byte[id.length]), "an all-zero unique id");
        float[] x = values(777, 5);
        Guarded send = Guarded.of(cuda, x), recv = Guarded.of(cuda, filled(777, 0f));
        cuda.synchronize(); // the backend's context current on this thread: the communicator joins on it
        Nccl comm = Nccl.open(1, 0, id, cuda.streamHandle());
        try {
            long s = cuda.deviceAddress(send.view), r = cuda.deviceAddress(recv.view);
            assertEquals(cuda.deviceAddress(send.root) + 4L * GUARD, s, "the view's offset is in its address");
            String[] calls = {"allReduceSum", "allReduceAvg", "allGather", "broadcast"};
            for (String call : calls) {
                cuda.fill(recv.view, 0f);
                switch (call) {
                    case "allReduceSum" -> comm.allReduceSum(s, r, x.length);
                    case "allReduceAvg" -> comm.allReduceAvg(s, r, x.length);
                    case "allGather" -> comm.allGather(s, r, x.length);
                    default -> comm.broadcast(s, r, x.length, 0);
                }
                assertArrayEquals(x, recv.read(), call);
            }
            comm.groupStart();
            comm.allReduceAvg(s, r, x.length);
            comm.groupEnd();
            comm.checkAsyncError();
            assertArrayEquals(x, recv.read(), "allReduceAvg in a group");
            assertTrue(comm.describe().matches("NCCL 2\\.\\d+\\.\\d+ \\(libnccl\\.so\\.2\\), rank 0 of 1"),
                    comm.describe());
            cuda.synchronize();
        } finally {
            comm.close();
            comm.close();
            send.close();
            recv.close();
        }
        assertThrows(IllegalStateException.class, () -> comm.allReduceSum(0, 0, 1));
    }

    /** The tally of {@code operation} so far (zeros before its first call). */
    private static CollectiveTally.Totals totals(String operation) {
        return nccl.tally().totals().getOrDefault(operation, new CollectiveTally.Totals(0, 0, 0, 0));
    }

    /** n floats that differ from each other and from the sentinel, not all representable in fewer bits. */
    private static float[] values(int n, int seed) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) Math.sin(seed * 1000 + i) * (1 + i % 7) / 3f;
        return v;
    }

    private static float[] filled(int n, float value) {
        float[] v = new float[n];
        Arrays.fill(v, value);
        return v;
    }

    /** A view of {@code values} at float offset {@link #GUARD} of its allocation, sentinels on either side. */
    private record Guarded(Backend backend, Buffer root, Buffer view, int length) implements AutoCloseable {
        static Guarded of(Backend backend, float[] values) {
            float[] all = filled(values.length + 2 * GUARD, SENTINEL);
            System.arraycopy(values, 0, all, GUARD, values.length);
            Buffer root = backend.allocate(all.length);
            backend.upload(all, 0, root);
            return new Guarded(backend, root, root.slice(GUARD, values.length), values.length);
        }

        /** The view's floats, after checking that the guards still hold the sentinel. */
        float[] read() {
            float[] all = new float[length + 2 * GUARD];
            backend.download(root, all, 0);
            for (int i = 0; i < GUARD; i++) {
                assertEquals(SENTINEL, all[i], "guard before the view, float " + i);
                assertEquals(SENTINEL, all[GUARD + length + i], "guard after the view, float " + i);
            }
            return Arrays.copyOfRange(all, GUARD, GUARD + length);
        }

        @Override public void close() { root.close(); }
    }
}
