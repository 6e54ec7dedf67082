package dev.jmoco;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * native-tests/run-gpu.sh without a GPU, as native-tests/simulate.sh runs it (a stand-in bundle and driver): a
 * machine without a driver gets exit 3 and one line; a dry run and a whole run leave at most 8 well-named files
 * in the output folder (what comes back from a GPU machine), summary.txt and one archive holding every part's
 * log, refreshed after each part.
 */
class GpuScriptSimulationTest {

    @Test
    void theGpuRunsOutputFolderIsWhatComesBack() throws Exception {
        Path log = Files.createTempFile("simulate", ".log");
        try {
            Process p = new ProcessBuilder("bash", "native-tests/simulate.sh").redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            assertTrue(p.waitFor(180, TimeUnit.SECONDS), "simulate.sh still running after 180 s");
            String out = Files.readString(log);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("simulate: 0 check(s) failed") && out.contains("ok: simulated run: every part ran"),
                    out);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
