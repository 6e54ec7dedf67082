package dev.jmoco.dist;

import dev.jmoco.testing.ChildJvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * A job of N ranks on this machine: {@code mpirun -np N} over child JVMs with this test JVM's class path, as
 * root where CI runs (Open MPI's allow-run-as-root variables). Tests of real MPI skip, saying why, without
 * Open MPI (a developer machine), and fail instead when JMOCO_REQUIRE_MPI=1 (CI installs it).
 */
final class MpiJob {
    private MpiJob() {}

    /** Skips (or fails, see the class comment) unless mpirun and libmpi.so.40 are installed. */
    static void requireMpi() {
        boolean mpirun = Files.isExecutable(Path.of("/usr/bin/mpirun")), library = MpiCollective.libraryFound();
        if (mpirun && library) return;
        String reason = "Open MPI not installed (" + (mpirun ? "" : "/usr/bin/mpirun missing; ")
                + (library ? "" : "libmpi.so.40 not found; ") + "Debian: openmpi-bin libopenmpi3)";
        if ("1".equals(System.getenv("JMOCO_REQUIRE_MPI"))) fail(reason + ", and JMOCO_REQUIRE_MPI=1");
        // Skipped where Open MPI is not installed (a developer machine); CI installs it and sets
        // JMOCO_REQUIRE_MPI=1, so there a missing one fails above.
        abort(reason);
    }

    /** {@code mpirun -np ranks} of {@code mainClass}, output to {@code log}. */
    static Process start(int ranks, Path log, String mainClass, String... args) throws IOException {
        requireMpi();
        return jvm(ranks).start(log, mainClass, args);
    }

    /** Runs {@code mpirun -np ranks} of {@code mainClass} to its end (killed after {@code timeoutSeconds}). */
    static ChildJvm.Result run(int ranks, Path log, long timeoutSeconds, String mainClass, String... args)
            throws IOException, InterruptedException {
        requireMpi();
        return jvm(ranks).run(log, timeoutSeconds, mainClass, args);
    }

    private static ChildJvm jvm(int ranks) {
        // -Xmx: the ranks share this machine; -quiet: Open MPI's banners only where something went wrong
        return new ChildJvm().wrapper("mpirun", "-np", Integer.toString(ranks), "--oversubscribe")
                .option("-Xmx1g")
                .env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    }
}
