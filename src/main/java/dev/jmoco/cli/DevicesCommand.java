package dev.jmoco.cli;

import dev.jmoco.backend.BackendProvider;
import dev.jmoco.backend.Backends;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code jmoco devices}: every backend found, whether it can run here, and why not. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the backends and whether each can run on this machine.")
final class DevicesCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (BackendProvider p : Backends.providers()) {
            BackendProvider.Availability a = p.availability();
            out.printf("%-8s %-13s %s%n", p.name(), a.available() ? "available" : "unavailable", a.reason());
        }
        out.flush();
        return 0;
    }
}
