package dev.jmoco.cli;

import dev.jmoco.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command line in a process that an MPI launcher says it started (its variables set by hand, so no MPI is
 * needed): without Open MPI's library, train stops with one line and never trains alone in its job's place;
 * the commands that are not data-parallel run on rank 0 only.
 */
class LaunchedCommandsTest {

    @Test
    void aLaunchedRankWithoutMpiStopsWithOneLineAndDoesNotTrain(@TempDir Path dir) throws Exception {
        ChildJvm.Result r = new ChildJvm().option("-Djmoco.mpi.library=libmpi-missing.so.40")
                .env("OMPI_COMM_WORLD_SIZE", "2").env("OMPI_COMM_WORLD_RANK", "0")
                .run(dir.resolve("log"), 60, Main.class.getName(), "train", "--device", "cpu", "--limit-train", "512",
                        "--batch", "64", "--epochs", "1", "--out", dir.resolve("run").toString());
        assertEquals(1, r.code(), r.output());
        String expected = "jmoco: MPI not used: libmpi-missing.so.40 (Open MPI) not found, but an MPI launcher started "
                + "this process (OMPI_COMM_WORLD_SIZE=2): install Open MPI's library (Debian: libopenmpi3) on every "
                + "machine; no single-process run in its place";
        assertTrue(r.output().lines().anyMatch(expected::equals), r.output());
        assertFalse(r.output().contains("jmoco: training"), "it trained alone: " + r.output());
    }

    @Test
    void evalRunsOnRankZeroOnly(@TempDir Path dir) throws Exception {
        ChildJvm.Result other = new ChildJvm().env("OMPI_COMM_WORLD_SIZE", "2").env("OMPI_COMM_WORLD_RANK", "1")
                .run(dir.resolve("rank1.log"), 60, Main.class.getName(), "eval", "linear", "--checkpoint",
                        dir.resolve("none").toString());
        assertEquals(0, other.code(), other.output());
        assertEquals("", other.output().lines().filter(l -> !l.startsWith("WARNING: Using incubator")).reduce("",
                String::concat), "rank 1 does nothing, quietly");
        ChildJvm.Result first = new ChildJvm().env("OMPI_COMM_WORLD_SIZE", "2").env("OMPI_COMM_WORLD_RANK", "0")
                .run(dir.resolve("rank0.log"), 60, Main.class.getName(), "eval", "linear", "--checkpoint",
                        dir.resolve("none").toString());
        assertTrue(first.output().contains("jmoco: eval runs on rank 0 only (OMPI_COMM_WORLD_SIZE=2)"), first.output());
        assertEquals(1, first.code(), "rank 0 runs it (and finds no checkpoint there): " + first.output());
    }
}
