package dev.jmoco.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a new JVM with this test JVM's class path and jmoco's JVM flags, for what one JVM
 * cannot show: which native library a fresh JVM loads, two processes on one run folder, a signal or a kill.
 * Output goes to a file (a full pipe would stall the child); {@link #start} leaves the process to the caller.
 */
public final class ChildJvm {
    private final List<String> jvmOptions = new ArrayList<>();
    private final Map<String, String> environment = new java.util.LinkedHashMap<>();
    private final List<String> wrapper = new ArrayList<>();
    private String classPath = System.getProperty("java.class.path");

    public ChildJvm option(String option) { jvmOptions.add(option); return this; }

    public ChildJvm env(String name, String value) { environment.put(name, value); return this; }

    /** The child's class path (default: this JVM's). */
    public ChildJvm classPath(String classPath) { this.classPath = classPath; return this; }

    /** A command that runs the JVM's command line (its arguments follow), e.g. to change its mount namespace. */
    public ChildJvm wrapper(String... command) { wrapper.addAll(List.of(command)); return this; }

    /** A finished child: its exit code and its stdout and stderr together. */
    public record Result(int code, String output) {}

    /** Starts {@code mainClass} with {@code args}; stdout and stderr go to {@code log}. */
    public Process start(Path log, String mainClass, String... args) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(wrapper);
        command.addAll(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", classPath));
        command.addAll(jvmOptions);
        command.add(mainClass);
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        // PoCL replaces the JVM's signal handlers; libjsig chains them, as the launcher does
        pb.environment().put("LD_PRELOAD", Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString());
        pb.environment().putAll(environment);
        return pb.start();
    }

    /** Runs {@code mainClass} to its end (killed after {@code timeoutSeconds}: then the code is -1). */
    public Result run(Path log, long timeoutSeconds, String mainClass, String... args)
            throws IOException, InterruptedException {
        Process p = start(log, mainClass, args);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            return new Result(-1, Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
