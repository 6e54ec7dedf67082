package dev.jmoco.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {

    @Test
    void devicesListsTheCpuBackendAsAvailable() {
        CliRun r = CliRun.of("devices");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("cpu") && l.contains("available")), r.out());
    }

    @Test
    void everyCommandHasHelp() {
        for (String[] args : new String[][] {{"--help"}, {"devices", "--help"}, {"train", "--help"},
                {"eval", "--help"}, {"embed", "--help"}}) {
            CliRun r = CliRun.of(args);
            assertEquals(0, r.code(), String.join(" ", args));
            assertTrue(r.out().contains("Usage:"), r.out());
        }
        String train = CliRun.of("train", "--help").out();
        for (String option : new String[] {"--dataset", "--data-dir", "--arch", "--epochs", "--batch", "--queue",
                "--momentum", "--temperature", "--device", "--seed", "--out", "--resume", "--limit-train", "--lr",
                "--wd", "--warmup", "--schedule", "--bn-splits", "--symmetric", "--mechanism", "--aug", "--head",
                "--knn-every", "--workers"})
            assertTrue(train.contains(option), "train --help lacks " + option);
    }

    @Test
    void unknownCommandFailsWithAMessage() {
        CliRun r = CliRun.of("frobnicate");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("frobnicate"), r.err());
    }
}
