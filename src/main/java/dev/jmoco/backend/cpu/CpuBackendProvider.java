package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BackendProvider;

/**
 * Service entry for the CPU backend: always available, lowest rank. Options: a thread count ("cpu:4"),
 * "java" to run every op on the Java kernels instead of oneDNN ("cpu:java"), or both ("cpu:4:java").
 */
public final class CpuBackendProvider implements BackendProvider {
    @Override public String name() { return "cpu"; }
    @Override public int rank() { return 0; }

    @Override
    public Availability availability() {
        CpuDnnl dnnl = CpuDnnl.get();
        String conv = dnnl != null ? "convolutions, batch norm, ReLU and add on " + dnnl.version()
                : "all ops in Java (oneDNN not used: " + CpuDnnl.unavailableReason() + ")";
        return Availability.yes("Java, " + Runtime.getRuntime().availableProcessors() + " cores, " + conv);
    }

    @Override
    public Backend create(String option) {
        boolean java = option.equals("java") || option.endsWith(":java");
        String threads = option.equals("java") ? "" : java ? option.substring(0, option.length() - 5) : option;
        if (option.isEmpty() || option.equals("java"))
            return new CpuBackend(Runtime.getRuntime().availableProcessors(), !java);
        try {
            int n = Integer.parseInt(threads);
            if (n < 1) throw new NumberFormatException();
            return new CpuBackend(n, !java);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("device 'cpu:" + option
                    + "': option must be a thread count >= 1, 'java', or both as N:java");
        }
    }
}
