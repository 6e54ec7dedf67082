package dev.jmoco.train;

import dev.jmoco.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training on a machine without fonts: headless AWT then throws an Error ("No physical fonts found") when the
 * plot draws its labels. The run must go on, with one warning line and no curves.png. The font-less machine is
 * made for real: the child JVM runs in its own mount namespace with an empty folder over /usr/share/fonts and
 * an empty fontconfig (needs root and unshare, as in CI; skipped elsewhere, with the reason).
 */
class CurvePlotWithoutFontsTest {

    @Test
    void aPlotThatCannotBeDrawnIsAWarningNotTheEndOfTheRun(@TempDir Path dir) throws Exception {
        Path empty = Files.createDirectories(dir.resolve("no-fonts")), conf = dir.resolve("fonts.conf");
        Files.writeString(conf, "<?xml version=\"1.0\"?><fontconfig></fontconfig>\n");
        Path probe = dir.resolve("probe.log");
        Process p = new ProcessBuilder("unshare", "-m", "sh", "-c", "mount --bind \"$0\" /usr/share/fonts", empty.toString())
                .redirectErrorStream(true).redirectOutput(probe.toFile()).start();
        assumeTrue(p.waitFor() == 0, "no private mount namespace here (needs root and unshare): "
                + Files.readString(probe).strip());
        Path out = dir.resolve("run"), log = dir.resolve("train.log");
        ChildJvm.Result r = new ChildJvm()
                .wrapper("unshare", "-m", "sh", "-c", "mount --bind \"$0\" /usr/share/fonts && exec \"$@\"",
                        empty.toString())
                .env("FONTCONFIG_FILE", conf.toString()).option("-Djava.awt.headless=true")
                .run(log, 300, "dev.jmoco.cli.Main", "train", "--device", "cpu", "--limit-train", "256", "--batch",
                        "32", "--queue", "128", "--bn-splits", "4", "--epochs", "2", "--knn-every", "0", "--workers",
                        "1", "--out", out.toString());
        assertEquals(0, r.code(), r.output());
        assertEquals(1, r.output().lines().filter(l -> l.contains("warning: curves.png not drawn")).count(),
                "one warning for the whole run: " + r.output());
        assertTrue(r.output().contains("No physical fonts found"), r.output());
        assertTrue(Files.exists(out.resolve(Checkpoint.FILE)) && Files.exists(out.resolve(RunOutputs.SUMMARY)));
        assertFalse(Files.exists(out.resolve(CurvePlot.FILE)));
    }
}
