package dev.jmoco.backend.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * Kernel arguments in declaration order, before they become cuLaunchKernel's {@code kernelParams} (one
 * pointer per argument to its value). A buffer is the pair (device pointer, int offset in floats), as every
 * shared kernel declares it. Kept free of JCuda's natives (the pointer type is a parameter) so the packing is
 * tested without a driver.
 *
 * @param <P> the device pointer type (JCuda's CUdeviceptr in the backend)
 */
final class KernelArgs<P> {

    /** One argument value. */
    sealed interface Arg<P> permits Ptr, Int, Flt {}

    /** A device pointer argument. */
    record Ptr<P>(P pointer) implements Arg<P> {}

    /** An int argument. */
    record Int<P>(int value) implements Arg<P> {}

    /** A float argument. */
    record Flt<P>(float value) implements Arg<P> {}

    private final List<Arg<P>> args = new ArrayList<>();

    /** Adds two arguments: {@code root}, then {@code offsetFloats} as an int (kernels index with int). */
    void buffer(P root, long offsetFloats) {
        int offset;
        try {
            offset = Math.toIntExact(offsetFloats);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("buffer offset " + offsetFloats + " floats does not fit a kernel's int");
        }
        args.add(new Ptr<>(root));
        args.add(new Int<>(offset));
    }

    void add(int v) { args.add(new Int<>(v)); }

    void add(float v) { args.add(new Flt<>(v)); }

    /** The arguments so far, in order (unmodifiable). */
    List<Arg<P>> list() { return List.copyOf(args); }
}
