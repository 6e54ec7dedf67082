package dev.jmoco.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link Undo}, what {@link CudaBackend}'s constructor releases with when a step fails (no GPU needed). */
class UndoTest {

    @Test
    void releasesRunNewestFirstOnce() {
        List<String> ran = new ArrayList<>();
        Undo undo = new Undo();
        for (String name : new String[] {"stream", "module", "memory", "cuBLAS", "cuDNN"})
            undo.add(() -> ran.add(name));
        IllegalStateException failure = new IllegalStateException("cuModuleLoadDataEx failed");
        undo.run(failure);
        assertEquals(List.of("cuDNN", "cuBLAS", "memory", "module", "stream"), ran);
        assertEquals(0, failure.getSuppressed().length);
        undo.run(failure); // forgotten once run
        assertEquals(5, ran.size());
    }

    @Test
    void aFailingReleaseIsSuppressedAndTheRestStillRun() {
        List<String> ran = new ArrayList<>();
        Undo undo = new Undo();
        undo.add(() -> ran.add("stream"));
        IllegalStateException unload = new IllegalStateException("cuModuleUnload failed");
        undo.add(() -> { throw unload; });
        AssertionError close = new AssertionError("cudnnDestroy");
        undo.add(() -> { throw close; });
        IllegalStateException failure = new IllegalStateException("cublasCreate failed");
        undo.run(failure);
        assertEquals(List.of("stream"), ran);
        assertArrayEquals(new Throwable[] {close, unload}, failure.getSuppressed());
    }

    @Test
    void theFailureItselfIsNotSuppressedIntoItself() {
        IllegalStateException failure = new IllegalStateException("x");
        Undo undo = new Undo();
        undo.add(() -> { throw failure; });
        undo.run(failure);
        assertEquals(0, failure.getSuppressed().length); // run returned normally: the caller rethrows the failure
    }

    @Test
    void nothingRegisteredIsANoOp() {
        IllegalStateException failure = new IllegalStateException("cuInit failed");
        new Undo().run(failure);
        assertEquals(0, failure.getSuppressed().length);
    }
}
