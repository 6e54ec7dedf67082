package dev.jmoco.dist;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.cuda.CudaBackend;
import dev.jmoco.backend.cuda.libraries.CudaLibraryUnavailable;
import dev.jmoco.backend.cuda.libraries.Nccl;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * Opens the collectives of this process's job: {@link #open} the job itself (a single process when started
 * directly, MPI when an MPI launcher started it), then {@link #onDevice} NCCL over the job's GPUs where the
 * backend is CUDA and every rank loads libnccl.so.2. A process that a launcher started as one of several ranks
 * never falls back to a single process: without Open MPI it stops with one line saying what is missing.
 */
public final class Collectives {
    private Collectives() {}

    /** What carries a distributed run's data ({@code --collective}). */
    public enum Transport {
        /** NCCL on a CUDA backend where every rank has it, else MPI on host memory. */
        AUTO,
        /** MPI on host memory, even on the CUDA backend (a device buffer is staged through the host). */
        MPI,
        /** NCCL, refused unless the backend is CUDA and every rank loads libnccl.so.2. */
        NCCL;

        /** The transport called {@code name} (auto, mpi, nccl). */
        public static Transport parse(String name) {
            try {
                return valueOf(name.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown collective '" + name + "' (auto, mpi, nccl)");
            }
        }
    }

    /**
     * The job this process is a rank of, as {@link Launch#current()} says; its owner closes it after the last
     * collective, or {@link Collective#abort}s it after a failure.
     *
     * @throws CollectiveUnavailable when a launcher started this process and Open MPI cannot be used, naming the
     *                               library and the launcher's variable
     */
    public static Collective open() {
        Launch launch = Launch.current();
        if (!launch.byLauncher()) return new SingleProcess();
        try {
            return MpiCollective.open();
        } catch (CollectiveUnavailable e) {
            throw new CollectiveUnavailable(e.getMessage() + ", but an MPI launcher started this process ("
                    + launch.launcher() + "): install Open MPI's library (Debian: libopenmpi3) on every machine; no "
                    + "single-process run in its place");
        }
    }

    /**
     * NCCL over {@code job}'s ranks for {@code backend}'s buffers, or null when {@code job}'s own collective is
     * to carry them: {@code transport} MPI, a backend other than CUDA, or (AUTO) a rank without libnccl.so.2,
     * said in one line on {@code notes} by rank 0. Every rank takes the same path.
     *
     * @throws CollectiveUnavailable when NCCL was asked for and cannot be used
     */
    public static Collective onDevice(Collective job, Backend backend, Transport transport, PrintStream notes) {
        if (transport == Transport.MPI || !job.distributed()) return null;
        if (!(backend instanceof CudaBackend cuda)) {
            if (transport == Transport.NCCL)
                throw new CollectiveUnavailable("NCCL asked for (--collective nccl), but the device is "
                        + backend.name() + ", not cuda");
            return null;
        }
        try {
            return NcclCollective.open(cuda, job); // every rank gets one, or every rank throws (same fallback)
        } catch (CudaLibraryUnavailable e) {
            if (transport == Transport.NCCL) throw new CollectiveUnavailable(e.getMessage());
            if (job.rank() == 0) notes.println("jmoco: " + e.getMessage() + ": collectives staged through host "
                    + "memory over " + job.name());
            return null;
        }
    }

    /**
     * What {@code jmoco devices} says of distributed runs: whether Open MPI and NCCL load here (with their
     * versions; neither needs MPI started or a GPU for that), and how this process was launched.
     */
    public static List<String> describe() {
        String mpi;
        try {
            mpi = "found (" + OpenMpi.load(OpenMpi.SONAMES).version() + ", " + String.join(", ", OpenMpi.SONAMES) + ")";
        } catch (CollectiveUnavailable e) {
            mpi = "not found (" + String.join(", ", OpenMpi.SONAMES) + "; Debian: openmpi-bin libopenmpi3)";
        }
        String nccl;
        try {
            nccl = "found (NCCL " + Nccl.versionOf() + ", " + String.join(", ", Nccl.SONAMES) + ")";
        } catch (CudaLibraryUnavailable e) {
            nccl = "not found (" + String.join(", ", Nccl.SONAMES) + "; NVIDIA's, also in PyTorch's CUDA wheels): "
                    + "collectives on CUDA are staged through host memory over MPI";
        }
        Launch launch = Launch.current();
        return List.of("distributed (mpirun -np N ./jmoco train ...):",
                "  MPI   " + mpi,
                "  NCCL  " + nccl,
                "  this process: " + (launch.byLauncher() ? "started by an MPI launcher (" + launch.launcher()
                        + ", local rank " + launch.localRank() + ")" : "started directly (one process)"));
    }
}
