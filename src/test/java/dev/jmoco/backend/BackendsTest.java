package dev.jmoco.backend;

import dev.jmoco.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendsTest {

    @Test
    void serviceLoaderFindsTheCpuBackendAndItCanRunAnywhere() {
        BackendProvider cpu = Backends.providers().stream().filter(p -> p.name().equals("cpu")).findFirst()
                .orElseThrow();
        assertTrue(cpu.availability().available(), cpu.availability().reason());
        try (Backend b = Backends.create("cpu")) {
            assertEquals("cpu", b.name());
        }
    }

    @Test
    void autoPicksAnAvailableBackend() {
        try (Backend b = Backends.create("auto")) {
            assertTrue(Backends.providers().stream().anyMatch(p -> p.name().equals(b.name())));
        }
    }

    @Test
    void unknownDeviceNamesTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.create("tpu"));
        assertTrue(e.getMessage().contains("unknown device 'tpu'") && e.getMessage().contains("cpu"), e.getMessage());
    }

    @Test
    void cpuOptionIsAThreadCount() {
        try (Backend b = Backends.create("cpu:1")) {
            assertEquals("cpu", b.name());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cpu:zero"));
        assertTrue(e.getMessage().contains("thread count"), e.getMessage());
    }

    /** "java" forces the Java convolutions, alone or after a thread count; anything else after it is refused. */
    @Test
    void cpuJavaOptionForcesTheJavaConvolutions() {
        try (var b = (CpuBackend) Backends.create("cpu:java")) {
            assertFalse(b.usesOneDnn());
            assertEquals("java (im2col + gemm)", b.convImplementation());
        }
        try (var b = (CpuBackend) Backends.create("cpu:3:java")) {
            assertFalse(b.usesOneDnn());
            assertEquals(3, b.threads());
        }
        try (var b = (CpuBackend) Backends.create("cpu:3")) {
            assertEquals(3, b.threads());
            assertEquals(CpuBackend.oneDnnMissingReason() == null, b.usesOneDnn());
        }
        for (String bad : new String[]{"cpu:java:3", "cpu:0:java", "cpu::java", "cpu:javas"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Backends.create(bad), bad);
            assertTrue(e.getMessage().contains("'java'"), e.getMessage());
        }
    }

    @Test
    void shapeRecordsRejectImpossibleGeometry() {
        var conv = assertThrows(IllegalArgumentException.class, () -> new ConvShape(1, 3, 2, 2, 4, 7, 7, 1, 0));
        assertTrue(conv.getMessage().contains("conv2d") && conv.getMessage().contains("7x7"), conv.getMessage());
        var bn = assertThrows(IllegalArgumentException.class, () -> new BatchNormShape(6, 4, 1, 4));
        assertTrue(bn.getMessage().contains("batch 6 is not divisible by groups 4"), bn.getMessage());
        assertEquals(16, new ConvShape(2, 3, 32, 32, 8, 7, 7, 2, 3).p());
    }
}
