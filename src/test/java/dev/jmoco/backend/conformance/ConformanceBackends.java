package dev.jmoco.backend.conformance;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.backend.BackendProvider;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The backends under test on this machine, each paired with a CPU backend (the peer of the whole-step and
 * error-message tests; single ops are checked against {@link dev.jmoco.backend.reference.ReferenceOps}), and
 * the leak check of the conformance suite. Usage in a conformance test:
 * <pre>{@code
 * @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();
 *
 * @ParameterizedTest @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
 * void addMatchesReference(ConformanceBackends.Target t) { ... t.device() ... }
 * }</pre>
 * Targets: "opencl:cpu" (an OpenCL CPU device, PoCL in CI) and "opencl" (the first OpenCL GPU), each where
 * present, and "cuda", "cuda:kernels" and "cuda:portable" (the first CUDA GPU with cuBLAS/cuDNN where found,
 * with the hand-written kernels only, with only the kernels shared with OpenCL) where its provider reports it
 * available. They are opened once per
 * test JVM (building the kernels takes seconds) and closed when the run ends. After every test, the live root
 * buffers of the device AND of the CPU backend must be what they were before it.
 *
 * <p>When no device exists, {@link #targets()} yields one placeholder and every test is skipped by an
 * assumption, unless the environment sets {@code JMOCO_REQUIRE_OPENCL=1} (CI does) or
 * {@code JMOCO_REQUIRE_CUDA=1} (native-tests/run-gpu.sh does): then it fails. Each flag also fails every test
 * when its own kind of device is absent although others are present. A device that exists but cannot be
 * opened always fails.
 */
public final class ConformanceBackends implements BeforeEachCallback, AfterEachCallback {
    /** Environment variable that turns "no OpenCL device" from a skip into a failure. */
    static final String REQUIRE = "JMOCO_REQUIRE_OPENCL";
    /** Environment variable that turns "no CUDA device" from a skip into a failure. */
    static final String REQUIRE_CUDA = "JMOCO_REQUIRE_CUDA";
    /** The CUDA configurations under test (options of "cuda:"; TF32 has its own tolerance and tests). */
    static final List<String> CUDA_OPTIONS = List.of("", "kernels", "portable");

    /**
     * A backend under test with its CPU peer. {@code device} is null only in the placeholder that stands
     * for "nothing to test here" (its tests are skipped before they run).
     */
    public record Target(String name, Backend device, CpuBackend cpu) {
        @Override public String toString() { return name; }
    }

    /**
     * Views at chosen offsets into roots whose margins hold a sentinel, on any backend; closing closes the
     * roots. A kernel that ignores a view's offset reads wrong data; one that writes outside its view is caught
     * by {@link #assertGuardsIntact()}.
     */
    public static final class Views implements AutoCloseable {
        /** Floats of sentinel after each view (and before it, when placed at the default offset). */
        public static final int GUARD = 7;
        public static final float SENTINEL = -12345.5f;

        private final Backend backend;
        private final List<Buffer> roots = new ArrayList<>();
        private final List<Integer> starts = new ArrayList<>(), ends = new ArrayList<>();

        public Views(Backend backend) { this.backend = backend; }

        /** A view holding a copy of {@code values}, {@link #GUARD} floats into its root. */
        public Buffer of(float[] values) { return at(GUARD, values); }

        /** A view holding a copy of {@code values}, {@code offset} floats into its root. */
        public Buffer at(int offset, float[] values) {
            Buffer root = backend.allocate(offset + values.length + (long) GUARD);
            roots.add(root);
            starts.add(offset);
            ends.add(offset + values.length);
            float[] all = new float[offset + values.length + GUARD];
            Arrays.fill(all, SENTINEL);
            System.arraycopy(values, 0, all, offset, values.length);
            backend.upload(all, 0, root);
            return root.slice(offset, values.length);
        }

        /** The contents of {@code buffer} (waits for queued work). */
        public float[] read(Buffer buffer) {
            float[] out = new float[(int) buffer.size()];
            backend.download(buffer, out, 0);
            return out;
        }

        /** Fails if an op wrote outside the views handed out. */
        public void assertGuardsIntact() {
            for (int r = 0; r < roots.size(); r++) {
                float[] all = read(roots.get(r));
                for (int i = 0; i < all.length; i++)
                    if (i < starts.get(r) || i >= ends.get(r))
                        Assertions.assertEquals(SENTINEL, all[i], backend.name() + ": write outside a view, at "
                                + (i - starts.get(r)) + " of a view of " + (ends.get(r) - starts.get(r)));
            }
        }

        @Override public void close() { roots.forEach(Buffer::close); }
    }

    /** {@code n} values uniform in [lo, hi). */
    public static float[] uniform(Random random, int n, float lo, float hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * random.nextFloat();
        return v;
    }

    private static List<Target> targets;
    private static String missing;
    private static String missingCuda;
    private long[] liveBefore;

    /** The targets, as a {@code @MethodSource}: one per backend under test, or one placeholder. */
    public static synchronized Stream<Target> targets() {
        open();
        return targets.isEmpty() ? Stream.of(new Target("no device", null, null)) : targets.stream();
    }

    private static void open() {
        if (targets != null) return;
        List<Target> list = new ArrayList<>();
        List<String> absent = new ArrayList<>();
        CpuBackend cpu = new CpuBackend();
        BackendProvider opencl = Backends.providers().stream().filter(p -> p.name().equals("opencl")).findFirst()
                .orElseThrow(() -> new IllegalStateException("no opencl provider on the class path"));
        for (String option : List.of("cpu", "")) {
            String device = option.isEmpty() ? "opencl" : "opencl:" + option;
            BackendProvider.Availability a = opencl.availability(option);
            if (a.available()) list.add(new Target(device, Backends.create(device), cpu));
            else absent.add(device + ": " + a.reason());
        }
        // The cuda provider reports "no CUDA driver" (not an error) where libcuda.so.1 is missing.
        BackendProvider cuda = Backends.providers().stream().filter(p -> p.name().equals("cuda")).findFirst()
                .orElse(null);
        if (cuda == null) missingCuda = "cuda: no cuda provider on the class path";
        else {
            // One target per path through the CUDA backend: libraries where found (cuBLAS, cuDNN), the
            // hand-written kernels only, and the kernels shared with OpenCL only (no CUDA-only fast paths).
            for (String option : CUDA_OPTIONS) {
                String device = option.isEmpty() ? "cuda" : "cuda:" + option;
                BackendProvider.Availability a = cuda.availability(option);
                if (a.available()) list.add(new Target(device, Backends.create(device), cpu));
                else if (missingCuda == null) missingCuda = device + ": " + a.reason();
            }
        }
        if (missingCuda != null) absent.add(missingCuda);
        targets = List.copyOf(list);
        missing = String.join("; ", absent);
        if (targets.isEmpty()) cpu.close();
        // Close when the whole test run ends (this JVM's test plan), not per class: opening costs seconds.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Target t : targets) t.device().close();
            if (!targets.isEmpty()) targets.getFirst().cpu().close();
        }));
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        List<Target> ts;
        synchronized (ConformanceBackends.class) {
            open();
            ts = targets;
        }
        if ("1".equals(System.getenv(REQUIRE_CUDA)) && missingCuda != null)
            Assertions.fail(REQUIRE_CUDA + "=1 but no CUDA device can run the conformance suite: " + missingCuda);
        if ("1".equals(System.getenv(REQUIRE)) && ts.stream().noneMatch(t -> t.name().startsWith("opencl")))
            Assertions.fail(REQUIRE + "=1 but no OpenCL device can run the conformance suite: " + missing);
        // Skip only where there is nothing to test: a developer machine without any OpenCL
        // or CUDA runtime. CI sets JMOCO_REQUIRE_OPENCL=1 (and the GPU script JMOCO_REQUIRE_CUDA=1), so there a
        // missing device fails above instead of reaching this line.
        if (ts.isEmpty()) Assumptions.abort("no device (" + missing + ")");
        liveBefore = live(ts);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (liveBefore == null) return;
        long[] after = live(targets);
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            Assertions.assertEquals(liveBefore[2 * i], after[2 * i], t.name() + ": device buffers left open");
            Assertions.assertEquals(liveBefore[2 * i + 1], after[2 * i + 1], t.name() + ": cpu buffers left open");
        }
        liveBefore = null;
    }

    private static long[] live(List<Target> ts) {
        long[] live = new long[2 * ts.size()];
        for (int i = 0; i < ts.size(); i++) {
            live[2 * i] = ts.get(i).device().poolStats().live();
            live[2 * i + 1] = ts.get(i).cpu().poolStats().live();
        }
        return live;
    }
}
