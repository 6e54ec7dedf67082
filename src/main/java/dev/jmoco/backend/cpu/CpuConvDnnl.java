package dev.jmoco.backend.cpu;

import dev.jmoco.backend.ConvShape;
import dev.jmoco.trace.Trace;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Convolution forward and both backward passes on oneDNN (see Backend#conv2d for the contract). Per shape and
 * pass a {@link Plan} is made on first use and kept: the primitive, a memory object per operand in jmoco's
 * NCHW / KCRS layout and, where oneDNN's chosen layout differs, one in its layout with the reorder between
 * them. Operands are staged through {@link CpuDnnlStaging}; the forward output is copied out over y, the
 * backward outputs are added into dx and dw on the way out (oneDNN 2.6.3 refuses a sum post-op on backward
 * convolutions with dnnl_unimplemented), so accumulation costs no extra pass.
 * <p>
 * Why blocked layouts (format "any", oneDNN's choice, e.g. nChw8c on AVX2) by default: with NCHW as is,
 * oneDNN 2.6 falls back to its im2col + GEMM implementation ("gemm:jit"), no faster than jmoco's own. Measured
 * on a shared 2-core AVX2 machine (3x3, n64 c64 32x32 k64, best of 10-12 rounds interleaved, staging
 * included; forward / data / filter): blocked 43-46 / 42-45 / 58-64 ms, plain 63 / 73 / 90 ms, Java (OpenBLAS
 * GEMM) 51-54 / 50-53 / 47-53 ms. Staging costs about 0.5 ns per float each way (a copy of x's 4M floats 1.9-2.3
 * ms, oneDNN's reorder of it 2.5 ms), which is why convolutions of little arithmetic per byte (1x1 at stride
 * 2: 9-13 ms against Java's 5-6) ran slower here than the Java kernels.
 * <p>
 * Inputs reach the blocked layouts by a plain copy and oneDNN's reorder. The alternative, a one-pass gather
 * from the heap straight into nChw8c / nChw16c ({@link CpuDnnlBlockedCopy}, system property
 * {@code jmoco.cpu.dnnl.gather=true}), won on 4M floats timed alone, but lost inside a training step, where
 * the activations come from memory rather than cache. Measured by {@code jmoco profile --steps 10}'s
 * "conv2d staging in" rows (small CNN, batch 256) on a 2-core AMD EPYC (AVX2), four runs interleaved, copy +
 * reorder / gather ({@code JMOCO_JAVA_OPTS=-Djmoco.cpu.dnnl.gather=true}): staging in 96 / 137 and 87 / 131 ms
 * per step, step 566 / 588 and 546 / 561 ms. Timed call by call, only the 256x32x28x28 forward input was
 * faster gathered (7.1 against 8.6 ms); the 256x64x14x14 one took 11.2 against 5.4.
 * <p>
 * oneDNN runs on its own OpenMP threads, started from the calling thread, with the backend's thread count
 * (see {@link CpuDnnl#setThreads}); jmoco's pool only runs the staging copies, before and after, never at the
 * same time. A shape oneDNN refuses runs on the Java kernels ({@link #forward} and the others return false;
 * one line on stderr). Calls are serialised: the staging slots and stream are shared by all shapes.
 */
final class CpuConvDnnl implements AutoCloseable {
    /**
     * Whether oneDNN picks its own (blocked) layouts, reordered from and to jmoco's, or works on NCHW as is.
     * Blocked is the default: see the class comment.
     */
    enum Layout {
        BLOCKED, PLAIN;

        /** From the system property {@code jmoco.cpu.dnnl.layout} (blocked or plain; default blocked). */
        static Layout fromProperty() {
            String v = System.getProperty("jmoco.cpu.dnnl.layout", "blocked");
            return switch (v.toLowerCase(Locale.ROOT)) {
                case "blocked" -> BLOCKED;
                case "plain" -> PLAIN;
                default -> throw new IllegalArgumentException("jmoco.cpu.dnnl.layout must be blocked or plain, got " + v);
            };
        }
    }

    private enum Pass {
        FORWARD("forward"), BACKWARD_DATA("backward data"), BACKWARD_FILTER("backward filter");
        final String text;
        Pass(String text) { this.text = text; }
    }

    private record Key(ConvShape shape, Pass pass) {}

    private final CpuDnnl dnnl;
    private final int threads;
    private final Layout layout;
    private final CpuDnnlStaging staging;
    private final MemorySegment stream;
    /** Plans made so far; null for a shape and pass that oneDNN refused. */
    private final Map<Key, Plan> plans = new HashMap<>();
    /** Forward primitive descriptors, the hints of the backward ones (which keep a pointer to them). */
    private final Map<ConvShape, MemorySegment> hints = new HashMap<>();
    private boolean closed;

    /**
     * Convolutions in {@code layout}; inputs gathered straight into blocked layouts only when the system property
     * {@code jmoco.cpu.dnnl.gather} is true and the Vector API module is present (see the class comment).
     */
    CpuConvDnnl(CpuDnnl dnnl, Parallel parallel, Layout layout) {
        this(dnnl, parallel, layout, Boolean.getBoolean("jmoco.cpu.dnnl.gather")
                && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent());
    }

    /** {@code gather} false: inputs always reach oneDNN's blocked layouts through a copy and its reorder. */
    CpuConvDnnl(CpuDnnl dnnl, Parallel parallel, Layout layout, boolean gather) {
        this.dnnl = dnnl;
        this.threads = parallel.threads();
        this.layout = layout;
        this.staging = new CpuDnnlStaging(parallel, 6, gather);
        this.stream = dnnl.createStream();
    }

    /** "oneDNN 2.6.3, OpenMP, blocked layouts". */
    String description() { return dnnl.version() + ", " + layout.name().toLowerCase(Locale.ROOT) + " layouts"; }

    /** y = conv(x, w); false when oneDNN refused the shape and nothing was written. */
    synchronized boolean forward(ConvShape s, CpuBuffer x, CpuBuffer w, CpuBuffer y) {
        Plan p = plan(s, Pass.FORWARD);
        if (p == null) return false;
        p.run(x, w, y, false);
        return true;
    }

    /** dx += conv^T(dy, w); false when oneDNN refused the shape and nothing was written. */
    synchronized boolean backwardData(ConvShape s, CpuBuffer dy, CpuBuffer w, CpuBuffer dx) {
        Plan p = plan(s, Pass.BACKWARD_DATA);
        if (p == null) return false;
        p.run(dy, w, dx, true);
        return true;
    }

    /** dw += the filter gradient of (x, dy); false when oneDNN refused the shape and nothing was written. */
    synchronized boolean backwardFilter(ConvShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer dw) {
        Plan p = plan(s, Pass.BACKWARD_FILTER);
        if (p == null) return false;
        p.run(x, dy, dw, true);
        return true;
    }

    /** oneDNN's implementation of a pass, e.g. "jit:avx2" ("refused" when it runs in Java); for tests and reports. */
    synchronized String implementation(ConvShape s, String pass) {
        Plan p = plan(s, Pass.valueOf(pass));
        return p == null ? "refused" : p.implementation;
    }

    /** How many of a pass's two inputs are staged straight into oneDNN's blocked layout; for tests. */
    synchronized int directInputs(ConvShape s, String pass) {
        Plan p = plan(s, Pass.valueOf(pass));
        return p == null ? 0 : (p.in0.block > 0 ? 1 : 0) + (p.in1.block > 0 ? 1 : 0);
    }

    private Plan plan(ConvShape s, Pass pass) {
        // Past close the stream and primitives are gone: running one would be a native crash, not an exception.
        if (closed) throw new IllegalStateException("cpu: conv2d " + pass.text + " on a closed backend");
        Key key = new Key(s, pass);
        if (plans.containsKey(key)) return plans.get(key);
        Plan p;
        try {
            p = new Plan(s, pass);
        } catch (CpuDnnl.DnnlException e) {
            System.err.println("jmoco: cpu: oneDNN refused conv2d " + pass.text + " for " + s + " (" + e.getMessage()
                    + "); it runs on the Java kernels");
            p = null;
        }
        plans.put(key, p);
        return p;
    }

    /** The forward primitive descriptor of {@code s}: the forward plan's, and the backward plans' hint. */
    private MemorySegment forwardDescriptor(ConvShape s, Arena arena) throws Throwable {
        MemorySegment pd = hints.get(s);
        if (pd != null) return pd;
        Descriptors d = new Descriptors(s, arena);
        MemorySegment op = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
        CpuDnnl.check("dnnl_convolution_forward_desc_init", (int) dnnl.convForwardDescInit.invokeExact(op,
                CpuDnnl.FORWARD_TRAINING, CpuDnnl.CONVOLUTION_DIRECT, d.x, d.w, MemorySegment.NULL, d.y,
                d.strides, d.padding, d.padding));
        pd = createPrimitiveDesc(op, MemorySegment.NULL);
        hints.put(s, pd);
        return pd;
    }

    private MemorySegment createPrimitiveDesc(MemorySegment op, MemorySegment hint) throws Throwable {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(ADDRESS);
            dnnl.setThreads(threads); // oneDNN sizes its work split by the thread count it sees now
            CpuDnnl.check("dnnl_primitive_desc_create", (int) dnnl.primitiveDescCreate.invokeExact(out, op,
                    MemorySegment.NULL, dnnl.engine(), hint));
            return out.get(ADDRESS, 0);
        }
    }

    /** Memory descriptors of x, w, y in the layout asked for, and the stride and padding arrays. */
    private final class Descriptors {
        final MemorySegment x, w, y, strides, padding;
        /** The same in jmoco's layouts: what the operands are staged in. */
        final MemorySegment userX, userW, userY;

        Descriptors(ConvShape s, Arena arena) throws Throwable {
            userX = md(arena, CpuDnnl.TAG_NCHW, s.n(), s.c(), s.h(), s.w());
            userW = md(arena, CpuDnnl.TAG_OIHW, s.k(), s.c(), s.r(), s.s());
            userY = md(arena, CpuDnnl.TAG_NCHW, s.n(), s.k(), s.p(), s.q());
            if (layout == Layout.PLAIN) {
                x = userX; w = userW; y = userY;
            } else {
                x = md(arena, CpuDnnl.TAG_ANY, s.n(), s.c(), s.h(), s.w());
                w = md(arena, CpuDnnl.TAG_ANY, s.k(), s.c(), s.r(), s.s());
                y = md(arena, CpuDnnl.TAG_ANY, s.n(), s.k(), s.p(), s.q());
            }
            strides = arena.allocateFrom(JAVA_LONG, s.stride(), s.stride());
            padding = arena.allocateFrom(JAVA_LONG, s.pad(), s.pad()); // left and right alike: ConvShape is symmetric
        }

        private MemorySegment md(Arena arena, int tag, long... dims) throws Throwable {
            MemorySegment md = arena.allocate(CpuDnnl.MEMORY_DESC_BYTES, 64);
            CpuDnnl.check("dnnl_memory_desc_init_by_tag", (int) dnnl.memoryDescInitByTag.invokeExact(md, 4,
                    arena.allocateFrom(JAVA_LONG, dims), CpuDnnl.F32, tag));
            return md;
        }
    }

    /**
     * One operand of a pass: its memory object in jmoco's layout (over staging slot {@code slot}) and, when
     * oneDNN works in another layout, its memory object in that one (over slot {@code slot + 3}) and the reorder
     * between them (user to oneDNN for inputs, back for the output). An input activation whose layout is
     * nChw8c or nChw16c is instead copied straight into it ({@link CpuDnnlStaging#copyInBlocked}): then
     * {@link #block} is B and there is one memory object, in oneDNN's layout.
     */
    private final class Operand {
        final int slot;
        final long userBytes, innerBytes;
        final MemorySegment user, inner, reorder, reorderArgs;
        /** B when staged straight into nChw{B}c, else 0; then the gather offsets of a full and of the last block. */
        final int block;
        final int[] index, tailIndex;
        private final long[] dims;

        /** {@code dims}: n, c, h, w of an activation, or null for the filter. */
        Operand(int slot, MemorySegment userMd, MemorySegment innerMd, boolean output, long[] dims, Arena arena)
                throws Throwable {
            this.slot = slot;
            this.dims = dims;
            int b = output || dims == null ? 0 : directBlock(innerMd, dims, arena);
            block = b;
            int hw = dims == null ? 0 : (int) (dims[2] * dims[3]);
            index = b == 0 ? null : CpuDnnlStaging.blockIndex(b, b, hw);
            tailIndex = b == 0 ? null : CpuDnnlStaging.blockIndex(b, (int) ((dims[1] - 1) % b + 1), hw);
            if (b > 0 || dnnl.equal(userMd, innerMd)) {
                MemorySegment md = b > 0 ? innerMd : userMd;
                userBytes = innerBytes = dnnl.size(md);
                user = inner = dnnl.createMemory(md);
                reorder = reorderArgs = null;
                return;
            }
            userBytes = dnnl.size(userMd);
            user = dnnl.createMemory(userMd);
            innerBytes = dnnl.size(innerMd);
            inner = dnnl.createMemory(innerMd);
            MemorySegment from = output ? innerMd : userMd, to = output ? userMd : innerMd;
            try (Arena local = Arena.ofConfined()) {
                MemorySegment out = local.allocate(ADDRESS);
                dnnl.setThreads(threads);
                CpuDnnl.check("dnnl_reorder_primitive_desc_create", (int) dnnl.reorderPrimitiveDescCreate
                        .invokeExact(out, from, dnnl.engine(), to, dnnl.engine(), MemorySegment.NULL));
                MemorySegment pd = out.get(ADDRESS, 0);
                try {
                    reorder = dnnl.createPrimitive(pd);
                } finally {
                    CpuDnnl.destroy(dnnl.primitiveDescDestroy, pd);
                }
            }
            reorderArgs = args(arena, CpuDnnl.ARG_SRC, output ? inner : user, CpuDnnl.ARG_DST, output ? user : inner);
        }

        /** B when {@code md} is nChw{B}c of {@code dims} and staging can fill it directly, else 0. */
        private int directBlock(MemorySegment md, long[] dims, Arena arena) throws Throwable {
            for (int b : new int[]{8, 16}) {
                if (!staging.blocksChannels(b)) continue;
                MemorySegment blocked = arena.allocate(CpuDnnl.MEMORY_DESC_BYTES, 64);
                int tag = b == 8 ? CpuDnnl.TAG_NCHW8C : CpuDnnl.TAG_NCHW16C;
                CpuDnnl.check("dnnl_memory_desc_init_by_tag", (int) dnnl.memoryDescInitByTag.invokeExact(blocked, 4,
                        arena.allocateFrom(JAVA_LONG, dims), CpuDnnl.F32, tag));
                if (dnnl.equal(md, blocked)) return b;
            }
            return 0;
        }

        /** Points the memory objects at the staging slots (which may have grown since the last run). */
        MemorySegment bind() throws Throwable {
            MemorySegment u = staging.slot(slot, userBytes);
            CpuDnnl.check("dnnl_memory_set_data_handle", (int) dnnl.memorySetDataHandle.invokeExact(user, u));
            if (inner != user) {
                MemorySegment i = staging.slot(slot + 3, innerBytes);
                CpuDnnl.check("dnnl_memory_set_data_handle", (int) dnnl.memorySetDataHandle.invokeExact(inner, i));
            }
            return u;
        }

        /** Binds the slots and copies {@code b} into this input's first memory object. */
        void stageIn(CpuBuffer b) throws Throwable {
            MemorySegment u = bind();
            if (block > 0)
                staging.copyInBlocked(b.array, b.offset, (int) dims[0], (int) dims[1], (int) (dims[2] * dims[3]),
                        block, index, tailIndex, u);
            else staging.copyIn(b.array, b.offset, (int) b.size(), u);
        }

        void runReorder() throws Throwable {
            if (reorder != null)
                CpuDnnl.check("dnnl_primitive_execute(reorder)",
                        (int) dnnl.primitiveExecute.invokeExact(reorder, stream, 2, reorderArgs));
        }
    }

    /**
     * The trace slices of the copies and reorders before and after oneDNN's convolution (category staging, see
     * Trace.Slice#category): what the blocked layouts and the heap arrays cost a pass.
     */
    private static final String STAGING_IN = "conv2d staging in", STAGING_OUT = "conv2d staging out";

    private void waitForStream() throws Throwable {
        CpuDnnl.check("dnnl_stream_wait", (int) dnnl.streamWait.invokeExact(stream));
    }

    /** dnnl_exec_arg_t[] {arg, memory}... (16 bytes each) in {@code arena}. */
    private static MemorySegment args(Arena arena, Object... argAndMemory) {
        int n = argAndMemory.length / 2;
        MemorySegment a = arena.allocate(16L * n, 8);
        for (int i = 0; i < n; i++) {
            a.set(JAVA_INT, 16L * i, (Integer) argAndMemory[2 * i]);
            a.set(ADDRESS, 16L * i + 8, (MemorySegment) argAndMemory[2 * i + 1]);
        }
        return a;
    }

    /** The primitive of one shape and pass and its three operands: two inputs and the output, in call order. */
    private final class Plan {
        final ConvShape shape;
        final Arena arena;
        final MemorySegment pd, primitive, execArgs;
        final Operand in0, in1, out;
        final String implementation;

        Plan(ConvShape s, Pass pass) {
            shape = s;
            arena = Arena.ofShared();
            MemorySegment pd = MemorySegment.NULL, primitive = MemorySegment.NULL;
            try {
                Descriptors d = new Descriptors(s, arena);
                MemorySegment hint = forwardDescriptor(s, arena);
                MemorySegment op = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
                int[] args; // dnnl arg of in0, in1, out
                MemorySegment[] user; // jmoco-layout descriptors of in0, in1, out
                int[] query; // where the chosen layouts are read from
                long[] xDims = {s.n(), s.c(), s.h(), s.w()}, yDims = {s.n(), s.k(), s.p(), s.q()};
                long[][] dims; // of in0, in1, out; null for the filter
                switch (pass) {
                    case FORWARD -> {
                        pd = MemorySegment.NULL; // the hint itself; not destroyed with this plan
                        args = new int[]{CpuDnnl.ARG_SRC, CpuDnnl.ARG_WEIGHTS, CpuDnnl.ARG_DST};
                        user = new MemorySegment[]{d.userX, d.userW, d.userY};
                        query = new int[]{CpuDnnl.QUERY_SRC_MD, CpuDnnl.QUERY_WEIGHTS_MD, CpuDnnl.QUERY_DST_MD};
                        dims = new long[][]{xDims, null, yDims};
                    }
                    case BACKWARD_DATA -> {
                        CpuDnnl.check("dnnl_convolution_backward_data_desc_init", (int) dnnl.convBackwardDataDescInit
                                .invokeExact(op, CpuDnnl.CONVOLUTION_DIRECT, d.x, d.w, d.y, d.strides, d.padding,
                                        d.padding));
                        pd = createPrimitiveDesc(op, hint);
                        args = new int[]{CpuDnnl.ARG_DIFF_DST, CpuDnnl.ARG_WEIGHTS, CpuDnnl.ARG_DIFF_SRC};
                        user = new MemorySegment[]{d.userY, d.userW, d.userX};
                        query = new int[]{CpuDnnl.QUERY_DIFF_DST_MD, CpuDnnl.QUERY_WEIGHTS_MD,
                                CpuDnnl.QUERY_DIFF_SRC_MD};
                        dims = new long[][]{yDims, null, xDims};
                    }
                    default -> {
                        CpuDnnl.check("dnnl_convolution_backward_weights_desc_init", (int) dnnl
                                .convBackwardWeightsDescInit.invokeExact(op, CpuDnnl.CONVOLUTION_DIRECT, d.x, d.w,
                                        MemorySegment.NULL, d.y, d.strides, d.padding, d.padding));
                        pd = createPrimitiveDesc(op, hint);
                        args = new int[]{CpuDnnl.ARG_SRC, CpuDnnl.ARG_DIFF_DST, CpuDnnl.ARG_DIFF_WEIGHTS};
                        user = new MemorySegment[]{d.userX, d.userY, d.userW};
                        query = new int[]{CpuDnnl.QUERY_SRC_MD, CpuDnnl.QUERY_DIFF_DST_MD,
                                CpuDnnl.QUERY_DIFF_WEIGHTS_MD};
                        dims = new long[][]{xDims, yDims, null};
                    }
                }
                MemorySegment own = pass == Pass.FORWARD ? hint : pd;
                in0 = new Operand(0, user[0], dnnl.queryMd(own, query[0]), false, dims[0], arena);
                in1 = new Operand(1, user[1], dnnl.queryMd(own, query[1]), false, dims[1], arena);
                out = new Operand(2, user[2], dnnl.queryMd(own, query[2]), true, dims[2], arena);
                primitive = dnnl.createPrimitive(own);
                implementation = dnnl.implementation(own);
                execArgs = args(arena, args[0], in0.inner, args[1], in1.inner, args[2], out.inner);
            } catch (Throwable t) {
                CpuDnnl.destroy(dnnl.primitiveDescDestroy, pd);
                arena.close();
                throw CpuDnnl.rethrow(t);
            }
            this.pd = pd;
            this.primitive = primitive;
        }

        /** out = conv(a, b) (accumulate false) or out += it (true), staging every operand. */
        void run(CpuBuffer a, CpuBuffer b, CpuBuffer o, boolean accumulate) {
            try {
                MemorySegment result;
                try (Trace.Scope in = Trace.scope(STAGING_IN, "staging")) {
                    in0.stageIn(a);
                    in1.stageIn(b);
                    result = out.bind();
                    dnnl.setThreads(threads);
                    in0.runReorder();
                    in1.runReorder();
                    if (in.recording()) waitForStream();
                }
                CpuDnnl.check("dnnl_primitive_execute(convolution)",
                        (int) dnnl.primitiveExecute.invokeExact(primitive, stream, 3, execArgs));
                if (Trace.active()) waitForStream(); // so that the staging slice below holds only the staging
                try (Trace.Scope ignored = Trace.scope(STAGING_OUT, "staging")) {
                    out.runReorder();
                    waitForStream();
                    if (accumulate) staging.addOut(result, o.array, o.offset, (int) o.size());
                    else staging.copyOut(result, o.array, o.offset, (int) o.size());
                }
            } catch (Throwable t) {
                throw CpuDnnl.rethrow(t);
            }
        }

        void close() {
            CpuDnnl.destroy(dnnl.primitiveDestroy, primitive);
            for (Operand op : new Operand[]{in0, in1, out}) {
                CpuDnnl.destroy(dnnl.primitiveDestroy, op.reorder);
                if (op.inner != op.user) CpuDnnl.destroy(dnnl.memoryDestroy, op.inner);
                CpuDnnl.destroy(dnnl.memoryDestroy, op.user);
            }
            CpuDnnl.destroy(dnnl.primitiveDescDestroy, pd);
            arena.close();
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Plan p : plans.values()) if (p != null) p.close();
        plans.clear();
        hints.values().forEach(pd -> CpuDnnl.destroy(dnnl.primitiveDescDestroy, pd));
        hints.clear();
        CpuDnnl.destroy(dnnl.streamDestroy, stream);
        staging.close();
    }
}
