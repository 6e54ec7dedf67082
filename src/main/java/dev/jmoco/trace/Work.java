package dev.jmoco.trace;

/**
 * The work of one slice, counted by hand from its shapes: floating-point operations (a multiply-add is two)
 * and bytes that must cross memory at least once (each input read and each output written once).
 */
public record Work(double flops, double bytes) {
    public static final Work NONE = new Work(0, 0);

    /** Memory-bound work: {@code floats} 4-byte values read or written, one operation each. */
    public static Work streaming(double floats) { return new Work(floats, 4 * floats); }

    public Work plus(Work o) { return new Work(flops + o.flops, bytes + o.bytes); }
}
