package dev.jmoco.backend.cuda.libraries;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which CUDA libraries the dynamic linker finds (for {@code jmoco devices}; the cuBLAS/cuDNN paths of the
 * backend will need them). Asks dlopen itself, through {@link SymbolLookup#libraryLookup}, so the answer is the
 * one a later load gets; each library is unloaded again when its arena closes.
 */
public final class CudaLibraries {
    /** The sonames looked for, newest first per library. */
    public static final List<String> NAMES = List.of("libcublas.so.13", "libcublas.so.12", "libcudnn.so.9");

    private CudaLibraries() {}

    /** Whether the dynamic linker can load {@code soname}. */
    public static boolean found(String soname) {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(soname, arena);
            return true;
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return false;
        }
    }

    /** {@link #NAMES} with whether each is found, in order. */
    public static Map<String, Boolean> probe() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        for (String n : NAMES) m.put(n, found(n));
        return m;
    }
}
