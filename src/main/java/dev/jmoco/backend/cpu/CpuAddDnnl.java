package dev.jmoco.backend.cpu;

import java.lang.foreign.MemorySegment;

/**
 * out = x + y on oneDNN's binary add, where an operand is off-heap in a oneDNN layout (see
 * {@link CpuDnnlTensors}): ResNet's skip connection, whose forward adds two batch norm outputs and whose
 * backward adds dy into both inputs' gradients ({@code add(1, da, 1, dy, da)}). Kept off-heap, the sum goes
 * on to the ReLU and the next block's convolutions as it is. Other scales, other aliasing, and operands all on
 * the heap run on {@link CpuElementwise}.
 */
final class CpuAddDnnl {
    private final CpuDnnlTensors tensors;

    CpuAddDnnl(CpuDnnlTensors tensors) { this.tensors = tensors; }

    /** See Backend#add; false (nothing written) where this does not apply (see the class comment). */
    boolean add(float alpha, CpuBuffer x, float beta, CpuBuffer y, CpuBuffer out) {
        if (alpha != 1f || beta != 1f) return false;
        synchronized (tensors) {
            CpuBuffer.Resident rx = x.isRoot() ? x.resident() : null, ry = y.isRoot() ? y.resident() : null;
            try {
                if (out == x && x.isRoot()) return addInPlace(x, y, rx, ry);
                if (out == x || out == y) return false;
                CpuDnnlLayout l = rx != null ? rx.layout() : ry != null ? ry.layout() : null;
                if (l == null) return false;
                MemorySegment a = tensors.input(x, l), b = tensors.input(y, l);
                CpuDnnlTensors.Output o = tensors.output(out, l, false);
                tensors.add(l, a, b, o.data());
                tensors.finish(o);
                return true;
            } finally {
                tensors.endCall();
            }
        }
    }

    /** x += y: a zero x becomes a copy of y; a resident x takes y, staged to its layout, in place. */
    private boolean addInPlace(CpuBuffer x, CpuBuffer y, CpuBuffer.Resident rx, CpuBuffer.Resident ry) {
        if (x.isZero()) {
            if (ry == null) return false;
            CpuDnnlTensors.Output o = tensors.output(x, ry.layout(), false);
            tensors.copy(ry.layout(), ry.data(), o.data());
            tensors.finish(o);
            return true;
        }
        if (rx == null) return false;
        tensors.add(rx.layout(), rx.data(), tensors.input(y, rx.layout()), rx.data());
        x.setResident(rx, false);
        return true;
    }
}
