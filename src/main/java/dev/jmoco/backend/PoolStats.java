package dev.jmoco.backend;

/**
 * Counters of a backend's buffer pool. {@code created} counts storage newly obtained from the system (pool
 * misses); once a training step is warm it must not grow. {@code live} counts root buffers not yet closed:
 * a test that returns everything it allocated leaves it unchanged.
 */
public record PoolStats(long created, long live, long pooledBytes) {}
