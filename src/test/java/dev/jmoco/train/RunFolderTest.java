package dev.jmoco.train;

import dev.jmoco.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static dev.jmoco.train.TrainerTest.tiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One run per output folder, and nothing of the user's overwritten: {@link RunFolder} through {@link Trainer}. */
class RunFolderTest {

    @Test
    void aSecondTrainerOnTheSameFolderIsRefusedNamingTheFolderAndTheHolder(@TempDir Path dir) throws IOException {
        try (Trainer first = Trainer.start(tiny(dir).build())) {
            first.trainEpoch();
            var e = assertThrows(IllegalStateException.class, () -> Trainer.resume(tiny(dir).build(), dir).close());
            assertTrue(e.getMessage().contains(dir + " is in use by another jmoco run")
                    && e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
            assertThrows(IllegalStateException.class, () -> Trainer.start(tiny(dir).build(), true).close());
        }
        try (Trainer again = Trainer.resume(tiny(dir).build(), dir)) { // released on close
            assertEquals(1, again.epochsDone());
        }
    }

    /**
     * Another process holds the folder: refused, naming its pid; once it is killed (-9: no clean-up runs) the
     * OS has released the lock and a run starts.
     */
    @Test
    void aLockHeldByAnotherProcessIsRefusedAndFreedWhenItIsKilled(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run"), log = dir.resolve("holder.log");
        Process holder = new ChildJvm().start(log, Holder.class.getName(), out.toString());
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(log, StandardCharsets.UTF_8).contains("held")) {
                assertTrue(holder.isAlive() && System.nanoTime() < deadline, Files.readString(log));
                Thread.sleep(50);
            }
            var e = assertThrows(IllegalStateException.class, () -> Trainer.start(tiny(out).build()).close());
            assertTrue(e.getMessage().contains("pid " + holder.pid()), e.getMessage());
        } finally {
            holder.destroyForcibly().waitFor();
        }
        try (Trainer t = Trainer.start(tiny(out).epochs(1).build())) {
            t.train();
        }
        assertTrue(Files.exists(out.resolve(Checkpoint.FILE)));
    }

    @Test
    void aNewRunRefusesAFolderWithTheUsersFilesUnlessToldToOverwrite(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(MetricsLog.FILE), "my own metrics\n");
        Files.writeString(dir.resolve("notes.txt"), "mine");
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.start(tiny(dir).build()).close());
        assertTrue(e.getMessage().contains("notes.txt") && e.getMessage().contains("--overwrite"), e.getMessage());
        assertEquals("my own metrics\n", Files.readString(dir.resolve(MetricsLog.FILE)), "nothing replaced");
        try (Trainer t = Trainer.start(tiny(dir).epochs(1).build(), true)) {
            t.train();
        }
        assertEquals("mine", Files.readString(dir.resolve("notes.txt")), "the user's other files are kept");
        assertTrue(Files.readString(dir.resolve(MetricsLog.FILE)).startsWith(MetricsLog.HEADER));
    }

    @Test
    void anOutputFolderThatIsAFileIsNamed(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("plain"), "x");
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.start(tiny(file).build()).close());
        assertEquals("output folder " + file + " is a file, not a folder", e.getMessage());
    }

    @Test
    void temporaryFilesOfInterruptedWritesAreSweptAndNoneIsLeft(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir).epochs(1).build())) {
            t.train();
        }
        Path stale = Files.writeString(dir.resolve(".checkpoint.safetensors.1f2e3d4c5b6a7988.tmp"), "half");
        Files.writeString(dir.resolve(".metrics.csv.ab.tmp"), "half");
        try (Trainer t = Trainer.resume(tiny(dir).build(), dir)) {
            assertFalse(Files.exists(stale), "swept at start");
            t.train();
        }
        try (var files = Files.list(dir)) {
            assertEquals(java.util.List.of(), files.map(p -> p.getFileName().toString())
                    .filter(dev.jmoco.io.AtomicFiles::isTemporary).toList());
        }
    }

    /** Child main: holds {@code args[0]} as a run folder until killed. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            try (RunFolder f = RunFolder.claim(Path.of(args[0]), true, false)) {
                System.out.println("held " + f.dir());
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
        }
    }
}
