package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BackendProvider;

/** Service entry for the pure-Java backend: always available, lowest rank. Option: thread count ("cpu:4"). */
public final class CpuBackendProvider implements BackendProvider {
    @Override public String name() { return "cpu"; }
    @Override public int rank() { return 0; }

    @Override
    public Availability availability() {
        return Availability.yes("pure Java, " + Runtime.getRuntime().availableProcessors() + " cores");
    }

    @Override
    public Backend create(String option) {
        if (option.isEmpty()) return new CpuBackend();
        try {
            int threads = Integer.parseInt(option);
            if (threads < 1) throw new NumberFormatException();
            return new CpuBackend(threads);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("device 'cpu:" + option + "': option must be a thread count >= 1");
        }
    }
}
