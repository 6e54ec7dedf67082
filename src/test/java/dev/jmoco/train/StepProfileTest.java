package dev.jmoco.train;

import dev.jmoco.io.Json;
import dev.jmoco.trace.MachinePeaks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The profile of small-CNN MoCo steps at batch 64 on 28 x 28 (CPU): its rows, counts, work and trace. */
class StepProfileTest {
    static final int N = 64;

    /** Forward FLOPs of the small CNN's three convolutions, from its layers (1->32 s1, 32->64 s2, 64->128 s2). */
    static double convForwardFlops() {
        return 2.0 * N * (32 * 28 * 28 * 1 * 9 + 64 * 14 * 14 * 32 * 9 + 128 * 7 * 7 * 64 * 9);
    }

    @Test
    void rowsCoverTheStepWithCountedWorkAndTheTraceNestsOneStep(@TempDir Path dir) throws IOException {
        MachinePeaks peaks = new MachinePeaks("test", 1, 8, 1e11, 1e10);
        StepProfile p;
        try (Trainer t = Trainer.start(TrainerTest.tiny(null).epochs(100).build())) {
            p = StepProfile.run(t, 1, 3, t::synchronizeDevice, peaks);
        }
        StepProfile.Row qConv = row(p, "query encoder forward", "conv2d", "forward").orElseThrow();
        StepProfile.Row kConv = row(p, "key encoder forward", "conv2d", "forward").orElseThrow();
        StepProfile.Row bConv = row(p, "backward", "conv2d", "backward").orElseThrow();
        assertEquals(3, qConv.calls());
        assertEquals(3, kConv.calls());
        assertEquals(convForwardFlops(), qConv.work().flops(), 1e-6 * convForwardFlops());
        double conv1 = 2.0 * N * 32 * 28 * 28 * 9; // its input is the image: no data gradient
        assertEquals(2 * convForwardFlops() - conv1, bConv.work().flops(), 1e-6 * convForwardFlops());
        for (String op : List.of("momentum update (EMA)", "SGD", "enqueue"))
            assertEquals(1, row(p, "update", op, "").orElseThrow().calls(), op);
        assertEquals(1, row(p, "loss", "infoNce", "forward").orElseThrow().calls());
        assertTrue(row(p, "transfer", "upload (host to device)", "").isPresent());
        if (dev.jmoco.backend.cpu.CpuBackend.oneDnnMissingReason() == null) {
            // oneDNN's copies and reorders are rows of their own, off the ops' rows (the sum check below). The
            // activations stay off-heap from the first conv to the last ReLU: per encoder forward, the image
            // and 3 filters go in and the last feature map comes out (to the Java max-pool); in backward, the
            // pool's gradient and 2 filters (data passes) go in, and 3 filter gradients come out.
            for (String phase : List.of("query encoder forward", "key encoder forward")) {
                assertEquals(4, row(p, phase, "staging: heap to oneDNN", "forward").orElseThrow().calls(), phase);
                assertEquals(1, row(p, phase, "staging: oneDNN to heap", "forward").orElseThrow().calls(), phase);
            }
            assertEquals(3, row(p, "backward", "staging: heap to oneDNN", "backward").orElseThrow().calls());
            assertEquals(3, row(p, "backward", "staging: oneDNN to heap", "backward").orElseThrow().calls());
        } else {
            assertTrue(row(p, "backward", "staging: heap to oneDNN", "backward").isEmpty(), "no oneDNN, no staging");
        }
        assertTrue(p.sumMs() <= p.stepMs() * 1.0001 && p.sumMs() > 0.5 * p.stepMs(), p.format("profile"));
        String table = p.format("profile");
        assertTrue(table.contains("overhead") && table.contains("query encoder forward"), table);

        Path file = dir.resolve("trace.json");
        p.writeTrace(file);
        Map<?, ?> json = (Map<?, ?>) Json.parse(Files.readString(file));
        List<?> events = (List<?>) json.get("traceEvents");
        Map<?, ?> step = (Map<?, ?>) events.getLast();
        assertEquals("step", step.get("name"));
        assertEquals(1, events.stream().filter(e -> "step".equals(((Map<?, ?>) e).get("name"))).count(), "one step");
        double from = ((Number) step.get("ts")).doubleValue(), to = from + ((Number) step.get("dur")).doubleValue();
        for (Object o : events) {
            Map<?, ?> e = (Map<?, ?>) o;
            assertEquals("X", e.get("ph"));
            double ts = ((Number) e.get("ts")).doubleValue(), end = ts + ((Number) e.get("dur")).doubleValue();
            assertTrue(ts >= from - 1e-3 && end <= to + 1e-3, e.toString());
        }
    }

    private static Optional<StepProfile.Row> row(StepProfile p, String phase, String op, String direction) {
        return p.rows().stream().filter(r -> r.phase().equals(phase) && r.op().equals(op)
                && r.direction().equals(direction)).findFirst();
    }
}
