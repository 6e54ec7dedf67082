package dev.jmoco.backend;

import java.util.List;

/**
 * A backend implementation as found through {@link java.util.ServiceLoader}. Each provider answers whether
 * it can run on this machine before it is chosen; the default is the available provider of highest rank.
 */
public interface BackendProvider {

    /** Name used by {@code --device}, e.g. "cpu", "opencl", "cuda". */
    String name();

    /** Preference when several are available; higher wins. CPU is 0. */
    int rank();

    /** Whether this backend can run here, and if not, why. Must be cheap and must not throw. */
    Availability availability();

    /**
     * Whether {@code --device name:option} can run here (e.g. "cpu" in "opencl:cpu"); {@code option} may be
     * empty. Must be cheap and must not throw. By default the option does not change the answer.
     */
    default Availability availability(String option) { return availability(); }

    /**
     * What this backend finds on this machine, for {@code jmoco devices}: lines on its devices, driver and
     * libraries (or why there are none). Empty by default. Must not throw.
     */
    default List<String> describe() { return List.of(); }

    /**
     * Creates a backend. {@code option} is the part after the colon in {@code --device name:option}
     * (e.g. "cpu" in "opencl:cpu"), or empty.
     */
    Backend create(String option);

    /** Whether a backend can run here; {@code reason} says why not (or describes the device if it can). */
    record Availability(boolean available, String reason) {
        public static Availability yes(String description) { return new Availability(true, description); }
        public static Availability no(String reason) { return new Availability(false, reason); }
    }
}
