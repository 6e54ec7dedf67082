package dev.jmoco.cli;

import dev.jmoco.autograd.Loss;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bar on a hand-driven clock: what it says at an epoch's last step and how the ETA counts epoch ends. */
class ProgressBarTest {
    private static final Loss.Stats STATS = new Loss.Stats(5.0, 0.5, 0.9);

    private long now = 1_000;
    private final StringWriter text = new StringWriter();
    private final ProgressBar bar = new ProgressBar(new PrintWriter(text), 3, 100, true, () -> now);

    /** The last line drawn (after the last carriage return), trailing padding removed. */
    private String shown() {
        String s = text.toString();
        return s.substring(s.lastIndexOf('\r') + 1).stripTrailing();
    }

    @Test
    void theLastStepSaysTheEpochEndRunsAndTheEtaCountsItOnceTimed() {
        // 10 steps per epoch at 1,000 img/s = 10 steps/s.
        bar.onStep(1, 5, 10, STATS, 1000, 0.1);
        assertTrue(shown().contains("5/10") && shown().contains("ETA 0:03 + kNN"), shown()); // 25 steps, no end timed
        now += 500;
        bar.onStep(1, 10, 10, STATS, 1000, 0.1);
        assertTrue(shown().endsWith("(epoch end: kNN monitor and checkpoint...)"), shown());
        now += 30_000; // the kNN monitor and checkpoint of epoch 1 take 30 s
        bar.onEpoch(1, 5.0, 0.7, 31);
        assertTrue(text.toString().contains("epoch 1/3  loss 5.0000  knn 0.7000  31.0 s\n"), text.toString());
        now += 1_000;
        bar.onStep(2, 5, 10, STATS, 1000, 0.1);
        // 15 steps (1.5 s) and two epoch ends (2 x 30 s) left: 61.5 s, shown rounded.
        assertTrue(shown().contains("ETA 1:02") && !shown().contains("kNN"), shown());
    }

    @Test
    void withoutTheMonitorTheBarNamesOnlyTheCheckpoint() {
        ProgressBar noKnn = new ProgressBar(new PrintWriter(text), 1, 100, false, () -> now);
        noKnn.onStep(1, 5, 10, STATS, 1000, 0.1);
        assertTrue(shown().endsWith("ETA 0:01"), shown());
        noKnn.onStep(1, 10, 10, STATS, 1000, 0.1);
        assertTrue(shown().endsWith("(epoch end: checkpoint...)") && !shown().contains("kNN"), shown());
    }

    @Test
    void endLineStartsAFreshLineOnlyAfterABar() {
        ProgressBar b = new ProgressBar(new PrintWriter(text), 1, 100, true, () -> now);
        b.endLine();
        assertEquals("", text.toString(), "nothing drawn: nothing to end");
        b.onStep(1, 5, 10, STATS, 1000, 0.1);
        b.endLine();
        assertTrue(text.toString().endsWith("\n") && text.toString().contains("5/10"), text.toString());
    }

    @Test
    void durationsRound() {
        assertEquals("0:59", ProgressBar.duration(59.4));
        assertEquals("1:00:00", ProgressBar.duration(3600));
        assertEquals("?", ProgressBar.duration(Double.NaN));
    }
}
