package dev.jmoco.cli;

import dev.jmoco.train.StepProfile;
import dev.jmoco.train.TrainConfig;
import dev.jmoco.train.Trainer;
import dev.jmoco.trace.MachinePeaks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code jmoco profile}: a few warm training steps of the configured run (the train command's model, data and
 * device options; nothing is written but the trace), one table of where a step's time goes against the
 * machine's measured roofline, and a Chrome trace of the last step.
 */
@Command(name = "profile", mixinStandardHelpOptions = true, modelTransformer = TrainOptions.class, sortOptions = false,
        description = {"Where a training step's time goes: per phase and op, calls, ms per step, share, GFLOP/s "
                + "and GB/s from counted work, and the fraction of the machine's measured roofline; the ops' sum "
                + "against the step time (the rest is overhead). Writes a Chrome trace of one step (ui.perfetto.dev).",
                "Takes the train command's model, data and device options."})
final class ProfileCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "5", description = "Steps measured (${DEFAULT-VALUE}).")
    int steps;
    @Option(names = "--warmup-steps", paramLabel = "N", defaultValue = "10",
            description = "Steps run before measuring (${DEFAULT-VALUE}): compiled code, filled pools.")
    int warmup;
    @Option(names = "--trace", paramLabel = "FILE", defaultValue = "profile-trace.json",
            description = "Chrome trace of the last measured step (${DEFAULT-VALUE}).")
    Path trace;

    @Override
    public Integer call() throws Exception {
        if (RankZeroOnly.skip("profile", spec.commandLine().getErr())) return 0;
        if (steps < 1 || warmup < 0)
            throw new IllegalArgumentException("--steps must be >= 1 and --warmup-steps >= 0, got " + steps + " and " + warmup);
        TrainOptions.requireDataDir(spec);
        TrainConfig.Builder b = TrainConfig.builder();
        TrainOptions.apply(spec, b);
        // no output folder, no kNN; enough epochs that the schedule barely moves over the measured steps
        TrainConfig config = b.outDir(null).knnEvery(0).epochs(1000).warmupEpochs(0).build();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try (Trainer trainer = Trainer.start(config)) {
            err.println("jmoco: measuring the machine's peaks, then " + warmup + " + " + steps + " steps...");
            err.flush();
            // the CPU backend computes on every processor (--workers is the loader's threads)
            MachinePeaks peaks = MachinePeaks.measure(Runtime.getRuntime().availableProcessors());
            StepProfile p = StepProfile.run(trainer, warmup, steps, trainer::synchronizeDevice, peaks);
            out.print(p.format("jmoco profile: " + trainer.architecture() + " on " + config.dataset() + ", batch "
                    + config.batch() + ", K " + config.queue() + ", device " + config.device() + " (" + trainer.deviceName()
                    + ")"));
            p.writeTrace(trace);
            out.println("trace of the last step: " + trace + " (open it in ui.perfetto.dev)");
            out.flush();
        }
        return 0;
    }
}
