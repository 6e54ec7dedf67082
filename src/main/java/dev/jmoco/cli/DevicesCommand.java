package dev.jmoco.cli;

import dev.jmoco.backend.BackendProvider;
import dev.jmoco.backend.Backends;
import dev.jmoco.backend.cuda.CudaDevice;
import dev.jmoco.backend.cuda.CudaDevices;
import dev.jmoco.backend.cuda.CudaKernels;
import dev.jmoco.backend.cuda.CudaLibraries;
import dev.jmoco.backend.opencl.ClDevice;
import dev.jmoco.backend.opencl.ClDevices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code jmoco devices}: every backend found, whether it can run here, and why not; then the OpenCL platforms
 * and devices of this machine (or why there are none), since "opencl" is unavailable without a GPU even where
 * a CPU device can run it ({@code --device opencl:cpu}); then the CUDA driver, GPUs, kernels and libraries.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the backends and whether each can run here, and the OpenCL and CUDA devices found.")
final class DevicesCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (BackendProvider p : Backends.providers()) {
            BackendProvider.Availability a = p.availability();
            out.printf("%-8s %-13s %s%n", p.name(), a.available() ? "available" : "unavailable", a.reason());
        }
        ClDevices.Discovery cl = ClDevices.discover();
        if (cl.problem() != null) out.printf("%nOpenCL devices: none (%s)%n", cl.problem());
        else if (cl.devices().isEmpty()) out.printf("%nOpenCL devices: none (platforms without devices)%n");
        else {
            out.printf("%nOpenCL devices:%n");
            for (ClDevice d : cl.devices())
                out.printf("  %s%n", d.describe());
        }
        printCuda(out);
        out.flush();
        return 0;
    }

    /** The CUDA driver and its GPUs (or why none is usable), this build's kernels, and the CUDA libraries found. */
    private static void printCuda(PrintWriter out) {
        CudaDevices.Discovery cuda = CudaDevices.discover();
        if (cuda.problem() != null) out.printf("%nCUDA devices: none (%s)%n", cuda.problem());
        else {
            out.printf("%nCUDA devices (driver %s):%n", cuda.driverVersionText());
            for (CudaDevice d : cuda.devices())
                out.printf("  %s%n", d.describe());
        }
        out.printf("CUDA %s%n", CudaKernels.status());
        out.printf("CUDA libraries: %s%n", CudaLibraries.probe().entrySet().stream()
                .map(e -> e.getKey() + (e.getValue() ? " found" : " missing")).collect(Collectors.joining(", ")));
    }
}
