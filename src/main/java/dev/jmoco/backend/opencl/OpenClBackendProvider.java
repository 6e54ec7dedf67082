package dev.jmoco.backend.opencl;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BackendProvider;

import java.util.ArrayList;
import java.util.List;

/**
 * Service entry for the OpenCL backend, ranked above the CPU backend. Without an option it runs on the first
 * GPU and is available only where one exists: a CPU OpenCL driver (PoCL) is slower than the pure-Java backend,
 * so it is never chosen by default, only when asked for with {@code --device opencl:cpu}.
 */
public final class OpenClBackendProvider implements BackendProvider {
    @Override public String name() { return "opencl"; }
    @Override public int rank() { return 10; }

    @Override public Availability availability() { return availability(""); }

    @Override
    public Availability availability(String option) {
        ClDevices.Discovery d = ClDevices.discover();
        if (d.problem() != null) return Availability.no(d.problem());
        return switch (option) {
            case "" -> {
                ClDevice gpu = d.firstGpu();
                if (gpu != null) yield Availability.yes(gpu.describe());
                ClDevice cpu = d.firstCpu();
                yield Availability.no(cpu == null ? "no OpenCL device found"
                        : "no OpenCL GPU; --device opencl:cpu runs on the CPU device " + cpu.describe());
            }
            case "cpu" -> {
                ClDevice cpu = d.firstCpu();
                yield cpu == null ? Availability.no("no OpenCL CPU device") : Availability.yes(cpu.describe());
            }
            default -> Availability.no("unknown option '" + option + "' (known: opencl, opencl:cpu)");
        };
    }

    /** The platforms' devices, or why there are none ("opencl" needs a GPU even where opencl:cpu runs). */
    @Override
    public List<String> describe() {
        ClDevices.Discovery cl = ClDevices.discover();
        if (cl.problem() != null) return List.of("OpenCL devices: none (" + cl.problem() + ")");
        if (cl.devices().isEmpty()) return List.of("OpenCL devices: none (platforms without devices)");
        List<String> lines = new ArrayList<>(List.of("OpenCL devices:"));
        for (ClDevice d : cl.devices()) lines.add("  " + d.describe());
        return lines;
    }

    @Override
    public Backend create(String option) {
        Availability a = availability(option);
        if (!a.available()) throw new IllegalArgumentException("device 'opencl" + (option.isEmpty() ? "" : ":" + option)
                + "' cannot run here: " + a.reason());
        ClDevices.Discovery d = ClDevices.discover();
        return new OpenClBackend(option.equals("cpu") ? d.firstCpu() : d.firstGpu());
    }
}
