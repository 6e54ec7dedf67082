package dev.jmoco.moco;

import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The queue's ring invariants, exactly (enqueue moves floats, so every comparison is bit-exact), against a
 * plain-Java model of the ring; its seeded unit-norm initialisation; its errors.
 */
class KeyQueueTest {
    private CpuBackend backend;

    @BeforeEach
    void open() { backend = new CpuBackend(); }

    @AfterEach
    void close() { backend.close(); }

    @Test
    void initialKeysAreSeededUnitRows() {
        try (KeyQueue a = KeyQueue.random(backend, 50, 7, 11); KeyQueue b = KeyQueue.random(backend, 50, 7, 11);
             KeyQueue c = KeyQueue.random(backend, 50, 7, 12)) {
            float[] v = a.toArray();
            assertArrayEquals(v, b.toArray(), "same seed, same keys");
            assertNotEquals(v[0], c.toArray()[0], "another seed, other keys");
            for (int i = 0; i < 50; i++) {
                double sum = 0;
                for (int j = 0; j < 7; j++) sum += (double) v[i * 7 + j] * v[i * 7 + j];
                assertEquals(1, Math.sqrt(sum), 1e-6, "norm of key " + i);
            }
            assertEquals(0, a.pointer());
        }
    }

    @Test
    void enqueueWrapsWhenTheBatchDoesNotDivideTheCapacity() {
        int capacity = 10, dim = 3;
        try (KeyQueue queue = KeyQueue.random(backend, capacity, dim, 1)) {
            float[] model = queue.toArray();
            Random r = new Random(5);
            int ptr = 0;
            // n = 4 does not divide 10: the pointer runs 0, 4, 8 (wraps: rows 8, 9, 0, 1), 2, 6, 0, ...
            for (int step = 0; step < 7; step++) {
                float[] keys = new float[4 * dim];
                for (int i = 0; i < keys.length; i++) keys[i] = r.nextFloat();
                try (Tensor k = Tensor.fromArray(backend, keys, 4, dim)) { queue.enqueue(k); }
                for (int i = 0; i < 4; i++)
                    System.arraycopy(keys, i * dim, model, ((ptr + i) % capacity) * dim, dim);
                ptr = (ptr + 4) % capacity;
                assertEquals(ptr, queue.pointer(), "pointer after step " + step);
                assertArrayEquals(model, queue.toArray(), "keys after step " + step);
                // Age order: the newest key sits just before the pointer, the oldest written at the pointer.
                int newest = (queue.pointer() + capacity - 1) % capacity;
                assertArrayEquals(new float[] {keys[3 * dim], keys[3 * dim + 1], keys[3 * dim + 2]},
                        row(queue.toArray(), newest, dim), "newest key at pointer - 1");
            }
        }
    }

    @Test
    void enqueueOfAFullQueueReplacesEveryKeyInOrder() {
        try (KeyQueue queue = KeyQueue.random(backend, 4, 2, 1)) {
            queue.load(new float[8], 3);
            float[] keys = {1, 2, 3, 4, 5, 6, 7, 8};
            try (Tensor k = Tensor.fromArray(backend, keys, 4, 2)) { queue.enqueue(k); }
            assertArrayEquals(new float[] {3, 4, 5, 6, 7, 8, 1, 2}, queue.toArray(), "key i at row (3 + i) mod 4");
            assertEquals(3, queue.pointer(), "a full turn returns the pointer to its start");
        }
    }

    @Test
    void errorsNameBothSizes() {
        try (KeyQueue queue = KeyQueue.random(backend, 6, 3, 1);
             Tensor tooMany = Tensor.allocate(backend, 7, 3); Tensor wrongDim = Tensor.allocate(backend, 2, 4)) {
            String m = assertThrows(IllegalArgumentException.class, () -> queue.enqueue(tooMany)).getMessage();
            assertTrue(m.contains("7") && m.contains("6"), m);
            m = assertThrows(IllegalArgumentException.class, () -> queue.enqueue(wrongDim)).getMessage();
            assertTrue(m.contains("[2, 4]") && m.contains("dim 3"), m);
            m = assertThrows(IllegalArgumentException.class, () -> queue.load(new float[18], 6)).getMessage();
            assertTrue(m.contains("pointer 6"), m);
            assertEquals(0, queue.pointer(), "a refused operation leaves the pointer alone");
        }
        assertThrows(IllegalArgumentException.class, () -> KeyQueue.random(backend, 0, 3, 1));
    }

    private static float[] row(float[] v, int r, int dim) {
        float[] out = new float[dim];
        System.arraycopy(v, r * dim, out, 0, dim);
        return out;
    }
}
