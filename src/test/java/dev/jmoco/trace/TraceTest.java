package dev.jmoco.trace;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TraceTest {

    @Test
    void slicesNestWithParentsDepthsAndContainedTimes() throws InterruptedException {
        List<Trace.Slice> s;
        try (Trace t = Trace.start(null)) {
            try (Trace.Scope outer = Trace.scope("outer", "phase")) {
                try (Trace.Scope a = Trace.scope("a", "forward")) {
                    a.work(new Work(10, 4));
                    Thread.sleep(2);
                }
                try (Trace.Scope b = Trace.scope("b", "backward")) {
                    Thread.sleep(2);
                }
            }
            s = t.slices();
        }
        assertEquals(List.of("a", "b", "outer"), s.stream().map(Trace.Slice::name).toList());
        assertEquals(2, s.get(0).parent());
        assertEquals(2, s.get(1).parent());
        assertEquals(-1, s.get(2).parent());
        assertEquals(1, s.get(0).depth());
        assertEquals(new Work(10, 4), s.get(0).work());
        assertTrue(s.get(0).duration() >= 2_000_000 && s.get(1).duration() >= 2_000_000);
        Trace.Slice outer = s.get(2);
        for (Trace.Slice child : s.subList(0, 2))
            assertTrue(child.start() >= outer.start()
                    && child.start() + child.duration() <= outer.start() + outer.duration(), child.toString());
    }

    @Test
    void withoutATraceScopesRecordNothingAndSynchronisationRunsAtEveryBoundary() {
        assertFalse(Trace.active());
        try (Trace.Scope s = Trace.scope("ignored", "forward")) {
            s.work(new Work(1, 1));
        }
        List<String> calls = new ArrayList<>();
        try (Trace t = Trace.start(() -> calls.add("sync"))) {
            assertThrows(IllegalStateException.class, () -> Trace.start(null));
            try (Trace.Scope s = Trace.scope("x", "forward")) {
                calls.add("work");
            }
            assertEquals(1, t.slices().size());
        }
        assertEquals(List.of("sync", "work", "sync"), calls);
        assertFalse(Trace.active());
    }

    @Test
    void machinePeaksAreMeasuredAndTheRooflineBendsAtTheRidge() {
        MachinePeaks p = MachinePeaks.measure(1);
        assertTrue(p.flops() > 1e8 && p.bytesPerSec() > 1e8, p.describe());
        double ridge = p.flops() / p.bytesPerSec();
        assertEquals(0.5 * ridge * p.bytesPerSec(), p.attainable(0.5 * ridge), 1e-6 * p.flops());
        assertEquals(p.flops(), p.attainable(10 * ridge));
    }
}
