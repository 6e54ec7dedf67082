package dev.jmoco.backend.cuda;

import java.util.ArrayDeque;

/**
 * The releases of what a constructor has created so far, run newest first when a later step fails, so a
 * failed {@link CudaBackend} leaves no stream, module, library handle or device memory behind. Not thread-safe
 * (one constructor).
 */
final class Undo {
    private final ArrayDeque<Runnable> releases = new ArrayDeque<>();

    /** Registers the release of what was just created (it runs before those registered earlier). */
    void add(Runnable release) { releases.push(release); }

    /**
     * Runs every registered release once, newest first, and forgets them. A release that throws does not stop
     * the others: what it threw is added to {@code failure} (the step that failed) as suppressed.
     */
    void run(Throwable failure) {
        while (!releases.isEmpty()) {
            Runnable release = releases.pop();
            try {
                release.run();
            } catch (RuntimeException | Error e) {
                if (e != failure) failure.addSuppressed(e);
            }
        }
    }
}
