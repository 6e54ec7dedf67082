package dev.jmoco.backend.opencl;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BackendProvider.Availability;
import dev.jmoco.backend.Backends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The OpenCL provider's answers on this machine, checked against what {@link ClDevices} found: "opencl" only
 * with a GPU, "opencl:cpu" with a CPU device, and reasons that say what to do instead.
 */
class OpenClBackendProviderTest {
    private final OpenClBackendProvider provider = new OpenClBackendProvider();
    private final ClDevices.Discovery found = ClDevices.discover();

    @Test
    void registeredAboveTheCpuBackend() {
        var names = Backends.providers().stream().map(p -> p.name()).toList();
        assertTrue(names.indexOf("opencl") >= 0 && names.indexOf("opencl") < names.indexOf("cpu"), names.toString());
    }

    @Test
    void plainOpenClNeedsAGpuAndPointsToTheCpuDeviceOtherwise() {
        Availability a = provider.availability();
        if (found.problem() != null) {
            assertFalse(a.available());
            assertEquals(found.problem(), a.reason());
        } else if (found.firstGpu() != null) {
            assertTrue(a.available(), a.reason());
            assertTrue(a.reason().contains(found.firstGpu().name()), a.reason());
        } else {
            assertFalse(a.available());
            if (found.firstCpu() != null)
                assertTrue(a.reason().contains("--device opencl:cpu") && a.reason().contains(found.firstCpu().name()),
                        a.reason());
        }
    }

    @Test
    void cpuOptionOpensTheCpuDevice() {
        assumeTrue(found.firstCpu() != null, "no OpenCL CPU device");
        assertTrue(provider.availability("cpu").available());
        try (Backend b = Backends.create("opencl:cpu")) {
            assertEquals("opencl:cpu", b.name());
            assertEquals(found.firstCpu(), ((OpenClBackend) b).device());
            assertEquals(0, b.poolStats().live());
        }
    }

    @Test
    void unknownOptionIsRefusedByName() {
        Availability a = provider.availability("tpu");
        assertFalse(a.available());
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.create("opencl:tpu"));
        assertTrue(e.getMessage().contains("opencl:tpu") && e.getMessage().contains(a.reason()), e.getMessage());
    }
}
