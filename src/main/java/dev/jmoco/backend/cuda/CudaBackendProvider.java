package dev.jmoco.backend.cuda;

import dev.jmoco.backend.cuda.libraries.CudaLibraries;
import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BackendProvider;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Service entry for the CUDA backend, ranked above OpenCL (the same GPU runs faster through CUDA). The option
 * ({@code --device cuda:1:kernels}) is read by {@link CudaOptions}: a device ordinal, 0 by default, and flags. Availability comes from one cached probe of the
 * driver ({@link CudaDevices}) and one cached look for the kernels, so asking is cheap and never retries a
 * driver that failed to load.
 */
public final class CudaBackendProvider implements BackendProvider {
    private static String kernelProblem;
    private static boolean kernelsChecked;

    @Override public String name() { return "cuda"; }
    @Override public int rank() { return 20; }

    @Override public Availability availability() { return availability(""); }

    /** The driver and its GPUs (or why none is usable), this build's kernels, and the CUDA libraries found. */
    @Override
    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        CudaDevices.Discovery cuda = CudaDevices.discover();
        if (cuda.problem() != null) lines.add("CUDA devices: none (" + cuda.problem() + ")");
        else {
            lines.add("CUDA devices (driver " + cuda.driverVersionText() + "):");
            for (CudaDevice d : cuda.devices()) lines.add("  " + d.describe());
        }
        lines.add("CUDA " + CudaKernels.status());
        lines.add("CUDA libraries: " + CudaLibraries.probe().entrySet().stream()
                .map(e -> e.getKey() + (e.getValue() ? " found" : " missing")).collect(Collectors.joining(", ")));
        return lines;
    }

    @Override
    public Availability availability(String option) {
        try {
            CudaOptions o;
            try {
                o = CudaOptions.parse(option);
            } catch (IllegalArgumentException e) {
                return Availability.no(e.getMessage());
            }
            int ordinal = o.ordinal();
            CudaDevices.Discovery d = CudaDevices.discover();
            if (d.problem() != null) return Availability.no(d.problem());
            if (ordinal >= d.devices().size())
                return Availability.no("no CUDA device " + ordinal + " (found " + d.devices().size() + ")");
            String kernels = kernelProblem();
            if (kernels != null) return Availability.no(kernels);
            return Availability.yes(d.devices().get(ordinal).describe());
        } catch (RuntimeException e) {
            return Availability.no("CUDA probe failed: " + e.getMessage());
        }
    }

    @Override
    public Backend create(String option) {
        Availability a = availability(option);
        if (!a.available()) throw new IllegalArgumentException("device 'cuda" + (option.isEmpty() ? "" : ":" + option)
                + "' cannot run here: " + a.reason());
        CudaOptions o = CudaOptions.parse(option);
        return new CudaBackend(CudaDevices.discover().devices().get(o.ordinal()), o);
    }

    /** Why the kernels cannot load (none in this build, a damaged jar), or null; checked once. */
    private static synchronized String kernelProblem() {
        if (!kernelsChecked) {
            try {
                kernelProblem = CudaKernels.fatbin().isPresent() ? null : CudaKernels.NONE;
            } catch (RuntimeException e) {
                kernelProblem = e.getMessage();
            }
            kernelsChecked = true;
        }
        return kernelProblem;
    }
}
