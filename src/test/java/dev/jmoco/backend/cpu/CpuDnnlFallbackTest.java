package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where oneDNN cannot be loaded (here: a JVM told to load a library that does not exist), the CPU backend runs
 * its convolutions on the Java kernels and says so in one line on stderr, once per JVM however many backends
 * are made.
 */
class CpuDnnlFallbackTest {
    @Test
    void missingLibraryFallsBackToJavaWithOneLine(@TempDir Path dir) throws Exception {
        ChildJvm.Result r = new ChildJvm().option("-Djmoco.cpu.dnnl.library=libdnnl-missing.so.2")
                .run(dir.resolve("child.log"), 60, TwoBackends.class.getName());
        assertEquals(0, r.code(), r.output());
        String line = "jmoco: cpu: oneDNN not used: libdnnl-missing.so.2 not found; convolutions, batch norm and ReLU run on the Java kernels";
        assertEquals(1, r.output().lines().filter(l -> l.contains("oneDNN not used")).count(), r.output());
        assertTrue(r.output().lines().anyMatch(line::equals), r.output());
        assertTrue(r.output().contains("usesOneDnn=false false y=2.0"), r.output());
    }

    /** Makes two backends and runs a 1x1 convolution on the second. */
    public static final class TwoBackends {
        public static void main(String[] args) {
            try (CpuBackend a = new CpuBackend(1); CpuBackend b = new CpuBackend(1)) {
                ConvShape s = new ConvShape(1, 1, 1, 1, 1, 1, 1, 1, 0);
                try (Buffer x = b.allocate(1); Buffer w = b.allocate(1); Buffer y = b.allocate(1)) {
                    b.fill(x, 1f);
                    b.fill(w, 2f);
                    b.conv2d(s, x, w, y);
                    float[] out = new float[1];
                    b.download(y, out, 0);
                    System.out.println("usesOneDnn=" + a.usesOneDnn() + " " + b.usesOneDnn() + " y=" + out[0]);
                }
            }
        }
    }
}
