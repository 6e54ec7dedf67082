package dev.jmoco.backend.cuda.libraries;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.function.IntFunction;

/**
 * One shared library loaded through the foreign function API: the first of several sonames that the dynamic
 * linker can load (dlopen, so LD_LIBRARY_PATH applies), and downcall handles to its functions. Loaded into the
 * global arena: a vendor library stays loaded for the life of the JVM, as it would when linked.
 * Every failure is a {@link CudaLibraryUnavailable} whose message starts with "{@code what} not used: ".
 */
final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final String what;
    private final String soname;
    private final SymbolLookup lookup;

    private NativeLibrary(String what, String soname, SymbolLookup lookup) {
        this.what = what;
        this.soname = soname;
        this.lookup = lookup;
    }

    /**
     * Loads the first of {@code sonames} that the dynamic linker can load.
     *
     * @param what the library's name in messages ("cuBLAS")
     * @throws CudaLibraryUnavailable naming every soname tried when none loads
     */
    static NativeLibrary load(String what, List<String> sonames) {
        if (sonames.isEmpty()) throw new IllegalArgumentException(what + ": no soname to load");
        for (String soname : sonames) {
            try {
                return new NativeLibrary(what, soname, SymbolLookup.libraryLookup(soname, Arena.global()));
            } catch (IllegalArgumentException e) {
                // not loadable (absent, or a dependency of it is): try the next name
            }
        }
        throw unavailable(what, notFound(sonames));
    }

    /** "X not found", "neither X nor Y found", "none of X, Y, Z found". */
    static String notFound(List<String> sonames) {
        return switch (sonames.size()) {
            case 1 -> sonames.getFirst() + " not found";
            case 2 -> "neither " + sonames.get(0) + " nor " + sonames.get(1) + " found";
            default -> "none of " + String.join(", ", sonames) + " found";
        };
    }

    /** The soname that was loaded. */
    String soname() { return soname; }

    /**
     * A downcall handle to {@code name}.
     *
     * @throws CudaLibraryUnavailable "{@code what} not used: libfoo.so.1 has no symbol name"
     */
    MethodHandle function(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = lookup.find(name)
                .orElseThrow(() -> unavailable(soname + " has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    /**
     * A library handle from {@code create}, a {@code status (handle_t *out)} function such as cublasCreate_v2 or
     * cudnnCreate whose status 0 is success.
     *
     * @throws CudaLibraryUnavailable "{@code what} not used: {@code call} failed: " and the status text
     */
    MemorySegment createHandle(MethodHandle create, String call, IntFunction<String> statusText) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(ValueLayout.ADDRESS);
            int status = (int) create.invokeExact(out);
            if (status != 0) throw unavailable(call + " failed: " + statusText.apply(status));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** The exception for "this library cannot be used because {@code reason}". */
    CudaLibraryUnavailable unavailable(String reason) { return unavailable(what, reason); }

    private static CudaLibraryUnavailable unavailable(String what, String reason) {
        return new CudaLibraryUnavailable(what + " not used: " + reason);
    }

    /**
     * "text (code)" for a library's status code, from its {@code const char *name(status)} function
     * (cublasGetStatusName, cudnnGetErrorString, ncclGetErrorString), for messages.
     */
    static String statusText(MethodHandle statusString, int status) {
        try {
            return cString((MemorySegment) statusString.invokeExact(status), "status") + " (" + status + ")";
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** The C string at {@code address} (a library's status text), or {@code fallback} for a null pointer. */
    static String cString(MemorySegment address, String fallback) {
        if (address.equals(MemorySegment.NULL)) return fallback;
        // A returned char* is a zero-length segment; its string ends at the terminating NUL, well below 4 KiB.
        return address.reinterpret(4096).getString(0);
    }
}
