package dev.jmoco.dist;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How a launch is read from the environment each launcher sets, and which GPU a rank takes. */
class LaunchTest {

    @Test
    void aProcessStartedDirectlyIsOneRank() {
        Launch l = Launch.of(Map.of("PATH", "/usr/bin"));
        assertFalse(l.byLauncher());
        assertEquals(1, l.ranks());
        assertEquals("cuda", l.device("cuda"));
    }

    @Test
    void mpirunSlurmAndPmixAreRecognised() {
        Launch ompi = Launch.of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_RANK", "3",
                "OMPI_COMM_WORLD_LOCAL_RANK", "3"));
        assertTrue(ompi.byLauncher());
        assertEquals(4, ompi.ranks());
        assertEquals(3, ompi.rank());
        assertEquals(3, ompi.localRank());
        assertEquals("OMPI_COMM_WORLD_SIZE=4", ompi.launcher());
        Launch slurm = Launch.of(Map.of("SLURM_NTASKS", "16", "SLURM_PROCID", "13", "SLURM_LOCALID", "5"));
        assertEquals(16, slurm.ranks());
        assertEquals(13, slurm.rank());
        assertEquals(5, slurm.localRank());
        Launch pmix = Launch.of(Map.of("PMIX_RANK", "2"));
        assertTrue(pmix.byLauncher());
        assertEquals(0, pmix.ranks(), "PMIx alone does not say the size: MPI does");
        assertEquals(2, pmix.rank());
    }

    @Test
    void eachRankTakesTheGpuOfItsLocalRankUnlessOneIsNamed() {
        Launch l = Launch.of(Map.of("OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_RANK", "1"));
        assertEquals("cuda:1", l.device("cuda"));
        assertEquals("cuda:1:tf32", l.device("cuda:tf32"));
        assertEquals("cuda:0:kernels", l.device("cuda:0:kernels"), "an ordinal given is kept");
        assertEquals("cpu", l.device("cpu"));
        assertEquals("opencl:cpu", l.device("opencl:cpu"));
    }

    @Test
    void aLauncherVariableThatIsNotANumberIsPassedOver() {
        Launch l = Launch.of(Map.of("OMPI_COMM_WORLD_SIZE", "two", "OMPI_COMM_WORLD_LOCAL_RANK", "x", "SLURM_LOCALID", "2"));
        assertTrue(l.byLauncher());
        assertEquals(0, l.ranks());
        assertEquals(2, l.localRank());
    }
}
