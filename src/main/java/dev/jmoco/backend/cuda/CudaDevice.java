package dev.jmoco.backend.cuda;

/** One CUDA device as the driver reports it. */
public record CudaDevice(int ordinal, String name, int major, int minor, long totalMemBytes, int multiprocessors) {

    /** One line: "cuda:0 NVIDIA H100, compute 9.0, 79.1 GiB, 132 SMs". */
    public String describe() {
        return String.format("cuda:%d %s, compute %d.%d, %.1f GiB, %d SMs", ordinal, name, major, minor,
                totalMemBytes / (double) (1L << 30), multiprocessors);
    }
}
