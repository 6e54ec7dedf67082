package dev.jmoco.backend;

import dev.jmoco.backend.opencl.ClDevices;
import dev.jmoco.testing.ChildJvm;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A library planted in java.io.tmpdir under the name JOCL or JCuda unpack to is never loaded by jmoco. Each
 * case runs in a fresh JVM (a library loads once per JVM). The planted file is a real shared library whose
 * constructor writes a marker file when it is loaded (gcc builds it; without gcc it is a file of garbage,
 * and loading it would fail naming its path). The raw bindings load it: that control shows the plant works.
 */
class NativeBindingsTest {
    /** Binding class -> the file its LibUtils unpacks to (the control case fails if a version bump renames it). */
    private static final Map<String, String> UNPACKED = Map.of(
            "org.jocl.CL", "libJOCL_2_0_6-linux-x86_64.so",
            "jcuda.driver.JCudaDriver", "libJCudaDriver-12.6.0-linux-x86_64.so");

    @TempDir Path tmp;
    private Path marker;

    @BeforeEach
    void linuxX64() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux")
                && System.getProperty("os.arch").equals("amd64"), "the planted names are Linux x86-64 library names");
        marker = tmp.resolve("planted-library-ran");
    }

    @ParameterizedTest
    @ValueSource(strings = {"org.jocl.CL", "jcuda.driver.JCudaDriver"})
    void theRawBindingLoadsAPlantedLibrary(String binding) throws Exception {
        Path planted = plant(binding);
        ChildJvm.Result r = probe("raw", binding);
        assertTrue(Files.exists(marker) || r.output().contains(planted.toString()),
                "control: the binding itself should have loaded " + planted + "; it printed: " + r.output());
    }

    @ParameterizedTest
    @ValueSource(strings = {"org.jocl.CL", "jcuda.driver.JCudaDriver"})
    void jmocoNeverLoadsAPlantedLibrary(String binding) throws Exception {
        Path planted = plant(binding);
        byte[] before = Files.readAllBytes(planted);
        ChildJvm.Result r = probe("guarded", binding);
        assertFalse(Files.exists(marker), "the planted library ran: " + r.output());
        assertFalse(r.output().contains(planted.toString()), "the planted file was touched: " + r.output());
        assertArrayEquals(before, Files.readAllBytes(planted), "the planted file was overwritten");
        if (binding.equals("org.jocl.CL") && ClDevices.discover().problem() == null)
            assertTrue(r.output().contains("loaded " + binding), "JOCL's own library should load: " + r.output());
        assertNoPrivateFolderLeft();
    }

    @Test
    void theDevicesCommandLoadsNoPlantedLibrary() throws Exception {
        for (String binding : UNPACKED.keySet()) plant(binding);
        ChildJvm.Result r = new ChildJvm().option("-Djava.io.tmpdir=" + tmp).env("JMOCO_PLANTED_MARKER", marker.toString())
                .run(tmp.resolve("devices.log"), 120, "dev.jmoco.cli.Main", "devices");
        assertEquals(0, r.code(), r.output());
        assertFalse(Files.exists(marker), "a planted library ran: " + r.output());
        if (ClDevices.discover().problem() == null)
            assertTrue(r.output().contains("OpenCL devices:" + System.lineSeparator()), r.output());
        assertNoPrivateFolderLeft();
    }

    @Test
    void thePrivateFolderIsNewAndOwnerOnly() throws IOException {
        Path a = NativeBindings.privateFolder(tmp), b = NativeBindings.privateFolder(tmp);
        assertFalse(a.equals(b));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(a)));
    }

    private ChildJvm.Result probe(String mode, String binding) throws Exception {
        return new ChildJvm().option("-Djava.io.tmpdir=" + tmp).env("JMOCO_PLANTED_MARKER", marker.toString())
                .run(tmp.resolve(mode + ".log"), 120, Probe.class.getName(), mode, binding);
    }

    private void assertNoPrivateFolderLeft() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.filter(p -> p.getFileName().toString().startsWith("jmoco-natives-")).count(),
                    "the private folder was not removed");
        }
    }

    /** Writes the planted library where {@code binding} would unpack its own. */
    private Path plant(String binding) throws IOException, InterruptedException {
        Path target = tmp.resolve(UNPACKED.get(binding));
        Path source = tmp.resolve("planted.c");
        Files.writeString(source, """
                #include <stdio.h>
                #include <stdlib.h>
                __attribute__((constructor)) static void planted(void) {
                    const char *m = getenv("JMOCO_PLANTED_MARKER");
                    FILE *f = m ? fopen(m, "a") : NULL;
                    if (f) { fputs("planted library ran\\n", f); fclose(f); }
                }
                """);
        boolean built;
        try {
            Process gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-o", target.toString(), source.toString())
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("gcc.log").toFile()).start();
            built = gcc.waitFor(60, TimeUnit.SECONDS) && gcc.exitValue() == 0;
        } catch (IOException noGcc) {
            built = false;
        }
        if (!built) Files.write(target, "not a library".getBytes(StandardCharsets.US_ASCII));
        return target;
    }

    /** Child main: initialises a binding directly ("raw") or through NativeBindings ("guarded"). */
    public static final class Probe {
        public static void main(String[] args) {
            try {
                if (args[0].equals("raw")) Class.forName(args[1]);
                else NativeBindings.initialise(args[1]);
                System.out.println("loaded " + args[1]);
            } catch (Throwable t) {
                System.out.println("not loaded: " + t);
            }
        }
    }
}
