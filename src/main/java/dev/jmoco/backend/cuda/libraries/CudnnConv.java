package dev.jmoco.backend.cuda.libraries;

import dev.jmoco.backend.ConvShape;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static dev.jmoco.backend.cuda.libraries.CudnnFunctions.PERF;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The cuDNN descriptors of one {@link ConvShape} (x, w, y and the convolution: NCHW float, cross-correlation,
 * square stride and padding, no dilation) and, per pass, the algorithms to run, chosen on first use as PyTorch
 * does with {@code cudnn.benchmark = True} (which MoCo's reference training script sets): cuDNN times the
 * algorithms on the GPU (cudnnFind…Algorithm, once per shape and pass, a few milliseconds); where that call
 * fails, its heuristic list (…Algorithm_v7, PyTorch's {@code benchmark = False}) instead. Either way each result
 * with status success whose workspace is at most {@link #MAX_WORKSPACE} is kept, best first. If the chosen
 * one later refuses to run (see {@link CudnnFunctions#tryAnother}), the shape moves on to the next for good.
 *
 * <p>The math type lives on the convolution descriptor, so it is set before every query and run: the base
 * type (FMA without TF32, as PyTorch for float32 when TF32 is disallowed; DEFAULT with TF32) for the
 * heuristics, the candidate's own for its workspace query and its run. Without TF32, candidates that need
 * tensor-op math are skipped and the rest run with FMA, so TF32 can never slip in. Descriptors need no GPU;
 * the algorithm queries need a handle. Not thread-safe.
 */
final class CudnnConv implements AutoCloseable {
    /** The largest workspace a candidate may ask for. */
    static final long MAX_WORKSPACE = 1L << 30;

    /** One runnable choice: cudnnConvolution*Algo_t, cudnnMathType_t and its workspace in bytes. */
    record Algorithm(int algo, int mathType, long workspaceBytes) {}

    final ConvShape shape;
    private final CudnnFunctions f;
    private final boolean tf32;
    private MemorySegment x = MemorySegment.NULL, w = MemorySegment.NULL, y = MemorySegment.NULL;
    private MemorySegment conv = MemorySegment.NULL;
    /** The math type last set on {@link #conv}, so runs skip a call that changes nothing. */
    private int mathType = -1;
    private final Map<CudnnPass, Candidates> candidates = new EnumMap<>(CudnnPass.class);

    /**
     * Creates and sets the descriptors of {@code shape} and checks cuDNN's output size against p and q.
     *
     * @throws IllegalStateException naming the failing call and the shape
     */
    CudnnConv(CudnnFunctions f, ConvShape shape, boolean tf32) {
        this.f = f;
        this.shape = shape;
        this.tf32 = tf32;
        try {
            x = create(f.createTensor, "cudnnCreateTensorDescriptor");
            y = create(f.createTensor, "cudnnCreateTensorDescriptor");
            w = create(f.createFilter, "cudnnCreateFilterDescriptor");
            conv = create(f.createConvolution, "cudnnCreateConvolutionDescriptor");
            int dataType = CudnnFunctions.DATA_FLOAT, format = CudnnFunctions.TENSOR_NCHW;
            check("cudnnSetTensor4dDescriptor(x)", (int) f.setTensor4d.invokeExact(x, format, dataType,
                    shape.n(), shape.c(), shape.h(), shape.w()));
            check("cudnnSetTensor4dDescriptor(y)", (int) f.setTensor4d.invokeExact(y, format, dataType,
                    shape.n(), shape.k(), shape.p(), shape.q()));
            // The filter takes its data type before its format, unlike the tensor.
            check("cudnnSetFilter4dDescriptor(w)", (int) f.setFilter4d.invokeExact(w, dataType, format,
                    shape.k(), shape.c(), shape.r(), shape.s()));
            check("cudnnSetConvolution2dDescriptor", (int) f.setConvolution2d.invokeExact(conv,
                    shape.pad(), shape.pad(), shape.stride(), shape.stride(), 1, 1,
                    CudnnFunctions.CROSS_CORRELATION, dataType));
            setMathType(baseMathType());
            int[] dims = outputDims();
            if (dims[0] != shape.n() || dims[1] != shape.k() || dims[2] != shape.p() || dims[3] != shape.q())
                throw new IllegalStateException("cuDNN computes output " + Arrays.toString(dims) + " for " + shape
                        + ", expected [" + shape.n() + ", " + shape.k() + ", " + shape.p() + ", " + shape.q() + "]");
        } catch (Throwable t) {
            close();
            throw NativeCalls.rethrow(t);
        }
    }

    private int baseMathType() { return tf32 ? CudnnFunctions.DEFAULT_MATH : CudnnFunctions.FMA_MATH; }

    private MemorySegment create(MethodHandle create, String call) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check(call, (int) create.invokeExact(out));
            return out.get(ADDRESS, 0);
        }
    }

    private void check(String call, int status) { f.check(call + " for " + shape, status); }

    /** (n, k, p, q) as cudnnGetConvolution2dForwardOutputDim computes them from the descriptors. */
    int[] outputDims() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = arena.allocate(JAVA_INT, 4);
            check("cudnnGetConvolution2dForwardOutputDim", (int) f.forwardOutputDim.invokeExact(conv, x, w,
                    d.asSlice(0, 4), d.asSlice(4, 4), d.asSlice(8, 4), d.asSlice(12, 4)));
            return d.toArray(JAVA_INT);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** The convolution descriptor. */
    MemorySegment convolution() { return conv; }

    /**
     * Descriptor {@code position} (0, 1, 2) of {@code pass}'s argument order: (x, w, y) forward, (w, dy, dx)
     * backward data, (x, dy, dw) backward filter.
     */
    MemorySegment descriptor(CudnnPass pass, int position) {
        return switch (pass) {
            case FORWARD -> position == 0 ? x : position == 1 ? w : y;
            case BACKWARD_DATA -> position == 0 ? w : position == 1 ? y : x;
            case BACKWARD_FILTER -> position == 0 ? x : position == 1 ? y : w;
        };
    }

    /** Sets the convolution's math type unless it is already set. */
    void setMathType(int type) {
        if (type == mathType) return;
        try {
            check("cudnnSetConvolutionMathType(" + type + ")", (int) f.setConvolutionMathType.invokeExact(conv, type));
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        mathType = type;
    }

    /** The algorithm {@code pass} runs now, chosen with {@code handle} on first use. */
    Algorithm current(MemorySegment handle, CudnnPass pass) {
        return candidates.computeIfAbsent(pass, p -> new Candidates(choose(handle, p))).current(pass, shape);
    }

    /**
     * The current algorithm of {@code pass} refused to run with {@code reason}: moves to the next candidate
     * for good, or throws an IllegalStateException when none is left.
     */
    void reject(CudnnPass pass, String reason) { candidates.get(pass).reject(reason); }

    /** PyTorch's choice (Conv_v7.cpp): measured, else heuristic, as the class comment says. */
    private List<Algorithm> choose(MemorySegment handle, CudnnPass pass) {
        CudnnFunctions.PassFunctions fn = f.pass(pass);
        MemorySegment d0 = descriptor(pass, 0), d1 = descriptor(pass, 1), d2 = descriptor(pass, 2);
        List<Algorithm> usable = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            check(pass.maxCountFunction(), (int) fn.maxCount().invokeExact(handle, count));
            int requested = count.get(JAVA_INT, 0);
            MemorySegment perf = arena.allocate(PERF, Math.max(1, requested));
            setMathType(baseMathType());
            int found = (int) fn.find().invokeExact(handle, d0, d1, conv, d2, requested, count, perf);
            if (found != CudnnFunctions.SUCCESS) {
                System.err.println("jmoco: cuda: " + pass.findFunction() + " for " + shape + " failed: "
                        + f.statusText(found) + "; taking cuDNN's heuristic choice");
                setMathType(baseMathType());
                check(pass.algorithmsFunction(), (int) fn.algorithms().invokeExact(handle, d0, d1, conv, d2,
                        requested, count, perf));
            }
            int returned = Math.min(count.get(JAVA_INT, 0), requested);
            MemorySegment bytes = arena.allocate(JAVA_LONG);
            for (int i = 0; i < returned; i++) {
                if (CudnnFunctions.perfInt(perf, i, CudnnFunctions.PERF_STATUS) != CudnnFunctions.SUCCESS) continue;
                int algo = CudnnFunctions.perfInt(perf, i, CudnnFunctions.PERF_ALGO);
                int math = CudnnFunctions.perfInt(perf, i, CudnnFunctions.PERF_MATH_TYPE);
                if (!tf32) {
                    if (math == CudnnFunctions.TENSOR_OP_MATH || math == CudnnFunctions.TENSOR_OP_MATH_ALLOW_CONVERSION)
                        continue;
                    math = CudnnFunctions.FMA_MATH;
                }
                setMathType(math);
                int status = (int) fn.workspaceSize().invokeExact(handle, d0, d1, conv, d2, algo, bytes);
                if (status != CudnnFunctions.SUCCESS) continue; // this algorithm cannot take these descriptors
                long size = bytes.get(JAVA_LONG, 0);
                if (size <= MAX_WORKSPACE) usable.add(new Algorithm(algo, math, size));
            }
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        if (usable.isEmpty())
            throw new IllegalStateException(pass.algorithmsFunction() + " for " + shape
                    + " gave no algorithm with status success and a workspace of at most 1 GiB");
        return usable;
    }

    /** Destroys the descriptors (those created so far); idempotent. */
    @Override
    public void close() {
        x = destroy(f.destroyTensor, x);
        y = destroy(f.destroyTensor, y);
        w = destroy(f.destroyFilter, w);
        conv = destroy(f.destroyConvolution, conv);
    }

    private static MemorySegment destroy(MethodHandle destroy, MemorySegment descriptor) {
        if (descriptor.equals(MemorySegment.NULL)) return descriptor;
        try {
            int ignored = (int) destroy.invokeExact(descriptor); // only fails for a null descriptor
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        return MemorySegment.NULL;
    }

    /** A pass's usable algorithms, best first, and which one runs now. */
    private static final class Candidates {
        private final List<Algorithm> list;
        private final StringBuilder rejected = new StringBuilder();
        private int current;

        Candidates(List<Algorithm> list) { this.list = list; }

        Algorithm current(CudnnPass pass, ConvShape shape) {
            if (current == list.size())
                throw new IllegalStateException(pass.runFunction() + " for " + shape
                        + ": no candidate algorithm runs:" + rejected);
            return list.get(current);
        }

        void reject(String reason) {
            rejected.append(' ').append(reason).append(';');
            current++;
        }
    }
}
