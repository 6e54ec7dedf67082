package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.trace.Trace;

import java.util.List;
import java.util.random.RandomGenerator;

/** Modules applied in order. Children carry their own full names, so a Sequential adds no name prefix. */
public record Sequential(List<Module> children) implements Module {
    public Sequential { children = List.copyOf(children); }

    public Sequential(Module... children) { this(List.of(children)); }

    @Override
    public void register(ParameterLayout layout) { children.forEach(c -> c.register(layout)); }

    @Override
    public void initialize(ParameterArena arena, RandomGenerator random) {
        children.forEach(c -> c.initialize(arena, random));
    }

    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) {
        for (Module c : children)
            try (Trace.Scope module = Trace.scope(c.getClass().getSimpleName(), "module")) {
                x = c.forward(arena, x, mode);
            }
        return x;
    }
}
