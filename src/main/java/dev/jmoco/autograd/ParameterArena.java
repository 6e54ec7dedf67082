package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.Checks;
import dev.jmoco.trace.Trace;
import dev.jmoco.trace.Work;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * All parameters of a model in one data buffer and all their gradients in a second one, with a
 * {@link Tensor} view per parameter (after llm.c's malloc_and_point_parameters). Parameters that take weight
 * decay are laid out first and the exempt ones (biases, BN parameters) after them, so an SGD step is two
 * {@link Backend#sgd} launches over two contiguous slices and MoCo's momentum update is one
 * {@link Backend#ema} launch over the whole data buffer. Non-trainable state (BN running statistics) lives in
 * a third buffer: no gradient, untouched by the EMA (the reference MoCo updates parameters only).
 *
 * <p>Arenas built from the same registrations have the same layout, so the key encoder's arena is the query
 * encoder's with other contents ({@link #newLike}, {@link #copyFrom}). Fresh arenas hold zeros.
 */
public final class ParameterArena implements AutoCloseable {

    /** How an entry is stored and updated. */
    public enum Kind {
        /** A parameter that SGD's weight decay applies to (weights of conv and linear layers). */
        DECAYED,
        /** A parameter exempt from weight decay (biases, BN gamma and beta). */
        EXEMPT,
        /** Non-trainable state (BN running mean and variance): no gradient, no EMA. */
        STATE
    }

    /**
     * One registered tensor: its torchvision-style name, kind, shape, and offset in the data buffer (for
     * parameters) or the state buffer (for state).
     */
    public record Entry(String name, Kind kind, int[] shape, long offset) {
        public Entry { shape = shape.clone(); }
        @Override public int[] shape() { return shape.clone(); }
        public long size() { return Tensor.sizeOf(shape); }
        @Override public boolean equals(Object o) {
            return o instanceof Entry e && name.equals(e.name) && kind == e.kind && Arrays.equals(shape, e.shape)
                    && offset == e.offset;
        }
        @Override public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }
        @Override public String toString() { return name + " " + kind + " " + Checks.shape(shape) + " @" + offset; }
    }

    /** Collects registrations in order; {@link #build} may be called more than once (same layout each time). */
    public static final class Builder {
        private final List<Entry> specs = new ArrayList<>();

        /** Registers a parameter; {@code weightDecay} says whether SGD's weight decay applies to it. */
        public Builder parameter(String name, boolean weightDecay, int... shape) {
            return add(name, weightDecay ? Kind.DECAYED : Kind.EXEMPT, shape);
        }

        /** Registers non-trainable state (e.g. bn1.running_mean). */
        public Builder state(String name, int... shape) { return add(name, Kind.STATE, shape); }

        /**
         * Allocates the arena on {@code backend}, zero-filled. A {@code trainable} arena has a gradient buffer
         * and its parameter views require gradients; the momentum encoder's arena is not trainable.
         */
        public ParameterArena build(Backend backend, boolean trainable) {
            if (specs.stream().noneMatch(e -> e.kind != Kind.STATE))
                throw new IllegalStateException("arena: no parameters registered");
            return new ParameterArena(backend, layout(specs), trainable);
        }

        private Builder add(String name, Kind kind, int[] shape) {
            Tensor.sizeOf(shape); // rejects dimensions <= 0 with the shape in the message
            if (specs.stream().anyMatch(e -> e.name.equals(name)))
                throw new IllegalArgumentException("arena: '" + name + "' registered twice");
            specs.add(new Entry(name, kind, shape, -1));
            return this;
        }

        /** Offsets: decayed parameters first, then exempt ones, each in registration order; state apart. */
        private static List<Entry> layout(List<Entry> specs) {
            Map<String, Long> offsets = new HashMap<>();
            long data = 0, state = 0;
            for (Kind kind : List.of(Kind.DECAYED, Kind.EXEMPT))
                for (Entry e : specs)
                    if (e.kind == kind) { offsets.put(e.name, data); data += e.size(); }
            for (Entry e : specs)
                if (e.kind == Kind.STATE) { offsets.put(e.name, state); state += e.size(); }
            List<Entry> out = new ArrayList<>();
            for (Entry e : specs) out.add(new Entry(e.name, e.kind, e.shape, offsets.get(e.name)));
            return List.copyOf(out);
        }
    }

    private final Backend backend;
    private final List<Entry> entries;           // registration order
    private final Map<String, Entry> byName = new HashMap<>();
    private final Map<String, Tensor> tensors = new HashMap<>();
    private final boolean trainable;
    private final long decayedSize, parameterSize, stateSize;
    private final Buffer data, grad, state;     // grad is null unless trainable, state null when empty
    private final Buffer decayedData, exemptData, decayedGrad, exemptGrad;

    private ParameterArena(Backend backend, List<Entry> entries, boolean trainable) {
        this.backend = backend;
        this.entries = entries;
        this.trainable = trainable;
        long decayed = 0, params = 0, st = 0;
        for (Entry e : entries) {
            if (e.kind == Kind.DECAYED) decayed += e.size();
            if (e.kind == Kind.STATE) st += e.size(); else params += e.size();
        }
        decayedSize = decayed;
        parameterSize = params;
        stateSize = st;
        data = backend.allocate(params);
        backend.fill(data, 0f);
        grad = trainable ? backend.allocate(params) : null;
        if (grad != null) backend.fill(grad, 0f);
        state = st > 0 ? backend.allocate(st) : null;
        if (state != null) backend.fill(state, 0f);
        decayedData = data.slice(0, decayed);
        exemptData = data.slice(decayed, params - decayed);
        decayedGrad = grad == null ? null : grad.slice(0, decayed);
        exemptGrad = grad == null ? null : grad.slice(decayed, params - decayed);
        for (Entry e : entries) {
            byName.put(e.name, e);
            Buffer home = e.kind == Kind.STATE ? state : data;
            Tensor t = Tensor.wrap(home.slice(e.offset, e.size()), e.shape).named(e.name);
            if (trainable && e.kind != Kind.STATE) t.requiresGrad(true).setGrad(grad.slice(e.offset, e.size()), false);
            tensors.put(e.name, t);
        }
    }

    /** An arena with this one's layout (zero-filled); {@link #copyFrom} then makes it a copy. */
    public ParameterArena newLike(boolean trainable) { return new ParameterArena(backend, entries, trainable); }

    public Backend backend() { return backend; }
    public boolean trainable() { return trainable; }

    /** Every entry in registration order. */
    public List<Entry> entries() { return entries; }

    /** The names of all entries in registration order. */
    public List<String> names() { return entries.stream().map(Entry::name).toList(); }

    /** The entry called {@code name}. */
    public Entry entry(String name) {
        Entry e = byName.get(name);
        if (e == null) throw new IllegalArgumentException("arena: no entry '" + name + "' (have " + names() + ")");
        return e;
    }

    /** The view of parameter or state {@code name}; parameters of a trainable arena carry their gradient slice. */
    public Tensor tensor(String name) { return tensors.get(entry(name).name); }

    /** Parameter views in registration order (what a module's forward uses). */
    public List<Tensor> parameters() {
        List<Tensor> out = new ArrayList<>();
        for (Entry e : entries) if (e.kind != Kind.STATE) out.add(tensors.get(e.name));
        return Collections.unmodifiableList(out);
    }

    /** The one buffer holding all parameters (decayed first). */
    public Buffer data() { return data; }

    /** The one buffer holding all gradients, laid out like {@link #data}; null unless trainable. */
    public Buffer grad() { return grad; }

    /** The buffer of non-trainable state, or null when none is registered. */
    public Buffer state() { return state; }

    /** Floats of parameters taking weight decay (the first slice of {@link #data}). */
    public long decayedSize() { return decayedSize; }

    /** Floats of all parameters. */
    public long parameterSize() { return parameterSize; }

    /** Floats of state. */
    public long stateSize() { return stateSize; }

    /** The weight-decayed parameters, one contiguous view (an optimizer's update is one launch over it). */
    public Buffer decayedData() { return decayedData; }
    /** The parameters exempt from weight decay (biases, BN), the view after the decayed ones. */
    public Buffer exemptData() { return exemptData; }
    /** The gradients of {@link #decayedData()}, in the same order. */
    public Buffer decayedGrad() { return decayedGrad; }
    /** The gradients of {@link #exemptData()}, in the same order. */
    public Buffer exemptGrad() { return exemptGrad; }

    /** Zeroes every gradient: one fill. */
    public void zeroGrad() {
        requireTrainable("zeroGrad");
        backend.fill(grad, 0f);
    }

    /** Copies parameters and state (not gradients) from an arena of the same layout. */
    public void copyFrom(ParameterArena other) {
        requireSameLayout("copyFrom", other);
        backend.copy(other.data, data);
        if (state != null) backend.copy(other.state, state);
    }

    /** MoCo's momentum update, one launch: this = m this + (1 - m) source over all parameters (not state). */
    public void ema(float m, ParameterArena source) {
        requireSameLayout("ema", source);
        try (Trace.Scope slice = Trace.scope("momentum update (EMA)", "update")) {
            backend.ema(m, data, source.data);
            slice.work(new Work(3.0 * data.size(), 12.0 * data.size())); // read both, write this
        }
    }

    /** A copy of entry {@code name}'s values (e.g. for a checkpoint). */
    public float[] export(String name) { return tensor(name).toArray(); }

    /** Overwrites entry {@code name} with {@code values} (exactly its size). */
    public void load(String name, float[] values) {
        Entry e = entry(name);
        if (values.length != e.size())
            throw new IllegalArgumentException("arena: " + values.length + " values for '" + name + "' "
                    + Checks.shape(e.shape) + " of " + e.size());
        tensor(name).copyFrom(values);
    }

    @Override
    public void close() {
        data.close();
        if (grad != null) grad.close();
        if (state != null) state.close();
    }

    private void requireTrainable(String op) {
        if (!trainable) throw new IllegalStateException("arena: " + op + " on an arena without gradients");
    }

    private void requireSameLayout(String op, ParameterArena other) {
        if (!entries.equals(other.entries))
            throw new IllegalArgumentException("arena: " + op + " between different layouts (" + entries.size()
                    + " vs " + other.entries.size() + " entries, first difference at "
                    + firstDifference(other) + ")");
    }

    private String firstDifference(ParameterArena other) {
        for (int i = 0; i < Math.min(entries.size(), other.entries.size()); i++)
            if (!entries.get(i).equals(other.entries.get(i))) return entries.get(i) + " vs " + other.entries.get(i);
        return "entry " + Math.min(entries.size(), other.entries.size());
    }
}
