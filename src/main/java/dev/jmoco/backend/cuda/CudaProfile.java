package dev.jmoco.backend.cuda;

import jcuda.CudaException;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * GPU time of every kernel launch and library call, from a pair of CUDA events recorded on the backend's stream
 * around it ({@code --device cuda:profile}): what nsys's kernel summary gives, without a profiler on the
 * machine. Nothing waits for the GPU while recording; the times are read when the report is asked for (or when
 * many spans are pending, to bound the events held). Events are reused. The recording adds about two event
 * records per launch, so profiled runs are a little slower than plain ones: compare shares, not totals.
 */
final class CudaProfile implements AutoCloseable {
    /** Spans read at once when this many are pending (two events each). */
    private static final int MAX_PENDING = 4096;

    private record Span(String name, CUevent start, CUevent end) {}

    private final CUstream stream;
    private final ArrayDeque<CUevent> spare = new ArrayDeque<>();
    private final List<Span> pending = new ArrayList<>();
    private final KernelTimes times = new KernelTimes();

    CudaProfile(CUstream stream) { this.stream = stream; }

    /** Runs {@code launch} (which queues work on the stream) between two events, under {@code name}. */
    void time(String name, Runnable launch) {
        CUevent start = event(), end = event();
        record(start);
        launch.run();
        record(end);
        pending.add(new Span(name, start, end));
        if (pending.size() >= MAX_PENDING) collect();
    }

    private CUevent event() {
        if (!spare.isEmpty()) return spare.pop();
        CUevent e = new CUevent();
        try {
            JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT);
        } catch (CudaException x) {
            throw CudaError.of("cuEventCreate", x);
        }
        return e;
    }

    private void record(CUevent e) {
        try {
            JCudaDriver.cuEventRecord(e, stream);
        } catch (CudaException x) {
            throw CudaError.of("cuEventRecord", x);
        }
    }

    /** Waits for the pending spans and adds their times. */
    private void collect() {
        if (pending.isEmpty()) return;
        float[] ms = new float[1];
        try {
            JCudaDriver.cuEventSynchronize(pending.getLast().end());
            for (Span s : pending) {
                JCudaDriver.cuEventElapsedTime(ms, s.start(), s.end());
                times.add(s.name(), ms[0]);
                spare.push(s.start());
                spare.push(s.end());
            }
        } catch (CudaException x) {
            throw CudaError.of("cuEventSynchronize / cuEventElapsedTime", x);
        }
        pending.clear();
    }

    /** The table of {@link KernelTimes#table} since the last {@link #reset}. */
    String report(String unit, long count) {
        collect();
        return times.table(unit, Math.max(1, count));
    }

    /** Forgets the times so far (e.g. those of set-up and warm-up). */
    void reset() {
        collect();
        times.clear();
    }

    /** Destroys the events (the stream has been synchronised by the backend). */
    @Override
    public void close() {
        for (Span s : pending) {
            spare.push(s.start());
            spare.push(s.end());
        }
        pending.clear();
        for (CUevent e : spare) JCudaDriver.cuEventDestroy(e);
        spare.clear();
    }
}
