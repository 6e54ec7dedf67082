package dev.jmoco.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProfileCommandTest {

    @Test
    void printsTheTableAgainstTheMachineAndWritesTheTrace(@TempDir Path dir) throws IOException {
        Path trace = dir.resolve("t.json");
        CliRun r = CliRun.of("profile", "--limit-train", "256", "--batch", "32", "--queue", "128", "--bn-splits", "4",
                "--device", "cpu", "--workers", "1", "--steps", "1", "--warmup-steps", "0", "--trace", trace.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("machine: ") && r.out().contains("GFLOP/s (measured")
                && r.out().contains("load average"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("query encoder forward") && l.contains("conv2d")), r.out());
        assertTrue(r.out().contains("overhead"), r.out());
        assertTrue(Files.readString(trace).contains("\"traceEvents\""));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "nothing but the trace is written");
        }
    }

    @Test
    void badStepCountsAreRefused() {
        CliRun r = CliRun.of("profile", "--steps", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--steps must be >= 1"), r.err());
    }
}
