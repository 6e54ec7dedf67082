package dev.jmoco.backend.cpu;

import dev.jmoco.trace.Trace;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Where oneDNN's operands live: activations stay off-heap in the layout a primitive chose (nChw8c on AVX2,
 * nChw16c on AVX-512), from one primitive to the next, and reach the heap only when a Java kernel reads them.
 * <p>
 * Why: oneDNN memory keeps a data pointer from call to call, and a heap array has no fixed address (the
 * foreign function API lends native code a heap array only for one call), so an operand on the heap is copied
 * off-heap, then reordered to the blocked layout, and the result reordered back and copied back: measured by
 * {@code jmoco profile} (small CNN, batch 256, 2-core AMD EPYC, AVX2), 125 of a 508 ms step went to that
 * staging around the convolutions alone. With conv, batch norm and ReLU all on oneDNN, a conv's output is the
 * next batch norm's input as it is, and so on down the stack; what is left is staging at the edges (the
 * images in, the last feature map out to the Java pooling and heads).
 * <p>
 * The rules, for a primitive's operand in layout L ({@link CpuDnnlLayout}):
 * <ul>
 *   <li>input: a root buffer's resident copy in L is used as is; else its contents are staged (copied off the
 *       heap, reordered to L) and, for a root with none yet, kept as its resident copy, so that a second
 *       primitive reading it (the backward filter pass reads the forward's input) does not stage it again;</li>
 *   <li>output: a root buffer the primitive overwrites (or adds into while it is still zero, see
 *       {@link CpuBuffer#markZero}) gets a new resident copy in L, its array now stale; one it adds into whose
 *       resident copy is in L gets the result added there (a binary add, off-heap: a gradient with two
 *       consumers, as ResNet's block inputs); otherwise the result goes to a temporary block and is
 *       reordered, then copied or added into the array.</li>
 * </ul>
 * Temporaries and resident copies come from a {@link CpuNativePool}. Every method runs under the backend's
 * state lock (this object, see {@link CpuBackend#stateLock}): the stream, pool and caches are shared.
 */
final class CpuDnnlTensors implements AutoCloseable {
    /** Trace slices of the staging (category staging: a profile reports them as rows of their own). */
    static final String TO_ONEDNN = "staging: heap to oneDNN", TO_HEAP = "staging: oneDNN to heap",
            REORDER = "staging: oneDNN reorder";

    final CpuDnnl dnnl;
    final int threads;
    final MemorySegment stream;
    private final CpuDnnlStaging copies;
    private final CpuNativePool pool = new CpuNativePool();
    private final Arena arena = Arena.ofShared();
    private final Map<String, CpuDnnlLayout> named = new HashMap<>();
    private final List<CpuDnnlLayout> unnamed = new ArrayList<>();
    private final Map<List<CpuDnnlLayout>, MemorySegment[]> reorders = new HashMap<>();
    /** Binary add primitives per layout: primitive, memories a, b, dst, args. */
    private final Map<CpuDnnlLayout, MemorySegment[]> adds = new HashMap<>();
    private final List<MemorySegment> temporaries = new ArrayList<>();
    private boolean closed;

    CpuDnnlTensors(CpuDnnl dnnl, Parallel parallel) {
        this.dnnl = dnnl;
        this.threads = parallel.threads();
        this.copies = new CpuDnnlStaging(parallel);
        this.stream = dnnl.createStream();
    }

    // ---- layouts ------------------------------------------------------------------------------------

    /** The layout of {@code dims} with format tag {@code tag} (e.g. {@link CpuDnnl#TAG_NCHW}). */
    synchronized CpuDnnlLayout layout(long[] dims, int tag) {
        String key = tag + ":" + dims[0] + "x" + dims[1] + "x" + dims[2] + "x" + dims[3];
        CpuDnnlLayout l = named.get(key);
        if (l != null) return l;
        MemorySegment md = dnnl.memoryDesc(arena, tag, dims);
        CpuDnnlLayout plain = tag == CpuDnnl.TAG_NCHW ? null : layout(dims, CpuDnnl.TAG_NCHW);
        l = new CpuDnnlLayout(dims, tag, md, dnnl.size(md), plain);
        named.put(key, l);
        return l;
    }

    /** The layout of memory descriptor {@code md} (of {@code dims}), which a primitive descriptor chose. */
    synchronized CpuDnnlLayout layoutOf(MemorySegment md, long[] dims) {
        for (int tag : new int[]{CpuDnnl.TAG_NCHW, CpuDnnl.TAG_NCHW8C, CpuDnnl.TAG_NCHW16C}) {
            CpuDnnlLayout l = layout(dims, tag);
            if (dnnl.equal(md, l.md)) return l;
        }
        for (CpuDnnlLayout l : unnamed) if (dnnl.equal(md, l.md)) return l;
        // A copy: the primitive descriptor that owns md may go before this layout does.
        MemorySegment own = arena.allocate(CpuDnnl.MEMORY_DESC_BYTES, 64);
        own.copyFrom(md.reinterpret(CpuDnnl.MEMORY_DESC_STRUCT_BYTES));
        CpuDnnlLayout l = new CpuDnnlLayout(dims, CpuDnnlLayout.UNNAMED, own, dnnl.size(own),
                layout(dims, CpuDnnl.TAG_NCHW));
        unnamed.add(l);
        return l;
    }

    // ---- operands -------------------------------------------------------------------------------------

    /** What {@link #finish} does with a primitive's output. */
    enum Finish {
        /** the data becomes the buffer's resident copy */
        RESIDENT,
        /** the data is added into the buffer's resident copy (same layout), off-heap */
        ADD_RESIDENT,
        /** the data is reordered and copied into the array */
        COPY_TO_HEAP,
        /** the data is reordered and added into the array */
        ADD_TO_HEAP
    }

    /** A primitive's output: where it writes, and what {@link #finish} does with it. */
    record Output(CpuBuffer buffer, CpuDnnlLayout layout, MemorySegment data, Finish finish) {}

    /** {@code b}'s contents in layout {@code want}, off-heap (see the class comment). */
    synchronized MemorySegment input(CpuBuffer b, CpuDnnlLayout want) {
        CpuBuffer.Resident r = b.resident();
        if (b.isRoot() && r != null) {
            if (r.layout() == want) return r.data();
            MemorySegment dst = temporary(want.bytes);
            try (Trace.Scope ignored = Trace.scope(REORDER, "staging")) {
                reorder(r.layout(), r.data(), want, dst);
            }
            return dst;
        }
        b.forRead();
        boolean keep = b.isRoot();
        MemorySegment dst = keep ? pool.acquire(want.bytes) : temporary(want.bytes);
        try (Trace.Scope ignored = Trace.scope(TO_ONEDNN, "staging")) {
            if (want.isPlain()) copies.copyIn(b.array, b.offset, (int) b.size(), dst);
            else {
                MemorySegment plain = temporary(want.plain.bytes);
                copies.copyIn(b.array, b.offset, (int) b.size(), plain);
                reorder(want.plain, plain, want, dst);
            }
        }
        if (keep) b.setResident(new CpuBuffer.Resident(dst, want), true);
        return dst;
    }

    /** Where a primitive writes output {@code b} in layout {@code l}: b = result, or b += result (accumulate). */
    synchronized Output output(CpuBuffer b, CpuDnnlLayout l, boolean accumulate) {
        if (b.isRoot() && (!accumulate || b.isZero())) return new Output(b, l, pool.acquire(l.bytes), Finish.RESIDENT);
        CpuBuffer.Resident r = b.isRoot() ? b.resident() : null;
        Finish f = !accumulate ? Finish.COPY_TO_HEAP
                : r != null && r.layout() == l ? Finish.ADD_RESIDENT : Finish.ADD_TO_HEAP;
        return new Output(b, l, temporary(l.bytes), f);
    }

    /** After the primitive ran: the output becomes its buffer's resident copy, or reaches its array. */
    synchronized void finish(Output o) {
        switch (o.finish()) {
            case RESIDENT -> {
                o.buffer().setResident(new CpuBuffer.Resident(o.data(), o.layout()), false);
                return;
            }
            case ADD_RESIDENT -> {
                CpuBuffer.Resident r = o.buffer().resident();
                add(o.layout(), r.data(), o.data(), r.data());
                o.buffer().setResident(r, false);
                return;
            }
            default -> { } // to the heap, below
        }
        try (Trace.Scope ignored = Trace.scope(TO_HEAP, "staging")) {
            MemorySegment plain = o.layout().isPlain() ? o.data() : temporary(o.layout().plain.bytes);
            if (!o.layout().isPlain()) reorder(o.layout(), o.data(), o.layout().plain, plain);
            CpuBuffer b = o.buffer();
            b.forWrite();
            if (o.finish() == Finish.ADD_TO_HEAP) copies.addOut(plain, b.array, b.offset, (int) b.size());
            else copies.copyOut(plain, b.array, b.offset, (int) b.size());
        }
    }

    /** Copies root {@code b}'s resident contents {@code r} into its array (CpuBuffer's forRead). */
    synchronized void toHeap(CpuBuffer b, CpuBuffer.Resident r) {
        try (Trace.Scope ignored = Trace.scope(TO_HEAP, "staging")) {
            if (r.layout().isPlain()) {
                copies.copyOut(r.data(), b.array, b.offset, (int) b.size());
                return;
            }
            MemorySegment plain = pool.acquire(r.layout().plain.bytes);
            try {
                reorder(r.layout(), r.data(), r.layout().plain, plain);
                copies.copyOut(plain, b.array, b.offset, (int) b.size());
            } finally {
                pool.release(plain);
            }
        }
    }

    /** A block for the length of the current call (released by {@link #endCall}). */
    synchronized MemorySegment temporary(long bytes) {
        MemorySegment s = pool.acquire(bytes);
        temporaries.add(s);
        return s;
    }

    /** Returns the current call's temporaries. */
    synchronized void endCall() {
        for (MemorySegment s : temporaries) pool.release(s);
        temporaries.clear();
    }

    /** Returns a resident copy's block (its buffer dropped or replaced it). */
    synchronized void release(MemorySegment block) { pool.release(block); }

    /** Off-heap bytes handed out and not yet returned; for tests (no leak across steps). */
    synchronized long liveBytes() { return pool.liveBytes(); }

    // ---- primitives ---------------------------------------------------------------------------------

    /** dst = a + b, all three in layout {@code l} (dst may be a: in place), by a binary primitive made once per layout. */
    void add(CpuDnnlLayout l, MemorySegment a, MemorySegment b, MemorySegment dst) {
        MemorySegment[] p = adds.computeIfAbsent(l, this::newAdd);
        bind(p[1], a);
        bind(p[2], b);
        bind(p[3], dst);
        execute("binary add", p[0], p[4], 3);
    }

    /** dst = src, both in layout {@code l} (a copy by oneDNN's reorder, over its threads). */
    void copy(CpuDnnlLayout l, MemorySegment src, MemorySegment dst) { reorder(l, src, l, dst); }

    private MemorySegment[] newAdd(CpuDnnlLayout l) {
        MemorySegment op = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
        try {
            CpuDnnl.check("dnnl_binary_desc_init", (int) dnnl.binaryDescInit.invokeExact(op, CpuDnnl.BINARY_ADD,
                    l.md, l.md, l.md));
        } catch (Throwable t) {
            throw CpuDnnl.rethrow(t);
        }
        MemorySegment pd = primitiveDesc(op, MemorySegment.NULL);
        try {
            MemorySegment primitive = dnnl.createPrimitive(pd);
            MemorySegment a = dnnl.createMemory(l.md), b = dnnl.createMemory(l.md), dst = dnnl.createMemory(l.md);
            return new MemorySegment[]{primitive, a, b, dst,
                    args(CpuDnnl.ARG_SRC, a, CpuDnnl.ARG_SRC_1, b, CpuDnnl.ARG_DST, dst)};
        } finally {
            CpuDnnl.destroy(dnnl.primitiveDescDestroy, pd);
        }
    }

    /** dst (in {@code to}) = src (in {@code from}), by a reorder primitive made once per pair. */
    private void reorder(CpuDnnlLayout from, MemorySegment src, CpuDnnlLayout to, MemorySegment dst) {
        MemorySegment[] r = reorders.computeIfAbsent(List.of(from, to), k -> newReorder(from, to));
        bind(r[1], src);
        bind(r[2], dst);
        execute("reorder", r[0], r[3], 2);
    }

    private MemorySegment[] newReorder(CpuDnnlLayout from, CpuDnnlLayout to) {
        MemorySegment pd;
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(ADDRESS);
            dnnl.setThreads(threads);
            CpuDnnl.check("dnnl_reorder_primitive_desc_create", (int) dnnl.reorderPrimitiveDescCreate
                    .invokeExact(out, from.md, dnnl.engine(), to.md, dnnl.engine(), MemorySegment.NULL));
            pd = out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CpuDnnl.rethrow(t);
        }
        try {
            MemorySegment primitive = dnnl.createPrimitive(pd);
            MemorySegment src = dnnl.createMemory(from.md), dst = dnnl.createMemory(to.md);
            return new MemorySegment[]{primitive, src, dst, args(CpuDnnl.ARG_SRC, src, CpuDnnl.ARG_DST, dst)};
        } finally {
            CpuDnnl.destroy(dnnl.primitiveDescDestroy, pd);
        }
    }

    /** A memory object for {@code l} without storage (see {@link #bind}). */
    synchronized MemorySegment memory(CpuDnnlLayout l) { return dnnl.createMemory(l.md); }

    /** Points memory object {@code memory} at {@code data}. */
    void bind(MemorySegment memory, MemorySegment data) {
        try {
            CpuDnnl.check("dnnl_memory_set_data_handle", (int) dnnl.memorySetDataHandle.invokeExact(memory, data));
        } catch (Throwable t) {
            throw CpuDnnl.rethrow(t);
        }
    }

    /** Runs {@code primitive} with {@code n} arguments {@code args} and waits for it. */
    void execute(String what, MemorySegment primitive, MemorySegment args, int n) {
        if (closed) throw new IllegalStateException("cpu: oneDNN " + what + " on a closed backend");
        try {
            dnnl.setThreads(threads);
            CpuDnnl.check("dnnl_primitive_execute(" + what + ")",
                    (int) dnnl.primitiveExecute.invokeExact(primitive, stream, n, args));
            CpuDnnl.check("dnnl_stream_wait", (int) dnnl.streamWait.invokeExact(stream));
        } catch (Throwable t) {
            throw CpuDnnl.rethrow(t);
        }
    }

    /** The primitive descriptor of op descriptor {@code op} (hint: the forward one, for backward passes). */
    MemorySegment primitiveDesc(MemorySegment op, MemorySegment hint) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(ADDRESS);
            dnnl.setThreads(threads); // oneDNN sizes its work split by the thread count it sees now
            CpuDnnl.check("dnnl_primitive_desc_create", (int) dnnl.primitiveDescCreate.invokeExact(out, op,
                    MemorySegment.NULL, dnnl.engine(), hint));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CpuDnnl.rethrow(t);
        }
    }

    /** dnnl_exec_arg_t[] {arg, memory}... (16 bytes each), kept until close. */
    synchronized MemorySegment args(Object... argAndMemory) {
        int n = argAndMemory.length / 2;
        MemorySegment a = arena.allocate(16L * n, 8);
        for (int i = 0; i < n; i++) {
            a.set(JAVA_INT, 16L * i, (Integer) argAndMemory[2 * i]);
            a.set(ADDRESS, 16L * i + 8, (MemorySegment) argAndMemory[2 * i + 1]);
        }
        return a;
    }

    boolean closed() { return closed; }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (MemorySegment[] r : reorders.values()) {
            CpuDnnl.destroy(dnnl.primitiveDestroy, r[0]);
            CpuDnnl.destroy(dnnl.memoryDestroy, r[1]);
            CpuDnnl.destroy(dnnl.memoryDestroy, r[2]);
        }
        reorders.clear();
        for (MemorySegment[] p : adds.values()) {
            CpuDnnl.destroy(dnnl.primitiveDestroy, p[0]);
            for (int i = 1; i <= 3; i++) CpuDnnl.destroy(dnnl.memoryDestroy, p[i]);
        }
        adds.clear();
        CpuDnnl.destroy(dnnl.streamDestroy, stream);
        pool.close();
        arena.close();
    }
}
