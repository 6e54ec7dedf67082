package dev.jmoco.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sums and the table of {@code cuda:profile}, without a GPU. */
class KernelTimesTest {

    @Test
    void sumsPerNameAndSortsByTotalTime() {
        KernelTimes t = new KernelTimes();
        t.add("gemm_tiled", 0.5);
        t.add("bn_train", 0.25);
        t.add("gemm_tiled", 1.5);
        t.add("relu", 0.25);
        assertEquals(List.of(new KernelTimes.Row("gemm_tiled", 2, 2.0), new KernelTimes.Row("bn_train", 1, 0.25),
                new KernelTimes.Row("relu", 1, 0.25)), t.rows());
        assertEquals(2.5, t.totalMs(), 1e-12);
    }

    @Test
    void tableDividesByTheUnitCount() {
        KernelTimes t = new KernelTimes();
        for (int i = 0; i < 4; i++) t.add("cuDNN conv forward", 2.0);
        t.add("upd_ema4", 2.0);
        String[] lines = t.table("step", 2).split("\n");
        assertEquals(4, lines.length);
        assertTrue(lines[0].startsWith("kernel / call") && lines[0].contains("calls/step"), lines[0]);
        // 4 calls of 2 ms over 2 steps: 2 calls and 4 ms per step, 80 % of the time, 2000 us each
        assertEquals(List.of("cuDNN", "conv", "forward", "2.0", "4.0000", "80.0%", "2000.00"),
                List.of(lines[1].trim().split("\\s+")));
        assertEquals(List.of("upd_ema4", "0.5", "1.0000", "20.0%", "2000.00"), List.of(lines[2].trim().split("\\s+")));
        assertEquals(List.of("total", "GPU", "time", "5.0000"), List.of(lines[3].trim().split("\\s+")));
    }

    @Test
    void clearForgets() {
        KernelTimes t = new KernelTimes();
        t.add("x", 1);
        t.clear();
        assertEquals(List.of(), t.rows());
        assertTrue(t.table("call", 1).contains("total GPU time"));
    }
}
