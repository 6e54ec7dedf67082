package dev.jmoco.dist;

import dev.jmoco.backend.Buffer;

import java.util.List;

/** The collective of a job of one rank: nothing to communicate (a mean over one rank is the buffer itself). */
public final class SingleProcess implements Collective {
    private final CollectiveTally tally = new CollectiveTally();

    @Override public int rank() { return 0; }
    @Override public int size() { return 1; }
    @Override public String name() { return "one process"; }
    @Override public void allReduceMean(List<Buffer> buffers) {}

    @Override
    public void allGather(Buffer send, Buffer recv) {
        if (send.size() != recv.size())
            throw new IllegalArgumentException("all-gather: receive buffer of " + recv.size() + " floats for one rank's "
                    + send.size());
        send.backend().copy(send, recv);
    }

    @Override public void broadcast(Buffer buffer, int root) { checkRoot(root, 1); }
    @Override public byte[] broadcast(byte[] bytes, int root) { checkRoot(root, 1); return bytes.clone(); }
    @Override public double[] sum(double[] values) { return values.clone(); }
    @Override public void barrier() {}
    @Override public CollectiveTally tally() { return tally; }
    @Override public void abort(int exitCode) {}
    @Override public void close() {}

    /** Refuses a root that is not a rank of a job of {@code size}. */
    static void checkRoot(int root, int size) {
        if (root < 0 || root >= size)
            throw new IllegalArgumentException("broadcast: root " + root + " is not a rank of " + size);
    }
}
