package dev.jmoco.backend.conformance;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.PoolStats;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory ops and the buffer pool of each backend under test: upload, download and copy move exact bits (NaN
 * payloads, signed zeros, denormals included) at source/destination offsets and through views; the pool serves
 * repeated sizes without new device allocations; roots and views close as Buffer documents; foreign buffers and
 * wrong sizes are refused with the CPU backend's messages.
 */
class MemoryConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    /** Values whose bits a float copy through arithmetic would change. */
    private static float[] awkward(int n) {
        float[] v = uniform(new Random(n), n, -1e6f, 1e6f);
        float[] special = {Float.NaN, Float.intBitsToFloat(0x7fc00123), -0f, Float.MIN_VALUE, Float.MAX_VALUE,
                Float.NEGATIVE_INFINITY};
        System.arraycopy(special, 0, v, 0, Math.min(n, special.length));
        return v;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void uploadAndDownloadAtOffsetsMoveExactBits(Target t) {
        Backend d = t.device();
        for (int n : new int[] {0, 1, 6, 1000, (1 << 18) + 3}) {
            float[] src = awkward(n + 5);
            try (Buffer root = d.allocate(n + 9)) {
                Buffer view = root.slice(4, n);
                d.upload(src, 5, view);
                float[] dst = new float[n + 2];
                Arrays.fill(dst, 42);
                d.download(view, dst, 2);
                assertBits(Arrays.copyOfRange(src, 5, n + 5), Arrays.copyOfRange(dst, 2, n + 2), t + " n=" + n);
                assertEquals(42f, dst[0]);
                assertEquals(42f, dst[1]);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void copyBetweenViewsOfOneRootAndOfTwo(Target t) {
        Backend d = t.device();
        float[] a = awkward(1001), b = uniform(new Random(3), 1001, -1, 1);
        try (Views v = new Views(d)) {
            Buffer src = v.at(3, a), dst = v.at(6, b);
            d.copy(src, dst);
            assertBits(a, v.read(dst), t + " copy");
            v.assertGuardsIntact();
        }
        try (Buffer root = d.allocate(20)) {
            float[] all = new float[20];
            for (int i = 0; i < 20; i++) all[i] = i;
            d.upload(all, 0, root);
            d.copy(root.slice(1, 5), root.slice(12, 5)); // disjoint views of one root
            float[] out = new float[20];
            d.download(root, out, 0);
            assertArrayEquals(new float[] {1, 2, 3, 4, 5}, Arrays.copyOfRange(out, 12, 17));
            assertEquals(11f, out[11]);
            assertEquals(17f, out[17]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void poolServesRepeatedSizesWithoutNewAllocations(Target t) {
        Backend d = t.device();
        int[] sizes = {1, 300, 5000, (1 << 20) + 7};
        for (int s : sizes) d.allocate(s).close(); // warm
        PoolStats warm = d.poolStats();
        for (int round = 0; round < 3; round++) {
            Buffer[] held = new Buffer[sizes.length];
            for (int i = 0; i < sizes.length; i++) held[i] = d.allocate(sizes[i]);
            assertEquals(warm.live() + sizes.length, d.poolStats().live());
            for (Buffer b : held) b.close();
        }
        PoolStats after = d.poolStats();
        assertEquals(warm.created(), after.created(), "pool misses once warm");
        assertEquals(warm.live(), after.live());
        assertTrue(after.pooledBytes() >= 4L * Arrays.stream(sizes).asLongStream().sum(), after.toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void rootsCloseOnceAndViewsNever(Target t) {
        Backend d = t.device();
        long live = d.poolStats().live();
        Buffer root = d.allocate(10);
        Buffer view = root.slice(2, 3);
        assertEquals(3, view.size());
        assertEquals(d, view.backend());
        view.close();
        assertEquals(live + 1, d.poolStats().live(), "closing a view releases nothing");
        root.close();
        root.close();
        assertEquals(live, d.poolStats().live(), "a root closes once");
        try (Buffer r = d.allocate(10)) {
            assertThrows(IndexOutOfBoundsException.class, () -> r.slice(8, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> r.slice(-1, 3));
            assertEquals(2, r.slice(2, 6).slice(3, 2).size());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void nestedViewsAddTheirOffsets(Target t) {
        Backend d = t.device();
        try (Buffer root = d.allocate(12)) {
            d.fill(root, 0);
            d.fill(root.slice(2, 8).slice(3, 2), 7); // floats 5 and 6 of the root
            float[] out = new float[12];
            d.download(root, out, 0);
            assertArrayEquals(new float[] {0, 0, 0, 0, 0, 7, 7, 0, 0, 0, 0, 0}, out);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void refusesForeignBuffersAndWrongSizesLikeTheCpu(Target t) {
        Backend d = t.device(), cpu = t.cpu();
        try (Buffer mine = d.allocate(4); Buffer foreign = cpu.allocate(4); Buffer small = d.allocate(3);
             Buffer cpuSmall = cpu.allocate(3); Buffer cpu4 = cpu.allocate(4)) {
            var e = assertThrows(IllegalArgumentException.class, () -> d.relu(foreign, mine));
            assertTrue(e.getMessage().startsWith("relu:") && e.getMessage().contains("cpu"), e.getMessage());
            var onDevice = assertThrows(IllegalArgumentException.class, () -> d.add(1, mine, 1, small, mine));
            var onCpu = assertThrows(IllegalArgumentException.class, () -> cpu.add(1, cpu4, 1, cpuSmall, cpu4));
            assertEquals(onCpu.getMessage(), onDevice.getMessage());
            var up = assertThrows(IllegalArgumentException.class, () -> d.upload(new float[3], 0, mine));
            var upCpu = assertThrows(IllegalArgumentException.class, () -> cpu.upload(new float[3], 0, cpu4));
            assertEquals(upCpu.getMessage(), up.getMessage());
        }
    }

    private static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++)
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), what + " [" + i + "]");
    }
}
