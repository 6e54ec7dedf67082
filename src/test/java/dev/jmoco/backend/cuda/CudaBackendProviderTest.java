package dev.jmoco.backend.cuda;

import dev.jmoco.backend.cuda.libraries.CudaLibraries;
import dev.jmoco.backend.BackendProvider;
import dev.jmoco.backend.BackendProvider.Availability;
import dev.jmoco.backend.Backends;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The provider on a machine without a CUDA driver (this project's build machines): it says so, in one line,
 * without throwing and without retrying the driver. Whether the driver exists is decided independently of
 * JCuda, by asking the dynamic linker for libcuda.so.1; where it exists these tests are skipped and the GPU
 * checklist (native-tests/) covers the provider.
 */
class CudaBackendProviderTest {

    private static void assumeNoDriver() {
        assumeFalse(CudaLibraries.found("libcuda.so.1"), "a CUDA driver is installed here");
    }

    @Test
    void withoutADriverAvailabilitySaysSoTwiceWithoutThrowing() {
        assumeNoDriver();
        CudaBackendProvider p = new CudaBackendProvider();
        Availability first = p.availability();
        Availability second = p.availability();
        assertEquals(new Availability(false, "no CUDA driver (libcuda.so.1 not found)"), first);
        assertEquals(first, second);
        assertEquals(first, p.availability("1"));
        // The probe ran once: the same cached answer, not a second try (which would see NoClassDefFoundError).
        assertSame(CudaDevices.discover(), CudaDevices.discover());
        assertEquals(CudaDevices.NO_DRIVER, CudaDevices.discover().problem());
        assertEquals(List.of(), CudaDevices.discover().devices());
        assertEquals("none", CudaDevices.discover().driverVersionText());
    }

    @Test
    void creatingTheBackendFailsWithTheReasonInOneLine() {
        assumeNoDriver();
        for (String device : new String[] {"cuda", "cuda:0"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Backends.create(device));
            assertEquals("device '" + device + "' cannot run here: no CUDA driver (libcuda.so.1 not found)",
                    e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> new CudaBackendProvider().create(""));
        assertTrue(e.getMessage().endsWith("no CUDA driver (libcuda.so.1 not found)"), e.getMessage());
    }

    @Test
    void aBadOptionIsAnsweredNotThrown() {
        CudaBackendProvider p = new CudaBackendProvider();
        for (String option : new String[] {"x", "-1", "1.5", "99999", "0:fast"}) {
            Availability a = p.availability(option);
            assertFalse(a.available(), option);
            assertTrue(a.reason().startsWith("unknown option '"), a.reason());
            assertTrue(a.reason().endsWith("(form: " + CudaOptions.SYNTAX + ")"), a.reason());
        }
        assertEquals("'kernels' repeats an option in 'cuda:kernels:kernels'",
                p.availability("kernels:kernels").reason());
    }

    @Test
    void registeredAndRankedAboveOpenCl() {
        List<String> names = Backends.providers().stream().map(BackendProvider::name).toList();
        assertTrue(names.contains("cuda"), names.toString());
        assertTrue(names.indexOf("cuda") < names.indexOf("opencl"), names.toString());
        assertTrue(names.indexOf("cuda") < names.indexOf("cpu"), names.toString());
    }

    @Test
    void autoFallsBackPastAnUnavailableCuda() {
        assumeNoDriver();
        try (var b = Backends.create("auto")) {
            assertFalse(b.name().startsWith("cuda"), b.name());
        }
    }
}
