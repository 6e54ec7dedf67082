package dev.jmoco.cli;

import dev.jmoco.dist.Collective;
import dev.jmoco.dist.Collectives;
import dev.jmoco.train.EpochResult;
import dev.jmoco.train.TrainConfig;
import dev.jmoco.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code jmoco train}: a thin layer over {@link Trainer}. Every option is optional: a new run starts from
 * {@link TrainConfig}'s Fashion-MNIST defaults, a resumed one from the settings saved in its checkpoint, and
 * the options given on the command line replace those.
 *
 * <p>Under mpirun or srun it is one rank of a data-parallel job ({@link Collectives#open}): rank 0 shows the
 * progress and writes the files; an error on any rank is said on one line by that rank, which then ends the
 * whole job (MPI_Abort), so that no rank waits forever for it.
 */
@Command(name = "train", mixinStandardHelpOptions = true, modelTransformer = TrainOptions.class, sortOptions = false,
        description = {"Pre-train an encoder with MoCo (or the end-to-end / memory-bank baselines).",
                "Defaults: the Fashion-MNIST recipe for the small CNN (each option's default is in its help).",
                "Writes checkpoint.safetensors/.json (each epoch), metrics.csv, summary.json and curves.png to --out."})
final class TrainCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default runs/DATASET-ARCH; "
            + "with --resume: the resumed folder).")
    Path out;
    @Option(names = "--resume", paramLabel = "DIR", description = "Continue the run saved in DIR.")
    Path resume;
    @Option(names = "--overwrite", description = "Write into an output folder that holds a checkpoint or files "
            + "jmoco did not write (jmoco's files there are replaced, others kept).")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        if (resume == null) TrainOptions.requireDataDir(spec);
        TrainConfig.Builder b = resume != null ? Trainer.savedConfig(resume).toBuilder() : TrainConfig.builder();
        TrainOptions.apply(spec, b);
        TrainConfig probe = b.build();
        Path outDir = out != null ? out : resume != null ? resume : Path.of("runs", probe.dataset() + "-" + probe.arch());
        TrainConfig config = b.outDir(outDir).build();
        PrintWriter err = spec.commandLine().getErr(), stdout = spec.commandLine().getOut();
        Collective job = Collectives.open();
        int code;
        try {
            code = train(config, outDir, job, err, stdout);
        } catch (Exception | Error e) {
            if (!job.distributed()) throw e;
            err.println("jmoco: rank " + job.rank() + " of " + job.size() + ": " + Main.oneLine(e) + "; ending the job");
            err.flush();
            job.abort(1); // does not return: the MPI runtime ends every rank
            throw e;
        }
        job.close();
        return code;
    }

    private int train(TrainConfig config, Path outDir, Collective job, PrintWriter err, PrintWriter stdout)
            throws Exception {
        boolean leads = job.rank() == 0;
        String kept = "the last checkpoint in " + outDir + " is kept";
        try (Trainer trainer = resume != null ? Trainer.resume(config, resume, overwrite, job)
                : Trainer.start(config, overwrite, job);
             StopOnSignal signals = new StopOnSignal(trainer::requestStop, err, job.distributed()
                     ? "rank " + job.rank() + " of " + job.size() + ": " : "", kept)) {
            if (!leads) {
                trainer.train();
                return trainer.stopped() ? (signals.exitCode() != 0 ? signals.exitCode() : 130) : 0;
            }
            err.printf(Locale.ROOT, "jmoco: %s %s on %s (%s), %d images, %d steps/epoch, device %s, %sout %s%n",
                    resume != null ? "resuming at epoch " + (trainer.epochsDone() + 1) + ":" : "training",
                    trainer.abEncoder() == null ? trainer.architecture() : "Lab views (CMC): " + trainer.architecture()
                            + " on L and " + trainer.abEncoder().architecture() + " on ab",
                    config.dataset(), config.dataDir(), trainer.stepsPerEpoch() * config.batch(),
                    trainer.stepsPerEpoch(), config.device(), job.distributed() ? job.size() + " ranks over "
                            + job.name() + " (batch " + config.batch() / job.size() + " each), " : "", outDir);
            ProgressBar bar = new ProgressBar(err, config.epochs(), config.batch(), config.knnEvery() > 0);
            trainer.addListener(bar);
            EpochResult last;
            try {
                last = trainer.train();
            } finally {
                bar.endLine(); // an error or the stop message goes below the bar, not onto it
            }
            if (job.distributed())
                err.print("jmoco: collectives per step on rank 0 (" + trainer.collectiveName() + "):\n"
                        + trainer.collectiveTally().perStep(trainer.stepsThisSession()).indent(2));
            err.flush();
            if (trainer.stopped()) {
                err.printf(Locale.ROOT, "jmoco: stopped at epoch %d, step %d of the run: checkpoint written to %s; "
                        + "continue with: %sjmoco train --resume %s%n", trainer.epochsDone() + 1, trainer.globalStep(),
                        outDir.resolve("checkpoint.safetensors"), job.distributed() ? "mpirun -np " + job.size() + " " : "",
                        outDir);
                err.flush();
                return signals.exitCode() != 0 ? signals.exitCode() : 130;
            }
            if (last == null) {
                stdout.printf("nothing to do: %d of %d epochs are done in %s%n", trainer.epochsDone(), config.epochs(),
                        resume);
            } else {
                stdout.printf(Locale.ROOT, "done: %d epochs, loss %.4f, kNN accuracy %s, %.0f images/s, %.1f s; "
                                + "files in %s%n", last.epoch(), last.meanLoss(),
                        Double.isNaN(last.knnAccuracy()) ? "-" : String.format(Locale.ROOT, "%.4f", last.knnAccuracy()),
                        last.imagesPerSecond(), last.wallSeconds(), outDir);
            }
            stdout.flush();
        }
        return 0;
    }

}
