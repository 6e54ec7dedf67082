package dev.jmoco.backend.cpu;

import dev.jmoco.backend.ConvShape;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Locale;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Convolution forward and both backward passes on oneDNN (see Backend#conv2d for the contract). Per shape and
 * pass a {@link Plan} is made on first use and kept: the primitive, the layouts oneDNN chose for its three
 * operands, and a memory object per operand, pointed at the operands' off-heap data before each run. The
 * operands come and go through {@link CpuDnnlTensors}: an activation already in the chosen layout (a conv's,
 * batch norm's or ReLU's output) is used as is, one on the heap is staged; the forward output stays off-heap,
 * in the layout chosen, as does a gradient dx that was still zero (the first of its backward passes); other
 * outputs (dw, or a dx some op already added to) are reordered and added into the array, since oneDNN 2.6.3
 * refuses a sum post-op on backward convolutions (dnnl_unimplemented).
 * <p>
 * Why blocked layouts (format "any", oneDNN's choice, e.g. nChw8c on AVX2) by default: with NCHW as is,
 * oneDNN 2.6 falls back to its im2col + GEMM implementation ("gemm:jit"), no faster than jmoco's own. Measured
 * on a shared 2-core AVX2 machine (3x3, n64 c64 32x32 k64, best of 10-12 rounds interleaved, staging
 * included; forward / data / filter): blocked 43-46 / 42-45 / 58-64 ms, plain 63 / 73 / 90 ms, Java (OpenBLAS
 * GEMM) 51-54 / 50-53 / 47-53 ms.
 * <p>
 * oneDNN runs on its own OpenMP threads, started from the calling thread, with the backend's thread count
 * (see {@link CpuDnnl#setThreads}); jmoco's pool only runs the staging copies, before and after, never at the
 * same time. A shape oneDNN refuses runs on the Java kernels ({@link #forward} and the others return false;
 * one line on stderr). Calls hold the backend's state lock (the {@link CpuDnnlTensors}).
 */
final class CpuConvDnnl implements AutoCloseable {
    /**
     * Whether oneDNN picks its own (blocked) layouts, or works on NCHW as is. Blocked is the default: see the
     * class comment.
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

    private record Key(ConvShape shape, Pass pass) {
        @Override public String toString() { return pass.text + " for " + shape; }
    }

    private final CpuDnnlTensors tensors;
    private final CpuDnnl dnnl;
    private final Layout layout;
    /** Plans made so far; null for a shape and pass that oneDNN refused. */
    private final CpuDnnlPlans<Key, Plan> plans = new CpuDnnlPlans<>("conv2d", k -> new Plan(k.shape(), k.pass()));
    /** Forward primitive descriptors, the hints of the backward ones (which keep a pointer to them). */
    private final Map<ConvShape, MemorySegment> hints = new HashMap<>();
    private final Arena arena = Arena.ofShared();
    private boolean closed;

    /** Convolutions in {@code layout}, their operands kept by {@code tensors}. */
    CpuConvDnnl(CpuDnnlTensors tensors, Layout layout) {
        this.tensors = tensors;
        this.dnnl = tensors.dnnl;
        this.layout = layout;
    }

    /** "oneDNN 2.6.3, OpenMP, blocked layouts". */
    String description() { return dnnl.version() + ", " + layout.name().toLowerCase(Locale.ROOT) + " layouts"; }

    /** y = conv(x, w); false when oneDNN refused the shape and nothing was written. */
    boolean forward(ConvShape s, CpuBuffer x, CpuBuffer w, CpuBuffer y) { return run(s, Pass.FORWARD, x, w, y); }

    /** dx += conv^T(dy, w); false when oneDNN refused the shape and nothing was written. */
    boolean backwardData(ConvShape s, CpuBuffer dy, CpuBuffer w, CpuBuffer dx) {
        return run(s, Pass.BACKWARD_DATA, dy, w, dx);
    }

    /** dw += the filter gradient of (x, dy); false when oneDNN refused the shape and nothing was written. */
    boolean backwardFilter(ConvShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer dw) {
        return run(s, Pass.BACKWARD_FILTER, x, dy, dw);
    }

    /** One pass on its two inputs and output, in call order (backward passes add into the output). */
    private boolean run(ConvShape s, Pass pass, CpuBuffer a, CpuBuffer b, CpuBuffer out) {
        synchronized (tensors) {
            Plan p = plan(s, pass);
            if (p == null) return false;
            p.run(a, b, out, pass != Pass.FORWARD);
            return true;
        }
    }

    /** oneDNN's implementation of a pass, e.g. "jit:avx2" ("refused" when it runs in Java); for tests and reports. */
    String implementation(ConvShape s, String pass) {
        synchronized (tensors) {
            Plan p = plan(s, Pass.valueOf(pass));
            return p == null ? "refused" : p.implementation;
        }
    }

    /** The layouts of a pass's operands (inputs, then output), e.g. "nChw8c [2, 16, 8, 8]"; for tests. */
    List<String> layouts(ConvShape s, String pass) {
        synchronized (tensors) {
            Plan p = plan(s, Pass.valueOf(pass));
            return p == null ? List.of() : List.of(p.layouts[0].toString(), p.layouts[1].toString(),
                    p.layouts[2].toString());
        }
    }

    private Plan plan(ConvShape s, Pass pass) {
        // Past close the stream and primitives are gone: running one would be a native crash, not an exception.
        if (closed || tensors.closed())
            throw new IllegalStateException("cpu: conv2d " + pass.text + " on a closed backend");
        return plans.get(new Key(s, pass));
    }

    /** The forward primitive descriptor of {@code s}: the forward plan's, and the backward plans' hint. */
    private MemorySegment forwardDescriptor(ConvShape s) throws Throwable {
        MemorySegment pd = hints.get(s);
        if (pd != null) return pd;
        Descriptors d = new Descriptors(s);
        MemorySegment op = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
        CpuDnnl.check("dnnl_convolution_forward_desc_init", (int) dnnl.convForwardDescInit.invokeExact(op,
                CpuDnnl.FORWARD_TRAINING, CpuDnnl.CONVOLUTION_DIRECT, d.x, d.w, MemorySegment.NULL, d.y,
                d.strides, d.padding, d.padding));
        pd = tensors.primitiveDesc(op, MemorySegment.NULL);
        hints.put(s, pd);
        return pd;
    }

    /** Memory descriptors of x, w, y in the layout asked for, and the stride and padding arrays. */
    private final class Descriptors {
        final MemorySegment x, w, y, strides, padding;

        Descriptors(ConvShape s) {
            int tag = layout == Layout.PLAIN ? CpuDnnl.TAG_NCHW : CpuDnnl.TAG_ANY;
            x = md(tag, s.n(), s.c(), s.h(), s.w());
            w = md(tag, s.k(), s.c(), s.r(), s.s());
            y = md(tag, s.n(), s.k(), s.p(), s.q());
            strides = arena.allocateFrom(JAVA_LONG, s.stride(), s.stride());
            padding = arena.allocateFrom(JAVA_LONG, s.pad(), s.pad()); // left and right alike: ConvShape is symmetric
        }

        private MemorySegment md(int tag, long... dims) { return dnnl.memoryDesc(arena, tag, dims); }
    }

    /** The primitive of one shape and pass, its operands' layouts and memory objects: two inputs, the output. */
    private final class Plan implements CpuDnnlPlans.Plan {
        final MemorySegment pd, primitive, execArgs;
        final CpuDnnlLayout[] layouts = new CpuDnnlLayout[3];
        final MemorySegment[] memories = new MemorySegment[3];
        final String implementation;

        Plan(ConvShape s, Pass pass) {
            MemorySegment pd = MemorySegment.NULL, primitive = MemorySegment.NULL;
            try {
                Descriptors d = new Descriptors(s);
                MemorySegment hint = forwardDescriptor(s);
                MemorySegment op = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
                int[] args; // dnnl arg of in0, in1, out
                int[] query; // where the chosen layouts are read from
                long[] xDims = {s.n(), s.c(), s.h(), s.w()}, wDims = {s.k(), s.c(), s.r(), s.s()},
                        yDims = {s.n(), s.k(), s.p(), s.q()};
                long[][] dims; // of in0, in1, out
                switch (pass) {
                    case FORWARD -> {
                        pd = MemorySegment.NULL; // the hint itself; not destroyed with this plan
                        args = new int[]{CpuDnnl.ARG_SRC, CpuDnnl.ARG_WEIGHTS, CpuDnnl.ARG_DST};
                        query = new int[]{CpuDnnl.QUERY_SRC_MD, CpuDnnl.QUERY_WEIGHTS_MD, CpuDnnl.QUERY_DST_MD};
                        dims = new long[][]{xDims, wDims, yDims};
                    }
                    case BACKWARD_DATA -> {
                        CpuDnnl.check("dnnl_convolution_backward_data_desc_init", (int) dnnl.convBackwardDataDescInit
                                .invokeExact(op, CpuDnnl.CONVOLUTION_DIRECT, d.x, d.w, d.y, d.strides, d.padding,
                                        d.padding));
                        pd = tensors.primitiveDesc(op, hint);
                        args = new int[]{CpuDnnl.ARG_DIFF_DST, CpuDnnl.ARG_WEIGHTS, CpuDnnl.ARG_DIFF_SRC};
                        query = new int[]{CpuDnnl.QUERY_DIFF_DST_MD, CpuDnnl.QUERY_WEIGHTS_MD,
                                CpuDnnl.QUERY_DIFF_SRC_MD};
                        dims = new long[][]{yDims, wDims, xDims};
                    }
                    default -> {
                        CpuDnnl.check("dnnl_convolution_backward_weights_desc_init", (int) dnnl
                                .convBackwardWeightsDescInit.invokeExact(op, CpuDnnl.CONVOLUTION_DIRECT, d.x, d.w,
                                        MemorySegment.NULL, d.y, d.strides, d.padding, d.padding));
                        pd = tensors.primitiveDesc(op, hint);
                        args = new int[]{CpuDnnl.ARG_SRC, CpuDnnl.ARG_DIFF_DST, CpuDnnl.ARG_DIFF_WEIGHTS};
                        query = new int[]{CpuDnnl.QUERY_SRC_MD, CpuDnnl.QUERY_DIFF_DST_MD,
                                CpuDnnl.QUERY_DIFF_WEIGHTS_MD};
                        dims = new long[][]{xDims, yDims, wDims};
                    }
                }
                MemorySegment own = pass == Pass.FORWARD ? hint : pd;
                for (int i = 0; i < 3; i++) {
                    layouts[i] = tensors.layoutOf(dnnl.queryMd(own, query[i]), dims[i]);
                    memories[i] = tensors.memory(layouts[i]);
                }
                primitive = dnnl.createPrimitive(own);
                implementation = dnnl.implementation(own);
                execArgs = tensors.args(args[0], memories[0], args[1], memories[1], args[2], memories[2]);
            } catch (Throwable t) {
                for (MemorySegment m : memories) CpuDnnl.destroy(dnnl.memoryDestroy, m);
                CpuDnnl.destroy(dnnl.primitiveDescDestroy, pd);
                throw CpuDnnl.rethrow(t);
            }
            this.pd = pd;
            this.primitive = primitive;
        }

        /** out = conv(a, b) (accumulate false) or out += it (true). */
        void run(CpuBuffer a, CpuBuffer b, CpuBuffer o, boolean accumulate) {
            try {
                tensors.bind(memories[0], tensors.input(a, layouts[0]));
                tensors.bind(memories[1], tensors.input(b, layouts[1]));
                CpuDnnlTensors.Output out = tensors.output(o, layouts[2], accumulate);
                tensors.bind(memories[2], out.data());
                tensors.execute("convolution", primitive, execArgs, 3);
                tensors.finish(out);
            } finally {
                tensors.endCall();
            }
        }

        @Override
        public void close() {
            dnnl.destroyAll(new MemorySegment[]{primitive}, memories, pd);
        }
    }

    @Override
    public void close() {
        synchronized (tensors) {
            if (closed) return;
            closed = true;
            plans.close();
            hints.values().forEach(pd -> CpuDnnl.destroy(dnnl.primitiveDescDestroy, pd));
            hints.clear();
            arena.close();
        }
    }
}
