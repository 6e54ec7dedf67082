package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.Checks;

import java.util.Arrays;

/**
 * A dense float32 array on a backend: a shape, a data {@link Buffer} and, when it takes part in backward, a
 * gradient buffer of the same size. No broadcasting: every op states the shapes it accepts.
 *
 * <p>Ownership: a tensor created by an op inside a {@link Tape} belongs to that tape and is released when the
 * tape closes. A leaf made with {@link #fromArray} or {@link #allocate} belongs to its creator, who closes it.
 * A tensor wrapping a foreign buffer ({@link #wrap}, the parameter arena's views) owns nothing. A lazily
 * allocated gradient belongs to the tensor that holds it.
 *
 * <p>A {@link #view} shares data and gradient with its base, so a gradient added through the view is seen by
 * the op that produced the base, and reshaping needs no op on the tape.
 */
public final class Tensor implements AutoCloseable {
    private final Backend backend;
    private final int[] shape;
    private final long size;
    private final Buffer data;
    private final Tensor base;          // the tensor this one is a view of; null for a base
    private final Buffer ownedStorage;  // root buffer released on close, or null
    private boolean requiresGrad;
    private Buffer grad;
    private boolean ownsGrad;
    private String name;

    private Tensor(Backend backend, Buffer data, Buffer ownedStorage, Tensor base, boolean requiresGrad,
                   int[] shape) {
        this.backend = backend;
        this.shape = shape.clone();
        this.size = sizeOf(shape);
        if (data.size() != size)
            throw new IllegalArgumentException("tensor " + Checks.shape(shape) + ": data has " + data.size()
                    + " floats, expected " + size);
        this.data = data;
        this.ownedStorage = ownedStorage;
        this.base = base;
        this.requiresGrad = requiresGrad;
    }

    // ---- creation -----------------------------------------------------------------------------------------

    /** A new tensor owning fresh (undefined) storage; the caller closes it. */
    public static Tensor allocate(Backend backend, int... shape) {
        Buffer b = backend.allocate(sizeOf(shape));
        return new Tensor(backend, b, b, null, false, shape);
    }

    /** A new tensor holding a copy of {@code values}; the caller closes it. */
    public static Tensor fromArray(Backend backend, float[] values, int... shape) {
        if (values.length != sizeOf(shape))
            throw new IllegalArgumentException("fromArray: " + values.length + " values do not fill shape "
                    + Checks.shape(shape));
        Tensor t = allocate(backend, shape);
        backend.upload(values, 0, t.data);
        return t;
    }

    /** A tensor over {@code data} that it does not own (e.g. a slice of the parameter arena). */
    public static Tensor wrap(Buffer data, int... shape) {
        return new Tensor(data.backend(), data, null, null, false, shape);
    }

    /** A tensor over a slice of {@code storage} whose root it releases on close (used for loss statistics). */
    static Tensor owningSlice(Buffer storage, Buffer data, int... shape) {
        return new Tensor(storage.backend(), data, storage, null, false, shape);
    }

    /** A tensor with the same data and gradient and another shape of the same size; no copy. */
    public Tensor view(int... newShape) {
        if (sizeOf(newShape) != size)
            throw new IllegalArgumentException("view: " + Checks.shape(shape) + " and " + Checks.shape(newShape)
                    + " differ in size (" + size + " vs " + sizeOf(newShape) + ")");
        Tensor root = root();
        Tensor v = new Tensor(backend, data, null, root, false, newShape);
        v.name = name;
        return v;
    }

    /** A [rows, rest] view (rest = product of the other dimensions), as torch.flatten(x, 1). */
    public Tensor flatten() { return view(shape[0], (int) (size / shape[0])); }

    // ---- properties ---------------------------------------------------------------------------------------

    public Backend backend() { return backend; }
    public int[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public int dim(int i) { return shape[i]; }
    public long size() { return size; }
    public Buffer data() { return data; }
    public String name() { return name; }

    public Tensor named(String name) {
        this.name = name;
        return this;
    }

    /** Whether backward computes a gradient for this tensor (views answer for their base). */
    public boolean requiresGrad() { return root().requiresGrad; }

    /** Marks a leaf as needing a gradient (or not); returns this. */
    public Tensor requiresGrad(boolean on) {
        root().requiresGrad = on;
        return this;
    }

    /** The gradient buffer, or null before backward reached this tensor (views answer for their base). */
    public Buffer grad() { return root().grad; }

    public boolean hasGrad() { return root().grad != null; }

    /**
     * Gives this tensor a gradient buffer that it does not own (the parameter arena's gradient slice), or
     * takes ownership of it when {@code owned}; replaces any previous one.
     */
    Tensor setGrad(Buffer g, boolean owned) {
        if (g.size() != size)
            throw new IllegalArgumentException("setGrad: gradient of " + g.size() + " floats for tensor "
                    + Checks.shape(shape) + " of " + size);
        Tensor r = root();
        r.releaseGrad();
        r.grad = g;
        r.ownsGrad = owned;
        return this;
    }

    /** The gradient buffer, allocated and zeroed on first use (backward ops add into it). */
    Buffer ensureGrad() {
        Tensor r = root();
        if (r.grad == null) {
            r.grad = backend.allocate(size);
            r.ownsGrad = true;
            backend.fill(r.grad, 0f);
        }
        return r.grad;
    }

    // ---- host transfers -----------------------------------------------------------------------------------

    /** A copy of the data (waits for queued work). */
    public float[] toArray() {
        float[] out = new float[Math.toIntExact(size)];
        backend.download(data, out, 0);
        return out;
    }

    /** A copy of the gradient, or null when there is none. */
    public float[] gradToArray() {
        Buffer g = grad();
        if (g == null) return null;
        float[] out = new float[Math.toIntExact(size)];
        backend.download(g, out, 0);
        return out;
    }

    /** Overwrites the data with {@code values} (exactly {@link #size()} of them). */
    public void copyFrom(float[] values) {
        if (values.length != size)
            throw new IllegalArgumentException("copyFrom: " + values.length + " values for tensor "
                    + Checks.shape(shape) + " of " + size);
        backend.upload(values, 0, data);
    }

    /** Releases owned storage and an owned gradient; a no-op for views and wrappers. Idempotent. */
    @Override
    public void close() {
        if (base != null) return;
        if (ownedStorage != null) ownedStorage.close();
        releaseGrad();
    }

    @Override
    public String toString() {
        return "Tensor" + (name == null ? "" : " " + name) + " " + Checks.shape(shape)
                + (requiresGrad() ? " requiresGrad" : "");
    }

    /** Frees an owned gradient of this tensor (of its base, for a view); the next backward allocates anew. */
    void releaseGradient() { root().releaseGrad(); }

    private void releaseGrad() {
        if (ownsGrad && grad != null) grad.close();
        grad = null;
        ownsGrad = false;
    }

    private Tensor root() { return base == null ? this : base; }

    static long sizeOf(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d <= 0) throw new IllegalArgumentException("shape " + Checks.shape(shape) + " has a dimension <= 0");
            n *= d;
        }
        return n;
    }

    static boolean sameShape(Tensor a, Tensor b) { return Arrays.equals(a.shape, b.shape); }
}
