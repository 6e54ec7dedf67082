package dev.jmoco.backend.cuda.libraries;

import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * Tests of the real cuBLAS / cuDNN libraries skip, saying why, where the dynamic linker finds none of a
 * library's sonames (CI has neither), and fail instead when JMOCO_REQUIRE_CUDA_LIBRARIES=1 (a machine that
 * must have them: the GPU script; a developer with LD_LIBRARY_PATH=DIR, see CONTRIBUTING.md). A library that is
 * found but cannot be bound is a failure either way: that is for the test to see.
 */
public final class NativeLibraryAssumptions {
    private NativeLibraryAssumptions() {}

    /** Skips (or fails, see the class comment) unless the dynamic linker finds one of {@code sonames}. */
    public static void requireLoadable(String what, List<String> sonames) {
        if (sonames.stream().anyMatch(CudaLibraries::found)) return;
        String reason = what + " not loadable: " + NativeLibrary.notFound(sonames)
                + " (set LD_LIBRARY_PATH to a folder holding it)";
        if ("1".equals(System.getenv("JMOCO_REQUIRE_CUDA_LIBRARIES")))
            fail(reason + ", and JMOCO_REQUIRE_CUDA_LIBRARIES=1");
        // Skipped where cuBLAS/cuDNN/NCCL are not installed (CI has no NVIDIA libraries); the GPU script sets
        // JMOCO_REQUIRE_CUDA_LIBRARIES=1, so there a missing library fails above.
        abort(reason);
    }

    /** Whether a CUDA driver is installed (libcuda.so.1): without it no handle can be created. */
    public static boolean driverPresent() { return CudaLibraries.found("libcuda.so.1"); }
}
