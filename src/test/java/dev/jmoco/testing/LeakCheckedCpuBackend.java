package dev.jmoco.testing;

import dev.jmoco.backend.cpu.CpuBackend;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One CPU backend shared by a test class, with Netty-style leak checks: after every test, the number of live
 * buffers must equal what it was before the test. Register as a static field:
 * {@code @RegisterExtension static final LeakCheckedCpuBackend cpu = new LeakCheckedCpuBackend();}
 */
public final class LeakCheckedCpuBackend
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private CpuBackend backend;
    private long liveBefore;

    /** The shared backend (open between the class's first and last test). */
    public CpuBackend backend() { return backend; }

    @Override public void beforeAll(ExtensionContext context) { backend = new CpuBackend(); }

    @Override public void afterAll(ExtensionContext context) { backend.close(); }

    @Override public void beforeEach(ExtensionContext context) { liveBefore = backend.poolStats().live(); }

    @Override
    public void afterEach(ExtensionContext context) {
        assertEquals(liveBefore, backend.poolStats().live(), "buffers left open");
    }
}
