package dev.jmoco.backend.cuda.libraries;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real cuBLAS (skipped where no soname loads, see {@link NativeLibraryAssumptions}): every function
 * {@link Cublas} calls is bound, version and status queries work without a GPU, and {@link Cublas#open}
 * without a GPU fails with the one-line reason the backend prints before falling back to its kernels.
 */
class CublasLibraryTest {

    @BeforeEach
    void requireCublas() { NativeLibraryAssumptions.requireLoadable("cuBLAS", Cublas.SONAMES); }

    @Test
    void bindsEveryFunctionAndReportsItsVersion() {
        CublasFunctions f = CublasFunctions.bind(Cublas.SONAMES);
        assertTrue(Cublas.SONAMES.contains(f.library.soname()), f.library.soname());
        String version = f.version();
        assertTrue(version.matches("\\d+\\.\\d+\\.\\d+"), version);
        String major = f.library.soname().substring("libcublas.so.".length());
        assertEquals(major, version.substring(0, version.indexOf('.')), "major version of " + f.library.soname());
    }

    @Test
    void statusTextIsTheStatusNameAndCode() {
        CublasFunctions f = CublasFunctions.bind(Cublas.SONAMES);
        assertEquals("CUBLAS_STATUS_NOT_INITIALIZED (1)", f.statusText(1));
        assertEquals("CUBLAS_STATUS_INVALID_VALUE (7)", f.statusText(7));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.check("cublasFoo", 13));
        assertEquals("cublasFoo failed: CUBLAS_STATUS_EXECUTION_FAILED (13)", e.getMessage());
        f.check("cublasFoo", CublasFunctions.SUCCESS);
    }

    @Test
    void openWithoutGpuNamesTheFailingCallAndStatus() {
        assumeFalse(NativeLibraryAssumptions.driverPresent(), "a CUDA driver is installed: see openWithGpu");
        CudaLibraryUnavailable e = assertThrows(CudaLibraryUnavailable.class, () -> Cublas.open(0, false));
        assertTrue(e.getMessage().matches("cuBLAS not used: cublasCreate_v2 failed: CUBLAS_STATUS_\\w+ \\(\\d+\\)"),
                e.getMessage());
    }

    /** Where a driver is: a handle on the default stream, described, closed twice. */
    @Test
    void openWithGpu() {
        assumeTrue(NativeLibraryAssumptions.driverPresent(), "no CUDA driver (libcuda.so.1) here");
        for (boolean tf32 : new boolean[] {false, true}) {
            Cublas cublas = Cublas.open(0, tf32);
            assertTrue(cublas.describe().matches("cuBLAS \\d+\\.\\d+\\.\\d+ \\(libcublas\\.so\\.1[23]\\), TF32 "
                    + (tf32 ? "on" : "off")), cublas.describe());
            cublas.close();
            cublas.close();
            assertThrows(IllegalStateException.class, () -> cublas.gemm(false, false, 1, 1, 1, 1, 0, 0, 0, 0));
        }
    }
}
