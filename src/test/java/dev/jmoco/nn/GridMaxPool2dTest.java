package dev.jmoco.nn;

import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.testing.LeakCheckedCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The 2x2 grid max pool against torch's AdaptiveMaxPool2d(2) windows, computed here with plain loops. */
class GridMaxPool2dTest {
    @RegisterExtension
    static final LeakCheckedCpuBackend CPU = new LeakCheckedCpuBackend();

    @ParameterizedTest(name = "side {0}")
    @ValueSource(ints = {2, 3, 6, 7, 8, 15})
    void eachCellIsTheMaxOfItsAdaptiveWindow(int side) {
        CpuBackend backend = CPU.backend();
        int n = 2, c = 3;
        try (Tensor x = NnTesting.images(backend, new Random(side), n, c, side, side); Tape ignored = Tape.noGrad()) {
            float[] in = x.toArray();
            Tensor y = new GridMaxPool2d().forward(null, x, Mode.EVAL);
            assertArrayEquals(new int[] {n, c, 2, 2}, y.shape());
            float[] got = y.toArray();
            for (int plane = 0; plane < n * c; plane++)
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        // AdaptiveMaxPool2d: cell i spans [floor(i s / 2), ceil((i + 1) s / 2)).
                        int r0 = i * side / 2, r1 = ((i + 1) * side + 1) / 2;
                        int c0 = j * side / 2, c1 = ((j + 1) * side + 1) / 2;
                        float max = Float.NEGATIVE_INFINITY;
                        for (int r = r0; r < r1; r++)
                            for (int cc = c0; cc < c1; cc++) max = Math.max(max, in[plane * side * side + r * side + cc]);
                        assertEquals(max, got[plane * 4 + i * 2 + j], "plane " + plane + " cell " + i + "," + j);
                    }
        }
    }

    @Test
    void rejectsMapsItCannotSplit() {
        CpuBackend backend = CPU.backend();
        try (Tensor tall = NnTesting.images(backend, new Random(1), 1, 1, 8, 7);
             Tensor tiny = NnTesting.images(backend, new Random(1), 1, 1, 1, 1)) {
            var e = assertThrows(IllegalArgumentException.class, () -> new GridMaxPool2d().forward(null, tall, Mode.EVAL));
            assertTrue(e.getMessage().contains("8x7"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new GridMaxPool2d().forward(null, tiny, Mode.EVAL));
        }
    }
}
