package dev.jmoco.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Argument packing: each buffer is (pointer, int offset), everything in declaration order. */
class KernelArgsTest {

    @Test
    void buffersBecomePointerOffsetPairsInOrder() {
        KernelArgs<String> a = new KernelArgs<>();
        a.buffer("x", 0);
        a.add(7);
        a.buffer("y", 1234);
        a.add(0.5f);
        assertEquals(List.of(new KernelArgs.Ptr<>("x"), new KernelArgs.Int<>(0), new KernelArgs.Int<>(7),
                new KernelArgs.Ptr<>("y"), new KernelArgs.Int<>(1234), new KernelArgs.Flt<>(0.5f)), a.list());
    }

    @Test
    void anOffsetBeyondIntIsRefused() {
        KernelArgs<String> a = new KernelArgs<>();
        a.buffer("x", Integer.MAX_VALUE);
        var e = assertThrows(IllegalArgumentException.class, () -> a.buffer("y", Integer.MAX_VALUE + 1L));
        assertTrue(e.getMessage().contains("2147483648"), e.getMessage());
        assertEquals(2, a.list().size(), "a refused buffer adds nothing");
    }

    @Test
    void theListIsASnapshot() {
        KernelArgs<String> a = new KernelArgs<>();
        a.add(1);
        List<KernelArgs.Arg<String>> before = a.list();
        a.add(2);
        assertEquals(1, before.size());
        assertThrows(UnsupportedOperationException.class, () -> before.add(new KernelArgs.Int<>(3)));
    }
}
