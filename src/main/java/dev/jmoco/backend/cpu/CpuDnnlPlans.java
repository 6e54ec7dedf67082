package dev.jmoco.backend.cpu;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * oneDNN plans (primitives with their memory objects) made on first use and kept until close, one per key
 * (a shape and pass, a layout). A key oneDNN refuses maps to null: its op runs on the Java kernels, said once
 * on stderr. Callers hold the backend's state lock.
 */
final class CpuDnnlPlans<K, P extends CpuDnnlPlans.Plan> implements AutoCloseable {
    /** What a plan owns natively. */
    interface Plan { void close(); }

    private final String op;
    private final Function<K, P> make;
    private final Map<K, P> plans = new HashMap<>();

    /** Plans of {@code op} ("conv2d", named in the refusal line), made by {@code make}. */
    CpuDnnlPlans(String op, Function<K, P> make) {
        this.op = op;
        this.make = make;
    }

    /** The plan of {@code key}, made now if new; null when oneDNN refused it. */
    P get(K key) {
        if (plans.containsKey(key)) return plans.get(key);
        P p;
        try {
            p = make.apply(key);
        } catch (CpuDnnl.DnnlException e) {
            System.err.println("jmoco: cpu: oneDNN refused " + op + " " + key + " (" + e.getMessage()
                    + "); it runs on the Java kernels");
            p = null;
        }
        plans.put(key, p);
        return p;
    }

    @Override
    public void close() {
        for (P p : plans.values()) if (p != null) p.close();
        plans.clear();
    }
}
