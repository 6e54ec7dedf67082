package dev.jmoco.cli;

import dev.jmoco.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ctrl-C in a child JVM whose "step" never ends: the first SIGINT only asks to stop (the process goes on), a
 * second one ends it at once with exit code 130. (The first signal's checkpoint is RunRecoveryTest's.)
 */
class StopOnSignalTest {

    @Test
    void aSecondInterruptStopsAtOnce(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("child.log");
        Process p = new ChildJvm().start(log, Waiter.class.getName());
        try {
            awaitLine(p, log, "ready");
            signal(p, "INT");
            awaitLine(p, log, "stop requested");
            Thread.sleep(200);
            assertTrue(p.isAlive(), "the first Ctrl-C lets the step finish: " + Files.readString(log));
            signal(p, "INT");
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), Files.readString(log));
            assertEquals(130, p.exitValue(), Files.readString(log));
            assertTrue(Files.readString(log).contains("jmoco: stopped at once; the last checkpoint is kept"),
                    Files.readString(log));
        } finally {
            p.destroyForcibly();
        }
    }

    private static void signal(Process p, String name) throws Exception {
        assertEquals(0, new ProcessBuilder("sh", "-c", "kill -" + name + " " + p.pid()).start().waitFor());
    }

    private static void awaitLine(Process p, Path log, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(log).contains(text)) {
            assertTrue(p.isAlive() && System.nanoTime() < deadline, Files.readString(log));
            Thread.sleep(20);
        }
    }

    /** Child main: handlers installed, a stop request only printed, then waits for ever. */
    public static final class Waiter {
        public static void main(String[] args) throws InterruptedException {
            PrintWriter err = new PrintWriter(System.err, true);
            try (StopOnSignal s = new StopOnSignal(() -> System.out.println("stop requested"), err, "",
                    "the last checkpoint is kept")) {
                System.out.println("ready");
                Thread.sleep(Long.MAX_VALUE);
            }
        }
    }
}
