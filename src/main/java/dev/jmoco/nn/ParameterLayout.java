package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.backend.Checks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The parameters and state a module tree registers, in torchvision's state_dict order, with their role;
 * the {@link DecayPolicy} turns roles into decayed or exempt arena entries. It remembers what was registered
 * so that an arena can be checked against it before a forward pass uses it.
 */
public final class ParameterLayout {
    /** What a parameter is, which decides whether weight decay applies. */
    public enum Role {
        /** A conv or linear weight: always decayed. */
        WEIGHT,
        /** A bias of a conv or linear layer. */
        BIAS,
        /** A batch-norm weight (gamma) or bias (beta). */
        NORM
    }

    /** One registered tensor. */
    public record Spec(String name, ParameterArena.Kind kind, int[] shape) {
        public Spec { shape = shape.clone(); }
        @Override public int[] shape() { return shape.clone(); }
        /** Number of floats. */
        public long size() { return Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b); }
        @Override public boolean equals(Object o) {
            return o instanceof Spec s && name.equals(s.name) && kind == s.kind && Arrays.equals(shape, s.shape);
        }
        @Override public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }
        @Override public String toString() { return name + " " + kind + " " + Checks.shape(shape); }
    }

    private final DecayPolicy policy;
    private final List<Spec> specs = new ArrayList<>();

    public ParameterLayout(DecayPolicy policy) { this.policy = policy; }

    /** Registers a trainable parameter. */
    public void parameter(String name, Role role, int... shape) {
        add(new Spec(name, policy.decays(role) ? ParameterArena.Kind.DECAYED : ParameterArena.Kind.EXEMPT, shape));
    }

    /** Registers non-trainable state (batch-norm running statistics). */
    public void state(String name, int... shape) { add(new Spec(name, ParameterArena.Kind.STATE, shape)); }

    /** Everything registered, in registration (state_dict) order. */
    public List<Spec> specs() { return List.copyOf(specs); }

    /** Floats of trainable parameters (what torchvision's parameter count counts). */
    public long parameterCount() {
        return specs.stream().filter(s -> s.kind != ParameterArena.Kind.STATE).mapToLong(Spec::size).sum();
    }

    /** An arena builder with these registrations. */
    public ParameterArena.Builder builder() {
        ParameterArena.Builder b = new ParameterArena.Builder();
        for (Spec s : specs) {
            if (s.kind == ParameterArena.Kind.STATE) b.state(s.name, s.shape);
            else b.parameter(s.name, s.kind == ParameterArena.Kind.DECAYED, s.shape);
        }
        return b;
    }

    /**
     * Checks that {@code arena} holds exactly these entries (names, kinds, shapes, order).
     *
     * @throws IllegalArgumentException naming the first difference
     */
    public void requireMatches(ParameterArena arena, String what) {
        List<ParameterArena.Entry> entries = arena.entries();
        for (int i = 0; i < Math.max(entries.size(), specs.size()); i++) {
            Spec want = i < specs.size() ? specs.get(i) : null;
            ParameterArena.Entry e = i < entries.size() ? entries.get(i) : null;
            Spec have = e == null ? null : new Spec(e.name(), e.kind(), e.shape());
            if (want == null || !want.equals(have))
                throw new IllegalArgumentException(what + ": arena does not match the layout at entry " + i
                        + ": expected " + (want == null ? "nothing" : want) + ", arena has "
                        + (have == null ? "nothing" : have));
        }
    }

    private void add(Spec s) {
        if (specs.stream().anyMatch(o -> o.name.equals(s.name)))
            throw new IllegalArgumentException("layout: '" + s.name + "' registered twice");
        specs.add(s);
    }
}
