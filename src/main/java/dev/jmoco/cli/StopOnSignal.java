package dev.jmoco.cli;

import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Map;

/**
 * Ctrl-C (SIGINT) and SIGTERM while training: the first asks the trainer to stop after the step it is running,
 * with a mid-epoch checkpoint; a second stops at once (the last checkpoint written stays as it was: every
 * write is atomic). The JDK's shutdown hooks cannot do this: once the JVM shuts down it ignores a second
 * signal, and a hook cannot wait for a step to end without the risk of hanging the exit, so the handlers are
 * the JDK's {@code sun.misc.Signal} (module jdk.unsupported, kept for exactly this use).
 */
final class StopOnSignal implements AutoCloseable {
    private static final String[] SIGNALS = {"INT", "TERM"};

    private final Map<Signal, SignalHandler> previous = new HashMap<>();
    private volatile String received;

    /**
     * Installs the handlers: {@code stop} on the first signal, halting with the signal's exit code (128 + its
     * number, as a shell reports it) on the second, after one line on {@code err} that starts with
     * {@code who} ("rank 1 of 4: " in a data-parallel job, else empty).
     */
    StopOnSignal(Runnable stop, PrintWriter err, String who, String keptWhere) {
        for (String name : SIGNALS) {
            Signal signal = new Signal(name);
            previous.put(signal, Signal.handle(signal, s -> {
                if (received != null) {
                    err.println();
                    err.println("jmoco: " + who + "stopped at once; " + keptWhere);
                    err.flush();
                    Runtime.getRuntime().halt(exitCode(s));
                }
                received = s.getName();
                err.println();
                err.println("jmoco: " + who + "SIG" + s.getName() + ": stopping after this step with a checkpoint"
                        + (who.isEmpty() ? "" : " when every rank gets there (an MPI runtime sends it when a rank has "
                        + "ended; " + keptWhere + ")") + " (again to stop at once)");
                err.flush();
                stop.run();
            }));
        }
    }

    /** The exit code for the signal received (130 for SIGINT, 143 for SIGTERM), or 0 if none came. */
    int exitCode() { return received == null ? 0 : exitCode(new Signal(received)); }

    private static int exitCode(Signal s) { return 128 + s.getNumber(); }

    /** Puts the previous handlers back. */
    @Override
    public void close() { previous.forEach(Signal::handle); }
}
