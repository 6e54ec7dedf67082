package dev.jmoco.cli;

import dev.jmoco.backend.BackendProvider;
import dev.jmoco.backend.Backends;
import dev.jmoco.dist.Collectives;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code jmoco devices}: every backend found, whether it can run here, and why not; then what each backend
 * finds on this machine as it describes itself (OpenCL platforms and devices, the CUDA driver, GPUs, kernels and
 * libraries), so the command knows no backend's internals.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the backends and whether each can run here, and the OpenCL and CUDA devices found.")
final class DevicesCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<BackendProvider> providers = Backends.providers();
        for (BackendProvider p : providers) {
            BackendProvider.Availability a = Backends.availability(p, "");
            out.printf("%-8s %-13s %s%n", p.name(), a.available() ? "available" : "unavailable", a.reason());
        }
        for (BackendProvider p : providers.reversed()) { // from the CPU up: the plainest backend's details first
            List<String> lines = Backends.describe(p);
            if (lines.isEmpty()) continue;
            out.println();
            for (String line : lines) out.println(line);
        }
        out.println();
        for (String line : Collectives.describe()) out.println(line);
        out.flush();
        return 0;
    }
}
