package dev.jmoco.cli;

import dev.jmoco.backend.BackendProvider;
import dev.jmoco.backend.Backends;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    void devicesPrintsHowEachBackendDescribesItself() {
        String out = CliRun.of("devices").out();
        int at = 0;
        for (BackendProvider p : Backends.providers().reversed()) {
            List<String> lines = p.describe();
            if (lines.isEmpty()) continue;
            int i = out.indexOf(lines.getFirst()); // its header; device lines may show memory that changes
            assertTrue(i > at, p.name() + " not described after the one before:\n" + out);
            at = i;
        }
        assertTrue(at > 0 || Backends.providers().stream().allMatch(p -> p.describe().isEmpty()), out);
    }

    @Test
    void everyCommandHasHelp() {
        for (String[] args : new String[][] {{"--help"}, {"devices", "--help"}, {"train", "--help"},
                {"eval", "--help"}, {"embed", "--help"}, {"profile", "--help"}}) {
            CliRun r = CliRun.of(args);
            assertEquals(0, r.code(), String.join(" ", args));
            assertTrue(r.out().contains("Usage:"), r.out());
            // a lone % in a description is a format specifier to picocli: it warns and prints the raw text
            assertFalse(r.err().contains("picocli WARN") || r.out().contains("%n"), String.join(" ", args) + ": "
                    + r.err());
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
    @Test
    void fileSystemErrorsSayWhatHappenedBesideThePath() {
        assertEquals("/x/y: no such file or folder", Main.oneLine(new java.nio.file.NoSuchFileException("/x/y")));
        assertEquals("/x/y: permission denied", Main.oneLine(new java.nio.file.AccessDeniedException("/x/y")));
        assertEquals("/x/y: missing thing", Main.oneLine(new java.nio.file.NoSuchFileException("/x/y", null,
                "missing thing")));
        assertEquals("first line", Main.oneLine(new IllegalStateException("first line\nsecond")));
    }

    @Test
    void anOutputFolderThatIsAFileIsNamedInOneLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        java.nio.file.Path file = java.nio.file.Files.writeString(dir.resolve("f"), "x");
        CliRun r = CliRun.of(TrainCommandTest.tiny("--out", file.toString()));
        assertEquals(1, r.code());
        assertEquals("jmoco: output folder " + file + " is a file, not a folder", r.err().strip());
    }
}
