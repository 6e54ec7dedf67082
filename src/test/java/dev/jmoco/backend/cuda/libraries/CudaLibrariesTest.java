package dev.jmoco.backend.cuda.libraries;

import dev.jmoco.backend.cuda.CudaDevices;
import dev.jmoco.backend.cuda.CudaDevice;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Library look-up through the dynamic linker, against libraries known to exist or not. */
class CudaLibrariesTest {

    @Test
    void findsWhatTheLinkerFindsAndNothingElse() {
        assertTrue(CudaLibraries.found("libc.so.6"));
        assertFalse(CudaLibraries.found("libjmoco-no-such-library.so.1"));
        assertEquals(List.copyOf(CudaLibraries.probe().keySet()), CudaLibraries.NAMES);
    }

    @Test
    void deviceAndDriverDescriptions() {
        CudaDevice d = new CudaDevice(1, "NVIDIA H100 80GB HBM3", 9, 0, 85_520_809_984L, 132);
        assertEquals("cuda:1 NVIDIA H100 80GB HBM3, compute 9.0, 79.6 GiB, 132 SMs", d.describe());
        assertEquals("12.8", new CudaDevices.Discovery(null, 12080, List.of(d)).driverVersionText());
        assertEquals("13.0", new CudaDevices.Discovery(null, 13000, List.of(d)).driverVersionText());
    }
}
