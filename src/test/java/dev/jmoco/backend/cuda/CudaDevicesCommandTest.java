package dev.jmoco.backend.cuda;

import dev.jmoco.backend.cuda.libraries.CudaLibraries;
import dev.jmoco.cli.Main;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The CUDA lines of {@code jmoco devices} on a machine without a driver. */
class CudaDevicesCommandTest {

    @Test
    void devicesPrintsTheCudaReason() {
        assumeFalse(CudaLibraries.found("libcuda.so.1"), "a CUDA driver is installed here");
        PrintStream old = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            code = Main.run("devices");
        } finally {
            System.setOut(old);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("cuda") && l.contains("unavailable")
                && l.endsWith("no CUDA driver (libcuda.so.1 not found)")), out);
        assertTrue(out.contains("CUDA devices: none (no CUDA driver (libcuda.so.1 not found))"), out);
        assertTrue(out.contains("CUDA " + CudaKernels.status()), out);
        String libs = out.lines().filter(l -> l.startsWith("CUDA libraries: ")).findFirst().orElseThrow();
        for (String name : CudaLibraries.NAMES)
            assertTrue(libs.contains(name + (CudaLibraries.found(name) ? " found" : " missing")), libs);
    }
}
