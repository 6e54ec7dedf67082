package dev.jmoco.dist;

import java.util.Map;

/**
 * How this process was started, from the environment that MPI launchers set: Open MPI's mpirun
 * ({@code OMPI_COMM_WORLD_SIZE}, {@code OMPI_COMM_WORLD_LOCAL_RANK}), a PMIx launcher ({@code PMIX_RANK}),
 * Slurm's srun ({@code SLURM_NTASKS}, {@code SLURM_LOCALID}) or an MPICH-style one ({@code PMI_SIZE}). Rank and
 * size themselves are MPI's ({@code MPI_Comm_rank}, {@code MPI_Comm_size}); this only decides whether to start
 * MPI at all, and which GPU of its machine a rank takes.
 *
 * @param launcher  the variable that gave it away ("OMPI_COMM_WORLD_SIZE=2"), or null when started directly
 * @param ranks     the job's size as the launcher declared it, 0 when it does not say (PMIx), 1 when direct
 * @param rank      this process's rank as the launcher declared it (0 when direct or unsaid)
 * @param localRank the rank among the job's processes on this machine (0 when direct)
 */
public record Launch(String launcher, int ranks, int rank, int localRank) {

    /** This process's launch. */
    public static Launch current() { return of(System.getenv()); }

    /** The launch that {@code env} describes. */
    static Launch of(Map<String, String> env) {
        int local = firstInt(env, 0, "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "PMI_LOCAL_RANK");
        int rank = firstInt(env, 0, "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID");
        for (String name : new String[] {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
            if (env.containsKey(name))
                return new Launch(name + "=" + env.get(name), firstInt(env, 0, name), rank, local);
        if (env.containsKey("PMIX_RANK")) return new Launch("PMIX_RANK=" + env.get("PMIX_RANK"), 0, rank, local);
        return new Launch(null, 1, 0, 0);
    }

    /** Whether an MPI launcher started this process (even as a job of one rank). */
    public boolean byLauncher() { return launcher != null; }

    /**
     * The device this rank trains on: {@code device} with this rank's local rank as the CUDA ordinal when it
     * names CUDA without one ("cuda:tf32" becomes "cuda:1:tf32" on local rank 1), as PyTorch's
     * {@code torch.cuda.set_device(local_rank)}; any other device, or any device of a process started directly, as
     * given.
     */
    public String device(String device) {
        String[] words = device.split(":");
        if (!byLauncher() || !words[0].equals("cuda")) return device;
        for (int i = 1; i < words.length; i++) if (words[i].chars().allMatch(Character::isDigit)) return device;
        return "cuda:" + localRank + device.substring(4);
    }

    private static int firstInt(Map<String, String> env, int fallback, String... names) {
        for (String n : names) {
            String v = env.get(n);
            if (v == null) continue;
            try {
                return Integer.parseInt(v.trim());
            } catch (NumberFormatException e) {
                // a launcher's variable we cannot read: look at the next
            }
        }
        return fallback;
    }
}
