package dev.jmoco.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * ReLU forward and backward on oneDNN's eltwise primitive, for a tensor already off-heap in a oneDNN layout
 * (a batch norm's or convolution's output, see {@link CpuDnnlTensors}): the output keeps that layout for the
 * convolution after it, and the backward pass (relu_use_dst_for_bwd: dy where y &gt; 0, as jmoco's ReLU
 * backward, from the output alone) runs where the forward output lives. Anything else runs on
 * {@link CpuElementwise}.
 */
final class CpuReluDnnl implements AutoCloseable {
    private final CpuDnnlTensors tensors;
    private final CpuDnnl dnnl;
    private final CpuDnnlPlans<CpuDnnlLayout, Plan> plans = new CpuDnnlPlans<>("relu for", Plan::new);
    private final Arena arena = Arena.ofShared();

    CpuReluDnnl(CpuDnnlTensors tensors) {
        this.tensors = tensors;
        this.dnnl = tensors.dnnl;
    }

    /** y = max(x, 0); false (nothing written) unless x is off-heap in a oneDNN layout. */
    boolean forward(CpuBuffer x, CpuBuffer y) {
        synchronized (tensors) {
            CpuBuffer.Resident r = x.isRoot() ? x.resident() : null;
            Plan p = r == null ? null : plan(r.layout());
            if (p == null) return false;
            try {
                CpuDnnlTensors.Output out = tensors.output(y, r.layout(), false);
                tensors.bind(p.memories[0], r.data());
                tensors.bind(p.memories[1], out.data());
                tensors.execute("relu forward", p.forward, p.forwardArgs, 2);
                tensors.finish(out);
            } finally {
                tensors.endCall();
            }
            return true;
        }
    }

    /** dx += dy where y &gt; 0; false (nothing written) unless y is off-heap in a oneDNN layout. */
    boolean backward(CpuBuffer y, CpuBuffer dy, CpuBuffer dx) {
        synchronized (tensors) {
            CpuBuffer.Resident r = y.isRoot() ? y.resident() : null;
            Plan p = r == null ? null : plan(r.layout());
            if (p == null) return false;
            try {
                MemorySegment diffDst = tensors.input(dy, r.layout());
                CpuDnnlTensors.Output out = tensors.output(dx, r.layout(), true);
                tensors.bind(p.memories[2], r.data());
                tensors.bind(p.memories[3], diffDst);
                tensors.bind(p.memories[4], out.data());
                tensors.execute("relu backward", p.backward, p.backwardArgs, 3);
                tensors.finish(out);
            } finally {
                tensors.endCall();
            }
            return true;
        }
    }

    private Plan plan(CpuDnnlLayout l) { return plans.get(l); }

    /** The forward and backward primitives for one layout; memories: src, dst, then dst, diff dst, diff src. */
    private final class Plan implements CpuDnnlPlans.Plan {
        final MemorySegment forwardPd, backwardPd, forward, backward, forwardArgs, backwardArgs;
        final MemorySegment[] memories = new MemorySegment[5];

        Plan(CpuDnnlLayout l) {
            int alg = CpuDnnl.ELTWISE_RELU_USE_DST_FOR_BWD;
            MemorySegment op = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
            MemorySegment bop = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
            try {
                CpuDnnl.check("dnnl_eltwise_forward_desc_init", (int) dnnl.eltwiseForwardDescInit.invokeExact(op,
                        CpuDnnl.FORWARD_TRAINING, alg, l.md, 0f, 0f));
                CpuDnnl.check("dnnl_eltwise_backward_desc_init", (int) dnnl.eltwiseBackwardDescInit.invokeExact(bop,
                        alg, l.md, l.md, 0f, 0f));
            } catch (Throwable t) {
                throw CpuDnnl.rethrow(t);
            }
            forwardPd = tensors.primitiveDesc(op, MemorySegment.NULL);
            backwardPd = tensors.primitiveDesc(bop, forwardPd);
            for (int i = 0; i < memories.length; i++) memories[i] = dnnl.createMemory(l.md);
            forwardArgs = tensors.args(CpuDnnl.ARG_SRC, memories[0], CpuDnnl.ARG_DST, memories[1]);
            backwardArgs = tensors.args(CpuDnnl.ARG_DST, memories[2], CpuDnnl.ARG_DIFF_DST, memories[3],
                    CpuDnnl.ARG_DIFF_SRC, memories[4]);
            forward = dnnl.createPrimitive(forwardPd);
            backward = dnnl.createPrimitive(backwardPd);
        }

        @Override
        public void close() {
            dnnl.destroyAll(new MemorySegment[]{forward, backward}, memories, backwardPd, forwardPd);
        }
    }

    @Override
    public void close() {
        synchronized (tensors) {
            plans.close();
            arena.close();
        }
    }
}
