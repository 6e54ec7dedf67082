package dev.jmoco;

import dev.jmoco.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's example, compiled and run, so the documentation cannot drift from the API. */
class ReadmeExampleTest {

    @Test
    void mocoStepsOnALinearEncoderLowerTheLoss() {
        double[] r = ReadmeExample.run();
        // Measured: about 5.8 over the first 10 steps, about 1.6 with acc@1 = 1.0 after 140 steps.
        assertTrue(r[1] < 0.5 * r[0], "loss should fall: first 10 steps " + r[0] + ", last 10 steps " + r[1]);
        assertTrue(r[2] > 0.9, "the positive should win once the noise is ignored: acc@1 " + r[2]);
    }

    /**
     * A program that embeds jmoco may put only jmoco's jar on its class path: no JCuda, no JOCL, no picocli.
     * The engine must then still run on the CPU (the GPU providers say their binding is missing), with the
     * same result as here.
     */
    @Test
    void runsWithJmocosClassesAlone(@TempDir Path dir) throws Exception {
        String own = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> e.endsWith("classes") || e.endsWith("test-classes"))
                .collect(Collectors.joining(File.pathSeparator));
        assertTrue(!own.contains("jcuda") && !own.contains("jocl") && !own.contains("picocli"), own);
        ChildJvm.Result child = new ChildJvm().classPath(own).run(dir.resolve("log"), 120,
                ReadmeExample.class.getName());
        assertEquals(0, child.code(), child.output());
        double[] here = ReadmeExample.run();
        String expected = "readme-example " + here[0] + " " + here[1] + " " + here[2];
        assertTrue(child.output().contains(expected), "expected '" + expected + "' in:\n" + child.output());
    }
}
