package dev.jmoco.cli;

import dev.jmoco.dist.Launch;

import java.io.PrintWriter;

/**
 * The commands that are not data-parallel ({@code eval}, {@code embed}, {@code profile}) under mpirun or srun:
 * rank 0 runs them as one process would, the other ranks end at once (they would only repeat its work and write
 * the same files), so a job script may start every command the same way.
 */
final class RankZeroOnly {
    private RankZeroOnly() {}

    /**
     * Whether this process is a rank other than 0 of a launched job, and so should end now; rank 0 is told so
     * on one line on {@code err}.
     */
    static boolean skip(String command, PrintWriter err) {
        Launch launch = Launch.current();
        if (!launch.byLauncher() || launch.ranks() == 1) return false;
        if (launch.rank() != 0) return true;
        err.println("jmoco: " + command + " runs on rank 0 only (" + launch.launcher() + "); the other ranks end");
        err.flush();
        return false;
    }
}
