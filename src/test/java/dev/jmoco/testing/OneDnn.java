package dev.jmoco.testing;

import dev.jmoco.backend.cpu.CpuBackend;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The two convolution paths of the CPU backend for tests that must run on both: "onednn" (the system oneDNN)
 * and "java" (the Java kernels, forced as with {@code --device cpu:java}). Where oneDNN does not load, the
 * onednn cases skip saying why, and fail instead when {@code JMOCO_REQUIRE_ONEDNN=1} (CI sets it).
 */
public final class OneDnn {
    public static final String REQUIRE = "JMOCO_REQUIRE_ONEDNN";

    private OneDnn() {}

    /** "onednn", "java". */
    public static Stream<String> paths() { return Stream.of("onednn", "java"); }

    /** Skips (or fails, see the class comment) when {@code path} is onednn and oneDNN is not loaded. */
    public static void assumePath(String path) {
        if (!path.equals("onednn")) return;
        String reason = CpuBackend.oneDnnMissingReason();
        if (reason == null) return;
        if ("1".equals(System.getenv(REQUIRE))) fail("oneDNN not loaded (" + reason + "), and " + REQUIRE + "=1");
        // Skipped only where libdnnl2 is not installed (the Java kernels are still tested there); CI installs it
        // and sets JMOCO_REQUIRE_ONEDNN=1, so there a missing library fails above.
        abort("oneDNN not loaded: " + reason);
    }

    /** A CPU backend with {@code threads} threads whose convolutions run on {@code path} (assumed, see above). */
    public static CpuBackend backend(String path, int threads) {
        assumePath(path);
        return switch (path) {
            case "onednn" -> new CpuBackend(threads, true);
            case "java" -> new CpuBackend(threads, false);
            default -> throw new IllegalArgumentException("convolution path must be onednn or java, got " + path);
        };
    }
}
