package dev.jmoco.backend.cuda;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BackendProvider;

/**
 * Service entry for the CUDA backend, ranked above OpenCL (the same GPU runs faster through CUDA). The option
 * is a device ordinal ({@code --device cuda:1}), 0 by default. Availability comes from one cached probe of the
 * driver ({@link CudaDevices}) and one cached look for the kernels, so asking is cheap and never retries a
 * driver that failed to load.
 */
public final class CudaBackendProvider implements BackendProvider {
    private static String kernelProblem;
    private static boolean kernelsChecked;

    @Override public String name() { return "cuda"; }
    @Override public int rank() { return 20; }

    @Override public Availability availability() { return availability(""); }

    @Override
    public Availability availability(String option) {
        try {
            Integer ordinal = ordinal(option);
            if (ordinal == null) return Availability.no("unknown option '" + option + "' (known: cuda, cuda:N)");
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
        return new CudaBackend(CudaDevices.discover().devices().get(ordinal(option)));
    }

    /** The device ordinal of {@code option} ("" is 0), or null if it is not one. */
    static Integer ordinal(String option) {
        if (option.isEmpty()) return 0;
        if (!option.chars().allMatch(Character::isDigit) || option.length() > 4) return null;
        return Integer.parseInt(option);
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
