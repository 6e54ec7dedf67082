package dev.jmoco.backend.gpu;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.InfoNceInputs;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The split plan of {@link InfoNceKernels}, and the split-K path that a 2-core PoCL device never takes on its own:
 * a GPU-sized plan with the maximum of 256 queue chunks per row (infonce_combine then stages more weights than it
 * has threads), run on each device under test (a backend that is a {@link KernelRuntime}) and compared with
 * {@link ReferenceOps#infoNce}. Tolerances as in LossesConformanceTest (unit rows, t = 0.07, c = 8: loss abs 2e-5,
 * gradients abs 2e-4 / (n t) + rel 1e-4).
 */
class InfoNceKernelsTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    @Test
    void planSplitsRowsPanelsAndChunks() {
        // MoCo on a 132-SM GPU (8 groups per SM): 8 row blocks x 128 chunks of 4 tiles of 128 keys
        assertEquals(new InfoNceKernels.Plan(8, 1, 512, 128), InfoNceKernels.Plan.of(256, 128, 65536, 8 * 132));
        // never more chunks than tiles, nor than 256; c = 129 needs a second panel of accumulator columns
        assertEquals(new InfoNceKernels.Plan(1, 1, 128, 1), InfoNceKernels.Plan.of(1, 1, 5, 1000));
        assertEquals(new InfoNceKernels.Plan(1, 2, 256, 256), InfoNceKernels.Plan.of(3, 129, 65536, 1_000_000));
        // a last chunk shorter than the others: 33 tiles in chunks of 3 tiles
        assertEquals(new InfoNceKernels.Plan(2, 1, 384, 11), InfoNceKernels.Plan.of(64, 128, 4099, 32));
        // the partial accumulator [chunks, n, c] stays within int indexing
        InfoNceKernels.Plan big = InfoNceKernels.Plan.of(1 << 16, 1 << 12, 65536, 1 << 20);
        assertEquals(7, big.chunks());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void maximumChunkCountMatchesReference(Target t) {
        int n = 3, c = 8, kq = 65536;
        float temperature = 0.07f;
        Random r = new Random(9);
        float[] q = InfoNceInputs.rows(r, n, c, 1, 1), k = InfoNceInputs.rows(r, n, c, 1, 1);
        float[] queue = InfoNceInputs.rows(r, kq, c, 1, 1);
        InfoNceKernels.Plan plan = InfoNceKernels.Plan.of(n, c, kq, 1_000_000);
        assertEquals(256, plan.chunks());

        float[][] want = reference(n, c, kq, temperature, q, k, queue);
        KernelRuntime rt = (KernelRuntime) t.device();
        Backend device = t.device();
        float[][] got = new float[3][];
        try (Buffer bq = upload(device, q); Buffer bk = upload(device, k); Buffer bqueue = upload(device, queue);
             Buffer stats = device.allocate(3); Buffer dq = device.allocate((long) n * c);
             Buffer dk = device.allocate((long) n * c)) {
            new InfoNceKernels(rt).run(plan, n, c, kq, temperature, rt.own("infoNce", bq), rt.own("infoNce", bk),
                    rt.own("infoNce", bqueue), 1f, rt.own("infoNce", stats), rt.own("infoNce", dq),
                    rt.own("infoNce", dk));
            got[0] = read(device, stats);
            got[1] = read(device, dq);
            got[2] = read(device, dk);
        }
        double g = 1 / (n * (double) temperature);
        Tolerance.assertClose("loss", new float[] {want[0][0]}, new float[] {got[0][0]}, 2e-5, 1e-5);
        assertEquals(want[0][1], got[0][1], "acc@1");
        assertEquals(want[0][2], got[0][2], "acc@5");
        Tolerance.assertClose("dq", want[1], got[1], 2e-4 * g, 1e-4);
        Tolerance.assertClose("dk", want[2], got[2], 2e-4 * g, 1e-4);
    }

    /** [stats, dq, dk] from {@link ReferenceOps#infoNce}, rounded to float. */
    private static float[][] reference(int n, int c, int kq, float t, float[] q, float[] k, float[] queue) {
        double[] stats = new double[3], dq = new double[n * c], dk = new double[n * c];
        ReferenceOps.infoNce(n, c, kq, t, q, k, queue, 1, stats, dq, dk);
        return new float[][] {ReferenceOps.narrow(stats), ReferenceOps.narrow(dq), ReferenceOps.narrow(dk)};
    }

    private static Buffer upload(Backend b, float[] values) {
        Buffer buffer = b.allocate(values.length);
        b.upload(values, 0, buffer);
        return buffer;
    }

    private static float[] read(Backend b, Buffer buffer) {
        float[] out = new float[(int) buffer.size()];
        b.download(buffer, out, 0);
        return out;
    }
}
