package dev.jmoco.backend.cuda.libraries;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Linker;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The NCCL binding: where libnccl.so.2 loads (skipped elsewhere, see {@link NativeLibraryAssumptions}), every
 * function {@link Nccl} calls is bound and the version and status queries work without a GPU; everywhere, the
 * version arithmetic and the one-line message for a library that is missing.
 */
class NcclBindingTest {

    @Test
    void bindsEveryFunctionAndReportsAVersionWithAvg() {
        NativeLibraryAssumptions.requireLoadable("NCCL", Nccl.SONAMES);
        NcclFunctions f = NcclFunctions.bind(Nccl.SONAMES);
        assertTrue(Nccl.SONAMES.contains(f.library.soname()), f.library.soname());
        String version = NcclFunctions.versionText(f.versionCode());
        assertTrue(version.matches("2\\.\\d+\\.\\d+"), version);
        assertEquals(version, Nccl.versionOf());
        assertTrue(Nccl.supportsAvg(version), "NCCL " + version + " is older than 2.10 (no ncclAvg)");
        String text = f.statusText(4); // ncclInvalidArgument
        assertTrue(text.endsWith(" (4)") && text.length() > " (4)".length(), text);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.check("ncclFoo", 5));
        assertTrue(e.getMessage().startsWith("ncclFoo failed: ") && e.getMessage().endsWith(" (5)"), e.getMessage());
        f.check("ncclFoo", NcclFunctions.SUCCESS);
    }

    /** Needs no NCCL: the message the backend's users see where libnccl.so.2 is absent names the soname. */
    @Test
    void aMissingLibraryIsNamed() {
        CudaLibraryUnavailable e = assertThrows(CudaLibraryUnavailable.class,
                () -> Nccl.versionOf(List.of("libnccl-missing.so.9")));
        assertEquals("NCCL not used: libnccl-missing.so.9 not found", e.getMessage());
        assertEquals("NCCL not used: rank 1 said so", Nccl.notUsed("rank 1 said so").getMessage());
    }

    /** nccl.h's NCCL_VERSION: X * 10000 + Y * 100 + Z from 2.9 on, X * 1000 + Y * 100 + Z before. */
    @Test
    void versionCodesOfBothSchemes() {
        assertEquals("2.27.3", NcclFunctions.versionText(22703));
        assertEquals("2.10.3", NcclFunctions.versionText(21003));
        assertEquals("2.9.6", NcclFunctions.versionText(20906));
        assertEquals("2.8.4", NcclFunctions.versionText(2804));
        assertEquals("2.30.7", NcclFunctions.versionText(23007));
        assertTrue(Nccl.supportsAvg("2.10.0"));
        assertTrue(Nccl.supportsAvg("2.27.3"));
        assertTrue(Nccl.supportsAvg("3.0.0"));
        assertFalse(Nccl.supportsAvg("2.9.6"));
        assertFalse(Nccl.supportsAvg("2.8.4"));
        assertThrows(IllegalArgumentException.class, () -> Nccl.supportsAvg("2"));
    }

    /** The unique id is passed by value: a struct of exactly NCCL_UNIQUE_ID_BYTES, byte-aligned, as C has it. */
    @Test
    void uniqueIdLayoutIsOneHundredTwentyEightBytes() {
        assertEquals(128, NcclFunctions.UNIQUE_ID.byteSize());
        assertEquals(128, Nccl.UNIQUE_ID_BYTES);
        assertEquals(1, NcclFunctions.UNIQUE_ID.byteAlignment());
        // The linker accepts the by-value struct (an unsupported layout would be refused here, not at bind).
        assertEquals(5, Linker.nativeLinker().downcallHandle(NcclFunctions.COMM_INIT_RANK).type().parameterCount());
    }

    /** Arguments are checked before the library is touched (so these run without NCCL). */
    @Test
    void openRefusesABadRankOrId() {
        assertThrows(IllegalArgumentException.class, () -> Nccl.open(2, 2, new byte[128], 0));
        assertThrows(IllegalArgumentException.class, () -> Nccl.open(0, 0, new byte[128], 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Nccl.open(1, 0, new byte[16], 0));
        assertEquals("NCCL: a unique id of 16 bytes, not 128", e.getMessage());
    }
}
